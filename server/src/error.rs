//! The REST error type: every API failure becomes a JSON body with a message,
//! and the field at fault when there is one (axum's `IntoResponse` pattern).

use app::auth::AppError;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Invalid { status: StatusCode, field: Option<&'static str>, message: String },
    #[error("{message}")]
    Json { status: StatusCode, field: Option<String>, message: String },
    #[error("{0}")]
    App(#[from] AppError),
    #[error("not found")]
    NotFound,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] crate::store::StoreError),
}

/// A store failure as server functions and services report it: the details go
/// to the log, the caller gets a generic message.
pub fn internal(e: crate::store::StoreError) -> AppError {
    tracing::error!(error = %e, "store error");
    AppError::Server("internal error; see the server log".into())
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry_after_secs = None;
        let (status, field): (StatusCode, Option<String>) = match &self {
            ApiError::Invalid { status, field, .. } => (*status, field.map(str::to_string)),
            ApiError::Json { status, field, .. } => (*status, field.clone()),
            ApiError::App(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let field = match e {
                    AppError::Invalid { field, .. } => Some(field.clone()),
                    AppError::RateLimited { retry_after_secs: s } => {
                        retry_after_secs = Some(*s);
                        None
                    }
                    _ => None,
                };
                (status, field)
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, None),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
            ApiError::Internal(e) => {
                // The details go to the log, never to the client.
                tracing::error!(error = %e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        let message = self.to_string();
        (status, Json(ErrorBody { error: &message, field: field.as_deref(), retry_after_secs })).into_response()
    }
}
