//! The loops that drive the engine on a node:
//! - the dispatcher claims jobs when slots are free, woken by local events,
//!   NOTIFY from other nodes, or its timer structure (heap or wheel) exactly
//!   when the next scheduled job or retry is due; polling is a slow fallback;
//! - the completer writes successes in batches;
//! - the heartbeat renews the leases of the jobs this node is running;
//! - on maintenance nodes, the leader (a lease row any node may take over
//!   when it expires) rescues expired leases, sweeps due jobs, fires cron
//!   schedules, ages starving jobs and prunes nodes, sessions and old jobs.
//! On shutdown the dispatcher stops claiming, in-flight jobs get the grace
//! period, and whatever is still running is released for other nodes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    sync::{mpsc, watch, Notify, Semaphore},
    task::JoinSet,
};
use tracing::{info, warn};

use super::{
    engine::{Engine, Outcome},
    events::{decode_payload, JobEvent, CHANNEL},
    queue::{Entry, QueueKind, ReadyQueue},
};
use crate::store::jobs::Completion;

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub queue_kind: QueueKind,
    /// Fallback poll when nothing wakes the dispatcher.
    pub poll: Duration,
    /// How far ahead future jobs are loaded into the timer structure.
    pub horizon_ms: i64,
    pub maintenance: bool,
    pub grace: Duration,
    /// Succeeded and cancelled jobs older than this are pruned by the leader.
    pub retention_ms: i64,
    /// Nodes silent for this long are removed from the registry.
    pub node_dead_after_ms: i64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            queue_kind: QueueKind::Heap,
            poll: Duration::from_secs(2),
            horizon_ms: 60_000,
            maintenance: true,
            grace: Duration::from_secs(20),
            retention_ms: 7 * 86_400_000,
            node_dead_after_ms: 30_000,
        }
    }
}

/// The jobs this node is running (id → the fence of its run): claimed, and
/// their outcome not yet written. Only their leases are renewed, so a job
/// whose run ended without its outcome reaching the database (a store
/// error, the completer giving up) lets its lease expire and runs again,
/// instead of staying `running`. An outcome removes its own run only: the
/// same job claimed again here (a retry due at once) is a newer fence.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<HashMap<i64, i64>>>);

impl InFlight {
    fn runs(&self) -> std::sync::MutexGuard<'_, HashMap<i64, i64>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(&self, id: i64, fence: i64) {
        self.runs().insert(id, fence);
    }

    fn end(&self, id: i64, fence: i64) {
        let mut runs = self.runs();
        if runs.get(&id) == Some(&fence) {
            runs.remove(&id);
        }
    }

    fn ids(&self) -> Vec<i64> {
        self.runs().keys().copied().collect()
    }
}

/// Runs the node's scheduler until `stop` turns true, then drains.
pub async fn run(engine: Arc<Engine>, config: RuntimeConfig, mut stop: watch::Receiver<bool>) {
    if let Err(e) = engine.refresh_queues().await {
        warn!(error = %e, "could not load queue settings");
    }
    let wake = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<(Completion, String, String)>();
    let mut tasks = JoinSet::new();

    let in_flight = InFlight::default();
    let completions = tokio::spawn(completer(engine.clone(), done_rx, in_flight.clone()));
    tasks.spawn(heartbeat(engine.clone(), in_flight.clone(), stop.clone()));
    tasks.spawn(listen_remote(engine.clone(), wake.clone(), stop.clone()));
    if config.maintenance {
        tasks.spawn(maintenance(engine.clone(), config.retention_ms, config.node_dead_after_ms, stop.clone()));
    }

    dispatcher(engine.clone(), &config, wake, done_tx, in_flight, &mut stop).await;

    // The dispatcher returned with every job task ended, so the completer
    // ends once it has written the last successes. Only then are the leases
    // still held given back: a lease released first would fence out a
    // success not yet written, and the job would run again elsewhere.
    if tokio::time::timeout(Duration::from_secs(10), completions).await.is_err() {
        warn!("completions still being written after 10 s; releasing leases anyway");
    }
    match engine.store.release_leases(&engine.node, engine.now()).await {
        Ok(0) => {}
        Ok(n) => info!(released = n, "released unfinished jobs"),
        Err(e) => warn!(error = %e, "releasing leases failed; they will expire instead"),
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    info!("scheduler stopped");
}

async fn dispatcher(
    engine: Arc<Engine>,
    config: &RuntimeConfig,
    wake: Arc<Notify>,
    done_tx: mpsc::UnboundedSender<(Completion, String, String)>,
    in_flight: InFlight,
    stop: &mut watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(engine.config.concurrency));
    let mut timers: Box<dyn ReadyQueue> = config.queue_kind.build(engine.now());
    let mut events = engine.events.subscribe();
    let mut running = JoinSet::new();
    let mut next_refresh = 0i64;
    let mut next_queue_refresh = 0i64;
    let mut should_claim = true;
    let concurrency = engine.config.concurrency;

    loop {
        if *stop.borrow() {
            break;
        }
        let now = engine.now();
        // Keep the timer structure loaded with what is due soon.
        if now >= next_refresh {
            match engine.store.upcoming(now + config.horizon_ms, 100_000).await {
                Ok(rows) => {
                    for (id, priority, run_at) in rows {
                        timers.insert(Entry { id, priority: priority as i16, run_at });
                    }
                }
                Err(e) => warn!(error = %e, "could not load upcoming jobs"),
            }
            next_refresh = now + config.horizon_ms / 2;
        }
        if now >= next_queue_refresh {
            let _ = engine.refresh_queues().await;
            next_queue_refresh = now + 1_000;
        }
        // Timers that fired: their jobs become available now.
        timers.advance(now);
        let mut fired = false;
        while timers.pop_ready().is_some() {
            fired = true;
        }
        if fired {
            if let Err(e) = engine.promote_due().await {
                warn!(error = %e, "promoting due jobs failed");
            }
        }

        // Fill the free slots.
        let free = slots.available_permits();
        let mut full_batch = false;
        if free > 0 && (should_claim || fired) {
            match engine.claim(free).await {
                Ok(jobs) => {
                    full_batch = jobs.len() == free;
                    for job in jobs {
                        let permit = slots.clone().try_acquire_owned().expect("claimed no more than the free slots");
                        let engine = engine.clone();
                        let done_tx = done_tx.clone();
                        let in_flight = in_flight.clone();
                        in_flight.start(job.id, job.fence);
                        running.spawn(async move {
                            let _permit = permit;
                            match engine.run(&job).await {
                                // The completer writes it, then lets the lease go.
                                Outcome::Succeeded(c) => {
                                    let _ = done_tx.send((c, job.queue.clone(), job.kind.clone()));
                                }
                                Outcome::Failed { failure, permanent } => {
                                    if let Err(e) = engine.record_failure(&job, failure, permanent).await {
                                        warn!(job = job.id, error = %e, "could not record a failure; the lease will expire and the job run again");
                                    }
                                    in_flight.end(job.id, job.fence);
                                }
                            }
                        });
                    }
                }
                Err(e) => {
                    warn!(error = %e, "claiming jobs failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        while running.try_join_next().is_some() {}
        if full_batch && slots.available_permits() > 0 {
            continue;
        }

        // Sleep until something can change: a wake, an event, a free slot,
        // the next timer, the fallback poll, or shutdown.
        let until_timer = timers
            .next_wake()
            .map(|at| Duration::from_millis((at - engine.now()).max(0) as u64))
            .unwrap_or(config.poll)
            .min(config.poll);
        // When every slot is busy, refill in one claim once half of them
        // are free again (or after a moment), rather than one job at a time.
        let saturated = slots.available_permits() == 0 && !running.is_empty();
        let slot_freed = async {
            if saturated {
                let _ = running.join_next().await;
                let settle = tokio::time::sleep(Duration::from_millis(2));
                tokio::pin!(settle);
                while slots.available_permits() < concurrency.div_ceil(2) {
                    tokio::select! {
                        r = running.join_next() => if r.is_none() { break },
                        _ = &mut settle => break,
                    }
                }
            } else {
                std::future::pending::<()>().await;
            }
        };
        should_claim = tokio::select! {
            _ = wake.notified() => true,
            ev = events.recv() => {
                // Only news that may mean claimable work triggers a claim; this
                // node's own running/succeeded events do not.
                let mut claim = ev.is_err();
                let mut note = |ev: &JobEvent| {
                    note_event(&mut *timers, ev);
                    matches!(ev.state.as_str(), "available" | "retrying" | "scheduled" | "cancelled")
                        || ev.node != engine.node
                };
                if let Ok(ev) = &ev {
                    claim |= note(ev);
                }
                // Drain a burst of events in one go.
                while let Ok(ev) = events.try_recv() {
                    claim |= note(&ev);
                }
                claim
            }
            _ = slot_freed => true,
            _ = tokio::time::sleep(until_timer) => true,
            _ = stop.changed() => true,
        };
    }

    // Shutdown: take nothing new; give in-flight jobs the grace period.
    let in_flight = running.len();
    if in_flight > 0 {
        info!(in_flight, grace = ?config.grace, "finishing in-flight jobs");
        let drained = tokio::time::timeout(config.grace, async { while running.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            warn!(left = running.len(), "grace period over; releasing the rest to other nodes");
            running.abort_all();
            while running.join_next().await.is_some() {}
        }
    }
}

fn note_event(timers: &mut dyn ReadyQueue, ev: &JobEvent) {
    if let Some(at) = ev.run_at {
        if ev.state == "scheduled" || ev.state == "retrying" {
            timers.insert(Entry { id: ev.id, priority: 0, run_at: at });
        }
    }
}

/// Writes successes in batches: whatever arrived while the last write ran.
async fn completer(
    engine: Arc<Engine>,
    mut rx: mpsc::UnboundedReceiver<(Completion, String, String)>,
    in_flight: InFlight,
) {
    let mut batch = Vec::new();
    let mut meta = HashMap::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 5_000 {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let done: Vec<Completion> = batch.iter().map(|(c, _, _)| c.clone()).collect();
        meta.clear();
        for (c, q, k) in batch.drain(..) {
            meta.insert(c.id, (q, k));
        }
        for attempt in 0..3 {
            match engine.record_completions(&done, &meta).await {
                Ok(_) => break,
                Err(e) => {
                    warn!(error = %e, attempt, "writing completions failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
            }
        }
        // Written, or given up on: either way no lease of theirs is renewed
        // (unwritten ones expire, and the jobs run again).
        for c in &done {
            in_flight.end(c.id, c.fence);
        }
    }
}

async fn heartbeat(engine: Arc<Engine>, in_flight: InFlight, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_millis((engine.config.lease_ms / 3).max(100) as u64);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        // Keep renewing through the drain: stop only when aborted.
        let until = engine.now() + engine.config.lease_ms;
        if let Err(e) = engine.store.extend_leases(&engine.node, &in_flight.ids(), until).await {
            warn!(error = %e, "lease heartbeat failed");
        }
    }
}

/// Leader-only maintenance: lease rescue, plus a promotion sweep as a safety
/// net for timers missed while a node was down.
async fn maintenance(
    engine: Arc<Engine>,
    config_retention_ms: i64,
    node_dead_after_ms: i64,
    mut stop: watch::Receiver<bool>,
) {
    let mut leading = false;
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => { if *stop.borrow() { return; } }
        }
        let now = engine.now();
        match engine.store.try_lead("maintenance", &engine.node, now, 10_000).await {
            Ok(l) => {
                if l != leading {
                    info!(node = %engine.node, leader = l, "maintenance leadership changed");
                }
                leading = l;
            }
            Err(e) => {
                warn!(error = %e, "leader election failed");
                leading = false;
            }
        }
        if !leading {
            continue;
        }
        if let Err(e) = engine.rescue_expired().await {
            warn!(error = %e, "lease rescue failed");
        }
        if let Err(e) = engine.promote_due().await {
            warn!(error = %e, "promotion sweep failed");
        }
        if let Err(e) = engine.fire_schedules().await {
            warn!(error = %e, "cron failed");
        }
        ticks += 1;
        if ticks % 5 == 0 {
            if let Err(e) = engine.starvation_pass().await {
                warn!(error = %e, "starvation pass failed");
            }
        }
        if ticks % 10 == 0 {
            let at = chrono::DateTime::from_timestamp_millis(now - node_dead_after_ms).unwrap_or_default();
            match engine.store.prune_nodes(at).await {
                Ok(0) => {}
                Ok(n) => info!(pruned = n, "removed nodes that stopped heartbeating"),
                Err(e) => warn!(error = %e, "pruning nodes failed"),
            }
            let policy = crate::auth::session::SessionPolicy::default();
            if let Err(e) = engine.store.prune_sessions(now - policy.idle_ms, now - policy.absolute_ms).await {
                warn!(error = %e, "pruning sessions failed");
            }
        }
        if ticks % 10 == 0 {
            prune_finished(&engine, now - config_retention_ms).await;
        }
    }
}

/// Deletes finished jobs past retention in batches until none are left or
/// the time budget is spent, so pruning keeps up with a busy queue (one
/// batch a minute capped it at 170 jobs/s) without holding up the rest of
/// the maintenance tick for long.
async fn prune_finished(engine: &Engine, before: i64) {
    const BATCH: i64 = 5_000;
    const BUDGET: Duration = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let mut pruned = 0;
    loop {
        match engine.store.prune_finished(before, BATCH).await {
            Ok(n) => {
                pruned += n;
                if (n as i64) < BATCH || started.elapsed() >= BUDGET {
                    break;
                }
            }
            Err(e) => {
                warn!(error = %e, "pruning jobs failed");
                break;
            }
        }
    }
    // Whole workflows (their jobs stay until the last has ended): at least
    // one batch a tick, however long the jobs took.
    const WORKFLOW_BATCH: i64 = 50;
    let mut workflows = 0;
    loop {
        match engine.store.prune_workflows(before, WORKFLOW_BATCH).await {
            Ok(n) => {
                workflows += n;
                if (n as i64) < WORKFLOW_BATCH || started.elapsed() >= 2 * BUDGET {
                    break;
                }
            }
            Err(e) => {
                warn!(error = %e, "pruning workflows failed");
                break;
            }
        }
    }
    if pruned > 0 || workflows > 0 {
        info!(pruned, workflows, "pruned finished jobs and workflows past retention");
    }
}

/// Brings other nodes' job events into this node's event hub: they wake the
/// dispatcher when another node inserts or reschedules jobs, and they feed
/// the dashboard. A web-only node runs this alone, with a `wake` no
/// dispatcher waits on.
pub async fn listen_remote(engine: Arc<Engine>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let Some(pool) = engine.store.listen_pool() else { return };
    // Waits before the next try; false when the node is stopping meanwhile.
    let pause = |stop: &watch::Receiver<bool>| {
        let mut stop = stop.clone();
        async move {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => true,
                _ = stop.wait_for(|s| *s) => false,
            }
        }
    };
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "LISTEN failed; other nodes' job events are missed until it works");
                if !pause(&stop).await {
                    return;
                }
                continue;
            }
        };
        if let Err(e) = listener.listen(&engine.store.channel(CHANNEL)).await {
            warn!(error = %e, "LISTEN failed");
            if !pause(&stop).await {
                return;
            }
            continue;
        }
        loop {
            tokio::select! {
                msg = listener.recv() => match msg {
                    Ok(n) => {
                        let mut wakes = false;
                        for ev in decode_payload(n.payload()).into_iter().filter(|e| e.node != engine.node) {
                            wakes |= matches!(ev.state.as_str(), "available" | "scheduled" | "retrying");
                            engine.events.publish(ev);
                        }
                        if wakes {
                            wake.notify_one();
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "LISTEN connection lost; reconnecting");
                        break;
                    }
                },
                _ = stop.changed() => { if *stop.borrow() { return; } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_ends_its_own_run_only() {
        let runs = InFlight::default();
        runs.start(7, 1);
        runs.start(8, 1);
        // Job 7 failed, and a retry due at once was claimed here again
        // before the first run's task ended.
        runs.start(7, 2);
        runs.end(7, 1);
        let mut ids = runs.ids();
        ids.sort_unstable();
        assert_eq!(ids, [7, 8], "the new run of 7 keeps its lease");
        runs.end(7, 2);
        runs.end(8, 1);
        assert!(runs.ids().is_empty());
    }
}
