//! REST routes for cron schedules and starvation events.

use app::jobs::{CronPreview, NewJob, ScheduleView, StarvationEvent};
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::Deserialize;

use super::{ApiJson, ApiPath, ApiQuery, ApiState};
use crate::{error::ApiError, scheduler::cron::CronSpec, store::jobs::ScheduleRow};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    name: String,
    cron: String,
    #[serde(default = "utc")]
    timezone: String,
    job: NewJob,
}

fn utc() -> String {
    "UTC".into()
}

fn view(r: &ScheduleRow) -> ScheduleView {
    ScheduleView {
        id: r.id.clone(),
        name: r.name.clone(),
        cron: r.cron.clone(),
        timezone: r.timezone.clone(),
        job: serde_json::from_str(&r.template).unwrap_or(serde_json::Value::Null),
        paused: r.paused,
        next_run_at_ms: r.next_run_at,
        last_run_at_ms: r.last_run_at,
    }
}

pub async fn create(
    State(s): State<ApiState>,
    ApiJson(body): ApiJson<NewSchedule>,
) -> Result<impl IntoResponse, ApiError> {
    s.engine.refuse_internal_kinds([("job.kind".to_string(), body.job.kind.as_str())])?;
    let row = s
        .engine
        .create_schedule(&body.name, &body.cron, &body.timezone, &body.job)
        .await
        .map_err(super::jobs::payload_too_large)?;
    Ok((StatusCode::CREATED, Json(view(&row))))
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    cron: String,
    #[serde(default = "utc")]
    timezone: String,
}

/// The next five fire times of an expression, for the form to show as the
/// user types; a bad expression or zone is a 422 naming the field.
pub async fn preview(
    State(s): State<ApiState>,
    ApiQuery(q): ApiQuery<PreviewQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let spec =
        CronSpec::parse(&q.cron, &q.timezone).map_err(|e| app::auth::AppError::invalid(e.field(), e.to_string()))?;
    let mut next = Vec::with_capacity(5);
    let mut at = s.engine.now();
    while next.len() < 5 {
        let Some(t) = spec.next_after(at) else { break };
        next.push(t);
        at = t;
    }
    Ok(Json(CronPreview { next_ms: next }))
}

pub async fn list(State(s): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.engine.store.list_schedules().await?.iter().map(view).collect::<Vec<_>>()))
}

async fn set_paused(s: &ApiState, id: &str, paused: bool) -> Result<Json<ScheduleView>, ApiError> {
    let row = s.engine.store.list_schedules().await?.into_iter().find(|r| r.id == id).ok_or(ApiError::NotFound)?;
    let now = s.engine.now();
    // Resuming starts from now: fires missed while paused are skipped.
    let next =
        if paused { None } else { CronSpec::parse(&row.cron, &row.timezone).ok().and_then(|c| c.next_after(now)) };
    s.engine.store.set_schedule_paused(id, paused, next, now).await?;
    let row = s.engine.store.list_schedules().await?.into_iter().find(|r| r.id == id).ok_or(ApiError::NotFound)?;
    Ok(Json(view(&row)))
}

pub async fn pause(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    set_paused(&s, &id, true).await
}

pub async fn resume(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    set_paused(&s, &id, false).await
}

pub async fn delete(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    if s.engine.store.delete_schedule(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize)]
pub struct StarvationQuery {
    limit: Option<i64>,
}

pub async fn starvation(
    State(s): State<ApiState>,
    ApiQuery(q): ApiQuery<StarvationQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = s.engine.store.list_starvation(q.limit.unwrap_or(100)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| StarvationEvent {
                at_ms: r.at,
                queue: r.queue,
                job_id: r.job_id,
                waited_ms: r.waited_ms,
                cause: r.cause,
                priority_before: r.priority_before,
                priority_after: r.priority_after,
            })
            .collect::<Vec<_>>(),
    ))
}
