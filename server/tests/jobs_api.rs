//! The jobs REST API: submission (one and batch), its errors, listing with
//! cursors, detail with attempts, cancel, retry, the DLQ and queues.

#[macro_use]
mod common;

use std::sync::Arc;

use axum::{body::Body, http::Request, Router};
use common::TestDb;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    app: Router,
    token: String,
}

impl Api {
    async fn new(db: &TestDb) -> Api {
        let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
        let token = auth.add_token("test", "svc", "admin").await.unwrap().secret;
        Api { app, token }
    }

    async fn call(&self, method: &str, path: &str, body: Option<String>) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let res = self.app.clone().oneshot(req.body(body.map(Body::from).unwrap_or_default()).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body.to_string())).await
    }
}

async fn submission_and_its_errors(db: TestDb) -> TestDb {
    let api = Api::new(&db).await;
    let (status, one) = api.post("/api/v1/jobs", json!({"kind": "noop", "payload": {"n": 1}})).await;
    assert_eq!(status, 201, "{one}");
    assert_eq!(one["state"], "available");
    assert!(one["id"].as_i64().unwrap() > 0);

    let batch: Vec<Value> = (0..2500).map(|i| json!({"kind": "noop", "payload": {"i": i}, "priority": i % 10})).collect();
    let (status, body) = api.post("/api/v1/jobs", Value::Array(batch)).await;
    assert_eq!(status, 201);
    assert_eq!(body["jobs"].as_array().unwrap().len(), 2500);
    let ids: Vec<i64> = body["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids come back in input order");

    let (status, e) = api.post("/api/v1/jobs", json!({"kind": "teleport"})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("kind")), "{e}");
    let (status, e) = api.post("/api/v1/jobs", json!({"kind": "noop", "priority": -1})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("priority")));
    let (status, e) = api.post("/api/v1/jobs", json!([{"kind": "noop"}, {"kind": "noop", "colour": "red"}])).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["field"], "jobs[1]");
    assert!(e["error"].as_str().unwrap().contains("colour"));
    let (status, e) = api.post("/api/v1/jobs", json!({"kind": "noop", "payload": {"blob": "x".repeat(257 * 1024)}})).await;
    assert_eq!((status, e["field"].as_str()), (413, Some("payload")), "{e}");
    let too_many: Vec<Value> = (0..10_001).map(|_| json!({"kind": "noop"})).collect();
    let (status, _) = api.post("/api/v1/jobs", Value::Array(too_many)).await;
    assert_eq!(status, 413);
    let (status, e) = api.call("POST", "/api/v1/jobs", Some("{\"kind\": ".into())).await;
    assert_eq!(status, 400, "malformed JSON: {e}");
    assert!(e["error"].as_str().unwrap().to_lowercase().contains("eof"), "{e}");

    // Nothing refused was written: 1 + 2500 jobs.
    let (_, queues) = api.call("GET", "/api/v1/queues", None).await;
    assert_eq!(queues[0]["name"], "default");
    assert_eq!(queues[0]["counts"]["available"], 2501);

    // Idempotency: the same key returns the same job, with 200.
    let keyed = json!({"kind": "noop", "idempotency_key": "invoice-7"});
    let (s1, a) = api.post("/api/v1/jobs", keyed.clone()).await;
    let (s2, b) = api.post("/api/v1/jobs", keyed).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["existing"], true);
    db
}

async fn listing_detail_cancel_retry_and_the_dlq(db: TestDb) -> TestDb {
    let api = Api::new(&db).await;
    let batch: Vec<Value> = (0..7).map(|i| json!({"kind": "noop", "queue": "mail", "payload": {"n": i}})).collect();
    api.post("/api/v1/jobs", Value::Array(batch)).await;
    let (_, page1) = api.call("GET", "/api/v1/jobs?queue=mail&limit=3", None).await;
    assert_eq!(page1["jobs"].as_array().unwrap().len(), 3);
    let cursor = page1["next_cursor"].as_i64().unwrap();
    let (_, page2) = api.call("GET", &format!("/api/v1/jobs?queue=mail&limit=3&cursor={cursor}"), None).await;
    let (_, page3) = api.call("GET", &format!("/api/v1/jobs?queue=mail&limit=3&cursor={}", page2["next_cursor"]), None).await;
    assert_eq!(page3["jobs"].as_array().unwrap().len(), 1);
    assert!(page3["next_cursor"].is_null());
    let (status, e) = api.call("GET", "/api/v1/jobs?state=sleeping", None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("state")));
    let (_, found) = api.call("GET", "/api/v1/jobs?q=%22n%22%3A4", None).await;
    assert_eq!(found["jobs"].as_array().unwrap().len(), 1, "text search looks in payloads");

    let id = page1["jobs"][0]["id"].as_i64().unwrap();
    let (status, cancelled) = api.post(&format!("/api/v1/jobs/{id}/cancel"), json!({})).await;
    assert_eq!((status, cancelled["state"].as_str()), (200, Some("cancelled")));
    let (status, _) = api.post(&format!("/api/v1/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(status, 409);
    let (status, retried) = api.post(&format!("/api/v1/jobs/{id}/retry"), json!({})).await;
    assert_eq!((status, retried["state"].as_str()), (200, Some("available")));
    let (status, detail) = api.call("GET", &format!("/api/v1/jobs/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["attempts"], json!([]));
    assert_eq!(api.call("GET", "/api/v1/jobs/999999", None).await.0, 404);
    let (status, e) = api.call("GET", "/api/v1/jobs/abc", None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("id")));

    // Dead letters: jobs that always fail permanently.
    let (_, dead) = api.post("/api/v1/jobs", json!({"kind": "fail", "queue": "mail", "payload": {"permanent": true}})).await;
    let dead_id = dead["id"].as_i64().unwrap();
    let (_, other) = api.post("/api/v1/jobs", json!({"kind": "fail", "queue": "mail", "payload": {"permanent": true, "tag": "Keep_Me", "who": "ÉMILIE"}})).await;
    let other_id = other["id"].as_i64().unwrap();
    let engine = common::engine(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    engine.refresh_queues().await.unwrap();
    for job in engine.claim(100).await.unwrap() {
        match engine.run(&job).await {
            meetmind::scheduler::engine::Outcome::Failed { failure, permanent } => {
                engine.record_failure(&job, failure, permanent).await.unwrap();
            }
            meetmind::scheduler::engine::Outcome::Succeeded(c) => {
                engine.record_completions(&[c], &Default::default()).await.unwrap();
            }
        }
    }
    let (_, dlq) = api.call("GET", "/api/v1/dlq?queue=mail", None).await;
    assert_eq!(dlq["jobs"].as_array().unwrap().len(), 2);
    // Text search is literal (LIKE's wildcards are escaped) and ignores case, on both drivers.
    let (_, found) = api.call("GET", "/api/v1/dlq?q=keep_me", None).await;
    assert_eq!(found["jobs"].as_array().unwrap().len(), 1);
    let (_, found) = api.call("GET", "/api/v1/dlq?q=keep%25me", None).await;
    assert_eq!(found["jobs"].as_array().unwrap().len(), 0, "% in the text is not a wildcard");
    // Case folds beyond ASCII (SQLite's own lower() would not), and no character is a pattern.
    let (_, found) = api.call("GET", "/api/v1/dlq?q=%C3%A9milie", None).await;
    assert_eq!(found["jobs"].as_array().unwrap().len(), 1, "émilie finds ÉMILIE");
    let (_, found) = api.call("GET", "/api/v1/dlq?q=.MILIE", None).await;
    assert_eq!(found["jobs"].as_array().unwrap().len(), 0, ". in the text is not a wildcard");
    let (status, e) = api.call("GET", &format!("/api/v1/dlq?q={}", "x".repeat(201)), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("q")), "{e}");
    // A group's purge touches exactly its ids; a blank text is no filter at all, not "everything".
    let (status, purged) = api.post("/api/v1/dlq/purge", json!({"ids": [other_id, id]})).await;
    assert_eq!((status, purged["purged"].as_u64()), (200, Some(1)), "only dead jobs among the ids");
    let (_, purged) = api.post("/api/v1/dlq/purge", json!({"ids": []})).await;
    assert_eq!(purged["purged"].as_u64(), Some(0));
    let (_, dlq) = api.call("GET", "/api/v1/dlq?queue=mail", None).await;
    assert_eq!(dlq["jobs"].as_array().unwrap().len(), 1);
    let (_, detail) = api.call("GET", &format!("/api/v1/jobs/{dead_id}"), None).await;
    assert_eq!(detail["attempts"][0]["node"], "test-node");
    assert!(detail["attempts"][0]["error"].as_str().unwrap().contains("permanent"));
    let (status, _) = api.post(&format!("/api/v1/dlq/{id}/requeue"), json!({})).await;
    assert_eq!(status, 409, "only dead jobs are requeued from the DLQ");
    let (status, requeued) = api.post("/api/v1/dlq/requeue", json!({"kind": "fail"})).await;
    assert_eq!((status, requeued["requeued"].as_u64()), (200, Some(1)));
    let (_, job) = api.call("GET", &format!("/api/v1/jobs/{dead_id}"), None).await;
    assert_eq!(job["state"], "available");
    db
}

async fn queues_pause_resume_and_policies(db: TestDb) -> TestDb {
    let api = Api::new(&db).await;
    let (status, q) = api.call("PATCH", "/api/v1/queues/reports", Some(json!({"concurrency": 3, "retry_delays_ms": [100, 200], "max_attempts": 2, "starvation_after_ms": 30000}).to_string())).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["retry_delays_ms"], json!([100, 200]));
    let (status, e) = api.call("PATCH", "/api/v1/queues/reports", Some(json!({"concurrency": -1}).to_string())).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("concurrency")));
    let (status, e) = api.call("PATCH", "/api/v1/queues/reports", Some(json!({"speed": 1}).to_string())).await;
    assert_eq!(status, 422, "{e}");
    let (_, paused) = api.post("/api/v1/queues/reports/pause", json!({})).await;
    assert_eq!(paused["paused"], true);
    let (_, resumed) = api.post("/api/v1/queues/reports/resume", json!({})).await;
    assert_eq!(resumed["paused"], false);
    // Reset a policy to the default with null.
    let (_, q) = api.call("PATCH", "/api/v1/queues/reports", Some(json!({"retry_delays_ms": null}).to_string())).await;
    assert!(q["retry_delays_ms"].is_null());
    assert_eq!(q["concurrency"], 3);
    db
}

async fn workflows_over_rest(db: TestDb) -> TestDb {
    let api = Api::new(&db).await;
    let cycle = json!({"name": "loop", "jobs": [
        {"key": "a", "kind": "noop", "depends_on": ["b"]},
        {"key": "c", "kind": "noop", "depends_on": ["a"]},
        {"key": "b", "kind": "noop", "depends_on": ["c"]}]});
    let (status, e) = api.post("/api/v1/workflows", cycle).await;
    assert_eq!(status, 422, "{e}");
    // The cycle's path, following depends_on from the first job.
    assert_eq!(e["error"], "cycle: a → b → c → a", "{e}");
    assert_eq!(e["field"], "jobs[].depends_on");
    let (status, e) = api.post("/api/v1/workflows", json!({"name": "x", "jobs": [{"key": "a", "kind": "noop", "depends_on": ["ghost"]}]})).await;
    assert_eq!(status, 422);
    assert!(e["error"].as_str().unwrap().contains("ghost"), "{e}");
    let (status, e) = api.post("/api/v1/workflows", json!({"name": "x", "jobs": [{"key": "a", "kind": "noop"}, {"key": "a", "kind": "noop"}]})).await;
    assert_eq!(status, 422);
    assert!(e["error"].as_str().unwrap().contains("duplicate job key \"a\""), "{e}");
    let (status, e) = api.post("/api/v1/workflows", json!({"name": "x", "jobs": [{"key": "a", "kind": "warp"}]})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[0].kind")));
    let huge: Vec<serde_json::Value> = (0..10_001).map(|i| json!({"key": format!("k{i}"), "kind": "noop"})).collect();
    let (status, _) = api.post("/api/v1/workflows", json!({"name": "huge", "jobs": huge})).await;
    assert_eq!(status, 413);

    let (status, created) = api.post("/api/v1/workflows", json!({"name": "report", "jobs": [
        {"key": "fetch", "kind": "noop", "priority": 9},
        {"key": "email", "kind": "noop", "priority": 1, "depends_on": ["fetch"]}]})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let (_, detail) = api.call("GET", &format!("/api/v1/workflows/{id}"), None).await;
    assert_eq!(detail["state"], "running");
    assert_eq!(detail["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(detail["edges"], json!([{"parent": "fetch", "child": "email", "policy": "fail"}]));
    assert!(detail["nodes"].as_array().unwrap().iter().all(|n| n["priority"] == 1), "inherited: {detail}");
    // A second workflow: the list counts each workflow's own jobs (one query for the page).
    let (_, other) = api.post("/api/v1/workflows", json!({"name": "fan", "jobs": [
        {"key": "a", "kind": "noop"}, {"key": "b", "kind": "noop"},
        {"key": "c", "kind": "noop", "depends_on": ["a", "b"]}]})).await;
    let (_, list) = api.call("GET", "/api/v1/workflows", None).await;
    let listed = |wf: &str| list["workflows"].as_array().unwrap().iter().find(|w| w["id"] == wf).cloned().unwrap();
    assert_eq!(listed(&id)["counts"], json!({"available": 1, "blocked": 1}), "{list}");
    assert_eq!(listed(other["id"].as_str().unwrap())["counts"], json!({"available": 2, "blocked": 1}), "{list}");
    assert_eq!(list["workflows"].as_array().unwrap().len(), 2);
    let (status, cancelled) = api.post(&format!("/api/v1/workflows/{id}/cancel"), json!({})).await;
    assert_eq!((status, cancelled["state"].as_str()), (200, Some("cancelled")));
    assert_eq!(api.post(&format!("/api/v1/workflows/{id}/cancel"), json!({})).await.0, 409);
    let (status, retried) = api.post(&format!("/api/v1/workflows/{id}/retry"), json!({})).await;
    assert_eq!((status, retried["rearmed"].as_u64()), (200, Some(2)));
    assert_eq!(api.call("GET", "/api/v1/workflows/nope", None).await.0, 404);
    db
}

both_backends!(
    submission_and_its_errors,
    listing_detail_cancel_retry_and_the_dlq,
    queues_pause_resume_and_policies,
    workflows_over_rest,
);
