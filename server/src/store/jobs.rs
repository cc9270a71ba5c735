//! Jobs, attempts and queues in the store. Single-row statements are shared
//! by both drivers (one macro); the hot batch paths (insert, claim, complete)
//! are written per driver: UNNEST and `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, one write transaction on SQLite.

use async_trait::async_trait;

use super::{text_match::TextMatch, StoreError};

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
    pub workflow_key: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

pub(crate) const JOB_COLUMNS: &str = "id, queue, kind, payload, priority, run_at, state, attempt, max_attempts, \
     retry_delays_ms, timeout_ms, lease_owner, lease_expires_at, fence, last_error, workflow_id, workflow_key, \
     idempotency_key, created_at, updated_at, finished_at";

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
    pub workflow_key: Option<String>,
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

/// A successful run to record on the job row (its attempt number is the
/// row's own); accepted only with the current fence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub id: i64,
    pub fence: i64,
    /// The job belongs to a workflow: its children are settled in the same
    /// transaction.
    pub in_workflow: bool,
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
    /// Only these jobs (a dead-letter group chosen on the page).
    pub ids: Option<Vec<i64>>,
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
pub struct WorkflowRow {
    pub id: String,
    pub name: String,
    pub state: String,
    pub cancel_requested: bool,
    pub total: i32,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// An edge of a workflow being inserted, by index into its jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEdge {
    pub child: usize,
    pub parent: usize,
    pub policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EdgeRow {
    pub child_id: i64,
    pub parent_id: i64,
    pub policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: String,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    /// The job to enqueue, as `NewJob` JSON.
    pub template: String,
    pub paused: bool,
    pub next_run_at: i64,
    pub last_run_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StarvationRow {
    pub id: i64,
    pub at: i64,
    pub queue: String,
    pub job_id: i64,
    pub waited_ms: i64,
    pub cause: String,
    pub priority_before: i32,
    pub priority_after: i32,
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
    /// `exclude` queues (see `claim_plan`). Each claim bumps the attempt and
    /// the fence and takes a lease until `lease_until`.
    async fn claim(
        &self,
        node: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
        exclude: &[String],
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

    /// Writes a workflow, its jobs and edges in one transaction; returns the
    /// job ids in input order. Ids rise in input order (the engine inserts
    /// topologically, which is the order settling locks children in).
    async fn insert_workflow(
        &self,
        wf: &WorkflowRow,
        jobs: &[InsertJob],
        edges: &[NewEdge],
    ) -> Result<Vec<i64>, StoreError>;
}

/// Job operations whose SQL is the same on both drivers.
#[async_trait]
pub trait JobQueries: Send + Sync {
    /// Records a failed run: to `retrying` at `retry_at`, or `dead`. False
    /// when the fence is stale.
    async fn fail(&self, failure: &Failure, now: i64) -> Result<bool, StoreError>;

    /// Renews the leases of the jobs `ids` this node is running. Only those:
    /// a job whose run ended without its outcome written (or an earlier
    /// process's job under the same node id) keeps no lease alive, so it
    /// expires and the job runs again.
    async fn extend_leases(&self, node: &str, ids: &[i64], until: i64) -> Result<u64, StoreError>;

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

    async fn get_workflow(&self, id: &str) -> Result<Option<WorkflowRow>, StoreError>;
    /// Newest first, before the `before` creation time when given.
    /// Newest first; `before` is the (created_at, id) of the previous page's
    /// last row, so workflows created in the same millisecond are not skipped.
    async fn list_workflows(&self, before: Option<(i64, String)>, limit: i64) -> Result<Vec<WorkflowRow>, StoreError>;
    async fn workflow_jobs(&self, id: &str) -> Result<Vec<JobRow>, StoreError>;
    async fn workflow_edges(&self, id: &str) -> Result<Vec<EdgeRow>, StoreError>;
    /// Counts per state for each listed workflow: (workflow, state, count).
    async fn workflow_counts(&self, ids: &[String]) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// Cancels every job that has not ended; the workflow ends `cancelled`.
    async fn cancel_workflow(&self, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Re-runs what failed (dead, cancelled) and re-arms what sits below it.
    async fn retry_workflow(&self, id: &str, now: i64) -> Result<u64, StoreError>;

    /// False when the name is taken.
    async fn insert_schedule(&self, row: &ScheduleRow) -> Result<bool, StoreError>;
    async fn list_schedules(&self) -> Result<Vec<ScheduleRow>, StoreError>;
    async fn set_schedule_paused(
        &self,
        id: &str,
        paused: bool,
        next_run_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError>;
    async fn delete_schedule(&self, id: &str) -> Result<bool, StoreError>;
    async fn due_schedules(&self, now: i64) -> Result<Vec<ScheduleRow>, StoreError>;
    async fn advance_schedule(&self, id: &str, fired_at: i64, next_run_at: i64, now: i64) -> Result<(), StoreError>;

    /// Available jobs of a queue that became due before `due_before`, oldest first.
    async fn starving_jobs(&self, queue: &str, due_before: i64, limit: i64)
        -> Result<Vec<(i64, i32, i64)>, StoreError>;
    /// Ages a job: a more urgent priority. False when it was claimed meanwhile.
    async fn set_available_priority(&self, id: i64, priority: i32) -> Result<bool, StoreError>;
    async fn running_in_queue(&self, queue: &str) -> Result<i64, StoreError>;
    /// Nodes with the worker role that heartbeated since `since`.
    async fn live_workers(&self, since: i64) -> Result<i64, StoreError>;
    /// True when a job more urgent than `priority` waits (blocked) on this one.
    async fn has_urgent_dependent(&self, id: i64, priority: i32) -> Result<bool, StoreError>;
    async fn insert_starvation(&self, row: &StarvationRow) -> Result<(), StoreError>;
    async fn list_starvation(&self, limit: i64) -> Result<Vec<StarvationRow>, StoreError>;
    /// Deletes succeeded and cancelled jobs (and their attempts) that ended before `before`.
    async fn prune_finished(&self, before: i64, limit: i64) -> Result<u64, StoreError>;
    /// Deletes up to `limit` whole succeeded or cancelled workflows that ended
    /// before `before` and no interview links to: the workflow, its jobs,
    /// their edges and their attempts (`prune_finished` leaves workflow jobs
    /// alone, so a graph is never cut in half).
    async fn prune_workflows(&self, before: i64, limit: i64) -> Result<u64, StoreError>;

    async fn ensure_queues(&self, names: &[String], now: i64) -> Result<(), StoreError>;
    async fn list_queues(&self) -> Result<Vec<QueueRow>, StoreError>;
    async fn update_queue(&self, queue: &QueueRow) -> Result<bool, StoreError>;
    /// Exact counts per queue of the states with a partial index (waiting,
    /// blocked, running, dead): each read through its index, so the cost
    /// follows those jobs, not the retained history; the dashboard asks
    /// every second.
    async fn active_state_counts(&self) -> Result<Vec<StateCount>, StoreError>;
    /// Counts per queue of the settled states (`job_counts::SETTLED_STATES`):
    /// a scan of the retained history, so the dashboard asks rarely.
    async fn settled_state_counts(&self) -> Result<Vec<StateCount>, StoreError>;

    /// Every state, exact: both counts above.
    async fn state_counts(&self) -> Result<Vec<StateCount>, StoreError> {
        let mut all = self.active_state_counts().await?;
        all.extend(self.settled_state_counts().await?);
        all.sort_by(|a, b| (&a.queue, &a.state).cmp(&(&b.queue, &b.state)));
        Ok(all)
    }
}

/// The states `active_state_counts` counts, one predicate per partial
/// index, each written as its index's own condition, so that both planners
/// use the index (as one `OR`, SQLite scans the table; as an `IN` list, so
/// does PostgreSQL).
pub(crate) const ACTIVE_STATE_PREDICATES: [&str; 5] = [
    "state = 'available'",
    "state IN ('scheduled', 'retrying')",
    "state = 'running'",
    "state = 'dead'",
    "state = 'blocked'",
];

/// The `WHERE` clause and its binds for a job filter, numbered from `first`.
pub(crate) fn filter_sql(f: &JobFilter, first: usize, text_match: TextMatch) -> (String, Vec<String>, Option<i64>) {
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
        // Literal and case-insensitive in every script, on both drivers.
        let cols = ["kind", "payload", "COALESCE(last_error, '')"];
        clauses.push(format!("({})", cols.map(|c| text_match.clause(c, n)).join(" OR ")));
        binds.push(text_match.pattern(t));
        n += 1;
    }
    if let Some(ids) = &f.ids {
        // Integers formatted by us, never user text.
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        clauses.push(if list.is_empty() { "FALSE".to_string() } else { format!("id IN ({})", list.join(",")) });
    }
    let cursor = f.before_id;
    if cursor.is_some() {
        clauses.push(format!("id < ${n}"));
    }
    let sql = if clauses.is_empty() { "TRUE".to_string() } else { clauses.join(" AND ") };
    (sql, binds, cursor)
}

/// What deciding a blocked child found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Every parent satisfied it: it runs now.
    Available,
    /// A parent it needs ended dead or cancelled.
    UpstreamFailed,
    /// A parent has not finished, so its workflow has not either.
    ParentsOpen,
    /// Its parents have all ended but it was not blocked (decided before).
    Unchanged,
}

macro_rules! impl_job_queries {
    ($store:ty, $db:ty) => {
        use $crate::store::jobs::Decision;

        /// The claim's path (`claim_plan`): the skip scan runs only when a
        /// queue is left out.
        async fn plan_claim(
            pool: &sqlx::Pool<$db>,
            exclude: &[String],
        ) -> Result<$crate::store::claim_plan::ClaimPlan, sqlx::Error> {
            use $crate::store::claim_plan::{claim_plan, scan_limit, ClaimPlan, AVAILABLE_QUEUES_SQL};
            if exclude.is_empty() {
                return Ok(ClaimPlan::Walk);
            }
            let present: Vec<String> =
                sqlx::query_scalar(AVAILABLE_QUEUES_SQL).bind(scan_limit(exclude.len())).fetch_all(pool).await?;
            Ok(claim_plan(&present, exclude))
        }

        /// A workflow's own row, first in its submit transaction.
        async fn insert_workflow_row(tx: &mut sqlx::Transaction<'_, $db>, wf: &WorkflowRow) -> Result<(), sqlx::Error> {
            sqlx::query(
                "INSERT INTO workflows (id, name, state, cancel_requested, total, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&wf.id).bind(&wf.name).bind(&wf.state).bind(wf.cancel_requested).bind(wf.total)
            .bind(wf.created_at).bind(wf.updated_at)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// After jobs end: children whose parents have all ended are promoted
        /// (or fail upstream, per edge policy), downwards, then finished
        /// workflows get their final state. Runs in the caller's transaction,
        /// so a child becomes available with its last parent's completion.
        async fn settle(tx: &mut sqlx::Transaction<'_, $db>, finished: &[i64], now: i64) -> Result<(), sqlx::Error> {
            if finished.is_empty() {
                return Ok(());
            }
            // Whole-batch lookups: one round trip each, however many jobs ended.
            let ids = <$store>::ID_LIST;
            let batch = ids.bind(finished);
            let of_finished: std::collections::HashMap<i64, String> = sqlx::query_as::<_, (i64, Option<String>)>(&format!(
                "SELECT j.id, j.workflow_id FROM {} WHERE j.workflow_id IS NOT NULL",
                ids.rows("jobs", "j", "id, workflow_id", "id", 1)
            ))
            .bind(&batch).fetch_all(&mut **tx).await?
            .into_iter()
            .filter_map(|(id, wf)| Some((id, wf?)))
            .collect();
            if of_finished.is_empty() {
                return Ok(());
            }
            let mut workflows: Vec<String> = of_finished.values().cloned().collect();
            workflows.sort();
            workflows.dedup();
            // Each child with its workflow (its parent's: edges never cross
            // workflows). Children are decided (and, on PostgreSQL, locked)
            // smallest id first over the whole walk: a child's id is above
            // its parents', so locks only ever go upwards and two completions
            // cannot cross.
            let mut undecided: std::collections::BTreeMap<i64, String> = sqlx::query_as::<_, (i64, i64)>(&format!(
                "SELECT d.parent_id, d.child_id FROM {}",
                ids.rows("job_deps", "d", "parent_id, child_id", "parent_id", 1)
            ))
            .bind(&batch).fetch_all(&mut **tx).await?
            .into_iter()
            .filter_map(|(parent, child)| Some((child, of_finished.get(&parent)?.clone())))
            .collect();
            // Workflows seen to hold an unfinished job need no final count.
            let mut open = std::collections::BTreeSet::new();
            while let Some((child, wf)) = undecided.pop_first() {
                match evaluate(tx, child, now).await? {
                    Decision::UpstreamFailed => {
                        let below: Vec<i64> = sqlx::query_scalar("SELECT child_id FROM job_deps WHERE parent_id = $1")
                            .bind(child).fetch_all(&mut **tx).await?;
                        undecided.extend(below.into_iter().map(|b| (b, wf.clone())));
                    }
                    Decision::Available | Decision::ParentsOpen => {
                        open.insert(wf);
                    }
                    Decision::Unchanged => {}
                }
            }
            // Workflow rows last, in one order too (sorted above).
            for wf in workflows.iter().filter(|w| !open.contains(*w)) {
                finalize_workflow(tx, wf, now).await?;
            }
            Ok(())
        }

        /// Decides a blocked job from its parents' states.
        async fn evaluate(tx: &mut sqlx::Transaction<'_, $db>, child: i64, now: i64) -> Result<Decision, sqlx::Error> {
            // Parents that finish in concurrent transactions each decide this
            // child. Locking it first makes the later one wait for the earlier
            // one's commit and then see it (under READ COMMITTED every
            // statement reads afresh), so a join is never left blocked.
            if let Some(lock) = <$store>::LOCK_IN_ID_ORDER {
                sqlx::query(&format!("SELECT id FROM jobs WHERE id = $1 {lock}")).bind(child).fetch_optional(&mut **tx).await?;
            }
            // Each parent's state by its primary key: as a join, PostgreSQL's
            // planner scanned every job on freshly filled tables (23 ms a call
            // at 30,000 jobs, against 0.2 ms).
            let (total, satisfied, failed): (i64, i64, i64) = sqlx::query_as(
                "SELECT count(*),
                        COALESCE(sum(CASE WHEN p.state = 'succeeded'
                            OR (p.policy = 'continue' AND p.state IN ('dead', 'cancelled', 'upstream_failed'))
                            THEN 1 ELSE 0 END), 0),
                        COALESCE(sum(CASE WHEN p.policy = 'fail' AND p.state IN ('dead', 'cancelled', 'upstream_failed')
                            THEN 1 ELSE 0 END), 0)
                 FROM (SELECT d.policy,
                              -- A parent purged from the dead-letter queue is gone dead.
                              COALESCE((SELECT j.state FROM jobs j WHERE j.id = d.parent_id), 'dead') AS state
                       FROM job_deps d WHERE d.child_id = $1) AS p",
            )
            .bind(child).fetch_one(&mut **tx).await?;
            // Only a still-blocked child changes: a decided one stays as it is.
            let became = |rows: u64, to: Decision| if rows == 1 { to } else { Decision::Unchanged };
            if failed > 0 {
                let done = sqlx::query(
                    "UPDATE jobs SET state = 'upstream_failed', finished_at = $1, updated_at = $1,
                            last_error = 'a job it depends on ended dead or cancelled'
                     WHERE id = $2 AND state = 'blocked'",
                )
                .bind(now).bind(child).execute(&mut **tx).await?;
                return Ok(became(done.rows_affected(), Decision::UpstreamFailed));
            }
            if satisfied == total {
                let done = sqlx::query(
                    "UPDATE jobs SET state = 'available', run_at = $1, updated_at = $1 WHERE id = $2 AND state = 'blocked'",
                )
                .bind(now).bind(child).execute(&mut **tx).await?;
                return Ok(became(done.rows_affected(), Decision::Available));
            }
            Ok(Decision::ParentsOpen)
        }

        async fn finalize_workflow(tx: &mut sqlx::Transaction<'_, $db>, wf: &str, now: i64) -> Result<(), sqlx::Error> {
            // The last two jobs may end in concurrent transactions: as in
            // `evaluate`, the workflow row is locked before its jobs are counted.
            if let Some(lock) = <$store>::LOCK_IN_ID_ORDER {
                sqlx::query(&format!("SELECT id FROM workflows WHERE id = $1 {lock}")).bind(wf).fetch_optional(&mut **tx).await?;
            }
            let (open, ok, total): (i64, i64, i64) = sqlx::query_as(
                "SELECT COALESCE(sum(CASE WHEN state IN ('succeeded', 'dead', 'cancelled', 'upstream_failed') THEN 0 ELSE 1 END), 0),
                        COALESCE(sum(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END), 0),
                        count(*)
                 FROM jobs WHERE workflow_id = $1",
            )
            .bind(wf).fetch_one(&mut **tx).await?;
            if open > 0 {
                return Ok(());
            }
            let cancelled: Option<bool> = sqlx::query_scalar("SELECT cancel_requested FROM workflows WHERE id = $1")
                .bind(wf).fetch_optional(&mut **tx).await?;
            let state = if cancelled == Some(true) { "cancelled" } else if ok == total { "succeeded" } else { "failed" };
            sqlx::query("UPDATE workflows SET state = $1, finished_at = $2, updated_at = $2 WHERE id = $3 AND state = 'running'")
                .bind(state).bind(now).bind(wf).execute(&mut **tx).await?;
            Ok(())
        }

        /// PostgreSQL: locks, in id order, every job of the workflows the
        /// `jobs` rows matching `cond` belong to (and those rows), before a
        /// transaction that updates several of them and then workflow rows.
        /// The order completions take: jobs upwards, workflow rows last.
        async fn lock_workflows_of(
            tx: &mut sqlx::Transaction<'_, $db>,
            cond: &str,
            binds: &[String],
        ) -> Result<(), sqlx::Error> {
            if let Some(lock) = <$store>::LOCK_IN_ID_ORDER {
                let sql = format!(
                    "SELECT id FROM jobs WHERE ({cond})
                        OR workflow_id IN (SELECT workflow_id FROM jobs WHERE ({cond}) AND workflow_id IS NOT NULL)
                     ORDER BY id {lock}"
                );
                let mut q = sqlx::query(&sql);
                for b in binds {
                    q = q.bind(b);
                }
                q.fetch_all(&mut **tx).await?;
            }
            Ok(())
        }

        /// A failed job runs again: what failed beneath it waits again, and
        /// its workflow is running again. Each re-armed job is decided at once
        /// from its parents as they are now, parents first (ids ascend down a
        /// graph): one that also waits on a job that is still dead fails
        /// again now, rather than wait for a completion that would never
        /// reach it. A workflow left with nothing to run ends again.
        async fn rearm(tx: &mut sqlx::Transaction<'_, $db>, id: i64, wf: &str, now: i64) -> Result<(), sqlx::Error> {
            let mut rearmed: Vec<i64> = sqlx::query_scalar(
                "WITH RECURSIVE below(id) AS (
                    SELECT child_id FROM job_deps WHERE parent_id = $1
                    UNION SELECT d.child_id FROM job_deps d JOIN below ON d.parent_id = below.id)
                 UPDATE jobs SET state = 'blocked', attempt = 0, finished_at = NULL, last_error = NULL, updated_at = $2
                 WHERE id IN (SELECT id FROM below) AND state = 'upstream_failed'
                 RETURNING id",
            )
            .bind(id).bind(now).fetch_all(&mut **tx).await?;
            sqlx::query(
                "UPDATE workflows SET state = 'running', finished_at = NULL, cancel_requested = FALSE, updated_at = $1
                 WHERE id = $2 AND state <> 'running'",
            )
            .bind(now).bind(wf).execute(&mut **tx).await?;
            rearmed.sort_unstable();
            for child in rearmed {
                evaluate(tx, child, now).await?;
            }
            finalize_workflow(tx, wf, now).await
        }

        #[async_trait::async_trait]
        impl $crate::store::jobs::JobQueries for $store {
        async fn fail(&self, f: &Failure, now: i64) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            let (state, run_at, finished) = match f.retry_at {
                Some(at) => ("retrying", Some(at), None),
                None => ("dead", None, Some(now)),
            };
            let done = sqlx::query(
                // The fence moves on, as on every way out of `running`:
                // PostgreSQL's completion checks the fence alone.
                "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = $3, lease_owner = NULL,
                        lease_expires_at = NULL, updated_at = $4, finished_at = $5, fence = fence + 1
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
            if f.retry_at.is_none() {
                settle(&mut tx, &[f.id], now).await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        async fn extend_leases(&self, node: &str, ids: &[i64], until: i64) -> Result<u64, StoreError> {
            if ids.is_empty() {
                return Ok(0);
            }
            let list = <$store>::ID_LIST;
            let sql = format!(
                "UPDATE jobs SET lease_expires_at = $1 WHERE lease_owner = $2 AND state = 'running' AND {}",
                list.matches("id", 3)
            );
            let done = sqlx::query(&sql).bind(until).bind(node).bind(list.bind(ids)).execute(&self.pool).await?;
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
            let dead: Vec<i64> = changed.iter().filter(|c| c.state == "dead").map(|c| c.id).collect();
            settle(&mut tx, &dead, now).await?;
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
                "SELECT attempt, node, started_at, finished_at, outcome, error FROM job_runs
                 WHERE job_id = $1 ORDER BY seq",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
        }

        async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRow>, StoreError> {
            let (clause, binds, cursor) = $crate::store::jobs::filter_sql(f, 1, <$store>::TEXT_MATCH);
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
            let mut tx = self.pool.begin().await?;
            let row: Option<JobRow> = sqlx::query_as(&sql).bind(now).bind(id).fetch_optional(&mut *tx).await?;
            if row.is_some() {
                settle(&mut tx, &[id], now).await?;
            }
            tx.commit().await?;
            Ok(row)
        }

        async fn retry_job(&self, id: i64, now: i64) -> Result<Option<JobRow>, StoreError> {
            // A workflow's job waits for its parents again (a cancelled child
            // may be retried before they finish); the others run now.
            let sql = format!(
                "UPDATE jobs SET state = CASE WHEN workflow_id IS NOT NULL THEN 'blocked' ELSE 'available' END,
                        attempt = 0, run_at = $1, updated_at = $1, finished_at = NULL
                 WHERE id = $2 AND state IN ('dead', 'cancelled', 'retrying', 'upstream_failed')
                 RETURNING {}",
                $crate::store::jobs::JOB_COLUMNS
            );
            let mut tx = self.pool.begin().await?;
            lock_workflows_of(&mut tx, "id = CAST($1 AS BIGINT)", &[id.to_string()]).await?;
            let row: Option<JobRow> = sqlx::query_as(&sql).bind(now).bind(id).fetch_optional(&mut *tx).await?;
            if let Some(r) = &row {
                if let Some(wf) = &r.workflow_id {
                    // The job first, then what sits below it (`rearm`), in id order.
                    evaluate(&mut tx, id, now).await?;
                    rearm(&mut tx, id, wf, now).await?;
                }
            }
            tx.commit().await?;
            Ok(match row {
                Some(r) => self.get_job(r.id).await?,
                None => None,
            })
        }

        async fn requeue_dead(&self, f: &JobFilter, now: i64) -> Result<u64, StoreError> {
            let f = JobFilter { state: Some("dead".into()), before_id: None, ..f.clone() };
            let (clause, binds, _) = $crate::store::jobs::filter_sql(&f, 1, <$store>::TEXT_MATCH);
            let now_n = binds.len() + 1;
            let sql = format!(
                "UPDATE jobs SET state = 'available', attempt = 0, run_at = ${now_n}, updated_at = ${now_n}, finished_at = NULL
                 WHERE {clause} RETURNING id, workflow_id"
            );
            let mut tx = self.pool.begin().await?;
            lock_workflows_of(&mut tx, &clause, &binds).await?;
            let mut q = sqlx::query_as::<_, (i64, Option<String>)>(&sql);
            for b in &binds {
                q = q.bind(b);
            }
            let q = q.bind(now);
            let rows = q.fetch_all(&mut *tx).await?;
            for (id, wf) in &rows {
                if let Some(wf) = wf {
                    rearm(&mut tx, *id, wf, now).await?;
                }
            }
            tx.commit().await?;
            Ok(rows.len() as u64)
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
            let (clause, binds, _) = $crate::store::jobs::filter_sql(&f, 1, <$store>::TEXT_MATCH);
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

        async fn get_workflow(&self, id: &str) -> Result<Option<WorkflowRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT id, name, state, cancel_requested, total, created_at, updated_at, finished_at FROM workflows WHERE id = $1",
            )
            .bind(id).fetch_optional(&self.pool).await?)
        }

        async fn list_workflows(&self, before: Option<(i64, String)>, limit: i64) -> Result<Vec<WorkflowRow>, StoreError> {
            let (at, id) = before.unwrap_or((i64::MAX, String::new()));
            Ok(sqlx::query_as(
                "SELECT id, name, state, cancel_requested, total, created_at, updated_at, finished_at FROM workflows
                 WHERE created_at < $1 OR (created_at = $1 AND id < $2)
                 ORDER BY created_at DESC, id DESC LIMIT $3",
            )
            .bind(at).bind(id).bind(limit.clamp(1, 500))
            .fetch_all(&self.pool).await?)
        }

        async fn workflow_jobs(&self, id: &str) -> Result<Vec<JobRow>, StoreError> {
            let sql = format!("SELECT {} FROM jobs WHERE workflow_id = $1 ORDER BY id", $crate::store::jobs::JOB_COLUMNS);
            Ok(sqlx::query_as(&sql).bind(id).fetch_all(&self.pool).await?)
        }

        async fn workflow_edges(&self, id: &str) -> Result<Vec<EdgeRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT d.child_id, d.parent_id, d.policy FROM job_deps d JOIN jobs j ON j.id = d.child_id
                 WHERE j.workflow_id = $1 ORDER BY d.child_id, d.parent_id",
            )
            .bind(id).fetch_all(&self.pool).await?)
        }

        async fn workflow_counts(&self, ids: &[String]) -> Result<Vec<(String, String, i64)>, StoreError> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            // One statement for the whole page of workflows, each looked up
            // through the workflow_id index.
            let list = <$store>::ID_LIST;
            Ok(sqlx::query_as(&format!(
                "SELECT j.workflow_id, j.state, count(*) FROM {} GROUP BY j.workflow_id, j.state",
                list.text_rows("jobs", "j", "workflow_id, state", "workflow_id", 1)
            ))
            .bind(list.bind_text(ids))
            .fetch_all(&self.pool).await?)
        }

        async fn cancel_workflow(&self, id: &str, now: i64) -> Result<bool, StoreError> {
            let mut tx = self.pool.begin().await?;
            lock_workflows_of(&mut tx, "workflow_id = $1", &[id.to_string()]).await?;
            let found = sqlx::query("UPDATE workflows SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2 AND state = 'running'")
                .bind(now).bind(id).execute(&mut *tx).await?;
            if found.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1, lease_owner = NULL,
                        lease_expires_at = NULL, fence = fence + 1
                 WHERE workflow_id = $2 AND state IN ('scheduled', 'blocked', 'available', 'running', 'retrying')",
            )
            .bind(now).bind(id).execute(&mut *tx).await?;
            finalize_workflow(&mut tx, id, now).await?;
            tx.commit().await?;
            Ok(true)
        }

        async fn retry_workflow(&self, id: &str, now: i64) -> Result<u64, StoreError> {
            let mut tx = self.pool.begin().await?;
            lock_workflows_of(&mut tx, "workflow_id = $1", &[id.to_string()]).await?;
            let rearmed = sqlx::query(
                "UPDATE jobs SET state = 'blocked', attempt = 0, finished_at = NULL, last_error = NULL, updated_at = $1
                 WHERE workflow_id = $2 AND state IN ('dead', 'cancelled', 'upstream_failed')",
            )
            .bind(now).bind(id).execute(&mut *tx).await?.rows_affected();
            if rearmed > 0 {
                sqlx::query(
                    "UPDATE workflows SET state = 'running', cancel_requested = FALSE, finished_at = NULL, updated_at = $1 WHERE id = $2",
                )
                .bind(now).bind(id).execute(&mut *tx).await?;
                // Whatever now has all its parents satisfied runs; the rest waits.
                loop {
                    let blocked: Vec<i64> = sqlx::query_scalar("SELECT id FROM jobs WHERE workflow_id = $1 AND state = 'blocked' ORDER BY id")
                        .bind(id).fetch_all(&mut *tx).await?;
                    let mut changed = false;
                    for b in blocked {
                        changed |= matches!(evaluate(&mut tx, b, now).await?, Decision::Available | Decision::UpstreamFailed);
                    }
                    if !changed {
                        break;
                    }
                }
                // Nothing may be left to run (a parent purged from the DLQ).
                finalize_workflow(&mut tx, id, now).await?;
            }
            tx.commit().await?;
            Ok(rearmed)
        }

        async fn insert_schedule(&self, r: &ScheduleRow) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "INSERT INTO schedules (id, name, cron, timezone, template, paused, next_run_at, last_run_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&r.id).bind(&r.name).bind(&r.cron).bind(&r.timezone).bind(&r.template).bind(r.paused)
            .bind(r.next_run_at).bind(r.last_run_at).bind(r.created_at).bind(r.updated_at)
            .execute(&self.pool)
            .await;
            match done {
                Ok(_) => Ok(true),
                Err(e) if $crate::store::auth::is_unique_violation(&e) => Ok(false),
                Err(e) => Err(e.into()),
            }
        }

        async fn list_schedules(&self) -> Result<Vec<ScheduleRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT id, name, cron, timezone, template, paused, next_run_at, last_run_at, created_at, updated_at
                 FROM schedules ORDER BY name",
            )
            .fetch_all(&self.pool).await?)
        }

        async fn set_schedule_paused(&self, id: &str, paused: bool, next_run_at: Option<i64>, now: i64) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE schedules SET paused = $1, next_run_at = COALESCE($2, next_run_at), updated_at = $3 WHERE id = $4",
            )
            .bind(paused).bind(next_run_at).bind(now).bind(id)
            .execute(&self.pool).await?;
            Ok(done.rows_affected() == 1)
        }

        async fn delete_schedule(&self, id: &str) -> Result<bool, StoreError> {
            let done = sqlx::query("DELETE FROM schedules WHERE id = $1").bind(id).execute(&self.pool).await?;
            Ok(done.rows_affected() == 1)
        }

        async fn due_schedules(&self, now: i64) -> Result<Vec<ScheduleRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT id, name, cron, timezone, template, paused, next_run_at, last_run_at, created_at, updated_at
                 FROM schedules WHERE paused = FALSE AND next_run_at <= $1 ORDER BY next_run_at",
            )
            .bind(now).fetch_all(&self.pool).await?)
        }

        async fn advance_schedule(&self, id: &str, fired_at: i64, next_run_at: i64, now: i64) -> Result<(), StoreError> {
            sqlx::query("UPDATE schedules SET last_run_at = $1, next_run_at = $2, updated_at = $3 WHERE id = $4 AND next_run_at <= $1")
                .bind(fired_at).bind(next_run_at).bind(now).bind(id)
                .execute(&self.pool).await?;
            Ok(())
        }

        async fn starving_jobs(&self, queue: &str, due_before: i64, limit: i64) -> Result<Vec<(i64, i32, i64)>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT id, priority, run_at FROM jobs WHERE state = 'available' AND queue = $1 AND run_at < $2
                   AND priority > 0
                 ORDER BY run_at, id LIMIT $3",
            )
            .bind(queue).bind(due_before).bind(limit)
            .fetch_all(&self.pool).await?)
        }

        async fn set_available_priority(&self, id: i64, priority: i32) -> Result<bool, StoreError> {
            let done = sqlx::query("UPDATE jobs SET priority = $1 WHERE id = $2 AND state = 'available'")
                .bind(priority).bind(id).execute(&self.pool).await?;
            Ok(done.rows_affected() == 1)
        }

        async fn running_in_queue(&self, queue: &str) -> Result<i64, StoreError> {
            Ok(sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'running' AND queue = $1")
                .bind(queue).fetch_one(&self.pool).await?)
        }

        async fn live_workers(&self, since: i64) -> Result<i64, StoreError> {
            let nodes = self.list_nodes().await?;
            Ok(nodes
                .iter()
                .filter(|n| n.heartbeat_at.timestamp_millis() >= since && n.roles.iter().any(|r| r == "worker"))
                .count() as i64)
        }

        async fn has_urgent_dependent(&self, id: i64, priority: i32) -> Result<bool, StoreError> {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM job_deps d JOIN jobs c ON c.id = d.child_id
                 WHERE d.parent_id = $1 AND c.state = 'blocked' AND c.priority < $2",
            )
            .bind(id).bind(priority).fetch_one(&self.pool).await?;
            Ok(n > 0)
        }

        async fn insert_starvation(&self, r: &StarvationRow) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO starvation_events (at, queue, job_id, waited_ms, cause, priority_before, priority_after)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(r.at).bind(&r.queue).bind(r.job_id).bind(r.waited_ms).bind(&r.cause)
            .bind(r.priority_before).bind(r.priority_after)
            .execute(&self.pool).await?;
            Ok(())
        }

        async fn list_starvation(&self, limit: i64) -> Result<Vec<StarvationRow>, StoreError> {
            Ok(sqlx::query_as(
                "SELECT id, at, queue, job_id, waited_ms, cause, priority_before, priority_after
                 FROM starvation_events ORDER BY id DESC LIMIT $1",
            )
            .bind(limit.clamp(1, 1000)).fetch_all(&self.pool).await?)
        }

        async fn prune_finished(&self, before: i64, limit: i64) -> Result<u64, StoreError> {
            // Two statements per batch, whatever its size: the jobs, then the
            // runs of exactly the jobs that went.
            let mut tx = self.pool.begin().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM jobs WHERE id IN (
                     SELECT id FROM jobs WHERE state IN ('succeeded', 'cancelled') AND finished_at < $1
                       AND workflow_id IS NULL ORDER BY id LIMIT $2)
                 RETURNING id",
            )
            .bind(before).bind(limit).fetch_all(&mut *tx).await?;
            if !ids.is_empty() {
                let list = <$store>::ID_LIST;
                sqlx::query(&format!("DELETE FROM job_attempts WHERE {}", list.matches("job_id", 1)))
                    .bind(list.bind(&ids))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(ids.len() as u64)
        }

        async fn prune_workflows(&self, before: i64, limit: i64) -> Result<u64, StoreError> {
            // Succeeded and cancelled ones only, as for standalone jobs: a
            // failed workflow's dead jobs stay in the dead-letter queue. Not
            // one an interview links to: its page lists the steps and links
            // the report, for as long as the interview is kept (its purge
            // cancels the workflow and drops the link). Oldest first through
            // the creation index (one that ended before `before` was created
            // before it too).
            const ENDED: &str = "state IN ('succeeded', 'cancelled') AND created_at < $1 AND finished_at < $1
                AND NOT EXISTS (SELECT 1 FROM interviews i WHERE i.workflow_id = workflows.id)";
            let list = <$store>::ID_LIST;
            let mut tx = self.pool.begin().await?;
            let gone: Vec<String> = if <$store>::LOCK_IN_ID_ORDER.is_some() {
                // PostgreSQL: a retry may re-open one meanwhile. Its jobs are
                // locked first, in id order as every other writer takes them;
                // then only the workflows still ended go.
                let ended: Vec<String> = sqlx::query_scalar(&format!(
                    "SELECT id FROM workflows WHERE {ENDED} ORDER BY created_at LIMIT $2"
                ))
                .bind(before).bind(limit).fetch_all(&mut *tx).await?;
                if ended.is_empty() {
                    return Ok(0);
                }
                let of_ended = "workflow_id = ANY(ARRAY(SELECT json_array_elements_text(CAST($1 AS JSON))))";
                lock_workflows_of(&mut tx, of_ended, &[list.bind_text(&ended)]).await?;
                sqlx::query_scalar(&format!(
                    "DELETE FROM workflows WHERE {ENDED} AND id IN (SELECT w.id FROM {}) RETURNING id",
                    list.text_rows("workflows", "w", "id", "id", 2)
                ))
                .bind(before).bind(list.bind_text(&ended)).fetch_all(&mut *tx).await?
            } else {
                // SQLite: the write comes first, so the transaction holds the
                // write lock from its first statement (a read first could not
                // be upgraded while another connection writes).
                sqlx::query_scalar(&format!(
                    "DELETE FROM workflows WHERE id IN (
                         SELECT id FROM workflows WHERE {ENDED} ORDER BY created_at LIMIT $2)
                     RETURNING id"
                ))
                .bind(before).bind(limit).fetch_all(&mut *tx).await?
            };
            if gone.is_empty() {
                return Ok(0);
            }
            let keys = list.bind_text(&gone);
            let jobs_of = format!("SELECT j.id FROM {}", list.text_rows("jobs", "j", "id", "workflow_id", 1));
            // Edges never cross workflows: every edge of theirs has its child among their jobs.
            for sql in [
                format!("DELETE FROM job_attempts WHERE job_id IN ({jobs_of})"),
                format!("DELETE FROM job_deps WHERE child_id IN ({jobs_of})"),
                format!("DELETE FROM jobs WHERE id IN ({jobs_of})"),
            ] {
                sqlx::query(&sql).bind(&keys).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(gone.len() as u64)
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

        async fn active_state_counts(&self) -> Result<Vec<StateCount>, StoreError> {
            let sql = $crate::store::jobs::ACTIVE_STATE_PREDICATES
                .map(|p| format!("SELECT queue, state, count(*) AS count FROM jobs WHERE {p} GROUP BY queue, state"))
                .join(" UNION ALL ");
            Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
        }

        async fn settled_state_counts(&self) -> Result<Vec<StateCount>, StoreError> {
            let list = $crate::job_counts::SETTLED_STATES.map(|s| format!("'{s}'")).join(", ");
            let sql = format!("SELECT queue, state, count(*) AS count FROM jobs WHERE state IN ({list}) GROUP BY queue, state");
            Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
        }
        }
    };
}

pub(crate) use impl_job_queries;
