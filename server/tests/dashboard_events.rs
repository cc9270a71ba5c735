//! The dashboard feed `/api/v1/events`: numbered job frames filtered by
//! queue and kind, per-second aggregates, `Last-Event-ID` resume, admin only.

mod common;

use std::{sync::Arc, time::Duration};

use common::TestDb;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Sse {
    id: Option<u64>,
    event: String,
    data: Value,
}

/// Reads SSE frames until `enough` says stop or the time is up.
async fn read(res: &mut reqwest::Response, secs: u64, enough: impl Fn(&[Sse]) -> bool) -> Vec<Sse> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline && !enough(&out) {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_millis(200), res.chunk()).await else { continue };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut f = Sse { id: None, event: "message".into(), data: Value::Null };
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    f.id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    f.event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    f.data = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                }
            }
            if !block.starts_with(':') {
                out.push(f);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_filters_aggregates_and_resumes() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let admin = auth.add_token("test", "ops", "admin").await.unwrap().secret;
    let reader = auth.add_token("test", "svc", "jobs:read").await.unwrap().secret;
    let base = common::listen(app).await;
    let http = reqwest::Client::new();
    let status = http.get(format!("{base}/api/v1/events")).bearer_auth(&reader).send().await.unwrap().status();
    assert_eq!(status, 403, "the feed is for admins");

    let mut feed = http.get(format!("{base}/api/v1/events?queue=mail")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(feed.headers()["content-type"], "text/event-stream");
    read(&mut feed, 5, |f| f.iter().any(|x| x.event == "hello")).await;

    let jobs: Vec<Value> = (0..3)
        .map(|i| json!({"kind": "noop", "queue": "mail", "payload": {"i": i}}))
        .chain((0..2).map(|i| json!({"kind": "noop", "queue": "other", "payload": {"i": i}})))
        .collect();
    let r = http.post(format!("{base}/api/v1/jobs")).bearer_auth(&admin).json(&jobs).send().await.unwrap();
    assert_eq!(r.status(), 201);

    let frames = read(&mut feed, 5, |f| {
        f.iter().filter(|x| x.event == "job").count() >= 3
            && f.iter().any(|x| x.event == "stats" && x.data["states"]["available"] == 5)
    })
    .await;
    let jobs: Vec<&Sse> = frames.iter().filter(|f| f.event == "job").collect();
    assert_eq!(jobs.len(), 3, "{frames:?}");
    assert!(jobs.iter().all(|f| f.data["queue"] == "mail"), "the queue filter holds");
    // Aggregates go out every second, so an earlier frame may predate the POST.
    let stats = frames
        .iter()
        .find(|f| f.event == "stats" && f.data["states"]["available"] == 5)
        .expect("aggregates once a second");
    assert_eq!(stats.data["queues"]["other"]["available"], 2, "aggregates cover every queue");
    let ids: Vec<u64> = jobs.iter().map(|f| f.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");

    // A reconnect with Last-Event-ID gets what came after it, first.
    let mut again = http
        .get(format!("{base}/api/v1/events?queue=mail"))
        .bearer_auth(&admin)
        .header("last-event-id", ids[0].to_string())
        .send()
        .await
        .unwrap();
    let replay = read(&mut again, 5, |f| f.iter().filter(|x| x.event == "job").count() >= 2).await;
    let replayed: Vec<u64> = replay.iter().filter(|f| f.event == "job").map(|f| f.id.unwrap()).collect();
    assert_eq!(replayed, ids[1..].to_vec());

    // An id this process never sent (a forged huge one; one from before a
    // restart) is told to resync instead of being left waiting in silence.
    for last in [u64::MAX.to_string(), (ids[0] - 1_000_000_000).to_string()] {
        let mut stale = http
            .get(format!("{base}/api/v1/events?queue=mail"))
            .bearer_auth(&admin)
            .header("last-event-id", last.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200);
        let frames = read(&mut stale, 5, |f| f.iter().any(|x| x.event == "resync")).await;
        assert!(frames.iter().any(|x| x.event == "resync"), "Last-Event-ID {last}: {frames:?}");
    }

    // A workflow's view follows its own jobs only; an unknown workflow is a 404.
    let missing = http.get(format!("{base}/api/v1/events?workflow=nope")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let spec = json!({"name": "pair", "jobs": [
        {"key": "a", "kind": "noop"},
        {"key": "b", "kind": "noop", "depends_on": ["a"]},
    ]});
    let r = http.post(format!("{base}/api/v1/workflows")).bearer_auth(&admin).json(&spec).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let submitted: Value = r.json().await.unwrap();
    let wf = submitted["id"].as_str().unwrap().to_string();
    let members: Vec<i64> = ["a", "b"].iter().map(|k| submitted["jobs"][k].as_i64().unwrap()).collect();
    let mut wf_feed = http.get(format!("{base}/api/v1/events?workflow={wf}")).bearer_auth(&admin).send().await.unwrap();
    read(&mut wf_feed, 5, |f| f.iter().any(|x| x.event == "hello")).await;
    let noise = http
        .post(format!("{base}/api/v1/jobs"))
        .bearer_auth(&admin)
        .json(&json!({"kind": "noop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(noise.status(), 201);
    let c = http.post(format!("{base}/api/v1/jobs/{}/cancel", members[1])).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(c.status(), 200);
    let seen = read(&mut wf_feed, 5, |f| f.iter().any(|x| x.event == "job")).await;
    let job_frames: Vec<&Sse> = seen.iter().filter(|f| f.event == "job").collect();
    assert!(!job_frames.is_empty(), "{seen:?}");
    assert!(job_frames.iter().all(|f| members.contains(&f.data["id"].as_i64().unwrap())), "{job_frames:?}");
    db.finish().await;
}

/// Finished jobs reach the dashboard's counts and `/api/v1/queues`, which
/// count them apart from the waiting ones (a full count now and then,
/// brought forward by job events).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_are_counted_on_the_feed_and_the_queues_route() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let admin = auth.add_token("test", "ops", "admin").await.unwrap().secret;
    let base = common::listen(app).await;
    let http = reqwest::Client::new();
    let mut feed = http.get(format!("{base}/api/v1/events?types=stats")).bearer_auth(&admin).send().await.unwrap();
    let jobs: Vec<Value> = (0..3).map(|i| json!({"kind": "noop", "queue": "fin", "payload": {"i": i}})).collect();
    let r = http.post(format!("{base}/api/v1/jobs")).bearer_auth(&admin).json(&jobs).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let ids: Vec<i64> = r.json::<Value>().await.unwrap()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    for id in &ids[..2] {
        let c = http.post(format!("{base}/api/v1/jobs/{id}/cancel")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(c.status(), 200);
    }
    let counted = |f: &Sse| f.data["queues"]["fin"] == json!({"available": 1, "cancelled": 2});
    let frames = read(&mut feed, 10, |f| f.iter().any(|x| x.event == "stats" && counted(x))).await;
    assert!(frames.iter().any(|x| x.event == "stats" && counted(x)), "{frames:?}");
    let (mut seen, deadline) = (Value::Null, tokio::time::Instant::now() + Duration::from_secs(10));
    while tokio::time::Instant::now() < deadline {
        let queues: Value =
            http.get(format!("{base}/api/v1/queues")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        seen = queues.as_array().unwrap().iter().find(|q| q["name"] == "fin").cloned().unwrap_or(Value::Null);
        if seen["counts"] == json!({"available": 1, "cancelled": 2}) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(seen["counts"], json!({"available": 1, "cancelled": 2}), "{seen}");
    db.finish().await;
}
