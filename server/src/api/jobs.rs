//! REST routes for jobs, the dead-letter queue and queues.

use app::{
    auth::AppError,
    jobs::{check_queue_name, AttemptView, JobDetail, JobPage, JobState, JobView, NewJob, QueueStats, QueueView},
};
use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{json_error, ApiJson, ApiPath, ApiQuery, ApiState, JobsJson};
use crate::{
    error::ApiError,
    store::jobs::{JobFilter, JobRow, QueueRow},
};

pub fn job_view(j: &JobRow) -> JobView {
    JobView {
        id: j.id,
        queue: j.queue.clone(),
        kind: j.kind.clone(),
        payload: serde_json::from_str(&j.payload).unwrap_or(Value::Null),
        priority: j.priority,
        state: JobState::parse(&j.state).unwrap_or(JobState::Available),
        run_at_ms: j.run_at,
        attempt: j.attempt,
        max_attempts: j.max_attempts,
        last_error: j.last_error.clone(),
        lease_owner: j.lease_owner.clone(),
        workflow_id: j.workflow_id.clone(),
        idempotency_key: j.idempotency_key.clone(),
        created_at_ms: j.created_at,
        finished_at_ms: j.finished_at,
    }
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| AppError::invalid("id", format!("{raw:?} is not a job id")).into())
}

#[derive(Serialize)]
pub struct EnqueuedJob {
    id: i64,
    state: String,
    /// True when an idempotency key matched a job submitted before.
    existing: bool,
}

/// One job (an object) or a batch (an array of up to 10,000).
pub async fn enqueue(State(s): State<ApiState>, JobsJson(body): JobsJson) -> Result<impl IntoResponse, ApiError> {
    let (jobs, batch) = match body {
        Value::Array(items) => {
            let mut jobs = Vec::with_capacity(items.len());
            if items.len() > app::jobs::MAX_BATCH {
                return Err(ApiError::Json {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    field: Some("jobs".into()),
                    message: format!("a batch holds at most {} jobs; got {}", app::jobs::MAX_BATCH, items.len()),
                });
            }
            for (i, item) in items.into_iter().enumerate() {
                let job: NewJob =
                    serde_path_to_error::deserialize(item).map_err(|e| json_error(&format!("jobs[{i}]"), e))?;
                jobs.push(job);
            }
            (jobs, true)
        }
        Value::Object(_) => {
            let job: NewJob = serde_path_to_error::deserialize(body).map_err(|e| json_error("", e))?;
            (vec![job], false)
        }
        _ => return Err(AppError::invalid("body", "send a job object or an array of jobs").into()),
    };
    let field = |i: usize, f: &str| if batch { format!("jobs[{i}].{f}") } else { f.to_string() };
    s.engine.refuse_internal_kinds(jobs.iter().enumerate().map(|(i, j)| (field(i, "kind"), j.kind.as_str())))?;
    if let Some(i) = jobs
        .iter()
        .position(|j| j.idempotency_key.as_deref().is_some_and(|k| k.starts_with(app::jobs::SCHEDULE_KEY_PREFIX)))
    {
        return Err(AppError::invalid(
            &field(i, "idempotency_key"),
            format!("keys starting with {:?} are kept for cron schedules' fires", app::jobs::SCHEDULE_KEY_PREFIX),
        )
        .into());
    }
    let inserted = s.engine.enqueue(jobs, batch).await.map_err(payload_too_large)?;
    let out: Vec<EnqueuedJob> =
        inserted.into_iter().map(|i| EnqueuedJob { id: i.id, state: i.state, existing: i.existing }).collect();
    let status = if out.iter().all(|j| j.existing) { StatusCode::OK } else { StatusCode::CREATED };
    Ok(if batch {
        (status, Json(serde_json::json!({ "jobs": out }))).into_response()
    } else {
        (status, Json(serde_json::to_value(&out[0]).unwrap_or(Value::Null))).into_response()
    })
}

/// A payload over `MAX_PAYLOAD_BYTES` is a 413 naming the field, like a body
/// over its limit; every other error keeps its own status.
pub(super) fn payload_too_large(e: AppError) -> ApiError {
    match e {
        AppError::Invalid { field, message } if field.ends_with("payload") && message.contains("bytes; the limit") => {
            ApiError::Json { status: StatusCode::PAYLOAD_TOO_LARGE, field: Some(field), message }
        }
        other => other.into(),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    state: Option<String>,
    queue: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    cursor: Option<i64>,
    limit: Option<i64>,
}

impl ListQuery {
    fn filter(&self, state: Option<String>) -> Result<JobFilter, ApiError> {
        let state = state.or_else(|| self.state.clone());
        if let Some(st) = &state {
            if JobState::parse(st).is_none() {
                let known: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
                return Err(
                    AppError::invalid("state", format!("unknown state {st:?}; one of {}", known.join(", "))).into()
                );
            }
        }
        Ok(JobFilter {
            state,
            queue: self.queue.clone(),
            kind: self.kind.clone(),
            text: app::jobs::search_text("q", self.q.as_deref())?,
            before_id: self.cursor,
            limit: self.limit.unwrap_or(50).clamp(1, 500),
            ids: None,
        })
    }
}

async fn page(s: &ApiState, filter: JobFilter) -> Result<JobPage, ApiError> {
    let rows = s.engine.store.list_jobs(&filter).await?;
    let next_cursor = (rows.len() as i64 == filter.limit).then(|| rows.last().map(|r| r.id)).flatten();
    Ok(JobPage { jobs: rows.iter().map(job_view).collect(), next_cursor })
}

pub async fn list(State(s): State<ApiState>, ApiQuery(q): ApiQuery<ListQuery>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(page(&s, q.filter(None)?).await?))
}

pub async fn detail(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let job = s.engine.store.get_job(id).await?.ok_or(ApiError::NotFound)?;
    let attempts = s.engine.store.job_attempts(id).await?;
    Ok(Json(JobDetail {
        job: job_view(&job),
        attempts: attempts
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                node: a.node,
                started_at_ms: a.started_at,
                finished_at_ms: a.finished_at,
                outcome: a.outcome,
                error: a.error,
            })
            .collect(),
    }))
}

fn conflict(message: &str) -> ApiError {
    ApiError::Json { status: StatusCode::CONFLICT, field: Some("state".into()), message: message.into() }
}

pub async fn cancel(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    match s.engine.store.cancel_job(id, s.engine.now()).await? {
        Some(job) => {
            s.engine.publish(vec![s.engine.job_event(&job)]).await;
            Ok(Json(job_view(&job)))
        }
        None => match s.engine.store.get_job(id).await? {
            None => Err(ApiError::NotFound),
            Some(j) => Err(conflict(&format!("job {id} has already ended ({})", j.state))),
        },
    }
}

pub async fn retry(State(s): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    match s.engine.store.retry_job(id, s.engine.now()).await? {
        Some(job) => {
            s.engine.publish(vec![s.engine.job_event(&job)]).await;
            Ok(Json(job_view(&job)))
        }
        None => match s.engine.store.get_job(id).await? {
            None => Err(ApiError::NotFound),
            Some(j) => {
                Err(conflict(&format!("job {id} is {}; only dead, cancelled or retrying jobs can be retried", j.state)))
            }
        },
    }
}

pub async fn dlq_list(
    State(s): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(page(&s, q.filter(Some("dead".into()))?).await?))
}

pub async fn dlq_requeue_one(
    State(s): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    let job = s.engine.store.get_job(id).await?.ok_or(ApiError::NotFound)?;
    if job.state != "dead" {
        return Err(conflict(&format!("job {id} is {}, not in the dead-letter queue", job.state)));
    }
    retry(State(s), ApiPath(id.to_string())).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DlqFilter {
    queue: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    /// Exactly these dead jobs (at most 10,000), e.g. a group the page shows.
    ids: Option<Vec<i64>>,
}

impl DlqFilter {
    fn filter(self) -> Result<JobFilter, ApiError> {
        if self.ids.as_ref().is_some_and(|ids| ids.len() > app::jobs::MAX_BATCH) {
            return Err(AppError::invalid("ids", format!("at most {} ids", app::jobs::MAX_BATCH)).into());
        }
        Ok(JobFilter {
            state: Some("dead".into()),
            queue: self.queue,
            kind: self.kind,
            // A blank text must not turn into "match everything".
            text: app::jobs::search_text("q", self.q.as_deref())?,
            before_id: None,
            limit: 0,
            ids: self.ids,
        })
    }
}

pub async fn dlq_requeue_matching(
    State(s): State<ApiState>,
    ApiJson(f): ApiJson<DlqFilter>,
) -> Result<impl IntoResponse, ApiError> {
    let n = s.engine.store.requeue_dead(&f.filter()?, s.engine.now()).await?;
    // Wake every node: the requeued jobs are available now.
    s.engine.wake().await;
    Ok(Json(serde_json::json!({ "requeued": n })))
}

pub async fn dlq_delete(
    State(s): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id(&id)?;
    if s.engine.store.delete_dead(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

pub async fn dlq_purge(
    State(s): State<ApiState>,
    ApiJson(f): ApiJson<DlqFilter>,
) -> Result<impl IntoResponse, ApiError> {
    let n = s.engine.store.purge_dead(&f.filter()?).await?;
    Ok(Json(serde_json::json!({ "purged": n })))
}

pub fn queue_view(q: &QueueRow) -> QueueView {
    QueueView {
        name: q.name.clone(),
        concurrency: q.concurrency,
        paused: q.paused,
        max_attempts: q.max_attempts,
        retry_delays_ms: q.retry_delays_ms.as_deref().map(|t| t.split(',').filter_map(|v| v.parse().ok()).collect()),
        starvation_after_ms: q.starvation_after_ms,
    }
}

pub async fn queues(State(s): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let rows = s.engine.store.list_queues().await?;
    // Waiting, blocked, running and dead jobs exactly, now; finished ones as
    // the dashboard hub counts them (no scan of the retained history per
    // request).
    let mut counts = s.engine.store.active_state_counts().await?;
    counts.extend(s.dashboard.settled_counts());
    let out: Vec<QueueStats> = rows
        .iter()
        .map(|q| QueueStats {
            queue: queue_view(q),
            counts: counts.iter().filter(|c| c.queue == q.name).map(|c| (c.state.clone(), c.count)).collect(),
        })
        .collect();
    Ok(Json(out))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QueuePatch {
    concurrency: Option<i32>,
    paused: Option<bool>,
    #[serde(default, with = "double_option")]
    max_attempts: Option<Option<i32>>,
    #[serde(default, with = "double_option")]
    retry_delays_ms: Option<Option<Vec<i64>>>,
    #[serde(default, with = "double_option")]
    starvation_after_ms: Option<Option<i64>>,
}

/// Distinguishes an absent field (leave it) from `null` (reset to default).
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

impl QueuePatch {
    /// Every field's range, before anything is written: a refused patch
    /// neither creates the queue nor changes part of it.
    fn check(&self) -> Result<(), AppError> {
        if self.concurrency.is_some_and(|c| !(0..=100_000).contains(&c)) {
            return Err(AppError::invalid("concurrency", "concurrency must be 0 (no limit) to 100000"));
        }
        if self.max_attempts.flatten().is_some_and(|m| !(1..=100).contains(&m)) {
            return Err(AppError::invalid("max_attempts", "max_attempts must be 1 to 100"));
        }
        if let Some(Some(list)) = &self.retry_delays_ms {
            if list.is_empty() || list.len() > 20 || list.iter().any(|v| !(0..=86_400_000).contains(v)) {
                return Err(AppError::invalid("retry_delays_ms", "1 to 20 delays, each 0 ms to 24 h"));
            }
        }
        if self.starvation_after_ms.flatten().is_some_and(|v| !(1_000..=86_400_000).contains(&v)) {
            return Err(AppError::invalid("starvation_after_ms", "starvation_after_ms must be 1 s to 24 h"));
        }
        Ok(())
    }
}

async fn apply_patch(s: &ApiState, name: &str, patch: QueuePatch) -> Result<QueueView, ApiError> {
    // The queue's name is the route's `{name}`.
    check_queue_name(name).map_err(|e| e.at_field("name"))?;
    patch.check()?;
    let now = s.engine.now();
    s.engine.store.ensure_queues(&[name.to_string()], now).await?;
    let mut q = s.engine.store.list_queues().await?.into_iter().find(|q| q.name == name).ok_or(ApiError::NotFound)?;
    if let Some(c) = patch.concurrency {
        q.concurrency = c;
    }
    if let Some(p) = patch.paused {
        q.paused = p;
    }
    if let Some(m) = patch.max_attempts {
        q.max_attempts = m;
    }
    if let Some(d) = patch.retry_delays_ms {
        q.retry_delays_ms = d.map(|l| l.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    }
    if let Some(st) = patch.starvation_after_ms {
        q.starvation_after_ms = st;
    }
    q.updated_at = now;
    s.engine.store.update_queue(&q).await?;
    let _ = s.engine.refresh_queues().await;
    // A resumed queue may have work waiting: wake the dispatchers.
    s.engine.wake().await;
    Ok(queue_view(&q))
}

pub async fn patch_queue(
    State(s): State<ApiState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(patch): ApiJson<QueuePatch>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(apply_patch(&s, &name, patch).await?))
}

pub async fn pause_queue(
    State(s): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(apply_patch(&s, &name, QueuePatch { paused: Some(true), ..Default::default() }).await?))
}

pub async fn resume_queue(
    State(s): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(apply_patch(&s, &name, QueuePatch { paused: Some(false), ..Default::default() }).await?))
}
