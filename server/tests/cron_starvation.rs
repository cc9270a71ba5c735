//! Cron schedules and the starvation daemon on both databases, on a manual
//! clock: each fire yields exactly one job even with two nodes firing, and a
//! lax job under a stream of urgent ones is aged until it is served.

#[macro_use]
mod common;

use std::{collections::HashMap, sync::Arc};

use app::{auth::AppError, jobs::NewJob};
use chrono::TimeZone;
use common::TestDb;
use meetmind::{
    clock::{Clock, ManualClock},
    scheduler::{
        engine::{Engine, EngineConfig, Outcome},
        events::EventHub,
        handlers::Registry,
    },
    store::{
        jobs::{JobFilter, QueueRow},
        NodeRecord,
    },
};

/// 2027-01-15T08:00:00Z: on the hour.
const HOUR_MARK: i64 = 1_800_000_000_000;

fn noop(priority: i32) -> NewJob {
    serde_json::from_value(serde_json::json!({"kind": "noop", "queue": "busy", "priority": priority})).unwrap()
}

fn engine_on(db: &TestDb, clock: &ManualClock, node: &str) -> Arc<Engine> {
    Engine::new(
        db.store.clone(),
        Arc::new(clock.clone()),
        node,
        Registry::standard(),
        EventHub::new(256),
        EngineConfig::default(),
    )
}

async fn each_fire_yields_exactly_one_job_across_nodes(db: TestDb) -> TestDb {
    let clock = ManualClock::at(HOUR_MARK - 1_000);
    let a = engine_on(&db, &clock, "node-a");
    let b = engine_on(&db, &clock, "node-b");
    let template: NewJob =
        serde_json::from_value(serde_json::json!({"kind": "noop", "payload": {"report": "hourly"}})).unwrap();
    let e = a.create_schedule("bad", "99 * * * *", "UTC", &template).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "cron"), "{e:?}");
    let e = a.create_schedule("bad", "0 * * * *", "Atlantis/Capital", &template).await.unwrap_err();
    assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "timezone"), "{e:?}");
    let s = a.create_schedule("hourly report", "0 * * * *", "UTC", &template).await.unwrap();
    assert_eq!(s.next_run_at, HOUR_MARK);
    assert!(a.create_schedule("hourly report", "0 * * * *", "UTC", &template).await.is_err(), "names are unique");

    let count = || async {
        db.store
            .list_jobs(&JobFilter { kind: Some("noop".into()), limit: 100, ..Default::default() })
            .await
            .unwrap()
            .len()
    };
    assert_eq!(a.fire_schedules().await.unwrap() + b.fire_schedules().await.unwrap(), 0, "not due yet");
    clock.advance_ms(1_000);
    // Two nodes fire at once (a failover overlap): one job.
    let (x, y) = tokio::join!(a.fire_schedules(), b.fire_schedules());
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_eq!(count().await, 1);
    assert_eq!(a.fire_schedules().await.unwrap(), 0);
    // Three hours of downtime: one catch-up fire, not three.
    clock.advance_ms(3 * 3_600_000 + 5_000);
    assert_eq!(b.fire_schedules().await.unwrap(), 1);
    assert_eq!(count().await, 2);
    let jobs =
        db.store.list_jobs(&JobFilter { kind: Some("noop".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert!(jobs.iter().all(|j| j.idempotency_key.as_deref().unwrap().starts_with(&format!("schedule:{}:", s.id))));
    let next = db.store.list_schedules().await.unwrap()[0].next_run_at;
    assert_eq!(next, HOUR_MARK + 4 * 3_600_000);
    // Paused schedules do not fire.
    db.store.set_schedule_paused(&s.id, true, None, clock.now_ms()).await.unwrap();
    clock.advance_ms(3_600_000);
    assert_eq!(a.fire_schedules().await.unwrap(), 0);
    db
}

/// A fire whose job the database refused (an outage, a full disk) is not
/// skipped: it stays due, and the next pass enqueues it under the same key.
async fn a_fire_the_database_refused_stays_due(db: TestDb) -> TestDb {
    let clock = ManualClock::at(HOUR_MARK - 1_000);
    let a = engine_on(&db, &clock, "node-a");
    let template: NewJob = serde_json::from_value(serde_json::json!({"kind": "noop"})).unwrap();
    let s = a.create_schedule("hourly", "0 * * * *", "UTC", &template).await.unwrap();
    clock.advance_ms(1_000);
    db.refuse("refuse_jobs", "INSERT", "jobs", None).await;
    assert_eq!(a.fire_schedules().await.unwrap(), 0);
    assert_eq!(db.store.list_schedules().await.unwrap()[0].next_run_at, HOUR_MARK, "still due");
    db.allow("refuse_jobs", "jobs").await;
    clock.advance_ms(5_000);
    assert_eq!(a.fire_schedules().await.unwrap(), 1);
    let jobs = db.store.list_jobs(&JobFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].idempotency_key.as_deref(), Some(format!("schedule:{}:{HOUR_MARK}", s.id).as_str()));
    assert_eq!(db.store.list_schedules().await.unwrap()[0].next_run_at, HOUR_MARK + 3_600_000);
    db
}

async fn a_starving_job_is_aged_until_served(db: TestDb) -> TestDb {
    let t0 = HOUR_MARK;
    let clock = ManualClock::at(t0);
    let engine = engine_on(&db, &clock, "node-a");
    let at = chrono::Utc.timestamp_millis_opt(t0).unwrap();
    db.store
        .register_node(&NodeRecord {
            id: "node-a".into(),
            hostname: "h".into(),
            roles: vec!["worker".into()],
            version: "t".into(),
            started_at: at,
            heartbeat_at: at,
        })
        .await
        .unwrap();
    engine.enqueue(vec![noop(0)], false).await.unwrap();
    db.store
        .update_queue(&QueueRow {
            name: "busy".into(),
            concurrency: 0,
            paused: false,
            max_attempts: None,
            retry_delays_ms: None,
            starvation_after_ms: Some(10_000),
            updated_at: t0,
        })
        .await
        .unwrap();
    engine.refresh_queues().await.unwrap();
    let lax = engine.enqueue(vec![noop(9)], false).await.unwrap()[0].id;
    // One slot, a fresh priority-0 job every second: the pool is saturated.
    let mut served_at = None;
    for step in 1..=200 {
        clock.advance_ms(1_000);
        // The worker node stays alive.
        let now = chrono::Utc.timestamp_millis_opt(clock.now_ms()).unwrap();
        db.store.heartbeat_node("node-a", now).await.unwrap();
        engine.enqueue(vec![noop(0)], false).await.unwrap();
        if step % 5 == 0 {
            engine.starvation_pass().await.unwrap();
        }
        let j = engine.claim(1).await.unwrap().remove(0);
        if j.id == lax {
            served_at = Some(step);
            break;
        }
        let Outcome::Succeeded(c) = engine.run(&j).await else { panic!() };
        engine.record_completions(&[c], &HashMap::new()).await.unwrap();
    }
    let step = served_at.expect("the priority-9 job was never served");
    assert!(step > 10, "not before it starved ({step})");
    let events = db.store.list_starvation(100).await.unwrap();
    assert!(events.iter().all(|e| e.job_id == lax && e.cause == "saturated"), "{events:?}");
    assert_eq!(events.len(), 9, "aged one step at a time, 9 → 0");
    assert!(events.iter().all(|e| e.waited_ms >= 10_000));
    assert!(engine.stats.render().contains("meetmind_starvation_total 9"));

    // Without a live worker the cause says so.
    db.store.remove_node("node-a").await.unwrap();
    let other = engine.enqueue(vec![noop(9)], false).await.unwrap()[0].id;
    clock.advance_ms(11_000);
    let events = engine.starvation_pass().await.unwrap();
    let mine: Vec<_> = events.iter().filter(|e| e.job_id == other).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].cause, "no_worker");

    // Jobs already at the most urgent priority cannot age: 250 of them that
    // waited longer do not hide a newer job that can (a pass looks at 200).
    engine.enqueue((0..250).map(|_| noop(0)).collect(), true).await.unwrap();
    clock.advance_ms(1_000);
    let late = engine.enqueue(vec![noop(9)], false).await.unwrap()[0].id;
    clock.advance_ms(11_000);
    let events = engine.starvation_pass().await.unwrap();
    assert!(events.iter().any(|e| e.job_id == late), "{events:?}");
    db
}

both_backends!(
    each_fire_yields_exactly_one_job_across_nodes,
    a_fire_the_database_refused_stays_due,
    a_starving_job_is_aged_until_served
);
