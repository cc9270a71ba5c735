//! Nodes on one PostgreSQL judge each other's leases and leadership by the
//! database's clock: a node whose own clock runs ten minutes ahead neither
//! takes over a live leader nor rescues a job still running elsewhere.

mod common;

use std::sync::Arc;

use common::TestDb;
use meetmind::{
    clock::{Clock, CorrectedClock, ManualClock, SystemClock},
    clock_sync,
};

const AHEAD_MS: i64 = 600_000;

#[tokio::test]
async fn a_node_ahead_of_the_database_judges_leases_by_its_clock() {
    let Some(db) = TestDb::postgres().await else { return };
    let db = db.migrated().await;
    let ahead = ManualClock::at(SystemClock.now_ms() + AHEAD_MS);
    let clock = CorrectedClock::new(Arc::new(ahead.clone()));
    let offset = clock_sync::sync_once(db.store.as_ref(), &clock).await.expect("PostgreSQL has a clock");
    assert!((offset + AHEAD_MS).abs() < 5_000, "offset {offset} ms");
    assert!((clock.now_ms() - SystemClock.now_ms()).abs() < 5_000);

    // Another node, on the database's time, leads and runs a job under its lease.
    let other = common::engine(db.store.clone(), Arc::new(SystemClock));
    assert!(db.store.try_lead("maintenance", "other", other.now(), 30_000).await.unwrap());
    let job = serde_json::from_value(serde_json::json!({"kind": "noop"})).unwrap();
    other.enqueue(vec![job], false).await.unwrap();
    assert_eq!(other.claim(1).await.unwrap().len(), 1);

    // Judged by the corrected clock: the lead is held and the lease is live.
    assert!(!db.store.try_lead("maintenance", "fast", clock.now_ms(), 30_000).await.unwrap());
    assert!(db.store.rescue_expired(clock.now_ms()).await.unwrap().is_empty());
    // Its own clock would have taken both (the check above is not vacuous).
    assert_eq!(db.store.rescue_expired(ahead.now_ms()).await.unwrap().len(), 1, "the job rescued while running");
    assert!(db.store.try_lead("maintenance", "fast", ahead.now_ms(), 30_000).await.unwrap(), "the lead taken over");

    // What `serve`, `demo` and the accounts commands keep time by.
    let (_keep, stop) = tokio::sync::watch::channel(false);
    let node_clock = clock_sync::database_clock(db.store.clone(), stop).await;
    let database = db.store.database_now_ms().await.unwrap().unwrap();
    assert!((node_clock.now_ms() - database).abs() < 2_000);
    db.finish().await;
}

#[tokio::test]
async fn an_embedded_database_keeps_the_nodes_own_clock() {
    let db = TestDb::sqlite().await.migrated().await;
    let clock = CorrectedClock::new(Arc::new(ManualClock::at(AHEAD_MS)));
    assert_eq!(clock_sync::sync_once(db.store.as_ref(), &clock).await, None);
    assert_eq!(clock.now_ms(), AHEAD_MS);
    let (_keep, stop) = tokio::sync::watch::channel(false);
    let node_clock = clock_sync::database_clock(db.store.clone(), stop).await;
    assert!((node_clock.now_ms() - SystemClock.now_ms()).abs() < 1_000, "the system clock");
    db.finish().await;
}
