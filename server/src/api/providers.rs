//! REST routes for the LLM providers: health, and forcing a breaker.

use axum::{extract::State, response::IntoResponse, Json};
use serde::Deserialize;

use super::{ApiJson, ApiPath, ApiQuery, ApiState};
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
    ApiPath(name): ApiPath<String>,
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

#[derive(Deserialize)]
pub struct CallsQuery {
    limit: Option<i64>,
}

/// Recent LLM calls, newest first: purpose, tier, attempts with errors, latency, tokens, degraded.
pub async fn calls(
    State(s): State<ApiState>,
    ApiQuery(q): ApiQuery<CallsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = s.engine.store.list_llm_calls(q.limit.unwrap_or(100)).await?;
    let out: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "at_ms": r.at, "purpose": r.purpose, "tier": r.tier, "degraded": r.degraded,
                "latency_ms": r.latency_ms, "tokens_out": r.tokens_out,
                "attempts": serde_json::from_str::<serde_json::Value>(&r.attempts).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(out))
}
