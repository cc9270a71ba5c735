//! The REST API under `/api/v1`. Access is decided by the auth middleware's
//! table; handlers receive the caller through the `Caller` extractor.

mod accounts;

use std::sync::Arc;

use app::auth::Principal;
use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
    routing::{delete, get, patch},
    Router,
};
use serde::de::DeserializeOwned;

use crate::{auth::Auth, error::ApiError};

#[derive(Clone)]
pub struct ApiState {
    pub auth: Arc<Auth>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/me", get(accounts::me))
        .route("/api/v1/users", get(accounts::list_users).post(accounts::create_user))
        .route("/api/v1/users/{id}", patch(accounts::update_user))
        .route("/api/v1/tokens", get(accounts::list_tokens).post(accounts::create_token))
        .route("/api/v1/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/v1/audit", get(accounts::audit))
        .with_state(state)
}

/// The authenticated caller; 401 when the middleware found none.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().map(Caller).ok_or(ApiError::App(app::auth::AppError::Unauthorized))
    }
}

/// `Json` whose rejections are our JSON errors, naming the field when serde does.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let status = match &r {
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
        JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = r.body_text();
    // serde names the field as "missing field `x`" or "unknown field `x`" or "x: …".
    let field = message.split('`').nth(1).map(str::to_string);
    ApiError::Json { status, field, message }
}
