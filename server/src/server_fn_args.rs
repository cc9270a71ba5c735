//! What every server function's arguments must pass before its handler
//! runs. PostgreSQL's text cannot hold a NUL character, and SQLite would
//! store one, so an argument holding one is refused here, for all server
//! functions at once: the 422 field error the browser's forms show
//! (`AppError::Invalid`, named after the argument), never a database error
//! turned into a 500. The REST routes have the same rule in their extractors
//! (`api::ApiJson`, `ApiQuery`, `ApiPath`).

use axum::{
    body::Body,
    extract::Request,
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use app::auth::AppError;

/// Server functions are the app router's routes under `/api/` (the REST API,
/// `/api/v1/`, is a router of its own).
fn is_server_fn(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/")
}

pub async fn refuse_nul_arguments(req: Request, next: Next) -> Response {
    if !is_server_fn(req.uri().path()) {
        return next.run(req).await;
    }
    // Arguments in the address (GET server functions).
    if let Some(field) = req.uri().query().and_then(|q| form_nul_field(q.as_bytes())) {
        return refuse(&field);
    }
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    let (parts, body) = req.into_parts();
    // `http::body_limit`, outside, holds the body to its limit as it is read.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        // It broke off, or passed its limit (which `body_limit` answers 413).
        Err(_) => {
            return answer(StatusCode::BAD_REQUEST, AppError::invalid("request", "the request body could not be read"))
        }
    };
    let nul = if is_json { crate::api::json_nul_field(&bytes, "") } else { form_nul_field(&bytes) };
    if let Some(field) = nul {
        return refuse(&field);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The first form field (`a=1&b=2`, percent-decoded) whose name or value
/// holds a NUL character.
fn form_nul_field(form: &[u8]) -> Option<String> {
    // A NUL is `%00` once encoded, or a raw byte from a careless client.
    if !form.contains(&0) && memchr::memmem::find(form, b"%00").is_none() {
        return None;
    }
    url::form_urlencoded::parse(form)
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\0"))
}

fn refuse(field: &str) -> Response {
    answer(
        StatusCode::UNPROCESSABLE_ENTITY,
        AppError::invalid(field, format!("{field} must not contain a NUL character")),
    )
}

/// An error as server functions send theirs, so the browser reads it alike.
fn answer(status: StatusCode, e: AppError) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], serde_json::to_vec(&e).unwrap_or_default()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_holding_a_nul_is_named() {
        assert_eq!(form_nul_field(b"email=a%00%40b.co&password=x"), Some("email".into()));
        assert_eq!(form_nul_field(b"id=ok&name=a\0b"), Some("name".into()));
        assert_eq!(form_nul_field(b"x%00y=1"), Some("x\\0y".into()));
        // `%2500` is the text "%00", not a NUL.
        assert_eq!(form_nul_field(b"email=a%2500b&password=x"), None);
        assert_eq!(form_nul_field(b"email=a%40b.co"), None);
        assert!(is_server_fn("/api/login") && !is_server_fn("/api/v1/jobs") && !is_server_fn("/jobs"));
    }
}
