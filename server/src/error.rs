//! The REST error type: every API failure becomes a JSON body with a message,
//! and the field at fault when there is one (axum's `IntoResponse` pattern).

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
    #[error("not found")]
    NotFound,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] crate::store::StoreError),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, field) = match &self {
            ApiError::Invalid { status, field, .. } => (*status, *field),
            ApiError::NotFound => (StatusCode::NOT_FOUND, None),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
            ApiError::Internal(e) => {
                // The details go to the log, never to the client.
                tracing::error!(error = %e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        let message = self.to_string();
        (status, Json(ErrorBody { error: &message, field })).into_response()
    }
}
