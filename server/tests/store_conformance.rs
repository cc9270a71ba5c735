//! One conformance suite for every storage driver. Each test is written once
//! and instantiated for SQLite and PostgreSQL by `conformance!`.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::TestDb;
use meetmind::store::{NodeRecord, Store};

fn now_ms() -> DateTime<Utc> {
    // PostgreSQL keeps microseconds and SQLite milliseconds: compare at ms.
    Utc::now().duration_trunc(Duration::milliseconds(1)).unwrap()
}

fn node(id: &str, at: DateTime<Utc>) -> NodeRecord {
    NodeRecord {
        id: id.into(),
        hostname: "host-a".into(),
        roles: vec!["web".into(), "worker".into()],
        version: "0.1.0".into(),
        started_at: at,
        heartbeat_at: at,
    }
}

async fn readiness_reports_pending_until_migrated(db: TestDb) -> TestDb {
    let before = db.store.readiness().await.unwrap();
    assert!(!before.pending_migrations.is_empty(), "a fresh database has pending migrations");
    db.store.migrate().await.unwrap();
    assert!(db.store.readiness().await.unwrap().pending_migrations.is_empty());
    // Running again is a no-op, as on every restart.
    db.store.migrate().await.unwrap();
    assert!(db.store.readiness().await.unwrap().pending_migrations.is_empty());
    db
}

async fn nodes_register_list_and_reregister(db: TestDb) -> TestDb {
    let db = db.migrated().await;
    let s: &Arc<dyn Store> = &db.store;
    let t = now_ms();
    s.register_node(&node("b", t)).await.unwrap();
    s.register_node(&node("a", t)).await.unwrap();
    let listed = s.list_nodes().await.unwrap();
    assert_eq!(listed, vec![node("a", t), node("b", t)]);

    // Registering the same id again replaces it (a restarted node).
    let mut again = node("a", t + Duration::seconds(1));
    again.roles = vec!["maintenance".into()];
    s.register_node(&again).await.unwrap();
    let listed = s.list_nodes().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], again);
    db
}

async fn heartbeats_update_and_report_unknown_nodes(db: TestDb) -> TestDb {
    let db = db.migrated().await;
    let s = &db.store;
    let t = now_ms();
    s.register_node(&node("a", t)).await.unwrap();
    let later = t + Duration::seconds(5);
    assert!(s.heartbeat_node("a", later).await.unwrap());
    assert_eq!(s.list_nodes().await.unwrap()[0].heartbeat_at, later);
    assert!(!s.heartbeat_node("ghost", later).await.unwrap());
    db
}

async fn pruning_removes_only_stale_nodes(db: TestDb) -> TestDb {
    let db = db.migrated().await;
    let s = &db.store;
    let t = now_ms();
    s.register_node(&node("old", t - Duration::minutes(10))).await.unwrap();
    s.register_node(&node("fresh", t)).await.unwrap();
    assert_eq!(s.prune_nodes(t - Duration::minutes(1)).await.unwrap(), 1);
    let ids: Vec<_> = s.list_nodes().await.unwrap().into_iter().map(|n| n.id).collect();
    assert_eq!(ids, vec!["fresh"]);
    s.remove_node("fresh").await.unwrap();
    assert!(s.list_nodes().await.unwrap().is_empty());
    // Removing what is gone is not an error.
    s.remove_node("fresh").await.unwrap();
    db
}

async fn concurrent_heartbeats_from_many_tasks_all_land(db: TestDb) -> TestDb {
    let db = db.migrated().await;
    let t = now_ms();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("n{i}");
            s.register_node(&node(&id, t)).await.unwrap();
            for k in 1..=10 {
                assert!(s.heartbeat_node(&id, t + Duration::seconds(k)).await.unwrap());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let nodes = db.store.list_nodes().await.unwrap();
    assert_eq!(nodes.len(), 8);
    assert!(nodes.iter().all(|n| n.heartbeat_at == t + Duration::seconds(10)));
    db
}

/// The dashboard's two counts split the states between them: waiting,
/// blocked, running and dead jobs in the cheap one, finished ones in the
/// scan.
async fn state_counts_split_active_and_settled(db: TestDb) -> TestDb {
    let db = db.migrated().await;
    let states = app::jobs::JobState::ALL.map(|s| s.as_str());
    let mut rows = Vec::new();
    for (n, state) in states.iter().enumerate() {
        // n + 1 jobs in each state, in queue `a`; one more in queue `b`.
        for _ in 0..=n {
            rows.push(format!("('a', 'noop', '{{}}', 0, 0, '{state}', 3, 0, 0)"));
        }
        rows.push(format!("('b', 'noop', '{{}}', 0, 0, '{state}', 3, 0, 0)"));
    }
    db.execute(&format!(
        "INSERT INTO jobs (queue, kind, payload, priority, run_at, state, max_attempts, created_at, updated_at) VALUES {}",
        rows.join(", ")
    ))
    .await;
    let as_map = |rows: Vec<meetmind::store::jobs::StateCount>| {
        rows.into_iter().map(|r| ((r.queue, r.state), r.count)).collect::<std::collections::BTreeMap<_, _>>()
    };
    let active = as_map(db.store.active_state_counts().await.unwrap());
    let settled = as_map(db.store.settled_state_counts().await.unwrap());
    let all = as_map(db.store.state_counts().await.unwrap());
    for (n, state) in states.iter().enumerate() {
        let (a, b) = (("a".to_string(), state.to_string()), ("b".to_string(), state.to_string()));
        let (counted, other) =
            if meetmind::job_counts::is_settled(state) { (&settled, &active) } else { (&active, &settled) };
        assert_eq!((counted.get(&a), counted.get(&b)), (Some(&(n as i64 + 1)), Some(&1)), "{state}");
        assert!(!other.contains_key(&a), "{state} is counted once");
        assert_eq!(all.get(&a), Some(&(n as i64 + 1)), "{state}");
    }
    assert_eq!(active.len() + settled.len(), 2 * states.len());
    assert_eq!(all.len(), 2 * states.len());
    db
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::TestDb::sqlite().await).await.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::$name(db).await.finish().await;
                }
            )*
        }
    };
}

conformance!(
    readiness_reports_pending_until_migrated,
    nodes_register_list_and_reregister,
    heartbeats_update_and_report_unknown_nodes,
    pruning_removes_only_stale_nodes,
    concurrent_heartbeats_from_many_tasks_all_land,
    state_counts_split_active_and_settled,
);
