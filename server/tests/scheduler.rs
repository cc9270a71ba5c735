//! The scheduler engine on both databases, on a manual clock: retries with
//! jitter to the dead-letter queue and back, leases and fencing, pause,
//! concurrency limits, priorities and idempotency. Then the real runtime
//! loops working a batch to the end.

#[macro_use]
mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use app::{auth::AppError, jobs::NewJob};
use common::TestDb;
use meetmind::{
    clock::{Clock, ManualClock},
    scheduler::engine::Outcome,
    store::jobs::{JobFilter, QueueRow},
};

const T0: i64 = 1_800_000_000_000;

fn job(kind: &str, payload: serde_json::Value) -> NewJob {
    serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload })).unwrap()
}

fn with(kind: &str, extra: serde_json::Value) -> NewJob {
    let mut v = serde_json::json!({ "kind": kind });
    v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    serde_json::from_value(v).unwrap()
}

fn queue_row(name: &str, concurrency: i32, paused: bool) -> QueueRow {
    QueueRow {
        name: name.into(),
        concurrency,
        paused,
        max_attempts: None,
        retry_delays_ms: None,
        starvation_after_ms: None,
        updated_at: T0,
    }
}

async fn bad_jobs_are_refused_naming_the_field(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let field = |r: Result<_, AppError>| match r {
        Err(AppError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(field(engine.enqueue(vec![job("nope", serde_json::json!({}))], false).await), "kind");
    assert_eq!(field(engine.enqueue(vec![with("noop", serde_json::json!({"priority": 12}))], false).await), "priority");
    let big = serde_json::json!({ "blob": "x".repeat(300 * 1024) });
    assert_eq!(field(engine.enqueue(vec![job("noop", big)], false).await), "payload");
    assert_eq!(field(engine.enqueue(vec![job("sleep", serde_json::json!({"ms": "soon"}))], false).await), "payload");
    let batch = vec![job("noop", serde_json::json!({})), with("noop", serde_json::json!({"queue": "a b"}))];
    assert_eq!(field(engine.enqueue(batch, true).await), "jobs[1].queue");
    // Nothing of a refused batch was written.
    assert!(db.store.list_jobs(&JobFilter { limit: 10, ..Default::default() }).await.unwrap().is_empty());
    db
}

async fn failures_retry_with_jitter_then_dead_letter_and_redrive(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    let id = engine.enqueue(vec![job("fail", serde_json::json!({}))], false).await.unwrap()[0].id;
    let expected_delays = [1_000i64, 5_000, 25_000];
    for attempt in 1..=4 {
        let claimed = engine.claim(4).await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        assert_eq!(claimed[0].attempt, attempt);
        let Outcome::Failed { failure, permanent } = engine.run(&claimed[0]).await else { panic!("fail succeeded") };
        assert!(engine.record_failure(&claimed[0], failure, permanent).await.unwrap());
        let row = db.store.get_job(id).await.unwrap().unwrap();
        if attempt < 4 {
            assert_eq!(row.state, "retrying");
            let delay = row.run_at - clock.now_ms();
            let base = expected_delays[attempt as usize - 1];
            assert!(delay >= base * 8 / 10 && delay <= base * 12 / 10, "attempt {attempt}: {delay} ms");
            // Not yet due: nothing to claim.
            clock.advance_ms(delay - 1);
            assert_eq!(engine.promote_due().await.unwrap(), 0);
            assert!(engine.claim(4).await.unwrap().is_empty());
            clock.advance_ms(1);
            assert_eq!(engine.promote_due().await.unwrap(), 1);
        } else {
            assert_eq!(row.state, "dead");
            assert!(row.last_error.unwrap().contains("injected failure on attempt 4"));
        }
    }
    let attempts = db.store.job_attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 4);
    assert!(attempts.iter().all(|a| a.outcome == "failed" && a.node == "test-node" && a.error.is_some()));
    let dead =
        db.store.list_jobs(&JobFilter { state: Some("dead".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(dead.len(), 1);

    // Redrive: back to available with a fresh set of attempts.
    let n = db
        .store
        .requeue_dead(&JobFilter { kind: Some("fail".into()), ..Default::default() }, clock.now_ms())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let row = db.store.get_job(id).await.unwrap().unwrap();
    assert_eq!((row.state.as_str(), row.attempt), ("available", 0));
    db
}

async fn permanent_errors_and_timeouts(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    let ids: Vec<i64> = engine
        .enqueue(
            vec![
                job("fail", serde_json::json!({"permanent": true})),
                with("sleep", serde_json::json!({"payload": {"ms": 5000}, "timeout_ms": 20})),
            ],
            true,
        )
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    for j in engine.claim(4).await.unwrap() {
        let Outcome::Failed { failure, permanent } = engine.run(&j).await else { panic!("{} succeeded", j.kind) };
        engine.record_failure(&j, failure, permanent).await.unwrap();
    }
    let permanent = db.store.get_job(ids[0]).await.unwrap().unwrap();
    assert_eq!(permanent.state, "dead", "a permanent error skips the retries");
    let timed_out = db.store.get_job(ids[1]).await.unwrap().unwrap();
    assert_eq!(timed_out.state, "retrying", "a timeout is a failure that retries");
    assert!(timed_out.last_error.unwrap().contains("timed out after 20 ms"));
    assert_eq!(db.store.job_attempts(ids[1]).await.unwrap()[0].outcome, "timeout");
    db
}

/// Before migration 0010 a success was a `job_attempts` row and the job row
/// had no `attempted_by`; such a job still shows each run exactly once.
async fn successes_recorded_before_0010_show_once(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let id = engine.enqueue(vec![job("noop", serde_json::json!({}))], false).await.unwrap()[0].id;
    db.execute(&format!(
        "UPDATE jobs SET state = 'succeeded', attempt = 2, finished_at = {done}, updated_at = {done} WHERE id = {id};
         INSERT INTO job_attempts (job_id, attempt, node, started_at, finished_at, outcome, error)
             VALUES ({id}, 1, 'old-a', {T0}, {t1}, 'failed', 'boom');
         INSERT INTO job_attempts (job_id, attempt, node, started_at, finished_at, outcome)
             VALUES ({id}, 2, 'old-b', {t2}, {done}, 'succeeded');",
        done = T0 + 9_000,
        t1 = T0 + 10,
        t2 = T0 + 1_000,
    ))
    .await;
    let runs = db.store.job_attempts(id).await.unwrap();
    let seen: Vec<(i32, &str, &str)> = runs.iter().map(|r| (r.attempt, r.node.as_str(), r.outcome.as_str())).collect();
    assert_eq!(seen, [(1, "old-a", "failed"), (2, "old-b", "succeeded")]);
    assert_eq!((runs[1].started_at, runs[1].finished_at), (T0 + 1_000, T0 + 9_000));
    db
}

/// Retention removes finished jobs (and their runs) older than the cutoff,
/// oldest first and a batch at a time; it keeps failed, recent, unfinished
/// and workflow jobs, and other jobs' runs.
async fn finished_jobs_past_retention_are_pruned_in_batches(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let ids: Vec<i64> = engine
        .enqueue((0..6).map(|_| job("noop", serde_json::json!({}))).collect(), false)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    let (old, recent) = (T0 - 60_000, T0);
    let finish = |id: i64, state: &str, at: i64| {
        format!("UPDATE jobs SET state = '{state}', finished_at = {at}, updated_at = {at} WHERE id = {id};")
    };
    let run = |id: i64| {
        format!(
            "INSERT INTO job_attempts (job_id, attempt, node, started_at, finished_at, outcome, error)
             VALUES ({id}, 1, 'n', {old}, {old}, 'failed', 'boom');"
        )
    };
    db.execute(
        &[
            finish(ids[0], "succeeded", old),
            run(ids[0]),
            finish(ids[1], "cancelled", old),
            finish(ids[2], "succeeded", recent),
            finish(ids[3], "dead", old),
            run(ids[3]),
            finish(ids[4], "succeeded", old),
            format!("UPDATE jobs SET workflow_id = 'wf-kept' WHERE id = {};", ids[4]),
        ]
        .concat(),
    )
    .await;
    let cutoff = T0 - 1_000;
    assert_eq!(db.store.prune_finished(cutoff, 1).await.unwrap(), 1, "one batch of one");
    assert!(db.store.get_job(ids[0]).await.unwrap().is_none(), "the oldest goes first");
    assert!(db.store.job_attempts(ids[0]).await.unwrap().is_empty(), "with its runs");
    assert_eq!(db.store.prune_finished(cutoff, 10).await.unwrap(), 1);
    assert_eq!(db.store.prune_finished(cutoff, 10).await.unwrap(), 0, "nothing else is past retention");
    for (i, kept) in [(1, false), (2, true), (3, true), (4, true), (5, true)] {
        assert_eq!(db.store.get_job(ids[i]).await.unwrap().is_some(), kept, "job {i}");
    }
    assert_eq!(db.store.job_attempts(ids[3]).await.unwrap().len(), 1, "a dead job keeps its runs");
    db
}

async fn expired_leases_return_jobs_and_stale_completions_are_refused(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    let id = engine.enqueue(vec![job("noop", serde_json::json!({}))], false).await.unwrap()[0].id;
    let first = engine.claim(1).await.unwrap().remove(0);
    // The worker goes quiet; its lease runs out and maintenance rescues the job.
    clock.advance_ms(engine.config.lease_ms + 1);
    assert_eq!(engine.rescue_expired().await.unwrap(), 1);
    let second = engine.claim(1).await.unwrap().remove(0);
    assert_eq!(second.id, id);
    assert!(second.fence > first.fence);
    let Outcome::Succeeded(stale) = engine.run(&first).await else { panic!() };
    let meta = HashMap::from([(id, ("default".to_string(), "noop".to_string()))]);
    assert!(engine.record_completions(&[stale], &meta).await.unwrap().is_empty(), "the stale worker is fenced off");
    let Outcome::Succeeded(fresh) = engine.run(&second).await else { panic!() };
    assert_eq!(engine.record_completions(&[fresh], &meta).await.unwrap(), vec![id]);
    let attempts = db.store.job_attempts(id).await.unwrap();
    let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["lost", "succeeded"]);
    // The success is read off the job row: its run number, node and times.
    let run = &attempts[1];
    assert_eq!((run.attempt, run.node.as_str(), run.error.as_deref()), (second.attempt, "test-node", None));
    assert!(run.started_at >= T0 && run.started_at <= run.finished_at, "{run:?}");
    db
}

/// The heartbeat renews only the leases of jobs the node is still running:
/// one whose outcome never reached the database expires and runs again.
async fn only_the_leases_of_jobs_in_flight_are_renewed(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    engine.enqueue(vec![job("noop", serde_json::json!({})), job("noop", serde_json::json!({}))], true).await.unwrap();
    let claimed = engine.claim(2).await.unwrap();
    let (running, orphan) = (claimed[0].id, claimed[1].id);
    assert_eq!(db.store.extend_leases("test-node", &[], T0).await.unwrap(), 0);
    // Two thirds of the lease later, the heartbeat renews the one in flight.
    clock.advance_ms(engine.config.lease_ms * 2 / 3);
    let until = clock.now_ms() + engine.config.lease_ms;
    assert_eq!(db.store.extend_leases("test-node", &[running], until).await.unwrap(), 1);
    assert_eq!(db.store.extend_leases("other-node", &[orphan], until).await.unwrap(), 0, "not its lease");
    clock.advance_ms(engine.config.lease_ms / 2);
    assert_eq!(engine.rescue_expired().await.unwrap(), 1, "only the orphan's lease ran out");
    assert_eq!(db.store.get_job(orphan).await.unwrap().unwrap().state, "available");
    assert_eq!(db.store.get_job(running).await.unwrap().unwrap().state, "running");
    db
}

async fn priorities_pauses_limits_and_idempotency(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    let jobs = vec![
        with("noop", serde_json::json!({"priority": 9})),
        with("noop", serde_json::json!({"priority": 0})),
        with("noop", serde_json::json!({"priority": 5})),
        with("noop", serde_json::json!({"queue": "slow"})),
        with("noop", serde_json::json!({"queue": "slow"})),
        with("noop", serde_json::json!({"queue": "slow"})),
        with("noop", serde_json::json!({"queue": "held"})),
        with("noop", serde_json::json!({"run_at": T0 + 60_000})),
    ];
    let inserted = engine.enqueue(jobs, true).await.unwrap();
    assert_eq!(inserted[7].state, "scheduled");
    db.store.update_queue(&queue_row("slow", 2, false)).await.unwrap();
    db.store.update_queue(&queue_row("held", 0, true)).await.unwrap();
    engine.refresh_queues().await.unwrap();

    let claimed = engine.claim(100).await.unwrap();
    let priorities: Vec<i32> = claimed.iter().filter(|j| j.queue == "default").map(|j| j.priority).collect();
    assert_eq!(priorities, [0, 5, 9], "most urgent first");
    assert_eq!(claimed.iter().filter(|j| j.queue == "slow").count(), 2, "the queue's limit holds");
    assert!(claimed.iter().all(|j| j.queue != "held"), "a paused queue is not served");
    assert!(engine.claim(100).await.unwrap().is_empty());

    db.store.update_queue(&queue_row("held", 0, false)).await.unwrap();
    engine.refresh_queues().await.unwrap();
    assert_eq!(engine.claim(100).await.unwrap().len(), 1, "resumed");

    // An idempotency key returns the existing job.
    let keyed = with("noop", serde_json::json!({"idempotency_key": "order-42"}));
    let a = engine.enqueue(vec![keyed.clone()], false).await.unwrap().remove(0);
    let b = engine.enqueue(vec![keyed], false).await.unwrap().remove(0);
    assert!(!a.existing && b.existing && a.id == b.id);

    // Cancel: once cancelled it is never claimed.
    let c = engine.enqueue(vec![job("noop", serde_json::json!({}))], false).await.unwrap().remove(0);
    db.store.cancel_job(c.id, clock.now_ms()).await.unwrap().unwrap();
    assert!(engine.claim(100).await.unwrap().iter().all(|j| j.id != c.id));
    assert!(db.store.cancel_job(c.id, clock.now_ms()).await.unwrap().is_none(), "already ended");
    db
}

/// With a queue left out (paused, a backlog at the top priority), claims
/// take the most urgent jobs of the other queues in order, and two nodes
/// claiming at once never take the same job.
async fn claims_beside_a_paused_backlog_keep_their_order(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    let held: Vec<NewJob> =
        (0..300).map(|_| with("noop", serde_json::json!({"queue": "held", "priority": 0}))).collect();
    engine.enqueue(held, true).await.unwrap();
    let mut jobs = Vec::new();
    for (queue, priority) in [("a", 3), ("a", 7), ("a", 1), ("b", 2), ("b", 9), ("b", 4)] {
        jobs.push(with("noop", serde_json::json!({"queue": queue, "priority": priority})));
    }
    jobs.extend((0..40).map(|_| with("noop", serde_json::json!({"priority": 5}))));
    engine.enqueue(jobs, true).await.unwrap();
    db.store.update_queue(&queue_row("held", 0, true)).await.unwrap();
    engine.refresh_queues().await.unwrap();

    let first: Vec<(String, i32)> = engine.claim(4).await.unwrap().into_iter().map(|j| (j.queue, j.priority)).collect();
    let want = [("a", 1), ("b", 2), ("a", 3), ("b", 4)].map(|(q, p)| (q.to_string(), p));
    assert_eq!(first, want, "the most urgent of every queue but the paused one");

    // Three nodes drain the rest together: each job exactly once. A claim may
    // come back short while another holds its candidates, so a node stops
    // only once nothing it may take is left.
    let drain = |e: Arc<meetmind::scheduler::engine::Engine>, store: Arc<dyn meetmind::store::Store>| {
        tokio::spawn(async move {
            e.refresh_queues().await.unwrap();
            let mut ids = Vec::new();
            loop {
                let got = e.claim(5).await.unwrap();
                if got.is_empty() {
                    let counts = store.active_state_counts().await.unwrap();
                    if !counts.iter().any(|c| c.state == "available" && c.queue != "held") {
                        return ids;
                    }
                    tokio::task::yield_now().await;
                }
                assert!(got.iter().all(|j| j.queue != "held"), "a paused queue is not served");
                ids.extend(got.into_iter().map(|j| j.id));
            }
        })
    };
    let node = || common::engine(db.store.clone(), Arc::new(clock.clone()));
    let drains =
        [drain(engine.clone(), db.store.clone()), drain(node(), db.store.clone()), drain(node(), db.store.clone())];
    let mut ids = Vec::new();
    for d in drains {
        ids.extend(d.await.unwrap());
    }
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((n, ids.len()), (42, 42), "2 + 40 left, none twice");
    let held = db.store.active_state_counts().await.unwrap();
    assert!(held.iter().any(|c| c.queue == "held" && c.state == "available" && c.count == 300), "{held:?}");
    db
}

/// Batches sharing idempotency keys, submitted at once in opposite orders,
/// all succeed (no deadlock between their inserts), and each key is one job.
async fn keyed_batches_in_opposite_orders_all_succeed(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    for round in 0..6 {
        let keys: Vec<String> = (0..40).map(|i| format!("r{round}-k{i}")).collect();
        let batch = |reverse: bool| {
            let mut jobs: Vec<NewJob> =
                keys.iter().map(|k| with("noop", serde_json::json!({ "idempotency_key": k }))).collect();
            if reverse {
                jobs.reverse();
            }
            let engine = engine.clone();
            tokio::spawn(async move { engine.enqueue(jobs, true).await })
        };
        let (forward, backward) = (batch(false), batch(true));
        let forward = forward.await.unwrap().expect("the forward batch");
        let mut backward = backward.await.unwrap().expect("the reversed batch");
        backward.reverse();
        let ids = |done: &[meetmind::store::jobs::Inserted]| done.iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(ids(&forward), ids(&backward), "round {round}: each key is one job");
        assert_eq!(forward.iter().chain(&backward).filter(|d| !d.existing).count(), 40, "round {round}");
    }
    db
}

/// A handler with a bug that panics.
struct Panics;

#[async_trait::async_trait]
impl meetmind::scheduler::handlers::Handler for Panics {
    fn kind(&self) -> &'static str {
        "test.panic"
    }

    async fn run(
        &self,
        _: meetmind::scheduler::handlers::JobContext,
    ) -> Result<(), meetmind::scheduler::handlers::HandlerError> {
        panic!("a bug in the handler")
    }
}

/// A panic is a failed attempt like any other: the job retries, and its
/// error says what happened. It is not left `running` under a lease.
async fn a_panicking_handler_is_a_failed_attempt(db: TestDb) -> TestDb {
    use meetmind::scheduler::{
        engine::{Engine, EngineConfig},
        events::EventHub,
        handlers::Registry,
    };
    let mut registry = Registry::standard();
    registry.register(Panics);
    let clock = Arc::new(ManualClock::at(T0));
    let engine =
        Engine::new(db.store.clone(), clock, "test-node", registry, EventHub::new(64), EngineConfig::default());
    let id = engine.enqueue(vec![job("test.panic", serde_json::json!({}))], false).await.unwrap()[0].id;
    let claimed = engine.claim(1).await.unwrap();
    let Outcome::Failed { failure, permanent } = engine.run(&claimed[0]).await else { panic!("a panic succeeded") };
    assert!(!permanent);
    assert!(failure.error.contains("the handler panicked: a bug in the handler"), "{}", failure.error);
    assert!(engine.record_failure(&claimed[0], failure, permanent).await.unwrap());
    let row = db.store.get_job(id).await.unwrap().unwrap();
    assert_eq!(row.state, "retrying");
    db
}

/// A queue with a limit gets its share even while a queue without one has
/// more work than the node has slots.
async fn a_limited_queue_is_served_beside_an_unlimited_backlog(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let backlog: Vec<NewJob> = (0..50).map(|_| with("noop", serde_json::json!({"priority": 0}))).collect();
    engine.enqueue(backlog, true).await.unwrap();
    let limited: Vec<NewJob> =
        (0..5).map(|_| with("noop", serde_json::json!({"queue": "mail", "priority": 9}))).collect();
    engine.enqueue(limited, true).await.unwrap();
    db.store.update_queue(&queue_row("mail", 2, false)).await.unwrap();
    engine.refresh_queues().await.unwrap();
    let claimed = engine.claim(8).await.unwrap();
    assert_eq!(claimed.len(), 8);
    assert_eq!(claimed.iter().filter(|j| j.queue == "mail").count(), 2, "the limited queue's two slots");
    // Its limit still holds on the next claim.
    assert!(engine.claim(8).await.unwrap().iter().all(|j| j.queue != "mail"));
    db
}

/// The runtime renews the leases of what it runs, and only that: a success
/// the database would not record lets its lease run out, so the job runs
/// again instead of staying `running` under a lease renewed for ever.
async fn a_success_the_database_refused_runs_again(db: TestDb) -> TestDb {
    use meetmind::scheduler::{
        engine::{Engine, EngineConfig},
        events::EventHub,
        handlers::Registry,
        runtime::{self, RuntimeConfig},
    };
    let engine = Engine::new(
        db.store.clone(),
        Arc::new(meetmind::clock::SystemClock),
        "test-node",
        Registry::standard(),
        EventHub::new(256),
        EngineConfig { concurrency: 4, lease_ms: 1_000 },
    );
    db.refuse("refuse_success", "UPDATE", "jobs", Some("NEW.state = 'succeeded'")).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let config =
        RuntimeConfig { poll: Duration::from_millis(200), grace: Duration::from_secs(2), ..RuntimeConfig::default() };
    let handle = tokio::spawn(runtime::run(engine.clone(), config, stop_rx));
    let id = engine.enqueue(vec![with("noop", serde_json::json!({"max_attempts": 20}))], false).await.unwrap()[0].id;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The first run's lease runs out and maintenance hands the job out again.
    loop {
        let attempts = db.store.job_attempts(id).await.unwrap();
        if attempts.iter().any(|a| a.outcome == "lost") {
            break;
        }
        let job = db.store.get_job(id).await.unwrap().unwrap();
        assert!(std::time::Instant::now() < deadline, "the lease was renewed for ever: {job:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.allow("refuse_success", "jobs").await;
    loop {
        let job = db.store.get_job(id).await.unwrap().unwrap();
        if job.state == "succeeded" {
            assert!(job.attempt >= 2, "{job:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never recorded: {job:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle).await.expect("the runtime stops").unwrap();
    db
}

async fn the_runtime_works_a_batch_to_the_end(db: TestDb) -> TestDb {
    use meetmind::scheduler::runtime::{self, RuntimeConfig};
    let clock = Arc::new(meetmind::clock::SystemClock);
    let engine = common::engine(db.store.clone(), clock.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let config =
        RuntimeConfig { poll: Duration::from_millis(500), grace: Duration::from_secs(2), ..RuntimeConfig::default() };
    let handle = tokio::spawn(runtime::run(engine.clone(), config, stop_rx));
    let now = clock.now_ms();
    let mut jobs: Vec<NewJob> = (0..300).map(|i| with("noop", serde_json::json!({"priority": i % 10}))).collect();
    // A delayed job: the timer wakes the node when it is due.
    jobs.push(with("noop", serde_json::json!({"run_at": now + 300})));
    engine.enqueue(jobs, true).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let counts = db.store.state_counts().await.unwrap();
        let done: i64 = counts.iter().filter(|c| c.state == "succeeded").map(|c| c.count).sum();
        if done == 301 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {done} of 301 jobs finished: {counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), handle).await.expect("the runtime stops").unwrap();
    db
}

both_backends!(
    multi_thread;
    bad_jobs_are_refused_naming_the_field,
    failures_retry_with_jitter_then_dead_letter_and_redrive,
    permanent_errors_and_timeouts,
    expired_leases_return_jobs_and_stale_completions_are_refused,
    only_the_leases_of_jobs_in_flight_are_renewed,
    successes_recorded_before_0010_show_once,
    finished_jobs_past_retention_are_pruned_in_batches,
    priorities_pauses_limits_and_idempotency,
    claims_beside_a_paused_backlog_keep_their_order,
    keyed_batches_in_opposite_orders_all_succeed,
    a_panicking_handler_is_a_failed_attempt,
    a_limited_queue_is_served_beside_an_unlimited_backlog,
    a_success_the_database_refused_runs_again,
    the_runtime_works_a_batch_to_the_end,
);

#[tokio::test]
async fn email_send_writes_to_the_outbox_and_injected_failures_retry() {
    use meetmind::scheduler::{
        engine::{Engine, EngineConfig},
        events::EventHub,
        handlers::{email_send::EmailConfig, Registry},
    };
    let db = TestDb::sqlite().await.migrated().await;
    let outbox = tempfile::tempdir().unwrap();
    let engine_with = |rate: f64| {
        let config = EmailConfig {
            smtp_url: None,
            outbox: outbox.path().to_path_buf(),
            from: "MeetMind <noreply@example.com>".into(),
            failure_rate: rate,
        };
        Engine::new(
            db.store.clone(),
            Arc::new(ManualClock::at(T0)),
            "test-node",
            Registry::with_email(&config).unwrap(),
            EventHub::new(64),
            EngineConfig::default(),
        )
    };
    let engine = engine_with(0.0);
    let bad = engine
        .enqueue(
            vec![job("email.send", serde_json::json!({"to": "not an address", "subject": "s", "text": "t"}))],
            false,
        )
        .await;
    assert!(matches!(bad, Err(AppError::Invalid { ref field, .. }) if field == "payload"), "{bad:?}");
    engine
        .enqueue(
            vec![job(
                "email.send",
                serde_json::json!({"to": "Ada <ada@example.com>", "subject": "Your report", "text": "Hello"}),
            )],
            false,
        )
        .await
        .unwrap();
    let j = engine.claim(1).await.unwrap().remove(0);
    assert!(matches!(engine.run(&j).await, Outcome::Succeeded(_)));
    let files: Vec<_> = std::fs::read_dir(outbox.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("Subject: Your report") && eml.contains("To: Ada <ada@example.com>"), "{eml}");

    let failing = engine_with(1.0);
    failing
        .enqueue(
            vec![job("email.send", serde_json::json!({"to": "ada@example.com", "subject": "x", "text": "y"}))],
            false,
        )
        .await
        .unwrap();
    let j = failing.claim(1).await.unwrap().remove(0);
    let Outcome::Failed { failure, permanent } = failing.run(&j).await else {
        panic!("EMAIL_FAILURE_RATE=1 must fail")
    };
    assert!(!permanent && failure.error.contains("injected"));
    db.finish().await;
}

#[tokio::test]
async fn job_policies_override_the_queue_and_http_requests_classify_errors() {
    use axum::{http::StatusCode, routing::get, Router};
    let db = TestDb::sqlite().await.migrated().await;
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));

    // A local server: /flaky answers 503, /gone 404, /ok 200.
    let app = Router::new()
        .route("/flaky", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route("/gone", get(|| async { StatusCode::NOT_FOUND }))
        .route("/ok", get(|| async { "fine" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let jobs = vec![
        with(
            "http.request",
            serde_json::json!({"payload": {"url": format!("{base}/flaky")}, "retry_delays_ms": [50], "max_attempts": 2}),
        ),
        job("http.request", serde_json::json!({"url": format!("{base}/gone")})),
        job("http.request", serde_json::json!({"url": format!("{base}/ok")})),
    ];
    let ids: Vec<i64> = engine.enqueue(jobs, true).await.unwrap().iter().map(|i| i.id).collect();
    let bad = engine.enqueue(vec![job("http.request", serde_json::json!({"url": "ftp://x"}))], false).await;
    assert!(matches!(bad, Err(AppError::Invalid { ref field, .. }) if field == "payload"));
    for j in engine.claim(10).await.unwrap() {
        match engine.run(&j).await {
            Outcome::Succeeded(c) => {
                engine.record_completions(&[c], &Default::default()).await.unwrap();
            }
            Outcome::Failed { failure, permanent } => {
                engine.record_failure(&j, failure, permanent).await.unwrap();
            }
        }
    }
    let state = |id| {
        let store = db.store.clone();
        async move { store.get_job(id).await.unwrap().unwrap() }
    };
    let flaky = state(ids[0]).await;
    assert_eq!(flaky.state, "retrying", "5xx is retried");
    let delay = flaky.run_at - clock.now_ms();
    assert!((40..=60).contains(&delay), "the job's own delay, with jitter: {delay}");
    assert_eq!(state(ids[1]).await.state, "dead", "4xx is permanent");
    assert_eq!(state(ids[2]).await.state, "succeeded");
    db.finish().await;
}

/// Claims commit without waiting for the WAL flush. That setting must end
/// with the claim (the pooled connection's next insert or completion is
/// durable again), and a claim lost in a crash must not hand its fence to the
/// next claim. One connection, so every statement here shares it.
#[tokio::test]
async fn async_claims_leave_no_setting_behind_and_never_reuse_a_lost_fence() {
    let Some(db) = TestDb::postgres_with_connections(1).await else { return };
    let db = db.migrated().await;
    let pool = db.store.listen_pool().expect("a PostgreSQL store has a pool");
    // Whatever the test server's default, this connection starts durable.
    sqlx::query("SET synchronous_commit = on").execute(&pool).await.unwrap();
    let setting =
        || async { sqlx::query_scalar::<_, String>("SHOW synchronous_commit").fetch_one(&pool).await.unwrap() };
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let id = engine.enqueue(vec![job("noop", serde_json::json!({}))], false).await.unwrap()[0].id;
    let lost = engine.claim(5).await.unwrap().remove(0);
    assert_eq!(setting().await, "on", "the claim's setting stayed on the connection");

    // The database crashes before the claim reaches the disk: the row is as
    // it was before it. The next claim takes another fence, so the first
    // worker's completion is refused and only the second run counts.
    db.execute(&format!(
        "UPDATE jobs SET state = 'available', attempt = 0, fence = 0, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = {id}"
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    let again = engine.claim(5).await.unwrap().remove(0);
    assert_eq!((again.id, again.attempt), (id, 1));
    assert_ne!(again.fence, lost.fence, "a lost claim's fence was handed out again");
    let meta = HashMap::from([(id, ("default".to_string(), "noop".to_string()))]);
    let Outcome::Succeeded(stale) = engine.run(&lost).await else { panic!() };
    assert!(engine.record_completions(&[stale], &meta).await.unwrap().is_empty(), "the lost run is fenced off");
    let Outcome::Succeeded(fresh) = engine.run(&again).await else { panic!() };
    assert_eq!(engine.record_completions(&[fresh], &meta).await.unwrap(), vec![id]);

    // A queue with a concurrency limit claims through its own transaction.
    engine.enqueue(vec![with("noop", serde_json::json!({"queue": "limited"}))], false).await.unwrap();
    assert!(db.store.update_queue(&queue_row("limited", 1, false)).await.unwrap());
    engine.refresh_queues().await.unwrap();
    assert_eq!(engine.claim(5).await.unwrap().len(), 1);
    assert_eq!(setting().await, "on", "the limited claim's setting stayed on the connection");
    db.finish().await;
}
