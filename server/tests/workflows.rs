//! Workflows on both databases: DAG shapes, failure policies, cancel, retry,
//! priority inheritance, random graphs that must always finish, and the API.

#[macro_use]
mod common;

use std::{collections::HashMap, sync::Arc};

use app::dag::{EdgePolicy, JobSpec, WorkflowSpec};
use common::TestDb;
use meetmind::{
    clock::{Clock, ManualClock},
    scheduler::engine::{Engine, Outcome},
};
use serde_json::json;

const T0: i64 = 1_800_000_000_000;

fn node(key: &str, kind: &str, deps: &[&str]) -> JobSpec {
    let payload = if kind == "fail" { json!({"permanent": true}) } else { json!({}) };
    JobSpec {
        key: key.into(),
        kind: kind.into(),
        payload,
        queue: None,
        priority: None,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        on_parent_failure: EdgePolicy::Fail,
        edge_policies: Default::default(),
    }
}

/// Claims and runs everything runnable until nothing is left; returns the
/// order in which keys ran.
async fn drain(engine: &Arc<Engine>, batch: usize) -> Vec<String> {
    let mut ran = Vec::new();
    loop {
        let jobs = engine.claim(batch).await.unwrap();
        if jobs.is_empty() {
            return ran;
        }
        for j in jobs {
            ran.push(j.workflow_key.clone().unwrap_or_default());
            match engine.run(&j).await {
                Outcome::Succeeded(c) => {
                    let meta = HashMap::from([(j.id, (j.queue.clone(), j.kind.clone()))]);
                    engine.record_completions(&[c], &meta).await.unwrap();
                }
                Outcome::Failed { failure, permanent } => {
                    engine.record_failure(&j, failure, permanent).await.unwrap();
                }
            }
        }
    }
}

async fn states(db: &TestDb, wf: &str) -> HashMap<String, String> {
    db.store.workflow_jobs(wf).await.unwrap().into_iter().map(|j| (j.workflow_key.unwrap(), j.state)).collect()
}

async fn a_diamond_runs_parents_first_and_succeeds(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let spec = WorkflowSpec {
        name: "diamond".into(),
        jobs: vec![
            node("d", "noop", &["b", "c"]),
            node("b", "noop", &["a"]),
            node("c", "noop", &["a"]),
            node("a", "noop", &[]),
        ],
    };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    let first = engine.claim(10).await.unwrap();
    assert_eq!(first.len(), 1, "only the root is available");
    assert!(drain(&engine, 1).await.is_empty(), "nothing else runs while `a` runs");
    // `a` finishes: `b` and `c` become available in the same transaction.
    let Outcome::Succeeded(c) = engine.run(&first[0]).await else { panic!() };
    engine.record_completions(&[c], &HashMap::new()).await.unwrap();
    let ran = drain(&engine, 1).await;
    assert_eq!(ran.len(), 3);
    assert_eq!(ran.last().unwrap(), "d");
    assert!(ran[..2].contains(&"b".to_string()) && ran[..2].contains(&"c".to_string()));
    assert_eq!(db.store.get_workflow(&wf).await.unwrap().unwrap().state, "succeeded");
    db
}

async fn fan_out_and_in_of_a_thousand(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let mut jobs = vec![node("root", "noop", &[])];
    let mids: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    for m in &mids {
        jobs.push(node(m, "noop", &["root"]));
    }
    let mid_refs: Vec<&str> = mids.iter().map(String::as_str).collect();
    jobs.push(node("sink", "noop", &mid_refs));
    let keys: Vec<String> = jobs.iter().map(|j| j.key.clone()).collect();
    let (wf, ids) = engine.submit_workflow(&WorkflowSpec { name: "fan".into(), jobs }).await.unwrap();
    assert_eq!(ids.len(), 1002);
    // Each returned id is the row written for that spec entry, and every edge landed.
    let stored: HashMap<i64, String> =
        db.store.workflow_jobs(&wf).await.unwrap().into_iter().map(|j| (j.id, j.workflow_key.unwrap())).collect();
    assert_eq!(ids.iter().map(|id| stored[id].clone()).collect::<Vec<_>>(), keys);
    let mut edges: Vec<(String, String)> = db
        .store
        .workflow_edges(&wf)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (stored[&e.child_id].clone(), stored[&e.parent_id].clone()))
        .collect();
    edges.sort();
    let mut expected: Vec<(String, String)> =
        mids.iter().flat_map(|m| [(m.clone(), "root".to_string()), ("sink".to_string(), m.clone())]).collect();
    expected.sort();
    assert_eq!(edges, expected, "every edge, child and parent the right way round");
    let ran = drain(&engine, 200).await;
    assert_eq!(ran.len(), 1002);
    assert_eq!(ran[0], "root");
    assert_eq!(ran.last().unwrap(), "sink");
    assert_eq!(db.store.get_workflow(&wf).await.unwrap().unwrap().state, "succeeded");
    db
}

async fn a_failure_mid_graph_follows_each_edge_policy(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let mut keep_going = node("d", "noop", &["b"]);
    keep_going.on_parent_failure = EdgePolicy::Continue;
    let spec = WorkflowSpec {
        name: "policies".into(),
        jobs: vec![
            node("a", "noop", &[]),
            node("b", "fail", &["a"]),
            node("c", "noop", &["b"]),
            keep_going,
            node("e", "noop", &["c"]),
            node("f", "noop", &["d"]),
        ],
    };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    drain(&engine, 10).await;
    let s = states(&db, &wf).await;
    assert_eq!(s["a"], "succeeded");
    assert_eq!(s["b"], "dead");
    assert_eq!(s["c"], "upstream_failed", "fail: the child fails");
    assert_eq!(s["e"], "upstream_failed", "and everything below it");
    assert_eq!(s["d"], "succeeded", "continue: the child runs anyway");
    assert_eq!(s["f"], "succeeded");
    assert_eq!(db.store.get_workflow(&wf).await.unwrap().unwrap().state, "failed");

    // Per edge: g continues past the failing b but not past the failing h.
    let mut g = node("g", "noop", &["b", "h"]);
    g.edge_policies.insert("b".into(), EdgePolicy::Continue);
    let mut g2 = node("g2", "noop", &["b", "a"]);
    g2.edge_policies.insert("b".into(), EdgePolicy::Continue);
    let spec = WorkflowSpec {
        name: "per-edge".into(),
        jobs: vec![node("a", "noop", &[]), node("b", "fail", &["a"]), node("h", "fail", &[]), g, g2],
    };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    let edges = db.store.workflow_edges(&wf).await.unwrap();
    assert_eq!(edges.iter().filter(|e| e.policy == "continue").count(), 2, "{edges:?}");
    drain(&engine, 10).await;
    let s = states(&db, &wf).await;
    assert_eq!(s["g"], "upstream_failed", "the h edge still fails it");
    assert_eq!(s["g2"], "succeeded", "the b edge lets it run");
    db
}

async fn cancel_and_retry(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let spec = WorkflowSpec { name: "c".into(), jobs: vec![node("a", "noop", &[]), node("b", "noop", &["a"])] };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    assert!(db.store.cancel_workflow(&wf, T0).await.unwrap());
    assert!(!db.store.cancel_workflow(&wf, T0).await.unwrap(), "already ended");
    let s = states(&db, &wf).await;
    assert!(s.values().all(|v| v == "cancelled"), "{s:?}");
    assert_eq!(db.store.get_workflow(&wf).await.unwrap().unwrap().state, "cancelled");
    assert!(engine.claim(10).await.unwrap().is_empty());

    // Retry re-runs what was cancelled, in order.
    assert_eq!(db.store.retry_workflow(&wf, T0).await.unwrap(), 2);
    assert_eq!(db.store.get_workflow(&wf).await.unwrap().unwrap().state, "running");
    let ran = drain(&engine, 10).await;
    assert_eq!(ran, ["a", "b"]);
    assert_eq!(db.store.get_workflow(&wf).await.unwrap().unwrap().state, "succeeded");

    // A flaky middle job: retrying the workflow re-arms what sits below it.
    let mut flaky = node("m", "fail", &["top"]);
    flaky.payload = json!({"rate": 0.5, "permanent": true});
    let spec =
        WorkflowSpec { name: "r".into(), jobs: vec![node("top", "noop", &[]), flaky, node("low", "noop", &["m"])] };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    drain(&engine, 10).await;
    for _ in 0..40 {
        if db.store.get_workflow(&wf).await.unwrap().unwrap().state == "succeeded" {
            break;
        }
        let s = states(&db, &wf).await;
        assert_eq!((s["m"].as_str(), s["low"].as_str()), ("dead", "upstream_failed"));
        db.store.retry_workflow(&wf, T0).await.unwrap();
        assert_eq!(states(&db, &wf).await["low"], "blocked", "re-armed");
        drain(&engine, 10).await;
    }
    let s = states(&db, &wf).await;
    assert_eq!((s["top"].as_str(), s["m"].as_str(), s["low"].as_str()), ("succeeded", "succeeded", "succeeded"));
    db
}

async fn id_of(db: &TestDb, wf: &str, key: &str) -> i64 {
    db.store.workflow_jobs(wf).await.unwrap().into_iter().find(|j| j.workflow_key.as_deref() == Some(key)).unwrap().id
}

/// Retrying one job or a whole workflow, after cancels and purges, never
/// leaves a job waiting for a parent that will not finish, nor a child
/// running before its parents.
async fn retries_and_purges_never_strand_a_job(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let workflow_state = |wf: String| {
        let db = &db;
        async move { db.store.get_workflow(&wf).await.unwrap().unwrap().state }
    };

    // A child cancelled while its parent waits, then retried: it waits again.
    let spec = WorkflowSpec { name: "c".into(), jobs: vec![node("a", "noop", &[]), node("b", "noop", &["a"])] };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    let b = id_of(&db, &wf, "b").await;
    db.store.cancel_job(b, T0).await.unwrap().unwrap();
    assert_eq!(db.store.retry_job(b, T0).await.unwrap().unwrap().state, "blocked", "a is not done");
    assert_eq!(drain(&engine, 10).await, ["a", "b"], "parents first");
    assert_eq!(workflow_state(wf).await, "succeeded");

    // x waits on b (which continues past a's failure) and on d. Retrying a
    // re-arms x, but d is still dead: x fails again at once and the
    // workflow ends, instead of x waiting for ever.
    let mut b = node("b", "noop", &["a"]);
    b.on_parent_failure = EdgePolicy::Continue;
    let spec = WorkflowSpec {
        name: "x".into(),
        jobs: vec![node("a", "fail", &[]), node("d", "fail", &[]), b, node("x", "noop", &["b", "d"])],
    };
    let (wf, _) = engine.submit_workflow(&spec).await.unwrap();
    drain(&engine, 10).await;
    let s = states(&db, &wf).await;
    assert_eq!((s["a"].as_str(), s["b"].as_str(), s["x"].as_str()), ("dead", "succeeded", "upstream_failed"));
    db.store.retry_job(id_of(&db, &wf, "a").await, T0).await.unwrap().unwrap();
    assert_eq!(states(&db, &wf).await["x"], "upstream_failed", "d is still dead");
    drain(&engine, 10).await;
    assert_eq!(workflow_state(wf.clone()).await, "failed");

    // A dead parent purged from the DLQ, then the workflow retried: its
    // child cannot wait for it, so it fails again and the workflow ends.
    db.store.delete_dead(id_of(&db, &wf, "d").await).await.unwrap();
    db.store.retry_workflow(&wf, T0).await.unwrap();
    drain(&engine, 10).await;
    assert_eq!(states(&db, &wf).await["x"], "upstream_failed");
    assert_eq!(workflow_state(wf).await, "failed");
    db
}

/// Succeeded workflows that ended before retention go whole (the workflow,
/// its jobs, their edges and runs); a failed one stays with its dead jobs in
/// the dead-letter queue, and a running one stays.
async fn finished_workflows_past_retention_are_pruned_whole(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let engine = common::engine(db.store.clone(), Arc::new(clock.clone()));
    let diamond = |name: &str, middle: &str| WorkflowSpec {
        name: name.into(),
        jobs: vec![
            node("a", "noop", &[]),
            node("b", middle, &["a"]),
            node("c", "noop", &["a"]),
            node("d", "noop", &["b", "c"]),
        ],
    };
    let (old, _) = engine.submit_workflow(&diamond("old", "noop")).await.unwrap();
    let (failed, _) = engine.submit_workflow(&diamond("failed", "fail")).await.unwrap();
    drain(&engine, 10).await;
    assert_eq!(db.store.get_workflow(&old).await.unwrap().unwrap().state, "succeeded");
    assert_eq!(db.store.get_workflow(&failed).await.unwrap().unwrap().state, "failed");
    let old_jobs: Vec<i64> = db.store.workflow_jobs(&old).await.unwrap().iter().map(|j| j.id).collect();
    clock.advance_ms(60_000);
    let (open, _) = engine.submit_workflow(&diamond("open", "noop")).await.unwrap();
    let cutoff = clock.now_ms() - 1_000;
    assert_eq!(db.store.prune_workflows(cutoff, 10).await.unwrap(), 1);
    assert_eq!(db.store.workflow_jobs(&failed).await.unwrap().len(), 4, "the failed one stays whole");
    assert!(db.store.get_workflow(&old).await.unwrap().is_none());
    assert!(db.store.workflow_edges(&old).await.unwrap().is_empty());
    for id in old_jobs {
        assert!(db.store.get_job(id).await.unwrap().is_none(), "job {id}");
        assert!(db.store.job_attempts(id).await.unwrap().is_empty(), "runs of job {id}");
    }
    assert_eq!(db.store.workflow_edges(&open).await.unwrap().len(), 4, "the running one keeps its graph");
    assert_eq!(db.store.prune_workflows(cutoff, 10).await.unwrap(), 0);
    // Once it has ended and retention has passed, it goes too.
    drain(&engine, 10).await;
    clock.advance_ms(60_000);
    assert_eq!(db.store.prune_workflows(clock.now_ms() - 1_000, 10).await.unwrap(), 1);
    assert!(db.store.get_workflow(&open).await.unwrap().is_none());
    db
}

async fn an_urgent_job_lends_its_priority_to_its_dependency(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let waiting: Vec<app::jobs::NewJob> =
        (0..500).map(|_| serde_json::from_value(json!({"kind": "noop", "priority": 5})).unwrap()).collect();
    engine.enqueue(waiting, true).await.unwrap();
    let mut lax = node("lax", "noop", &[]);
    lax.priority = Some(9);
    let mut urgent = node("urgent", "noop", &["lax"]);
    urgent.priority = Some(0);
    let (wf, _) =
        engine.submit_workflow(&WorkflowSpec { name: "inherit".into(), jobs: vec![lax, urgent] }).await.unwrap();
    let detail = db.store.workflow_jobs(&wf).await.unwrap();
    assert!(detail.iter().all(|j| j.priority == 0), "lax inherits priority 0");
    // One slot: the urgent chain finishes before any of the 500 waiting jobs.
    let mut order = Vec::new();
    for _ in 0..3 {
        let j = engine.claim(1).await.unwrap().remove(0);
        order.push(j.workflow_key.clone().unwrap_or_else(|| "p5".into()));
        let Outcome::Succeeded(c) = engine.run(&j).await else { panic!() };
        engine.record_completions(&[c], &HashMap::new()).await.unwrap();
    }
    assert_eq!(order, ["lax", "urgent", "p5"]);
    db
}

async fn random_graphs_with_random_failures_always_finish(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for case in 0..25 {
        let n = 1 + next(20) as usize;
        let mut jobs = Vec::new();
        for i in 0..n {
            let kind = if next(5) == 0 { "fail" } else { "noop" };
            let deps: Vec<String> = (0..i).filter(|_| next(4) == 0).map(|p| format!("j{p}")).collect();
            let dep_refs: Vec<&str> = deps.iter().map(String::as_str).collect();
            let mut spec = node(&format!("j{i}"), kind, &dep_refs);
            if next(3) == 0 {
                spec.on_parent_failure = EdgePolicy::Continue;
            }
            jobs.push(spec);
        }
        let (wf, _) = engine.submit_workflow(&WorkflowSpec { name: format!("random {case}"), jobs }).await.unwrap();
        drain(&engine, 8).await;
        // Occasionally cancel one mid-way instead.
        let w = db.store.get_workflow(&wf).await.unwrap().unwrap();
        assert_ne!(w.state, "running", "case {case}: {:?}", states(&db, &wf).await);
        let s = states(&db, &wf).await;
        assert!(
            s.values().all(|st| ["succeeded", "dead", "cancelled", "upstream_failed"].contains(&st.as_str())),
            "{s:?}"
        );
        let expect = if s.values().all(|st| st == "succeeded") { "succeeded" } else { "failed" };
        assert_eq!(w.state, expect, "case {case}");
    }
    db
}

/// Children listed before their parents still get higher ids (rows go in in
/// topological order); joins whose parents finish on four workers at once
/// all run (PostgreSQL: each decision locks the child first), and cancels
/// racing them end every workflow without a deadlock (jobs locked in id order).
async fn concurrent_workers_never_strand_a_join_or_deadlock(db: TestDb) -> TestDb {
    let engine = common::engine(db.store.clone(), Arc::new(ManualClock::at(T0)));
    let backwards = || WorkflowSpec {
        name: "backwards diamond".into(),
        jobs: vec![
            node("d", "noop", &["b", "c"]),
            node("b", "noop", &["a"]),
            node("c", "noop", &["a"]),
            node("a", "noop", &[]),
        ],
    };
    let (first, ids) = engine.submit_workflow(&backwards()).await.unwrap();
    let (d, b, c, a) = (ids[0], ids[1], ids[2], ids[3]);
    assert!(a < b && a < c && b < d && c < d, "ids by spec index: {ids:?}");
    let mut edges: Vec<(i64, i64)> =
        db.store.workflow_edges(&first).await.unwrap().into_iter().map(|e| (e.child_id, e.parent_id)).collect();
    edges.sort();
    let mut expected = vec![(b, a), (c, a), (d, b), (d, c)];
    expected.sort();
    assert_eq!(edges, expected, "edges written between the right ids");
    assert_eq!(drain(&engine, 10).await, ["a", "b", "c", "d"]);
    assert_eq!(db.store.get_workflow(&first).await.unwrap().unwrap().state, "succeeded");

    // A wide join: four parents finishing on different workers at once.
    let wide = || WorkflowSpec {
        name: "wide join".into(),
        jobs: vec![
            node("d", "noop", &["b1", "b2", "b3", "b4"]),
            node("b1", "noop", &["a"]),
            node("b2", "noop", &["a"]),
            node("b3", "noop", &["a"]),
            node("b4", "noop", &["a"]),
            node("a", "noop", &[]),
        ],
    };
    let mut wfs = Vec::new();
    for _ in 0..100 {
        wfs.push(engine.submit_workflow(&wide()).await.unwrap().0);
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            drain(&engine, 2).await;
        }));
    }
    let (store, to_cancel) = (db.store.clone(), wfs.clone());
    tasks.push(tokio::spawn(async move {
        for wf in to_cancel.iter().step_by(3) {
            store.cancel_workflow(wf, T0).await.unwrap();
            tokio::task::yield_now().await;
        }
    }));
    for t in tasks {
        t.await.unwrap();
    }
    drain(&engine, 10).await;
    for wf in &wfs {
        let state = db.store.get_workflow(wf).await.unwrap().unwrap().state;
        assert!(state == "succeeded" || state == "cancelled", "{wf}: {state} {:?}", states(&db, wf).await);
    }
    db
}

both_backends!(
    a_diamond_runs_parents_first_and_succeeds,
    fan_out_and_in_of_a_thousand,
    a_failure_mid_graph_follows_each_edge_policy,
    cancel_and_retry,
    retries_and_purges_never_strand_a_job,
    finished_workflows_past_retention_are_pruned_whole,
    an_urgent_job_lends_its_priority_to_its_dependency,
    random_graphs_with_random_failures_always_finish,
    concurrent_workers_never_strand_a_join_or_deadlock,
);
