//! REST routes for interviews (for an ATS or scripts) and for the
//! candidate's room, plus each interview's live SSE stream. They call the
//! same `InterviewService` as the server functions.

use std::{convert::Infallible, time::Duration};

use app::{
    interviews::{NewInterview, NewSegment, Recommendation},
    services::InterviewService,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use futures_util::stream::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiJson, ApiPath, ApiQuery, ApiState, Caller};
use crate::{
    error::ApiError,
    meetmind::hub::{Audience, InterviewEvent},
    scheduler::events::JobEvent,
};

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
}

pub async fn templates(State(s): State<ApiState>) -> impl IntoResponse {
    Json(s.meetmind.templates())
}

pub async fn list(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    // The search text (its only checked input) is `q` here, `text` to the server function.
    let found = s.meetmind.list(&who, q.q).await.map_err(|e| e.at_field("q"))?;
    Ok(Json(found).into_response())
}

pub async fn create(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiJson(new): ApiJson<NewInterview>,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(s.meetmind.create(&who, new).await?)).into_response())
}

pub async fn detail(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.detail(&who, &id).await?).into_response())
}

pub async fn delete(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    s.meetmind.delete(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn export(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let body = s.meetmind.export(&who, &id).await?;
    Ok(([(header::CONTENT_DISPOSITION, format!("attachment; filename=\"interview-{id}.json\""))], Json(body))
        .into_response())
}

pub async fn segments(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.transcript(&who, &id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segments {
    segments: Vec<NewSegment>,
}

pub async fn append(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Segments>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.append(&who, &id, body.segments).await?).into_response())
}

pub async fn suggestions(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.suggestions(&who, &id).await?).into_response())
}

pub async fn start(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.start(&who, &id).await?).into_response())
}

pub async fn end(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.end(&who, &id).await?).into_response())
}

pub async fn pause(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.pause(&who, &id, true).await?).into_response())
}

pub async fn resume(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.pause(&who, &id, false).await?).into_response())
}

pub async fn revoke_link(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    s.meetmind.revoke_link(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn cancel(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.cancel(&who, &id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: Recommendation,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Response, ApiError> {
    s.meetmind.decide(&who, &id, body.decision, body.note).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn link(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.new_link(&who, &id).await?).into_response())
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
}

pub async fn search(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.search(&who, Some(&id), &q.q).await?).into_response())
}

pub async fn search_all(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.search(&who, None, &q.q).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    question: String,
}

pub async fn ask(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.ask(&who, &id, &body.question).await?).into_response())
}

#[derive(Deserialize)]
pub struct ReportQuery {
    format: Option<String>,
}

/// `?format=md` for Markdown; HTML otherwise.
pub async fn report(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let markdown = match q.format.as_deref() {
        None | Some("html") => false,
        Some("md") | Some("markdown") => true,
        Some(_) => return Err(app::auth::AppError::invalid("format", "html or md").into()),
    };
    let body = s.meetmind.report(&who, &id, markdown).await?;
    let kind = if markdown { "text/markdown; charset=utf-8" } else { "text/html; charset=utf-8" };
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}

// ---- the candidate's room --------------------------------------------------

pub async fn room(State(s): State<ApiState>, ApiPath(token): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.room(&token).await.map_err(room_error)?).into_response())
}

pub async fn room_consent(State(s): State<ApiState>, ApiPath(token): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.room_consent(&token).await.map_err(room_error)?).into_response())
}

pub async fn room_append(
    State(s): State<ApiState>,
    ApiPath(token): ApiPath<String>,
    ApiJson(body): ApiJson<Segments>,
) -> Result<Response, ApiError> {
    Ok(Json(s.meetmind.room_append(&token, body.segments).await.map_err(room_error)?).into_response())
}

/// A bad or expired room token is a 404 with a friendly message.
fn room_error(e: app::auth::AppError) -> ApiError {
    match e {
        app::auth::AppError::Invalid { field, message } if field == "token" => {
            ApiError::Invalid { status: StatusCode::NOT_FOUND, field: Some("token"), message }
        }
        other => other.into(),
    }
}

// ---- live streams ------------------------------------------------------------

struct Feed {
    interview_id: String,
    workflow_id: Option<String>,
    audience: Audience,
    interviews: tokio::sync::broadcast::Receiver<InterviewEvent>,
    jobs: Option<tokio::sync::broadcast::Receiver<JobEvent>>,
    state: ApiState,
    /// The candidate's link was ended: the stream closes after saying so.
    closing: bool,
    /// The candidate's room token, checked again before events go out (at
    /// most every `ROOM_RECHECK`): an expired or replaced link hears only
    /// that it ended, even when no `link_revoked` event reached this node.
    room_token: Option<String>,
    checked_at: tokio::time::Instant,
}

const ROOM_RECHECK: Duration = Duration::from_secs(5);

/// Waits for the next event this subscriber may see.
async fn next_event(mut f: Feed) -> Option<(Result<Event, Infallible>, Feed)> {
    if f.closing {
        return None;
    }
    loop {
        let job = async {
            match f.jobs.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = f.interviews.recv() => match ev {
                Ok(ev) if ev.interview_id == f.interview_id
                    && (f.audience == Audience::Staff || ev.audience == Audience::Everyone) => {
                    if let Some(token) = &f.room_token {
                        if f.checked_at.elapsed() >= ROOM_RECHECK {
                            if f.state.meetmind.room_interview(token).await.is_err() {
                                // Not the event: only that the link ended, so
                                // the room says why instead of reconnecting
                                // into refusals.
                                f.closing = true;
                                let event = Event::default().event("state").data(r#"{"link_revoked":true}"#);
                                return Some((Ok(event), f));
                            }
                            f.checked_at = tokio::time::Instant::now();
                        }
                    }
                    if ev.name == "state" {
                        if let Some(w) = ev.data["workflow_id"].as_str() {
                            f.workflow_id = Some(w.to_string());
                        }
                        // A candidate whose link was ended or replaced hears nothing more.
                        f.closing = f.audience == Audience::Everyone && ev.data["link_revoked"] == true;
                    }
                    let event = Event::default().event(ev.name).data(ev.data.to_string());
                    return Some((Ok(event), f));
                }
                Ok(_) => continue,
                // Too slow to keep up: say so, so the client reloads what it missed.
                Err(RecvError::Lagged(n)) => {
                    let event = Event::default().event("resync").data(format!("{{\"missed\":{n}}}"));
                    return Some((Ok(event), f));
                }
                Err(RecvError::Closed) => return None,
            },
            ev = job => match ev {
                Ok(j) if j.kind.starts_with("interview.") && f.workflow_id.is_some() => {
                    let belongs = f.state.engine.store.get_job(j.id).await.ok().flatten()
                        .is_some_and(|row| row.workflow_id == f.workflow_id);
                    if belongs {
                        let data = serde_json::json!({ "job_id": j.id, "kind": j.kind, "state": j.state });
                        return Some((Ok(Event::default().event("workflow").data(data.to_string())), f));
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => f.jobs = None,
            },
        }
    }
}

fn stream(feed: Feed) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let hello = Event::default().event("hello").data("{}");
    let first = futures_util::stream::once(async move { Ok::<_, Infallible>(hello) });
    let rest = futures_util::stream::unfold(feed, next_event);
    Sse::new(futures_util::StreamExt::chain(first, rest))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
}

/// The interviewer's stream: segments, suggestions as they are generated,
/// state changes and the post-interview workflow's progress.
pub async fn events(
    State(s): State<ApiState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let detail = s.meetmind.detail(&who, &id).await?;
    let feed = Feed {
        interview_id: id,
        workflow_id: detail.interview.workflow_id,
        audience: Audience::Staff,
        interviews: s.meetmind.hub.subscribe(),
        jobs: Some(s.engine.events.subscribe()),
        state: s.clone(),
        closing: false,
        room_token: None,
        checked_at: tokio::time::Instant::now(),
    };
    Ok(stream(feed).into_response())
}

/// The candidate's stream: the AI's questions and their own segments only.
pub async fn room_events(State(s): State<ApiState>, ApiPath(token): ApiPath<String>) -> Result<Response, ApiError> {
    // Subscribed before the token is checked: a revoke between the two is
    // then either refused here or heard as its event.
    let interviews = s.meetmind.hub.subscribe();
    let interview_id = s.meetmind.room_interview(&token).await.map_err(room_error)?;
    let feed = Feed {
        interview_id,
        workflow_id: None,
        audience: Audience::Everyone,
        interviews,
        jobs: None,
        state: s.clone(),
        closing: false,
        room_token: Some(token),
        checked_at: tokio::time::Instant::now(),
    };
    Ok(stream(feed).into_response())
}
