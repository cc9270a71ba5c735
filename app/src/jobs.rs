//! Jobs as the API and the pages see them, and the checks on a submitted job
//! that need no database.

use serde::{Deserialize, Serialize};

use crate::auth::AppError;

pub use crate::dag::MAX_PAYLOAD_BYTES;
pub const MAX_BATCH: usize = 10_000;
/// The longest search text a list takes (jobs, dead letters, interviews).
pub const MAX_SEARCH_CHARS: usize = 200;
pub const MAX_PRIORITY: i32 = crate::dag::MAX_PRIORITY as i32;
pub const DEFAULT_QUEUE: &str = "default";
pub const DEFAULT_PRIORITY: i32 = 5;

/// The search text of a list query: blank is no filter, too long is an error
/// naming `field`.
pub fn search_text(field: &str, text: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    AppError::refuse_nul(field, t)?;
    if t.chars().count() > MAX_SEARCH_CHARS {
        return Err(AppError::invalid(field, format!("search text of at most {MAX_SEARCH_CHARS} characters")));
    }
    Ok(Some(t.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Scheduled,
    Blocked,
    Available,
    Running,
    Retrying,
    Succeeded,
    Dead,
    Cancelled,
    UpstreamFailed,
}

impl JobState {
    pub const ALL: [JobState; 9] = [
        JobState::Scheduled,
        JobState::Blocked,
        JobState::Available,
        JobState::Running,
        JobState::Retrying,
        JobState::Succeeded,
        JobState::Dead,
        JobState::Cancelled,
        JobState::UpstreamFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Blocked => "blocked",
            JobState::Available => "available",
            JobState::Running => "running",
            JobState::Retrying => "retrying",
            JobState::Succeeded => "succeeded",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
            JobState::UpstreamFailed => "upstream_failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Dead | JobState::Cancelled | JobState::UpstreamFailed)
    }
}

/// One job as submitted to `POST /api/v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    pub kind: String,
    #[serde(default)]
    pub payload: serde_json::Value,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub priority: Option<i32>,
    /// Unix milliseconds; absent or past means now.
    #[serde(default)]
    pub run_at: Option<i64>,
    #[serde(default)]
    pub max_attempts: Option<i32>,
    /// This job's own retry delays (ms), overriding its queue's.
    #[serde(default)]
    pub retry_delays_ms: Option<Vec<i64>>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// A job's payload as stored (its JSON text) must fit the limit: the same
/// rule for jobs submitted one by one or in batches and for a schedule's job.
pub fn check_payload_bytes(bytes: usize, field: &str) -> Result<(), AppError> {
    if bytes > MAX_PAYLOAD_BYTES {
        return Err(AppError::invalid(field, format!("payload is {bytes} bytes; the limit is {MAX_PAYLOAD_BYTES}")));
    }
    Ok(())
}

/// The idempotency keys of a cron schedule's fires (`schedule:<id>:<fire ms>`).
/// A client's key may not start so: a job submitted ahead of a fire with its
/// key would take that fire's place, and the schedule's job would never run.
pub const SCHEDULE_KEY_PREFIX: &str = "schedule:";

pub fn check_queue_name(name: &str) -> Result<(), AppError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid("queue", "use 1 to 64 letters, digits, '_', '-', '.' or ':'"))
    }
}

impl NewJob {
    /// Field checks that need no registry or database. `index` names the job
    /// in a batch ("jobs[3].priority").
    pub fn check(&self, index: Option<usize>) -> Result<(), AppError> {
        let field = |f: &str| match index {
            Some(i) => format!("jobs[{i}].{f}"),
            None => f.to_string(),
        };
        let wrap = |e: AppError, f: &str| match e {
            AppError::Invalid { message, .. } => AppError::Invalid { field: field(f), message },
            other => other,
        };
        if self.kind.trim().is_empty() || self.kind.len() > 64 {
            return Err(AppError::invalid(&field("kind"), "a job needs a kind of 1 to 64 characters"));
        }
        if let Some(q) = &self.queue {
            check_queue_name(q).map_err(|e| wrap(e, "queue"))?;
        }
        if let Some(p) = self.priority {
            if !(0..=MAX_PRIORITY).contains(&p) {
                return Err(AppError::invalid(
                    &field("priority"),
                    format!("priority must be 0 (most urgent) to {MAX_PRIORITY}"),
                ));
            }
        }
        if let Some(m) = self.max_attempts {
            if !(1..=100).contains(&m) {
                return Err(AppError::invalid(&field("max_attempts"), "max_attempts must be 1 to 100"));
            }
        }
        if let Some(d) = &self.retry_delays_ms {
            if d.is_empty() || d.len() > 20 || d.iter().any(|v| !(0..=86_400_000).contains(v)) {
                return Err(AppError::invalid(&field("retry_delays_ms"), "1 to 20 delays, each 0 ms to 24 h"));
            }
        }
        if let Some(t) = self.timeout_ms {
            if !(1..=86_400_000).contains(&t) {
                return Err(AppError::invalid(&field("timeout_ms"), "timeout_ms must be 1 ms to 24 h"));
            }
        }
        if let Some(k) = &self.idempotency_key {
            if k.is_empty() || k.len() > 200 {
                return Err(AppError::invalid(
                    &field("idempotency_key"),
                    "idempotency_key must be 1 to 200 characters",
                ));
            }
        }
        Ok(())
    }

    pub fn payload_bytes(&self) -> usize {
        serde_json::to_string(&self.payload).map(|s| s.len()).unwrap_or(usize::MAX)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub priority: i32,
    pub state: JobState,
    pub run_at_ms: i64,
    pub attempt: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
    pub workflow_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub attempt: i32,
    pub node: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub outcome: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobView,
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    pub concurrency: i32,
    pub paused: bool,
    pub max_attempts: Option<i32>,
    pub retry_delays_ms: Option<Vec<i64>>,
    pub starvation_after_ms: Option<i64>,
}

/// A page of jobs (`GET /api/v1/jobs`, `GET /api/v1/dlq`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// A queue with its jobs counted per state (`GET /api/v1/queues`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    #[serde(flatten)]
    pub queue: QueueView,
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, i64>,
}

/// A cron schedule (`GET /api/v1/schedules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    /// The job each fire enqueues.
    pub job: serde_json::Value,
    pub paused: bool,
    pub next_run_at_ms: i64,
    pub last_run_at_ms: Option<i64>,
}

/// The next fires of a cron expression (`GET /api/v1/schedules/preview`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronPreview {
    pub next_ms: Vec<i64>,
}

/// A starving job the daemon aged (`GET /api/v1/starvation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarvationEvent {
    pub at_ms: i64,
    pub queue: String,
    pub job_id: i64,
    pub waited_ms: i64,
    /// saturated, inversion or no_worker.
    pub cause: String,
    pub priority_before: i32,
    pub priority_after: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_trimmed_blank_is_none_and_long_is_refused() {
        assert_eq!(search_text("q", Some("  kafka ")).unwrap().as_deref(), Some("kafka"));
        assert_eq!(search_text("q", Some("   ")).unwrap(), None);
        assert_eq!(search_text("q", None).unwrap(), None);
        assert!(search_text("q", Some(&"é".repeat(MAX_SEARCH_CHARS))).unwrap().is_some(), "characters, not bytes");
        let e = search_text("text", Some(&"x".repeat(MAX_SEARCH_CHARS + 1))).unwrap_err();
        assert_eq!(e, AppError::invalid("text", format!("search text of at most {MAX_SEARCH_CHARS} characters")));
    }

    fn job(json: &str) -> NewJob {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn checks_name_the_field_and_the_batch_index() {
        assert!(job(r#"{"kind":"noop"}"#).check(None).is_ok());
        let e = job(r#"{"kind":"noop","priority":10}"#).check(Some(3)).unwrap_err();
        assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "jobs[3].priority"), "{e:?}");
        let e = job(r#"{"kind":"noop","queue":"bad queue"}"#).check(None).unwrap_err();
        assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "queue"));
        assert!(job(r#"{"kind":""}"#).check(None).is_err());
        assert!(job(r#"{"kind":"x","max_attempts":0}"#).check(None).is_err());
        assert!(serde_json::from_str::<NewJob>(r#"{"kind":"x","colour":1}"#).is_err(), "unknown fields are refused");
    }

    #[test]
    fn states_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert!(JobState::Dead.is_final() && !JobState::Retrying.is_final());
    }
}
