//! The REST API under `/api/v1`. Access is decided by the auth middleware's
//! table; handlers receive the caller through the `Caller` extractor.

mod accounts;
pub mod interviews;
pub mod templates;
pub mod jobs;
pub mod openapi;
pub mod providers;
pub mod schedules;
pub mod workflows;

use std::sync::Arc;

use app::auth::Principal;
use axum::{
    extract::{rejection::JsonRejection, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
    routing::{delete, get, patch, post},
    Router,
};
use serde::de::DeserializeOwned;

use crate::{auth::Auth, error::ApiError};

#[derive(Clone)]
pub struct ApiState {
    pub auth: Arc<Auth>,
    pub engine: Arc<crate::scheduler::engine::Engine>,
    pub llm: Arc<crate::llm::router::Router>,
    pub meetmind: Arc<crate::meetmind::MeetMind>,
    pub dashboard: Arc<crate::dashboard::DashboardHub>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route("/api/v1/me", get(accounts::me))
        .route("/api/v1/users", get(accounts::list_users).post(accounts::create_user))
        .route("/api/v1/users/{id}", patch(accounts::update_user))
        .route("/api/v1/tokens", get(accounts::list_tokens).post(accounts::create_token))
        .route("/api/v1/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/v1/audit", get(accounts::audit))
        .route("/api/v1/jobs", get(jobs::list).post(jobs::enqueue))
        .route("/api/v1/jobs/{id}", get(jobs::detail))
        .route("/api/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/v1/jobs/{id}/retry", post(jobs::retry))
        .route("/api/v1/dlq", get(jobs::dlq_list))
        .route("/api/v1/dlq/requeue", post(jobs::dlq_requeue_matching))
        .route("/api/v1/dlq/purge", post(jobs::dlq_purge))
        .route("/api/v1/dlq/{id}", delete(jobs::dlq_delete))
        .route("/api/v1/dlq/{id}/requeue", post(jobs::dlq_requeue_one))
        .route("/api/v1/workflows", get(workflows::list).post(workflows::submit))
        .route("/api/v1/workflows/{id}", get(workflows::detail))
        .route("/api/v1/workflows/{id}/cancel", post(workflows::cancel))
        .route("/api/v1/workflows/{id}/retry", post(workflows::retry))
        .route("/api/v1/schedules", get(schedules::list).post(schedules::create))
        .route("/api/v1/schedules/preview", get(schedules::preview))
        .route("/api/v1/workflow-templates", get(templates::list).post(templates::save))
        .route("/api/v1/workflow-templates/{id}", delete(templates::delete))
        .route("/api/v1/workflow-templates/{id}/run", post(templates::run))
        .route("/api/v1/schedules/{id}", delete(schedules::delete))
        .route("/api/v1/schedules/{id}/pause", post(schedules::pause))
        .route("/api/v1/schedules/{id}/resume", post(schedules::resume))
        .route("/api/v1/starvation", get(schedules::starvation))
        .route("/api/v1/providers", get(providers::list))
        .route("/api/v1/providers/calls", get(providers::calls))
        .route("/api/v1/providers/{name}/breaker", post(providers::force))
        .route("/api/v1/queues", get(jobs::queues))
        .route("/api/v1/queues/{name}", patch(jobs::patch_queue))
        .route("/api/v1/queues/{name}/pause", post(jobs::pause_queue))
        .route("/api/v1/queues/{name}/resume", post(jobs::resume_queue))
        .route("/api/v1/events", get(crate::dashboard::events))
        .route("/api/v1/rubric-templates", get(interviews::templates))
        .route("/api/v1/interviews", get(interviews::list).post(interviews::create))
        .route("/api/v1/interviews/{id}", get(interviews::detail).delete(interviews::delete))
        .route("/api/v1/interviews/{id}/export", get(interviews::export))
        .route("/api/v1/interviews/{id}/segments", get(interviews::segments).post(interviews::append))
        .route("/api/v1/interviews/{id}/suggestions", get(interviews::suggestions))
        .route("/api/v1/interviews/{id}/events", get(interviews::events))
        .route("/api/v1/interviews/{id}/start", post(interviews::start))
        .route("/api/v1/interviews/{id}/end", post(interviews::end))
        .route("/api/v1/interviews/{id}/cancel", post(interviews::cancel))
        .route("/api/v1/interviews/{id}/decision", post(interviews::decide))
        .route("/api/v1/interviews/{id}/link", post(interviews::link).delete(interviews::revoke_link))
        .route("/api/v1/interviews/{id}/pause", post(interviews::pause))
        .route("/api/v1/interviews/{id}/resume", post(interviews::resume))
        .route("/api/v1/interviews/{id}/search", get(interviews::search))
        .route("/api/v1/interviews/{id}/ask", post(interviews::ask))
        .route("/api/v1/interviews/{id}/report", get(interviews::report))
        .route("/api/v1/search", get(interviews::search_all))
        .route("/api/v1/room/{token}", get(interviews::room))
        .route("/api/v1/room/{token}/consent", post(interviews::room_consent))
        .route("/api/v1/room/{token}/segments", post(interviews::room_append))
        .route("/api/v1/room/{token}/events", get(interviews::room_events))
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
