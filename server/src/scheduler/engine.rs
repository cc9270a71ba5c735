//! The scheduler's service layer: enqueue with validation, claim respecting
//! queue pauses and limits, run a claimed job, and record the outcome with
//! the retry policy. Time comes from the injected clock, so tests drive
//! retries and leases without sleeping; the runtime module adds the loops.

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::{
    auth::AppError,
    jobs::{check_payload_bytes, NewJob, DEFAULT_PRIORITY, DEFAULT_QUEUE, MAX_BATCH},
};
use futures_util::FutureExt as _;
use rand::Rng as _;
use tokio::sync::RwLock;

use super::{
    backoff::{AfterFailure, RetryPolicy},
    cron::CronSpec,
    events::{notify_payloads, EventHub, JobEvent, CHANNEL},
    handlers::{HandlerError, JobContext, Registry},
};
use crate::{
    clock::SharedClock,
    error::internal,
    store::{
        jobs::{Completion, Failure, InsertJob, Inserted, NewEdge, QueueRow, ScheduleRow, StarvationRow, WorkflowRow},
        JobRow, Store, StoreError,
    },
};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Jobs this node runs at once.
    pub concurrency: usize,
    /// How long a claim holds a job without a heartbeat.
    pub lease_ms: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { concurrency: 16, lease_ms: 30_000 }
    }
}

/// How a run ended, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded(Completion),
    Failed { failure: Failure, permanent: bool },
}

/// Why a workflow was refused: its graph, or a job in it.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Graph(app::dag::DagError),
    #[error(transparent)]
    App(AppError),
}

pub struct Engine {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub node: String,
    pub registry: Registry,
    pub events: EventHub,
    pub config: EngineConfig,
    /// Queue settings, refreshed by the dispatcher and after edits.
    queues: RwLock<HashMap<String, QueueRow>>,
    /// High-volume events (running, succeeded, ...) bound for other nodes,
    /// sent by a background task in coalesced NOTIFYs off the hot path.
    coalesced: Option<tokio::sync::mpsc::UnboundedSender<JobEvent>>,
    /// Counters and wait times for /metrics.
    pub stats: Arc<SchedulerStats>,
    /// Queues this node has made sure exist, so an enqueue does not pay a
    /// round trip for that every time.
    ensured: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// Buckets (ms) of the wait-time histogram: from due to claimed.
pub const WAIT_BUCKETS_MS: [i64; 10] = [1, 5, 10, 50, 100, 500, 1_000, 5_000, 30_000, 300_000];

#[derive(Default)]
pub struct SchedulerStats {
    pub starved: std::sync::atomic::AtomicU64,
    /// Per queue: bucket counts (plus +Inf last), sum of ms, count.
    pub waits: std::sync::Mutex<HashMap<String, (Vec<u64>, i64, u64)>>,
}

impl SchedulerStats {
    pub fn observe_wait(&self, queue: &str, ms: i64) {
        let mut w = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        let e = w.entry(queue.to_string()).or_insert_with(|| (vec![0; WAIT_BUCKETS_MS.len() + 1], 0, 0));
        let idx = WAIT_BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(WAIT_BUCKETS_MS.len());
        e.0[idx] += 1;
        e.1 += ms.max(0);
        e.2 += 1;
    }

    /// Prometheus text for the scheduler's own series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP meetmind_starvation_total Starving jobs aged by the starvation daemon.\n");
        out.push_str("# TYPE meetmind_starvation_total counter\n");
        out.push_str(&format!(
            "meetmind_starvation_total {}\n",
            self.starved.load(std::sync::atomic::Ordering::Relaxed)
        ));
        out.push_str("# HELP meetmind_job_wait_ms Time from due to claimed, per queue.\n");
        out.push_str("# TYPE meetmind_job_wait_ms histogram\n");
        let w = self.waits.lock().unwrap_or_else(|p| p.into_inner());
        let mut queues: Vec<_> = w.iter().collect();
        queues.sort_by(|a, b| a.0.cmp(b.0));
        for (q, (buckets, sum, count)) in queues {
            let mut cumulative = 0;
            for (i, b) in WAIT_BUCKETS_MS.iter().enumerate() {
                cumulative += buckets[i];
                out.push_str(&format!("meetmind_job_wait_ms_bucket{{queue=\"{q}\",le=\"{b}\"}} {cumulative}\n"));
            }
            cumulative += buckets[WAIT_BUCKETS_MS.len()];
            out.push_str(&format!("meetmind_job_wait_ms_bucket{{queue=\"{q}\",le=\"+Inf\"}} {cumulative}\n"));
            out.push_str(&format!("meetmind_job_wait_ms_sum{{queue=\"{q}\"}} {sum}\n"));
            out.push_str(&format!("meetmind_job_wait_ms_count{{queue=\"{q}\"}} {count}\n"));
        }
        out
    }
}

/// How often coalesced events cross to other nodes.
const COALESCE: Duration = Duration::from_millis(100);

async fn coalescer(store: Arc<dyn Store>, mut rx: tokio::sync::mpsc::UnboundedReceiver<JobEvent>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        tokio::time::sleep(COALESCE).await;
        while let Ok(e) = rx.try_recv() {
            batch.push(e);
        }
        for payload in notify_payloads(&batch) {
            if let Err(e) = store.notify(CHANNEL, &payload).await {
                tracing::warn!(error = %e, "NOTIFY failed; other nodes see these changes in their next refresh");
            }
        }
        batch.clear();
    }
}

/// States other nodes must hear about at once: they may have work to claim.
fn wakes_others(state: &str) -> bool {
    matches!(state, "available" | "scheduled" | "retrying")
}

/// Parses a stored delay list ("1000,5000,25000").
pub fn parse_delays(text: &str) -> Option<Vec<Duration>> {
    let v: Option<Vec<Duration>> =
        text.split(',').map(|s| s.trim().parse::<u64>().ok().map(Duration::from_millis)).collect();
    v.filter(|d| !d.is_empty())
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        node: impl Into<String>,
        registry: Registry,
        events: EventHub,
        config: EngineConfig,
    ) -> Arc<Engine> {
        let coalesced = match (store.listen_pool(), tokio::runtime::Handle::try_current()) {
            (Some(_), Ok(handle)) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                handle.spawn(coalescer(store.clone(), rx));
                Some(tx)
            }
            _ => None,
        };
        Arc::new(Engine {
            store,
            clock,
            node: node.into(),
            registry,
            events,
            config,
            queues: RwLock::new(HashMap::new()),
            coalesced,
            stats: Arc::new(SchedulerStats::default()),
            ensured: std::sync::Mutex::new(std::collections::HashSet::new()),
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Creates the queue rows this node has not seen yet.
    async fn ensure_queues(&self, names: &[String], now: i64) -> Result<(), AppError> {
        let missing: Vec<String> = {
            let seen = self.ensured.lock().unwrap_or_else(|p| p.into_inner());
            names.iter().filter(|n| !seen.contains(*n)).cloned().collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        self.store.ensure_queues(&missing, now).await.map_err(internal)?;
        self.ensured.lock().unwrap_or_else(|p| p.into_inner()).extend(missing);
        Ok(())
    }

    pub async fn refresh_queues(&self) -> Result<(), StoreError> {
        let rows = self.store.list_queues().await?;
        *self.queues.write().await = rows.into_iter().map(|q| (q.name.clone(), q)).collect();
        Ok(())
    }

    async fn queue(&self, name: &str) -> Option<QueueRow> {
        self.queues.read().await.get(name).cloned()
    }

    /// Validates and writes jobs; the reply lists each job's id and state in
    /// input order. Nothing is written unless every job is valid.
    pub async fn enqueue(&self, jobs: Vec<NewJob>, batch: bool) -> Result<Vec<Inserted>, AppError> {
        if jobs.len() > MAX_BATCH {
            return Err(AppError::Invalid {
                field: "jobs".into(),
                message: format!("a batch holds at most {MAX_BATCH} jobs; got {}", jobs.len()),
            });
        }
        if jobs.is_empty() {
            return Err(AppError::invalid("jobs", "send at least one job"));
        }
        let now = self.now();
        let mut rows = Vec::with_capacity(jobs.len());
        let mut queue_names: Vec<String> = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let index = batch.then_some(i);
            let field = |f: &str| match index {
                Some(i) => format!("jobs[{i}].{f}"),
                None => f.to_string(),
            };
            job.check(index)?;
            let Some(handler) = self.registry.get(&job.kind) else {
                return Err(AppError::Invalid {
                    field: field("kind"),
                    message: format!("unknown kind {:?}; known kinds: {}", job.kind, self.registry.kinds().join(", ")),
                });
            };
            let payload = serde_json::to_string(&job.payload).unwrap_or_else(|_| "null".into());
            check_payload_bytes(payload.len(), &field("payload"))?;
            handler.validate(&job.payload).map_err(|m| AppError::Invalid { field: field("payload"), message: m })?;
            let queue = job.queue.unwrap_or_else(|| DEFAULT_QUEUE.to_string());
            let qconf = self.queue(&queue).await;
            let run_at = job.run_at.unwrap_or(now).max(0);
            let state = if run_at > now { "scheduled" } else { "available" };
            let max_attempts = job.max_attempts.or(qconf.as_ref().and_then(|q| q.max_attempts)).unwrap_or(4);
            if !queue_names.contains(&queue) {
                queue_names.push(queue.clone());
            }
            rows.push(InsertJob {
                queue,
                kind: job.kind,
                payload,
                priority: job.priority.unwrap_or(DEFAULT_PRIORITY),
                run_at,
                state: state.to_string(),
                max_attempts,
                retry_delays_ms: job
                    .retry_delays_ms
                    .as_ref()
                    .map(|d| d.iter().map(i64::to_string).collect::<Vec<_>>().join(",")),
                timeout_ms: job.timeout_ms,
                idempotency_key: job.idempotency_key,
                workflow_id: None,
                workflow_key: None,
            });
        }
        self.ensure_queues(&queue_names, now).await?;
        let inserted = self.store.insert_jobs(&rows, now).await.map_err(internal)?;
        let events: Vec<JobEvent> = rows
            .iter()
            .zip(&inserted)
            .filter(|(_, ins)| !ins.existing)
            .map(|(row, ins)| JobEvent {
                id: ins.id,
                queue: row.queue.clone(),
                kind: row.kind.clone(),
                state: ins.state.clone(),
                run_at: (ins.state == "scheduled").then_some(row.run_at),
                at: now,
                node: self.node.clone(),
            })
            .collect();
        self.publish(events).await;
        Ok(inserted)
    }

    /// Every check a submitted workflow passes, without writing anything: the
    /// graph, the kinds and their payloads, the queue names. Returns the
    /// graph and the queues it uses.
    /// Refuses kinds the server keeps for itself (`Handler::internal`):
    /// the API's entry points call this before enqueueing, submitting,
    /// saving a template or creating a schedule. Each item is (field, kind).
    pub fn refuse_internal_kinds<'a>(
        &self,
        kinds: impl IntoIterator<Item = (String, &'a str)>,
    ) -> Result<(), AppError> {
        for (field, kind) in kinds {
            if self.registry.is_internal(kind) {
                return Err(AppError::invalid(
                    &field,
                    format!("{kind:?} is run by MeetMind itself and cannot be enqueued through the API"),
                ));
            }
        }
        Ok(())
    }

    /// The `jobs[i].kind` of every job of a workflow, for `refuse_internal_kinds`.
    pub fn workflow_kinds(spec: &app::dag::WorkflowSpec) -> impl Iterator<Item = (String, &str)> {
        spec.jobs.iter().enumerate().map(|(i, j)| (format!("jobs[{i}].kind"), j.kind.as_str()))
    }

    pub fn check_workflow(&self, spec: &app::dag::WorkflowSpec) -> Result<(app::dag::Dag, Vec<String>), WorkflowError> {
        let dag = app::dag::validate(spec).map_err(WorkflowError::Graph)?;
        let mut queue_names: Vec<String> = Vec::new();
        for (i, job) in spec.jobs.iter().enumerate() {
            let field = |f: &str| format!("jobs[{i}].{f}");
            let Some(handler) = self.registry.get(&job.kind) else {
                return Err(WorkflowError::App(AppError::Invalid {
                    field: field("kind"),
                    message: format!(
                        "job {:?}: unknown kind {:?}; known kinds: {}",
                        job.key,
                        job.kind,
                        self.registry.kinds().join(", ")
                    ),
                }));
            };
            handler.validate(&job.payload).map_err(|m| {
                WorkflowError::App(AppError::Invalid {
                    field: field("payload"),
                    message: format!("job {:?}: {m}", job.key),
                })
            })?;
            let queue = job.queue.clone().unwrap_or_else(|| DEFAULT_QUEUE.to_string());
            app::jobs::check_queue_name(&queue).map_err(|e| WorkflowError::App(e.at_field(field("queue"))))?;
            if !queue_names.contains(&queue) {
                queue_names.push(queue);
            }
        }
        Ok((dag, queue_names))
    }

    /// Validates a workflow with the same graph checks the browser runs, then
    /// writes it, its jobs and its edges in one transaction. Each job is
    /// dispatched at the most urgent priority of the jobs waiting on it.
    pub async fn submit_workflow(&self, spec: &app::dag::WorkflowSpec) -> Result<(String, Vec<i64>), WorkflowError> {
        let (dag, queue_names) = self.check_workflow(spec)?;
        let now = self.now();
        let own: Vec<i16> = spec.jobs.iter().map(|j| j.priority.unwrap_or(DEFAULT_PRIORITY as i16)).collect();
        let effective = dag.inherited_priorities(&own);
        let workflow_id = uuid::Uuid::new_v4().to_string();
        // Rows go in in topological order, so a parent's id is below its
        // children's and row locks taken in id order follow the graph.
        let mut pos = vec![0; spec.jobs.len()];
        for (p, &i) in dag.order.iter().enumerate() {
            pos[i] = p;
        }
        let mut rows = Vec::with_capacity(spec.jobs.len());
        for &i in &dag.order {
            let job = &spec.jobs[i];
            let queue = job.queue.clone().unwrap_or_else(|| DEFAULT_QUEUE.to_string());
            let max_attempts = self.queue(&queue).await.and_then(|q| q.max_attempts).unwrap_or(4);
            rows.push(InsertJob {
                queue,
                kind: job.kind.clone(),
                payload: serde_json::to_string(&job.payload).unwrap_or_else(|_| "null".into()),
                priority: i32::from(effective[i]),
                run_at: now,
                state: if dag.parents[i].is_empty() { "available" } else { "blocked" }.to_string(),
                max_attempts,
                retry_delays_ms: None,
                timeout_ms: None,
                idempotency_key: None,
                workflow_id: Some(workflow_id.clone()),
                workflow_key: Some(job.key.clone()),
            });
        }
        let edges: Vec<NewEdge> = dag
            .parents
            .iter()
            .enumerate()
            .flat_map(|(child, parents)| {
                let pos = &pos;
                parents.iter().map(move |&parent| NewEdge {
                    child: pos[child],
                    parent: pos[parent],
                    policy: spec.jobs[child].policy_for(&spec.jobs[parent].key).to_string(),
                })
            })
            .collect();
        let wf = WorkflowRow {
            id: workflow_id.clone(),
            name: spec.name.trim().to_string(),
            state: "running".into(),
            cancel_requested: false,
            total: rows.len() as i32,
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        self.ensure_queues(&queue_names, now).await.map_err(WorkflowError::App)?;
        let inserted =
            self.store.insert_workflow(&wf, &rows, &edges).await.map_err(|e| WorkflowError::App(internal(e)))?;
        let ids: Vec<i64> = pos.iter().map(|&p| inserted[p]).collect();
        let events = rows
            .iter()
            .zip(&inserted)
            .filter(|(r, _)| r.state == "available")
            .map(|(r, id)| self.event(*id, &r.queue, &r.kind, "available", None))
            .collect();
        self.publish(events).await;
        Ok((workflow_id, ids))
    }

    /// Creates a cron schedule whose fires enqueue `template`.
    pub async fn create_schedule(
        &self,
        name: &str,
        cron: &str,
        timezone: &str,
        template: &NewJob,
    ) -> Result<ScheduleRow, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(AppError::invalid("name", "a schedule needs a name of 1 to 120 characters"));
        }
        let spec = CronSpec::parse(cron, timezone).map_err(|e| AppError::invalid(e.field(), e.to_string()))?;
        template.check(None).map_err(|e| match e {
            AppError::Invalid { field, message } => AppError::Invalid { field: format!("job.{field}"), message },
            other => other,
        })?;
        if template.idempotency_key.is_some() {
            return Err(AppError::invalid("job.idempotency_key", "a schedule sets each fire's idempotency_key itself"));
        }
        if template.run_at.is_some() {
            return Err(AppError::invalid("job.run_at", "a schedule's fires set run_at: leave it out"));
        }
        check_payload_bytes(template.payload_bytes(), "job.payload")?;
        let handler = self.registry.get(&template.kind).ok_or_else(|| {
            AppError::invalid(
                "job.kind",
                format!("unknown kind {:?}; known kinds: {}", template.kind, self.registry.kinds().join(", ")),
            )
        })?;
        handler.validate(&template.payload).map_err(|m| AppError::invalid("job.payload", m))?;
        let now = self.now();
        let next =
            spec.next_after(now).ok_or_else(|| AppError::invalid("cron", "this expression never fires again"))?;
        let row = ScheduleRow {
            id: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            name: name.to_string(),
            cron: cron.trim().to_string(),
            timezone: timezone.trim().to_string(),
            template: serde_json::to_string(template).unwrap_or_default(),
            paused: false,
            next_run_at: next,
            last_run_at: None,
            created_at: now,
            updated_at: now,
        };
        if !self.store.insert_schedule(&row).await.map_err(internal)? {
            return Err(AppError::invalid("name", format!("a schedule named {name:?} exists")));
        }
        Ok(row)
    }

    /// Leader only: enqueues each due schedule's fire exactly once. After a
    /// long outage only the latest missed fire runs, not a burst of them.
    pub async fn fire_schedules(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let mut fired = 0;
        for s in self.store.due_schedules(now).await? {
            let spec = match CronSpec::parse(&s.cron, &s.timezone) {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::error!(schedule = %s.name, error = %e, "schedule no longer parses; pausing it");
                    self.store.set_schedule_paused(&s.id, true, None, now).await?;
                    continue;
                }
            };
            let mut fire = s.next_run_at;
            for _ in 0..10_000 {
                match spec.next_after(fire) {
                    Some(n) if n <= now => fire = n,
                    _ => break,
                }
            }
            match serde_json::from_str::<NewJob>(&s.template) {
                Ok(mut job) => {
                    job.idempotency_key = Some(format!("{}{}:{fire}", app::jobs::SCHEDULE_KEY_PREFIX, s.id));
                    match self.enqueue(vec![job], false).await {
                        Ok(done) => {
                            if done.iter().any(|d| !d.existing) {
                                fired += 1;
                            }
                        }
                        // The template no longer passes (a kind gone from
                        // this version): this fire is skipped, said once.
                        Err(e @ AppError::Invalid { .. }) => {
                            tracing::warn!(schedule = %s.name, error = %e, "scheduled job refused")
                        }
                        // The database failed: the fire stays due and the next
                        // pass tries it again (its key keeps it to one job).
                        Err(e) => {
                            tracing::warn!(schedule = %s.name, error = %e, "could not enqueue a fire; retrying");
                            continue;
                        }
                    }
                }
                Err(e) => tracing::error!(schedule = %s.name, error = %e, "schedule template unreadable"),
            }
            let next = spec.next_after(fire).unwrap_or(i64::MAX);
            self.store.advance_schedule(&s.id, fire, next, now).await?;
        }
        Ok(fired)
    }

    /// Leader only: jobs that waited past their queue's `starvation_after`
    /// gain one step of urgency per pass (aging), and each step is recorded
    /// with its cause.
    pub async fn starvation_pass(&self) -> Result<Vec<StarvationRow>, StoreError> {
        let now = self.now();
        let mut events = Vec::new();
        let queues: Vec<QueueRow> = self.store.list_queues().await?;
        let mut workers: Option<i64> = None;
        for q in queues.iter().filter(|q| !q.paused) {
            let Some(after) = q.starvation_after_ms else { continue };
            for (id, priority, run_at) in self.store.starving_jobs(&q.name, now - after, 200).await? {
                if priority == 0 {
                    continue;
                }
                let live = match workers {
                    Some(n) => n,
                    None => {
                        let n = self.store.live_workers(now - 30_000).await?;
                        workers = Some(n);
                        n
                    }
                };
                let cause = if live == 0 {
                    "no_worker"
                } else if self.store.has_urgent_dependent(id, priority).await? {
                    "inversion"
                } else {
                    "saturated"
                };
                if !self.store.set_available_priority(id, priority - 1).await? {
                    continue;
                }
                let row = StarvationRow {
                    id: 0,
                    at: now,
                    queue: q.name.clone(),
                    job_id: id,
                    waited_ms: now - run_at,
                    cause: cause.to_string(),
                    priority_before: priority,
                    priority_after: priority - 1,
                };
                self.store.insert_starvation(&row).await?;
                tracing::info!(queue = %q.name, job = id, waited_ms = now - run_at, cause, "starving job aged");
                events.push(row);
            }
        }
        self.stats.starved.fetch_add(events.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(events)
    }

    /// Publishes locally and, on PostgreSQL, to the other nodes.
    pub async fn publish(&self, events: Vec<JobEvent>) {
        if events.is_empty() {
            return;
        }
        // Local subscribers first: this node's dispatcher reacts at once.
        let mut urgent = Vec::new();
        for e in events {
            self.events.publish(e.clone());
            match &self.coalesced {
                Some(_) if wakes_others(&e.state) => urgent.push(e),
                Some(tx) => {
                    let _ = tx.send(e);
                }
                None => {}
            }
        }
        for payload in notify_payloads(&urgent) {
            if let Err(e) = self.store.notify(CHANNEL, &payload).await {
                tracing::warn!(error = %e, "NOTIFY failed; other nodes fall back to polling");
            }
        }
    }

    /// A job's current state as an event (after a cancel or a retry, say).
    pub fn job_event(&self, job: &JobRow) -> JobEvent {
        self.event(job.id, &job.queue, &job.kind, &job.state, None)
    }

    /// Tells every node's dispatcher that there may be work to claim (after a
    /// requeue, a resumed queue, a settled workflow).
    pub async fn wake(&self) {
        self.publish(vec![self.wake_event()]).await;
    }

    fn wake_event(&self) -> JobEvent {
        self.event(0, "", "", "available", None)
    }

    fn event(&self, id: i64, queue: &str, kind: &str, state: &str, run_at: Option<i64>) -> JobEvent {
        JobEvent {
            id,
            queue: queue.to_string(),
            kind: kind.to_string(),
            state: state.to_string(),
            run_at,
            at: self.now(),
            node: self.node.clone(),
        }
    }

    /// Claims up to `free` jobs: limited queues first, each under its
    /// cluster-wide count, then queues without a limit in one statement.
    /// Limited queues go first because a backlog in the others would take
    /// every free slot on every claim and leave them nothing, for ever; each
    /// takes at most its own limit, so together they cannot take every slot
    /// unless their limits add up to the node's concurrency.
    pub async fn claim(&self, free: usize) -> Result<Vec<JobRow>, StoreError> {
        if free == 0 {
            return Ok(Vec::new());
        }
        let now = self.now();
        let lease_until = now + self.config.lease_ms;
        let queues: Vec<QueueRow> = self.queues.read().await.values().cloned().collect();
        let mut claimed = Vec::new();
        for q in queues.iter().filter(|q| !q.paused && q.concurrency > 0) {
            let room = free.saturating_sub(claimed.len());
            if room == 0 {
                break;
            }
            let more = self
                .store
                .claim_limited(&self.node, now, lease_until, room as i64, &q.name, i64::from(q.concurrency))
                .await?;
            claimed.extend(more);
        }
        let room = free.saturating_sub(claimed.len());
        if room > 0 {
            let exclude: Vec<String> =
                queues.iter().filter(|q| q.paused || q.concurrency > 0).map(|q| q.name.clone()).collect();
            claimed.extend(self.store.claim(&self.node, now, lease_until, room as i64, &exclude).await?);
        }
        claimed.sort_by_key(|r| (r.priority, r.run_at, r.id));
        for j in &claimed {
            self.stats.observe_wait(&j.queue, now - j.run_at);
        }
        // A running event carries when the job was due, so every node can tell its wait.
        let events = claimed.iter().map(|j| self.event(j.id, &j.queue, &j.kind, "running", Some(j.run_at))).collect();
        self.publish(events).await;
        Ok(claimed)
    }

    /// Runs one claimed job with its timeout. Never panics on a bad payload:
    /// that is a permanent failure of the job.
    pub async fn run(&self, job: &JobRow) -> Outcome {
        let started = self.now();
        let result = match self.registry.get(&job.kind) {
            None => {
                Err((HandlerError::permanent(format!("no handler for kind {:?} on this node", job.kind)), "failed"))
            }
            Some(handler) => {
                let timeout =
                    job.timeout_ms.map(|ms| Duration::from_millis(ms as u64)).unwrap_or_else(|| handler.timeout());
                let payload = serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null);
                let ctx = JobContext { id: job.id, attempt: job.attempt, payload };
                // A panicking handler is a failed attempt like any other: the
                // job retries or dead-letters, never stays `running` under a
                // lease this node keeps renewing.
                let run = std::panic::AssertUnwindSafe(handler.run(ctx)).catch_unwind();
                match tokio::time::timeout(timeout, run).await {
                    Ok(Ok(Ok(()))) => Ok(()),
                    Ok(Ok(Err(e))) => Err((e, "failed")),
                    Ok(Err(panic)) => {
                        Err((HandlerError::retry(format!("the handler panicked: {}", panic_text(&*panic))), "failed"))
                    }
                    Err(_) => {
                        Err((HandlerError::retry(format!("timed out after {} ms", timeout.as_millis())), "timeout"))
                    }
                }
            }
        };
        let finished = self.now();
        match result {
            Ok(()) => Outcome::Succeeded(Completion {
                id: job.id,
                fence: job.fence,
                in_workflow: job.workflow_id.is_some(),
                started_at: started,
                finished_at: finished,
            }),
            Err((e, outcome)) => {
                Outcome::Failed { failure: self.failure(job, &e, outcome, started, finished), permanent: e.permanent }
            }
        }
    }

    /// The retry policy of a job: its own, else its queue's, else the default.
    pub async fn policy(&self, job: &JobRow) -> RetryPolicy {
        let q = self.queue(&job.queue).await;
        let delays = job
            .retry_delays_ms
            .as_deref()
            .and_then(parse_delays)
            .or_else(|| q.as_ref().and_then(|q| q.retry_delays_ms.as_deref()).and_then(parse_delays));
        let mut policy = RetryPolicy { max_attempts: job.max_attempts.max(1) as u32, ..RetryPolicy::default() };
        if let Some(d) = delays {
            policy.delays = d;
        }
        policy
    }

    fn failure(&self, job: &JobRow, e: &HandlerError, outcome: &str, started: i64, finished: i64) -> Failure {
        Failure {
            id: job.id,
            fence: job.fence,
            attempt: job.attempt,
            node: self.node.clone(),
            started_at: started,
            finished_at: finished,
            outcome: outcome.to_string(),
            error: if e.permanent { format!("{} (permanent)", e.message) } else { e.message.clone() },
            // Set by `record_failure` from the retry policy.
            retry_at: None,
        }
    }

    /// Writes a failure: retry after the policy's delay with jitter, or the DLQ.
    pub async fn record_failure(&self, job: &JobRow, mut f: Failure, permanent: bool) -> Result<bool, StoreError> {
        let policy = self.policy(job).await;
        let unit: f64 = rand::rng().random();
        f.retry_at = match policy.after_failure(f.attempt.max(1) as u32, permanent, unit) {
            AfterFailure::RetryIn(d) => Some(self.now() + d.as_millis() as i64),
            AfterFailure::DeadLetter => None,
        };
        let accepted = self.store.fail(&f, self.now()).await?;
        if accepted {
            let state = if f.retry_at.is_some() { "retrying" } else { "dead" };
            let mut events = vec![self.event(job.id, &job.queue, &job.kind, state, f.retry_at)];
            if state == "dead" && job.workflow_id.is_some() {
                events.push(self.wake_event());
            }
            self.publish(events).await;
        } else {
            tracing::warn!(job = job.id, fence = job.fence, "stale failure refused: the lease was lost");
        }
        Ok(accepted)
    }

    /// Writes a batch of successes; returns the ids the fences accepted.
    pub async fn record_completions(
        &self,
        done: &[Completion],
        jobs: &HashMap<i64, (String, String)>,
    ) -> Result<Vec<i64>, StoreError> {
        let accepted = self.store.complete(&self.node, done).await?;
        if accepted.len() < done.len() {
            tracing::warn!(refused = done.len() - accepted.len(), "stale completions refused: leases were lost");
        }
        let mut events: Vec<JobEvent> = accepted
            .iter()
            .filter_map(|id| jobs.get(id).map(|(q, k)| self.event(*id, q, k, "succeeded", None)))
            .collect();
        if done.iter().any(|c| c.in_workflow) {
            // Children may have become available: wake the dispatchers.
            events.push(self.wake_event());
        }
        self.publish(events).await;
        Ok(accepted)
    }

    /// Due scheduled and retrying jobs become available.
    pub async fn promote_due(&self) -> Result<usize, StoreError> {
        let changed = self.store.promote_due(self.now()).await?;
        let n = changed.len();
        let events = changed.iter().map(|c| self.event(c.id, &c.queue, &c.kind, &c.state, None)).collect();
        self.publish(events).await;
        Ok(n)
    }

    /// Jobs of crashed or partitioned workers go back to the queue.
    pub async fn rescue_expired(&self) -> Result<usize, StoreError> {
        let changed = self.store.rescue_expired(self.now()).await?;
        if !changed.is_empty() {
            tracing::warn!(jobs = changed.len(), "rescued jobs whose lease expired");
        }
        let n = changed.len();
        let events = changed.iter().map(|c| self.event(c.id, &c.queue, &c.kind, &c.state, None)).collect();
        self.publish(events).await;
        Ok(n)
    }
}

/// A panic's message, when it carried one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
