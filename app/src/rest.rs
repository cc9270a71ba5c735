//! The admin pages use the documented REST API (`/api/v1`): the same routes,
//! checks and errors that scripts get, with the session cookie. The server
//! checks the role and the origin. Calls run in the browser only; pages load
//! their data in effects, so the server never makes them.

use serde::{de::DeserializeOwned, Deserialize};
use serde_json::Value;

use crate::auth::AppError;

#[derive(Deserialize)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct ErrorBody {
    error: String,
    #[serde(default)]
    field: Option<String>,
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, AppError> {
    call("GET", url, None).await
}

pub async fn post<T: DeserializeOwned>(url: &str, body: Option<Value>) -> Result<T, AppError> {
    call("POST", url, body).await
}

pub async fn patch<T: DeserializeOwned>(url: &str, body: Value) -> Result<T, AppError> {
    call("PATCH", url, Some(body)).await
}

/// A call whose reply body does not matter (204s, deletes).
pub async fn send(method: &str, url: &str, body: Option<Value>) -> Result<(), AppError> {
    call::<serde::de::IgnoredAny>(method, url, body).await.map(|_| ())
}

/// Percent-encodes a query value.
pub fn enc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn error_for(status: u16, body: &str) -> AppError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    match (status, parsed) {
        (401, _) => AppError::Unauthorized,
        (403, _) => AppError::Forbidden,
        (404, _) => AppError::NotFound,
        (_, Some(ErrorBody { error, field: Some(field) })) => AppError::Invalid { field, message: error },
        (_, Some(ErrorBody { error, field: None })) => AppError::Server(error),
        _ => AppError::Server(format!("the server answered {status}")),
    }
}

async fn call<T: DeserializeOwned>(method: &str, url: &str, body: Option<Value>) -> Result<T, AppError> {
    let text = fetch(method, url, body).await?;
    let text = if text.trim().is_empty() { "null" } else { text.as_str() };
    serde_json::from_str(text).map_err(|e| AppError::Server(format!("unexpected reply: {e}")))
}

/// The reply's text. Not generic, so the request's code exists once in the
/// wasm rather than once per reply type (only the parsing is per type).
#[cfg(feature = "hydrate")]
async fn fetch(method: &str, url: &str, body: Option<Value>) -> Result<String, AppError> {
    use gloo_net::http::{Method, RequestBuilder};
    let method = match method {
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    };
    let builder = RequestBuilder::new(url).method(method).header("accept", "application/json");
    let request = match body {
        Some(b) => builder.json(&b),
        None => builder.build(),
    }
    .map_err(|e| AppError::Server(e.to_string()))?;
    let res = request.send().await.map_err(|_| AppError::Server("the server cannot be reached".into()))?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(error_for(status, &text));
    }
    Ok(text)
}

#[cfg(not(feature = "hydrate"))]
async fn fetch(_method: &str, _url: &str, _body: Option<Value>) -> Result<String, AppError> {
    Err(AppError::Server("the admin pages load their data in the browser".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_field_and_values_are_encoded() {
        assert_eq!(
            error_for(422, r#"{"error":"priority must be 0 to 9","field":"priority"}"#),
            AppError::Invalid { field: "priority".into(), message: "priority must be 0 to 9".into() }
        );
        assert_eq!(error_for(403, "{}"), AppError::Forbidden);
        assert_eq!(error_for(409, r#"{"error":"already ended"}"#), AppError::Server("already ended".into()));
        assert_eq!(enc("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }
}
