//! How server functions reply: JSON, decoded from text.
//!
//! server_fn's own `Json` decodes replies with `serde_json::from_slice`, while
//! resources hydrate from the page with `serde_json::from_str`, so every reply
//! type carried two deserializers into the wasm (about 150 KB of code before
//! optimisation). Decoding replies from text as well keeps one.

use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON in, JSON out; replies are decoded through `&str`.
pub struct TextJsonEncoding;

/// The reply encoding every server function names (`output = crate::wire::Json`).
pub type Json = Post<TextJsonEncoding>;

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
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(<serde_json::Error as serde::de::Error>::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_round_trip_and_bad_bytes_are_an_error() {
        let bytes = <TextJsonEncoding as Encodes<Vec<String>>>::encode(&vec!["é".to_string()]).unwrap();
        let back: Vec<String> = <TextJsonEncoding as Decodes<Vec<String>>>::decode(bytes).unwrap();
        assert_eq!(back, ["é"]);
        assert!(<TextJsonEncoding as Decodes<String>>::decode(Bytes::from_static(b"\"\xff\"")).is_err());
    }
}
