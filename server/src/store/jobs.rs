//! Jobs, attempts and queues in the store. Single-row statements are shared
//! by both drivers (one macro); the hot batch paths (insert, claim, complete)
//! are written per driver: UNNEST and `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, one write transaction on SQLite.

use async_trait::async_trait;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub payload: String,
    pub priority: i32,
    pub run_at: i64,
    pub state: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub retry_delays_ms: Option<String>,
    pub timeout_ms: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub fence: i64,
    pub last_error: Option<String>,
    pub workflow_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

pub(crate) const JOB_COLUMNS: &str = "id, queue, kind, payload, priority, run_at, state, attempt, max_attempts, \
     retry_delays_ms, timeout_ms, lease_owner, lease_expires_at, fence, last_error, workflow_id, idempotency_key, \
     created_at, updated_at, finished_at";

/// A job ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertJob {
    pub queue: String,
    pub kind: String,
    pub payload: String,
    pub priority: i32,
    pub run_at: i64,
    pub state: String,
    pub max_attempts: i32,
    pub retry_delays_ms: Option<String>,
    pub timeout_ms: Option<i64>,
    pub idempotency_key: Option<String>,
    pub workflow_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub id: i64,
    pub state: String,
    /// True when an idempotency key matched an existing job.
    pub existing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub attempt: i32,
    pub node: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: String,
    pub error: Option<String>,
}

/// A successful run to record; accepted only with the current fence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub id: i64,
    pub fence: i64,
    pub attempt: i32,
    pub started_at: i64,
    pub finished_at: i64,
}

/// A failed run: retry at `retry_at`, or dead-letter when None.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub id: i64,
    pub fence: i64,
    pub attempt: i32,
    pub node: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub outcome: String,
    pub error: String,
    pub retry_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub state: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    /// Matches the kind, the payload or the last error.
    pub text: Option<String>,
    /// Cursor: only ids below this one (newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueRow {
    pub name: String,
    pub concurrency: i32,
    pub paused: bool,
    pub max_attempts: Option<i32>,
    pub retry_delays_ms: Option<String>,
    pub starvation_after_ms: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StateCount {
    pub queue: String,
    pub state: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Changed {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub state: String,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Writes jobs in as few statements as the driver allows. Jobs whose
    /// idempotency key exists already come back as that job.
    async fn insert_jobs(&self, jobs: &[InsertJob], now: i64) -> Result<Vec<Inserted>, StoreError>;

    /// Claims up to `limit` available jobs, most urgent first, skipping the
    /// `exclude` queues; or only from `only` when given. Each claim bumps the
    /// attempt and the fence and takes a lease until `lease_until`.
    async fn claim(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        exclude: &[String],
        only: Option<&str>,
    ) -> Result<Vec<JobRow>, StoreError>;

    /// Claims from a queue with a concurrency limit, counting its running jobs
    /// across nodes under a lock so the limit holds cluster-wide.
    async fn claim_limited(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        queue: &str,
        concurrency: i64,
    ) -> Result<Vec<JobRow>, StoreError>;

    /// Marks runs succeeded and records their attempts; returns the ids
    /// accepted. A stale fence (the lease was lost) is refused.
    async fn complete(&self, node: &str, done: &[Completion]) -> Result<Vec<i64>, StoreError>;

}

/// Job operations whose SQL is the same on both drivers.
#[async_trait]
pub trait JobQueries: Send + Sync {
    /// Records a failed run: to `retrying` at `retry_at`, or `dead`. False
    /// when the fence is stale.
    async fn fail(&self, failure: &Failure, now: i64) -> Result<bool, StoreError>;

    /// Renews every lease this node holds.
    async fn extend_leases(&self, node: &str, until: i64) -> Result<u64, StoreError>;

    /// Gives back this node's running jobs (shutdown), not counting the run.
    async fn release_leases(&self, node: &str, now: i64) -> Result<u64, StoreError>;

    /// Running jobs whose lease expired go back to `available` (or `dead`
    /// when out of attempts), with a `lost` attempt recorded.
    async fn rescue_expired(&self, now: i64) -> Result<Vec<Changed>, StoreError>;

    /// Scheduled and retrying jobs that are due become available.
    async fn promote_due(&self, now: i64) -> Result<Vec<Changed>, StoreError>;

    /// Future runs due by `until`, for the node's timer structure.
    async fn upcoming(&self, until: i64, limit: i64) -> Result<Vec<(i64, i32, i64)>, StoreError>;

    async fn get_job(&self, id: i64) -> Result<Option<JobRow>, StoreError>;
    async fn job_attempts(&self, id: i64) -> Result<Vec<AttemptRow>, StoreError>;
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobRow>, StoreError>;

    /// Cancels a job that has not ended; a running job's late completion is
    /// then refused by its state.
    async fn cancel_job(&self, id: i64, now: i64) -> Result<Option<JobRow>, StoreError>;

    /// Runs a dead, cancelled or retrying job again now, with fresh attempts.
    async fn retry_job(&self, id: i64, now: i64) -> Result<Option<JobRow>, StoreError>;

    /// Requeues every dead job matching the filter's queue, kind and text.
    async fn requeue_dead(&self, filter: &JobFilter, now: i64) -> Result<u64, StoreError>;
    async fn delete_dead(&self, id: i64) -> Result<bool, StoreError>;
    /// Deletes every dead job matching the filter.
    async fn purge_dead(&self, filter: &JobFilter) -> Result<u64, StoreError>;

    async fn ensure_queues(&self, names: &[String], now: i64) -> Result<(), StoreError>;
    async fn list_queues(&self) -> Result<Vec<QueueRow>, StoreError>;
    async fn update_queue(&self, queue: &QueueRow) -> Result<bool, StoreError>;
    async fn state_counts(&self) -> Result<Vec<StateCount>, StoreError>;
}

/// The `WHERE` clause and its binds for a job filter, numbered from `first`.
pub(crate) fn filter_sql(f: &JobFilter, first: usize) -> (String, Vec<String>, Option<i64>) {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let mut n = first;
    for (col, value) in [("state", &f.state), ("queue", &f.queue), ("kind", &f.kind)] {
        if let Some(v) = value {
            clauses.push(format!("{col} = ${n}"));
            binds.push(v.clone());
            n += 1;
        }
    }
    if let Some(t) = &f.text {
        clauses.push(format!("(kind LIKE ${n} OR payload LIKE ${n} OR COALESCE(last_error, '') LIKE ${n})"));
        binds.push(format!("%{}%", t.replace('%', "").replace('_', "")));
        n += 1;
    }
    let cursor = f.before_id;
    if cursor.is_some() {
        clauses.push(format!("id < ${n}"));
    }
    let sql = if clauses.is_empty() { "TRUE".to_string() } else { clauses.join(" AND ") };
    (sql, binds, cursor)
}

macro_rules! impl_job_queries {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::jobs::JobQueries for $store {
        async fn fail(&self, f: &Failure, now: i64) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            let (state, run_at, finished) = match f.retry_at {
                Some(at) => ("retrying", Some(at), None),
                None => ("dead", None, Some(now)),
            };
            let done = sqlx::query(
                "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = $3, lease_owner = NULL,
                        lease_expires_at = NULL, updated_at = $4, finished_at = $5
                 WHERE id = $6 AND fence = $7 AND state = 'running'",
            )
            .bind(state).bind(run_at).bind(&f.error).bind(now).bind(finished).bind(f.id).bind(f.fence)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO job_attempts (job_id, attempt, node, started_at, finished_at, outcome, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(f.id).bind(f.attempt).bind(&f.node).bind(f.started_at).bind(f.finished_at).bind(&f.outcome).bind(&f.error)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn extend_leases(&self, node: &str, until: i64) -> Result<u64, StoreError> {
            let done = sqlx::query("UPDATE jobs SET lease_expires_at = $1 WHERE lease_owner = $2 AND state = 'running'")
                .bind(until).bind(node)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        }

        async fn release_leases(&self, node: &str, now: i64) -> Result<u64, StoreError> {
            let done = sqlx::query(
                "UPDATE jobs SET state = 'available', attempt = attempt - 1, fence = fence + 1, lease_owner = NULL,
                        lease_expires_at = NULL, updated_at = $1
                 WHERE lease_owner = $2 AND state = 'running'",
            )
            .bind(now).bind(node)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        }

        async fn rescue_expired(&self, now: i64) -> Result<Vec<Changed>, StoreError> {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO job_attempts (job_id, attempt, node, started_at, finished_at, outcome, error)
                 SELECT id, attempt, COALESCE(lease_owner, ''), updated_at, $1, 'lost', 'lease expired: the worker stopped renewing it'
                 FROM jobs WHERE state = 'running' AND lease_expires_at < $1",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let changed: Vec<Changed> = sqlx::query_as(
                "UPDATE jobs SET
                    state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'available' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN $1 ELSE NULL END,
                    last_error = 'lease expired: the worker stopped renewing it',
                    fence = fence + 1, lease_owner = NULL, lease_expires_at = NULL, updated_at = $1
                 WHERE state = 'running' AND lease_expires_at < $1
                 RETURNING id, queue, kind, state",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(changed)
        }

        async fn promote_due(&self, now: i64) -> Result<Vec<Changed>, StoreError> {
            Ok(sqlx::query_as(
                "UPDATE jobs SET state = 'available', updated_at = $1
                 WHERE state IN ('scheduled', 'retrying') AND run_at <= $1
                 RETURNING id, queue, kind, state",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn upcoming(&self, until: i64, limit: i64) -> Result<Vec<(i64, i32, i64)>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT id, priority, run_at FROM jobs WHERE state IN ('scheduled', 'retrying') AND run_at <= $1
                 ORDER BY run_at LIMIT $2",
            )
            .bind(until).bind(limit)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn get_job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
            let sql = format!("SELECT {} FROM jobs WHERE id = $1", $crate::store::jobs::JOB_COLUMNS);
            Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
        }

        async fn job_attempts(&self, id: i64) -> Result<Vec<AttemptRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT attempt, node, started_at, finished_at, outcome, error FROM job_attempts
                 WHERE job_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
            let (clause, binds, cursor) = $crate::store::jobs::filter_sql(f, 1);
            let n = binds.len() + usize::from(cursor.is_some()) + 1;
            let sql = format!(
                "SELECT {} FROM jobs WHERE {clause} ORDER BY id DESC LIMIT ${n}",
                $crate::store::jobs::JOB_COLUMNS
            );
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            if let Some(c) = cursor {
                q = q.bind(c);
            }
            Ok(q.bind(f.limit.clamp(1, 1000)).fetch_all(&self.pool).await?)
        }

        async fn cancel_job(&self, id: i64, now: i64) -> Result<Option<JobRow>, StoreError> {
            let sql = format!(
                "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1, lease_owner = NULL,
                        lease_expires_at = NULL, fence = fence + 1
                 WHERE id = $2 AND state IN ('scheduled', 'blocked', 'available', 'running', 'retrying')
                 RETURNING {}",
                $crate::store::jobs::JOB_COLUMNS
            );
            Ok(sqlx::query_as(&sql).bind(now).bind(id).fetch_optional(&self.pool).await?)
        }

        async fn retry_job(&self, id: i64, now: i64) -> Result<Option<JobRow>, StoreError> {
            let sql = format!(
                "UPDATE jobs SET state = 'available', attempt = 0, run_at = $1, updated_at = $1, finished_at = NULL
                 WHERE id = $2 AND state IN ('dead', 'cancelled', 'retrying', 'upstream_failed')
                 RETURNING {}",
                $crate::store::jobs::JOB_COLUMNS
            );
            Ok(sqlx::query_as(&sql).bind(now).bind(id).fetch_optional(&self.pool).await?)
        }

        async fn requeue_dead(&self, f: &JobFilter, now: i64) -> Result<u64, StoreError> {
            let f = JobFilter { state: Some("dead".into()), before_id: None, ..f.clone() };
            let (clause, binds, _) = $crate::store::jobs::filter_sql(&f, 2);
            let sql = format!(
                "UPDATE jobs SET state = 'available', attempt = 0, run_at = $1, updated_at = $1, finished_at = NULL
                 WHERE {clause}"
            );
            let mut q = sqlx::query(&sql).bind(now);
            for b in &binds {
                q = q.bind(b);
            }
            Ok(q.execute(&self.pool).await?.rows_affected())
        }

        async fn delete_dead(&self, id: i64) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query("DELETE FROM jobs WHERE id = $1 AND state = 'dead'").bind(id).execute(&mut *tx).await?;
            if done.rows_affected() == 1 {
                sqlx::query("DELETE FROM job_attempts WHERE job_id = $1").bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        }

        async fn purge_dead(&self, f: &JobFilter) -> Result<u64, StoreError> {
            let f = JobFilter { state: Some("dead".into()), before_id: None, ..f.clone() };
            let (clause, binds, _) = $crate::store::jobs::filter_sql(&f, 1);
            let mut tx = self.pool.begin().await?;
            let attempts = format!("DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE {clause})");
            let mut q = sqlx::query(&attempts);
            for b in &binds {
                q = q.bind(b);
            }
            q.execute(&mut *tx).await?;
            let sql = format!("DELETE FROM jobs WHERE {clause}");
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            let n = q.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        }

        async fn ensure_queues(&self, names: &[String], now: i64) -> Result<(), StoreError> {
            for name in names {
                sqlx::query("INSERT INTO queues (name, updated_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name).bind(now)
                    .execute(&self.pool)
                    .await?;
            }
            Ok(())
        }

        async fn list_queues(&self) -> Result<Vec<QueueRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT name, concurrency, paused, max_attempts, retry_delays_ms, starvation_after_ms, updated_at
                 FROM queues ORDER BY name",
            )
            .fetch_all(&self.pool)
            .await?)
        }

        async fn update_queue(&self, q: &QueueRow) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE queues SET concurrency = $1, paused = $2, max_attempts = $3, retry_delays_ms = $4,
                        starvation_after_ms = $5, updated_at = $6 WHERE name = $7",
            )
            .bind(q.concurrency).bind(q.paused).bind(q.max_attempts).bind(&q.retry_delays_ms)
            .bind(q.starvation_after_ms).bind(q.updated_at).bind(&q.name)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn state_counts(&self) -> Result<Vec<StateCount>, StoreError> {
            Ok(sqlx::query_as("SELECT queue, state, count(*) AS count FROM jobs GROUP BY queue, state ORDER BY queue, state")
                .fetch_all(&self.pool)
                .await?)
        }
        }
    };
}

pub(crate) use impl_job_queries;
