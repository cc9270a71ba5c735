//! The REST API under `/api/v1`. Access is decided by the auth middleware's
//! table; handlers receive the caller through the `Caller` extractor.

mod accounts;
pub mod interviews;
pub mod jobs;
pub mod openapi;
pub mod providers;
pub mod schedules;
pub mod templates;
pub mod workflows;

use std::sync::Arc;

use app::{auth::Principal, wire::field_at};
use axum::{
    body::Bytes,
    extract::{
        path::ErrorKind as PathErrorKind, rejection::PathRejection, FromRequest, FromRequestParts, RawPathParams,
        Request,
    },
    http::{header, request::Parts, HeaderMap, StatusCode},
    routing::{delete, get, patch, post},
    Router,
};
use serde::de::DeserializeOwned;
use serde_json::{error::Category, Value};

use crate::{auth::Auth, error::ApiError};

#[derive(Clone)]
pub struct ApiState {
    pub auth: Arc<Auth>,
    pub engine: Arc<crate::scheduler::engine::Engine>,
    pub llm: Arc<crate::llm::router::Router>,
    pub meetmind: Arc<crate::meetmind::MeetMind>,
    pub dashboard: Arc<crate::sse::DashboardHub>,
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
        .route("/api/v1/events", get(crate::sse::events))
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

/// `Json` whose rejections are our JSON errors naming the field at fault
/// (`priority`, `jobs[0].priority`): a body that is not JSON is a 400 naming
/// `body`, a value of the wrong type or shape a 422, and no string (key or
/// value, at any depth) may hold a NUL character, which PostgreSQL's text
/// and JSONB cannot store.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        refuse_nul_in_json(&bytes, "")?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The body of `POST /api/v1/jobs`: one job object, or an array of them whose
/// errors name the job as `jobs[i]`. The same checks as [`ApiJson`].
pub struct JobsJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for JobsJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_body(req, state).await?;
        refuse_nul_in_json(&bytes, "jobs")?;
        parse_json(&bytes).map(JobsJson)
    }
}

/// `Query` whose rejections are our JSON errors: a 422 naming the parameter
/// (`limit`, `q`), also for a NUL character in any parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if key.contains('\0') || value.contains('\0') {
                return Err(nul_error(StatusCode::UNPROCESSABLE_ENTITY, key.replace('\0', "\\0")));
            }
        }
        let deserializer = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        match serde_path_to_error::deserialize(deserializer) {
            Ok(value) => Ok(ApiQuery(value)),
            Err(e) => {
                let message = e.inner().to_string();
                let field = field_at("", e.path(), &message, "query");
                Err(ApiError::Json {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    message: format!("{field}: {message}"),
                    field: Some(field),
                })
            }
        }
    }
}

/// `Path` whose rejections are our JSON errors naming the path parameter
/// (`id`, `name`, `token`). A parameter holding a NUL character is a 404:
/// nothing stored can have such an id.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            if let Some((key, _)) = raw.iter().find(|(_, value)| value.contains('\0')) {
                return Err(nul_error(StatusCode::NOT_FOUND, key.to_string()));
            }
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(r: PathRejection) -> ApiError {
    let status = r.status();
    let message = r.body_text();
    let field = match &r {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            PathErrorKind::ParseErrorAtKey { key, .. }
            | PathErrorKind::InvalidUtf8InPathParam { key }
            | PathErrorKind::DeserializeError { key, .. } => key.clone(),
            _ => "id".to_string(),
        },
        _ => "id".to_string(),
    };
    ApiError::Json { status, field: Some(field), message }
}

fn nul_error(status: StatusCode, field: String) -> ApiError {
    ApiError::Json { status, message: format!("{field} must not contain a NUL character"), field: Some(field) }
}

/// Whether the request says its body is JSON (`application/json`, or a
/// `+json` type), as axum's `Json` requires.
fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some((kind, subtype)) => kind == "application" && (subtype == "json" || subtype.ends_with("+json")),
        None => false,
    }
}

/// The body's bytes, once the content type says JSON and within the size limit.
async fn json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    if !json_content_type(req.headers()) {
        return Err(ApiError::Json {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            field: Some("content-type".into()),
            message: "send the body as JSON, with `Content-Type: application/json`".into(),
        });
    }
    Bytes::from_request(req, state).await.map_err(|r| ApiError::Json {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        field: Some("body".into()),
        message: r.body_text(),
    })
}

/// Parses JSON text into `T`, tracking the path of a failure.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| json_error("", e))?;
    deserializer.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

/// A JSON failure as our error: not JSON at all is a 400 naming `body` (with
/// serde's line and column); JSON of the wrong shape is a 422 naming the
/// field's path under `prefix` (`jobs[1]`), e.g. `jobs[1].priority`.
pub(crate) fn json_error(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = e.inner();
    match inner.classify() {
        Category::Data => {
            let message = inner.to_string();
            let field = field_at(prefix, e.path(), &message, "body");
            ApiError::Json {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: format!("{field}: {message}"),
                field: Some(field),
            }
        }
        Category::Syntax | Category::Eof | Category::Io => syntax_error(inner),
    }
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    ApiError::Json {
        status: StatusCode::BAD_REQUEST,
        field: Some("body".into()),
        message: format!("malformed JSON: {e}"),
    }
}

/// Refuses JSON text with a NUL character in any string, naming where it is.
/// A top-level array's items are named under `array_name`
/// (`jobs[0].payload.note`) when it is given.
fn refuse_nul_in_json(bytes: &[u8], array_name: &str) -> Result<(), ApiError> {
    match json_nul_field(bytes, array_name) {
        Some(field) => Err(nul_error(StatusCode::UNPROCESSABLE_ENTITY, field)),
        None => Ok(()),
    }
}

/// Where JSON text holds a NUL character in a string (a key or a value):
/// the field's path, `body` for a bare string, `None` when there is none.
/// A NUL can only appear in JSON text as the escape `\u0000`, so text
/// without it (nearly all) is not parsed twice. Malformed text is `None`:
/// the parse that follows reports it.
pub(crate) fn json_nul_field(bytes: &[u8], array_name: &str) -> Option<String> {
    memchr::memmem::find(bytes, b"\\u0000")?;
    let value = serde_json::from_slice::<Value>(bytes).ok()?;
    let mut path = if value.is_array() { array_name.to_string() } else { String::new() };
    nul_path(&value, &mut path).then(|| if path.is_empty() { "body".to_string() } else { path })
}

/// Whether a string in `value` (an object's key or any value) holds a NUL;
/// if so `path` is left naming it.
fn nul_path(value: &Value, path: &mut String) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                if nul_path(item, path) {
                    return true;
                }
                path.truncate(len);
            }
            false
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\0"));
                if key.contains('\0') || nul_path(item, path) {
                    return true;
                }
                path.truncate(len);
            }
            false
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}
