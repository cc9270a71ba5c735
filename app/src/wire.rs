//! How server functions take their arguments and reply: JSON, decoded from
//! text in the browser.
//!
//! server_fn's own `Json` decodes replies with `serde_json::from_slice`, while
//! resources hydrate from the page with `serde_json::from_str`, so every reply
//! type carried two deserializers into the wasm (about 150 KB of code before
//! optimisation). Decoding replies from text as well keeps one.
//!
//! On the server, arguments that do not decode are refused naming the field
//! (`segments[0].speaker`), as the REST routes do. server_fn passes a decode
//! error on only as text, so that text is the `AppError::Invalid` itself, in
//! JSON, which `AppError::from_server_fn_error` reads back.

use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON in, JSON out; replies are decoded through `&str`.
pub struct TextJsonEncoding;

/// The encoding server functions name for their replies (`output =
/// crate::wire::Json`) and, except those behind an `<ActionForm>` (which
/// the browser posts URL-encoded), for their arguments (`input = …`).
pub type Json = Post<TextJsonEncoding>;

/// Why a body did not decode: on the server, an `AppError::Invalid` naming
/// the field, as JSON (see the module's comment).
#[derive(Debug)]
pub struct DecodeError(String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The field a deserialization error is about: its path under `prefix`
/// (`jobs[0].priority`); serde reports a missing or repeated field at the
/// object that lacks it, so that field's name is appended. An error at the
/// top level with no name is `fallback`'s. The REST routes and the server
/// functions' arguments name fields by this one rule.
#[cfg(feature = "ssr")]
pub fn field_at(prefix: &str, path: &serde_path_to_error::Path, message: &str, fallback: &str) -> String {
    let mut field = prefix.to_string();
    let push_key = |field: &mut String, key: &str| {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(key);
    };
    for segment in path.iter() {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut field, key),
            Segment::Unknown => push_key(&mut field, "?"),
        }
    }
    for lead in ["missing field `", "duplicate field `"] {
        if let Some(name) = message.strip_prefix(lead).and_then(|rest| rest.split('`').next()) {
            push_key(&mut field, name);
        }
    }
    if field.is_empty() {
        fallback.to_string()
    } else {
        field
    }
}

impl ContentType for TextJsonEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for TextJsonEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for TextJsonEncoding {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for TextJsonEncoding {
    type Error = DecodeError;

    #[cfg(not(feature = "ssr"))]
    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| DecodeError(e.to_string()))?;
        serde_json::from_str(text).map_err(|e| DecodeError(e.to_string()))
    }

    /// On the server this decodes arguments: a refusal names the field.
    #[cfg(feature = "ssr")]
    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let refuse = |field: String, message: String| {
            let e = crate::auth::AppError::invalid(&field, message);
            DecodeError(serde_json::to_string(&e).unwrap_or_default())
        };
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let message = e.inner().to_string();
            refuse(field_at("", e.path(), &message, "request"), message)
        })?;
        de.end().map_err(|e| refuse("request".into(), e.to_string()))?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "ssr")]
    #[test]
    fn arguments_that_do_not_decode_name_their_field() {
        use crate::auth::AppError;
        use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Args {
            id: String,
            paused: bool,
            items: Vec<Item>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Item {
            at: i64,
        }
        // As server_fn hands the error on: as text, through `Deserialization`.
        let field =
            |body: &'static str| match <TextJsonEncoding as Decodes<Args>>::decode(Bytes::from_static(body.as_bytes()))
            {
                Ok(a) => panic!("{body} decoded: {a:?}"),
                Err(e) => match AppError::from_server_fn_error(ServerFnErrorErr::Deserialization(e.to_string())) {
                    AppError::Invalid { field, .. } => field,
                    other => panic!("{body}: {other:?}"),
                },
            };
        assert_eq!(field(r#"{"id": "a", "paused": "yes", "items": []}"#), "paused");
        assert_eq!(field(r#"{"id": "a", "paused": true, "items": [{"at": 1}, {"at": "x"}]}"#), "items[1].at");
        assert_eq!(field(r#"{"paused": true, "items": []}"#), "id");
        assert_eq!(field(r#"{"id": "a", "paused": true, "items": [{}]}"#), "items[0].at");
        assert_eq!(field("id=a&paused=true"), "request");
        assert_eq!(field(r#"{"id": "a", "paused": true, "items": []} trailing"#), "request");
        let ok: Args = <TextJsonEncoding as Decodes<Args>>::decode(Bytes::from_static(
            br#"{"id": "a", "paused": false, "items": [{"at": 2}]}"#,
        ))
        .unwrap();
        assert_eq!((ok.id.as_str(), ok.paused, ok.items.len()), ("a", false, 1));
    }

    #[test]
    fn replies_round_trip_and_bad_bytes_are_an_error() {
        let bytes = <TextJsonEncoding as Encodes<Vec<String>>>::encode(&vec!["é".to_string()]).unwrap();
        let back: Vec<String> = <TextJsonEncoding as Decodes<Vec<String>>>::decode(bytes).unwrap();
        assert_eq!(back, ["é"]);
        assert!(<TextJsonEncoding as Decodes<String>>::decode(Bytes::from_static(b"\"\xff\"")).is_err());
    }
}
