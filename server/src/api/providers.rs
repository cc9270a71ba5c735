//! REST routes for the LLM providers: health, and forcing a breaker.

use axum::{
    extract::{Path, State},
    response::IntoResponse,
    Json,
};
use serde::Deserialize;

use super::{ApiJson, ApiState};
use crate::error::ApiError;

pub async fn list(State(s): State<ApiState>) -> impl IntoResponse {
    Json(s.llm.health())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Force {
    /// "open", "closed", or "auto" to return to automatic operation.
    state: String,
}

pub async fn force(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Force>,
) -> Result<impl IntoResponse, ApiError> {
    let open = match body.state.as_str() {
        "open" => Some(true),
        "closed" => Some(false),
        "auto" => None,
        _ => return Err(app::auth::AppError::invalid("state", "one of open, closed, auto").into()),
    };
    if !s.llm.force(&name, open) {
        return Err(ApiError::NotFound);
    }
    Ok(Json(s.llm.health().into_iter().find(|h| h.name == name)))
}
