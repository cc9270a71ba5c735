//! PostgreSQL's batch paths for jobs: one UNNEST insert, claims with
//! `FOR UPDATE SKIP LOCKED`, completions as one statement.

use async_trait::async_trait;

use super::{
    claim_plan::{merged_pick_sql, ClaimPlan},
    jobs::{
        impl_job_queries, AttemptRow, Changed, Completion, EdgeRow, Failure, InsertJob, Inserted, JobFilter, JobRow,
        JobStore, NewEdge, QueueRow, ScheduleRow, StarvationRow, StateCount, WorkflowRow, JOB_COLUMNS,
    },
    PgStore, StoreError,
};
use crate::store::Store as _;

/// Makes the statement's transaction commit without waiting for its WAL flush
/// (about half a millisecond per claim on this kind of disk: most of a claim's
/// own time). Only claims use it; inserts, completions and failures stay
/// synchronous, and a completion's flush also covers the claim before it.
/// A database crash (or a failover with synchronous replication) can lose a
/// claim from the last 3 × `wal_writer_delay` (600 ms by default): its job is
/// `available` again with its old fence. So a claim's fence comes from
/// CLAIM_FENCE, never the lost claim's again, and the lost run's completion
/// or failure is refused: the job runs again, as after an expired lease.
const ASYNC_COMMIT: &str = "SELECT set_config('synchronous_commit', 'off', true)";

/// A claim's new fence: above the old one and at least the database's clock
/// in microseconds, so a claim lost in a crash (above) and the claim after it
/// never share a fence.
const CLAIM_FENCE: &str = "GREATEST(fence + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)";

#[async_trait]
impl JobStore for PgStore {
    async fn insert_jobs(&self, jobs: &[InsertJob], now: i64) -> Result<Vec<Inserted>, StoreError> {
        if jobs.iter().all(|j| j.idempotency_key.is_none()) {
            // One statement is its own transaction: no BEGIN and COMMIT round trips.
            let rows: Vec<&InsertJob> = jobs.iter().collect();
            let ids = insert_rows(&self.pool, &rows, now).await?;
            return Ok(jobs
                .iter()
                .zip(ids)
                .map(|(j, id)| Inserted { id, state: j.state.clone(), existing: false })
                .collect());
        }
        let mut out = vec![None; jobs.len()];
        let (plain, keyed): (Vec<usize>, Vec<usize>) =
            (0..jobs.len()).partition(|&i| jobs[i].idempotency_key.is_none());
        let mut tx = self.pool.begin().await?;
        if !plain.is_empty() {
            let rows: Vec<&InsertJob> = plain.iter().map(|&i| &jobs[i]).collect();
            let ids = insert_rows(&mut *tx, &rows, now).await?;
            for (&i, id) in plain.iter().zip(ids) {
                out[i] = Some(Inserted { id, state: jobs[i].state.clone(), existing: false });
            }
        }
        // A keyed insert waits on an uncommitted row with its key, so two
        // batches holding the same keys in opposite orders would deadlock
        // (one of them failing). Taking a lock per key first, in one global
        // order, makes the later batch wait for the earlier one as a whole;
        // the rows are still written in the order given. (Volatile functions
        // in the select list run after the ORDER BY.)
        let keys: Vec<&str> = keyed.iter().filter_map(|&i| jobs[i].idempotency_key.as_deref()).collect();
        sqlx::query(
            "SELECT pg_advisory_xact_lock(h) FROM (
                 SELECT DISTINCT hashtextextended($2 || k, 0) AS h FROM unnest($1::text[]) AS k
             ) AS key_locks ORDER BY h",
        )
        .bind(&keys)
        .bind(self.scoped("meetmind.idempotency_key:"))
        .execute(&mut *tx)
        .await?;
        for &i in &keyed {
            let j = &jobs[i];
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
            out[i] = Some(match id {
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
        Ok(out.into_iter().map(|o| o.expect("every job was written")).collect())
    }

    async fn claim(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        exclude: &[String],
    ) -> Result<Vec<JobRow>, StoreError> {
        // The pick is materialised and joined on the primary key, which keeps
        // the plan an index walk even on fresh tables without statistics.
        // The claim commits without waiting for the WAL flush (ASYNC_COMMIT).
        let (picked, queues) = match plan_claim(&self.pool, exclude).await? {
            ClaimPlan::Nothing => return Ok(Vec::new()),
            ClaimPlan::Walk => {
                // No filter at all when nothing is left out (the usual case).
                let queue_filter = if exclude.is_empty() { "$5::text[] IS NOT NULL" } else { "NOT (queue = ANY($5))" };
                (
                    format!(
                        "SELECT id FROM jobs
                         WHERE state = 'available' AND run_at <= $3 AND {queue_filter}
                         ORDER BY priority, run_at, id
                         LIMIT $4
                         FOR UPDATE SKIP LOCKED"
                    ),
                    Vec::new(),
                )
            }
            // The merge reads twice the limit without locks; the most urgent
            // of those are then locked by id, skipping what another claim
            // holds or has taken since (so two nodes claiming at once both
            // get work, as with the walk).
            ClaimPlan::Merge(queues) => (
                format!(
                    "SELECT j.id FROM jobs j
                     WHERE j.id = ANY(ARRAY({})) AND j.state = 'available' AND j.run_at <= $3
                       AND NOT (j.queue = ANY($5))
                     ORDER BY j.priority, j.run_at, j.id
                     LIMIT $4
                     FOR UPDATE OF j SKIP LOCKED",
                    merged_pick_sql(queues.len(), 6, "$3", "2 * $4", true)
                ),
                queues,
            ),
        };
        let sql = format!(
            "WITH async_commit AS MATERIALIZED ({ASYNC_COMMIT}),
             picked AS MATERIALIZED ({picked})
             UPDATE jobs SET state = 'running', attempt = attempt + 1, fence = {CLAIM_FENCE}, lease_owner = $1,
                    lease_expires_at = $2, updated_at = $3
             FROM picked, async_commit WHERE jobs.id = picked.id
             RETURNING {}",
            JOB_COLUMNS.split(", ").map(|c| format!("jobs.{c}")).collect::<Vec<_>>().join(", ")
        );
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
        let mut tx = self.pool.begin().await?;
        // Serialises claims for this queue across nodes for the transaction.
        // Advisory locks are database-wide, so the key names the schema too.
        sqlx::query(&format!("SELECT pg_advisory_xact_lock(hashtext($1)), ({ASYNC_COMMIT})"))
            .bind(self.scoped(&format!("meetmind.queue:{queue}")))
            .execute(&mut *tx)
            .await?;
        let running: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running' AND queue = $1")
            .bind(queue)
            .fetch_one(&mut *tx)
            .await?;
        let room = (concurrency - running).min(limit);
        if room <= 0 {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, fence = {CLAIM_FENCE}, lease_owner = $1,
                    lease_expires_at = $2, updated_at = $3
             WHERE id IN (
                SELECT id FROM jobs WHERE state = 'available' AND run_at <= $3 AND queue = $4
                ORDER BY priority, run_at, id LIMIT $5 FOR UPDATE SKIP LOCKED)
             RETURNING {JOB_COLUMNS}"
        );
        let mut rows: Vec<JobRow> = sqlx::query_as(&sql)
            .bind(node)
            .bind(lease_until)
            .bind(now)
            .bind(queue)
            .bind(room)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.sort_by_key(|r| (r.priority, r.run_at, r.id));
        Ok(rows)
    }

    async fn complete(&self, node: &str, done: &[Completion]) -> Result<Vec<i64>, StoreError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = done.iter().map(|c| c.id).collect();
        let fences: Vec<i64> = done.iter().map(|c| c.fence).collect();
        let started: Vec<i64> = done.iter().map(|c| c.started_at).collect();
        let finished: Vec<i64> = done.iter().map(|c| c.finished_at).collect();
        let sql = "WITH c AS (
                SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
                    AS c(id, fence, started_at, finished_at)
             )
             -- The run is recorded on the row itself (see job_runs).
             UPDATE jobs j SET state = 'succeeded', finished_at = c.finished_at, updated_at = c.finished_at,
                    lease_owner = NULL, lease_expires_at = NULL, attempted_by = $5, attempted_at = c.started_at
             -- The fence alone decides: every way out of `running` other
             -- than this completion bumps it. (A state condition here
             -- tempts the planner into scanning all running jobs.)
             FROM c WHERE j.id = c.id AND j.fence = c.fence
             RETURNING j.id";
        let query =
            || sqlx::query_scalar::<_, i64>(sql).bind(&ids).bind(&fences).bind(&started).bind(&finished).bind(node);
        if !done.iter().any(|c| c.in_workflow) {
            return Ok(query().fetch_all(&self.pool).await?);
        }
        // Workflow jobs: their children are settled in the same transaction.
        // Their own rows are locked first, in id order (an UPDATE ... FROM
        // locks in whatever order its plan visits them).
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let accepted = query().fetch_all(&mut *tx).await?;
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
        // Three statements whatever the workflow's size: its row, its jobs,
        // its edges through one UNNEST each.
        let mut tx = self.pool.begin().await?;
        insert_workflow_row(&mut tx, wf).await?;
        let rows: Vec<&InsertJob> = jobs.iter().collect();
        let ids = insert_rows(&mut *tx, &rows, wf.created_at).await?;
        if !edges.is_empty() {
            let children: Vec<i64> = edges.iter().map(|e| ids[e.child]).collect();
            let parents: Vec<i64> = edges.iter().map(|e| ids[e.parent]).collect();
            let policies: Vec<&str> = edges.iter().map(|e| e.policy.as_str()).collect();
            sqlx::query(
                "INSERT INTO job_deps (child_id, parent_id, policy)
                 SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[])",
            )
            .bind(&children)
            .bind(&parents)
            .bind(&policies)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }
}

/// Writes jobs without idempotency keys in one UNNEST insert, created at
/// `now`; returns their ids in input order. The sequence numbers the rows in
/// the order the sorted input is inserted, so the sorted ids are that order
/// (which also keeps a workflow's topological insert order in its ids).
async fn insert_rows(db: impl sqlx::PgExecutor<'_>, rows: &[&InsertJob], now: i64) -> Result<Vec<i64>, sqlx::Error> {
    let col = |f: fn(&InsertJob) -> String| rows.iter().map(|j| f(j)).collect::<Vec<_>>();
    let opt = |f: fn(&InsertJob) -> Option<String>| rows.iter().map(|j| f(j)).collect::<Vec<_>>();
    let priorities: Vec<i32> = rows.iter().map(|j| j.priority).collect();
    let run_ats: Vec<i64> = rows.iter().map(|j| j.run_at).collect();
    let max_attempts: Vec<i32> = rows.iter().map(|j| j.max_attempts).collect();
    let timeouts: Vec<Option<i64>> = rows.iter().map(|j| j.timeout_ms).collect();
    sqlx::query_scalar(
        "WITH ins AS (
            INSERT INTO jobs (queue, kind, payload, priority, run_at, state, max_attempts, retry_delays_ms,
                              timeout_ms, workflow_id, workflow_key, created_at, updated_at)
            SELECT queue, kind, payload, priority, run_at, state, max_attempts, retry_delays_ms, timeout_ms,
                   workflow_id, workflow_key, $12, $12
            FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::int[],
                        $8::text[], $9::bigint[], $10::text[], $11::text[])
                WITH ORDINALITY AS t(queue, kind, payload, priority, run_at, state, max_attempts,
                                     retry_delays_ms, timeout_ms, workflow_id, workflow_key, ord)
            ORDER BY ord
            RETURNING id
         )
         SELECT id FROM ins ORDER BY id",
    )
    .bind(col(|j| j.queue.clone()))
    .bind(col(|j| j.kind.clone()))
    .bind(col(|j| j.payload.clone()))
    .bind(&priorities)
    .bind(&run_ats)
    .bind(col(|j| j.state.clone()))
    .bind(&max_attempts)
    .bind(opt(|j| j.retry_delays_ms.clone()))
    .bind(&timeouts)
    .bind(opt(|j| j.workflow_id.clone()))
    .bind(opt(|j| j.workflow_key.clone()))
    .bind(now)
    .fetch_all(db)
    .await
}

impl_job_queries!(PgStore, sqlx::Postgres);
