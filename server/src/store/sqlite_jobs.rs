//! SQLite's batch paths for jobs: the single writer makes each statement
//! atomic, so claims need no row locks; batches share one transaction.

use async_trait::async_trait;

use super::{
    claim_plan::{merged_pick_sql, ClaimPlan},
    jobs::{
        impl_job_queries, AttemptRow, Changed, Completion, EdgeRow, Failure, InsertJob, Inserted, JobFilter, JobRow,
        JobStore, NewEdge, QueueRow, ScheduleRow, StarvationRow, StateCount, WorkflowRow, JOB_COLUMNS,
    },
    SqliteStore, StoreError,
};
use crate::store::Store as _;

#[async_trait]
impl JobStore for SqliteStore {
    async fn insert_jobs(&self, jobs: &[InsertJob], now: i64) -> Result<Vec<Inserted>, StoreError> {
        let mut out = Vec::with_capacity(jobs.len());
        let mut tx = self.pool.begin().await?;
        for j in jobs {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO jobs (queue, kind, payload, priority, run_at, state, max_attempts, retry_delays_ms,
                                   timeout_ms, idempotency_key, workflow_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                 ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                 RETURNING id",
            )
            .bind(&j.queue)
            .bind(&j.kind)
            .bind(&j.payload)
            .bind(j.priority)
            .bind(j.run_at)
            .bind(&j.state)
            .bind(j.max_attempts)
            .bind(&j.retry_delays_ms)
            .bind(j.timeout_ms)
            .bind(&j.idempotency_key)
            .bind(&j.workflow_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            out.push(match id {
                Some(id) => Inserted { id, state: j.state.clone(), existing: false },
                None => {
                    let (id, state): (i64, String) =
                        sqlx::query_as("SELECT id, state FROM jobs WHERE idempotency_key = $1")
                            .bind(&j.idempotency_key)
                            .fetch_one(&mut *tx)
                            .await?;
                    Inserted { id, state, existing: true }
                }
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn claim(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        exclude: &[String],
    ) -> Result<Vec<JobRow>, StoreError> {
        let (picked, queues) = match plan_claim(&self.pool, exclude).await? {
            ClaimPlan::Nothing => return Ok(Vec::new()),
            ClaimPlan::Walk => (
                "SELECT id FROM jobs
                 WHERE state = 'available' AND run_at <= $3 AND queue NOT IN (SELECT value FROM json_each($5))
                 ORDER BY priority, run_at, id
                 LIMIT $4"
                    .to_string(),
                Vec::new(),
            ),
            // `$5` stays bound, unused, so the arms' numbers match the walk's.
            ClaimPlan::Merge(queues) => (
                format!(
                    "SELECT id FROM ({}) WHERE $5 IS NOT NULL",
                    merged_pick_sql(queues.len(), 6, "$3", "$4", false)
                ),
                queues,
            ),
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, fence = fence + 1, lease_owner = $1,
                    lease_expires_at = $2, updated_at = $3
             WHERE id IN ({picked})
             RETURNING {JOB_COLUMNS}"
        );
        let exclude = serde_json::to_string(exclude).unwrap_or_else(|_| "[]".into());
        let mut query = sqlx::query_as(&sql).bind(node).bind(lease_until).bind(now).bind(limit).bind(exclude);
        for q in &queues {
            query = query.bind(q);
        }
        let mut rows: Vec<JobRow> = query.fetch_all(&self.pool).await?;
        rows.sort_by_key(|r| (r.priority, r.run_at, r.id));
        Ok(rows)
    }

    async fn claim_limited(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        queue: &str,
        concurrency: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        // One statement: the count and the claim see the same snapshot under
        // SQLite's single writer.
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, fence = fence + 1, lease_owner = $1,
                    lease_expires_at = $2, updated_at = $3
             WHERE id IN (
                SELECT id FROM jobs WHERE state = 'available' AND run_at <= $3 AND queue = $4
                ORDER BY priority, run_at, id
                LIMIT MAX(0, MIN($5, $6 - (SELECT count(*) FROM jobs WHERE state = 'running' AND queue = $4))))
             RETURNING {JOB_COLUMNS}"
        );
        let mut rows: Vec<JobRow> = sqlx::query_as(&sql)
            .bind(node)
            .bind(lease_until)
            .bind(now)
            .bind(queue)
            .bind(limit)
            .bind(concurrency)
            .fetch_all(&self.pool)
            .await?;
        rows.sort_by_key(|r| (r.priority, r.run_at, r.id));
        Ok(rows)
    }

    async fn complete(&self, node: &str, done: &[Completion]) -> Result<Vec<i64>, StoreError> {
        let mut accepted = Vec::with_capacity(done.len());
        let mut tx = self.pool.begin().await?;
        for c in done {
            // The run is recorded on the row itself (see job_runs).
            let updated = sqlx::query(
                "UPDATE jobs SET state = 'succeeded', finished_at = $1, updated_at = $1, lease_owner = NULL,
                        lease_expires_at = NULL, attempted_by = $2, attempted_at = $3
                 WHERE id = $4 AND fence = $5 AND state = 'running'",
            )
            .bind(c.finished_at)
            .bind(node)
            .bind(c.started_at)
            .bind(c.id)
            .bind(c.fence)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() == 1 {
                accepted.push(c.id);
            }
        }
        let in_workflow: Vec<i64> =
            done.iter().filter(|c| c.in_workflow && accepted.contains(&c.id)).map(|c| c.id).collect();
        let now = done.iter().map(|c| c.finished_at).max().unwrap_or_default();
        settle(&mut tx, &in_workflow, now).await?;
        tx.commit().await?;
        Ok(accepted)
    }

    async fn insert_workflow(
        &self,
        wf: &WorkflowRow,
        jobs: &[InsertJob],
        edges: &[NewEdge],
    ) -> Result<Vec<i64>, StoreError> {
        // One statement per row: SQLite runs in-process, so a round trip
        // costs microseconds and prepared statements are reused.
        let mut tx = self.pool.begin().await?;
        insert_workflow_row(&mut tx, wf).await?;
        let mut ids = Vec::with_capacity(jobs.len());
        for j in jobs {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO jobs (queue, kind, payload, priority, run_at, state, max_attempts, retry_delays_ms,
                                   timeout_ms, workflow_id, workflow_key, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
                 RETURNING id",
            )
            .bind(&j.queue)
            .bind(&j.kind)
            .bind(&j.payload)
            .bind(j.priority)
            .bind(j.run_at)
            .bind(&j.state)
            .bind(j.max_attempts)
            .bind(&j.retry_delays_ms)
            .bind(j.timeout_ms)
            .bind(&j.workflow_id)
            .bind(&j.workflow_key)
            .bind(wf.created_at)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        for e in edges {
            sqlx::query("INSERT INTO job_deps (child_id, parent_id, policy) VALUES ($1, $2, $3)")
                .bind(ids[e.child])
                .bind(ids[e.parent])
                .bind(&e.policy)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }
}

impl_job_queries!(SqliteStore, sqlx::Sqlite);
