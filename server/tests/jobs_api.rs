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
        let mut req =
            Request::builder().method(method).uri(path).header("authorization", format!("Bearer {}", self.token));
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

    let batch: Vec<Value> =
        (0..2500).map(|i| json!({"kind": "noop", "payload": {"i": i}, "priority": i % 10})).collect();
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
    assert_eq!(e["field"], "jobs[1].colour");
    assert!(e["error"].as_str().unwrap().contains("colour"));
    // The field is the one at fault, by its path: never a value quoted in serde's message.
    for (body, field) in [
        (json!({"kind": 5}), "kind"),
        (json!({"kind": "noop", "priority": 1.5}), "priority"),
        (json!({"kind": "noop", "priority": "high"}), "priority"),
        (json!({"payload": {"n": 1}}), "kind"),
        (json!({"kind": "noop", "retry_delays_ms": [100, "soon"]}), "retry_delays_ms[1]"),
        (json!([{"kind": "noop"}, {"kind": "noop", "priority": "high"}]), "jobs[1].priority"),
        (json!([{"kind": "noop"}, {"queue": "mail"}]), "jobs[1].kind"),
        (json!([{"kind": "noop"}, 7]), "jobs[1]"),
    ] {
        let (status, e) = api.post("/api/v1/jobs", body.clone()).await;
        assert!(e.is_object(), "a JSON error for {body}: {e}");
        assert_eq!((status, e["field"].as_str()), (422, Some(field)), "{body}: {e}");
        assert!(e["error"].as_str().unwrap().starts_with(field), "the message names {field}: {e}");
    }
    // The DLQ filters go through the same extractor as every other body.
    let (status, e) = api.post("/api/v1/dlq/purge", json!({"ids": [1, "two"]})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("ids[1]")), "{e}");
    let (status, e) =
        api.post("/api/v1/jobs", json!({"kind": "noop", "payload": {"blob": "x".repeat(257 * 1024)}})).await;
    assert_eq!((status, e["field"].as_str()), (413, Some("payload")), "{e}");
    let too_many: Vec<Value> = (0..10_001).map(|_| json!({"kind": "noop"})).collect();
    let (status, _) = api.post("/api/v1/jobs", Value::Array(too_many)).await;
    assert_eq!(status, 413);
    let (status, e) = api.call("POST", "/api/v1/jobs", Some("{\"kind\": ".into())).await;
    assert_eq!(status, 400, "malformed JSON: {e}");
    assert!(e["error"].as_str().unwrap().to_lowercase().contains("eof"), "{e}");
    assert_eq!(e["field"], "body", "{e}");
    // Malformed text names the body and where it breaks, not a fragment of it (once ":").
    let (status, e) = api.call("POST", "/api/v1/jobs", Some("{\"kind\" \"noop\"}".into())).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("body")), "{e}");
    assert!(e["error"].as_str().unwrap().contains("line 1 column"), "{e}");
    let (status, e) = api.call("POST", "/api/v1/jobs", Some("{\"kind\": \"noop\"} x".into())).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("body")), "trailing text: {e}");
    let (status, e) = api.call("POST", "/api/v1/dlq/purge", Some("{".into())).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("body")), "{e}");

    // PostgreSQL's text and JSONB cannot hold NUL: any string holding one, at
    // any depth, is the field's 422 before the database is reached.
    for (body, field) in [
        (json!({"kind": "noop", "idempotency_key": "a\u{0}"}), "idempotency_key"),
        (json!({"kind": "noop", "queue": "\u{0}"}), "queue"),
        (json!({"kind": "noop\u{0}"}), "kind"),
        (json!({"kind": "noop", "payload": {"notes": ["fine", {"text": "x\u{0}y"}]}}), "payload.notes[1].text"),
        (json!({"kind": "noop", "payload": {"k\u{0}": 1}}), "payload.k\\0"),
        (json!([{"kind": "noop"}, {"kind": "noop", "payload": {"a": "\u{0}"}}]), "jobs[1].payload.a"),
        (json!([{"kind": "noop", "idempotency_key": "\u{0}"}]), "jobs[0].idempotency_key"),
    ] {
        let (status, e) = api.post("/api/v1/jobs", body.clone()).await;
        assert!(e.is_object(), "a JSON error for {body}: {e}");
        assert_eq!((status, e["field"].as_str()), (422, Some(field)), "{body}: {e}");
        assert!(e["error"].as_str().unwrap().contains("NUL"), "{e}");
    }
    // Keys of a cron schedule's fires (`schedule:<id>:<fire>`): a client's job
    // holding one ahead of time would take the fire's place.
    let (status, e) = api.post("/api/v1/jobs", json!({"kind": "noop", "idempotency_key": "schedule:abc:1"})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("idempotency_key")), "{e}");
    let reserved = json!([{"kind": "noop"}, {"kind": "noop", "idempotency_key": "schedule:x"}]);
    let (status, e) = api.post("/api/v1/jobs", reserved).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[1].idempotency_key")), "{e}");
    // An escaped backslash before "u0000" is text, not a NUL.
    let (status, e) =
        api.call("POST", "/api/v1/jobs", Some(r#"{"kind": "noop", "payload": {"t": "\\u0000"}}"#.into())).await;
    assert_eq!(status, 201, "{e}");
    let (_, job) = api.call("GET", &format!("/api/v1/jobs/{}", e["id"]), None).await;
    assert_eq!(job["payload"]["t"], "\\u0000", "{job}");
    let (status, _) = api.call("POST", &format!("/api/v1/jobs/{}/cancel", e["id"]), None).await;
    assert_eq!(status, 200);

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
    let (_, page3) =
        api.call("GET", &format!("/api/v1/jobs?queue=mail&limit=3&cursor={}", page2["next_cursor"]), None).await;
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
    let (_, dead) =
        api.post("/api/v1/jobs", json!({"kind": "fail", "queue": "mail", "payload": {"permanent": true}})).await;
    let dead_id = dead["id"].as_i64().unwrap();
    let (_, other) = api
        .post(
            "/api/v1/jobs",
            json!({"kind": "fail", "queue": "mail", "payload": {"permanent": true, "tag": "Keep_Me", "who": "ÉMILIE"}}),
        )
        .await;
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
    // A refused patch of a queue that does not exist yet creates nothing.
    let (status, e) = api.call("PATCH", "/api/v1/queues/fresh", Some(json!({"max_attempts": 0}).to_string())).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("max_attempts")), "{e}");
    let (_, queues) = api.call("GET", "/api/v1/queues", None).await;
    assert!(queues.as_array().unwrap().iter().all(|q| q["name"] != "fresh"), "{queues}");
    // The queue's name is the route's `{name}`.
    let (status, e) = api.call("PATCH", "/api/v1/queues/bad%20q", Some(json!({"paused": true}).to_string())).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("name")), "{e}");
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
    assert_eq!(e["field"], "jobs[0].depends_on", "the job the path starts at");
    let (status, e) = api
        .post(
            "/api/v1/workflows",
            json!({"name": "x", "jobs": [{"key": "a", "kind": "noop", "depends_on": ["ghost"]}]}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"].as_str().unwrap().contains("ghost"), "{e}");
    let (status, e) = api
        .post(
            "/api/v1/workflows",
            json!({"name": "x", "jobs": [{"key": "a", "kind": "noop"}, {"key": "a", "kind": "noop"}]}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(e["error"].as_str().unwrap().contains("duplicate job key \"a\""), "{e}");
    assert_eq!(e["field"], "jobs[1].key", "the second job with the key");
    let (status, e) = api.post("/api/v1/workflows", json!({"name": "x", "jobs": [{"key": "a", "kind": "warp"}]})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[0].kind")));
    let bad_queue =
        json!({"name": "x", "jobs": [{"key": "a", "kind": "noop"}, {"key": "b", "kind": "noop", "queue": "bad q"}]});
    let (status, e) = api.post("/api/v1/workflows", bad_queue).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[1].queue")), "{e}");
    // Shape errors name the job's field by its path, not the value serde quotes.
    let (status, e) = api
        .post("/api/v1/workflows", json!({"name": "x", "jobs": [{"key": "a", "kind": "noop", "priority": 40000}]}))
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[0].priority")), "{e}");
    let (status, e) =
        api.post("/api/v1/workflows", json!({"name": "x", "jobs": [{"key": "a", "kind": "noop"}, {"key": "b"}]})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[1].kind")), "{e}");
    let (status, e) = api
        .post(
            "/api/v1/workflows",
            json!({"name": "x", "jobs": [{"key": "a", "kind": "noop", "payload": {"to": ["\u{0}"]}}]}),
        )
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("jobs[0].payload.to[0]")), "{e}");
    let huge: Vec<serde_json::Value> = (0..10_001).map(|i| json!({"key": format!("k{i}"), "kind": "noop"})).collect();
    let (status, _) = api.post("/api/v1/workflows", json!({"name": "huge", "jobs": huge})).await;
    assert_eq!(status, 413);

    let (status, created) = api
        .post(
            "/api/v1/workflows",
            json!({"name": "report", "jobs": [
        {"key": "fetch", "kind": "noop", "priority": 9},
        {"key": "email", "kind": "noop", "priority": 1, "depends_on": ["fetch"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let (_, detail) = api.call("GET", &format!("/api/v1/workflows/{id}"), None).await;
    assert_eq!(detail["state"], "running");
    assert_eq!(detail["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(detail["edges"], json!([{"parent": "fetch", "child": "email", "policy": "fail"}]));
    assert!(detail["nodes"].as_array().unwrap().iter().all(|n| n["priority"] == 1), "inherited: {detail}");
    // A second workflow: the list counts each workflow's own jobs (one query for the page).
    let (_, other) = api
        .post(
            "/api/v1/workflows",
            json!({"name": "fan", "jobs": [
        {"key": "a", "kind": "noop"}, {"key": "b", "kind": "noop"},
        {"key": "c", "kind": "noop", "depends_on": ["a", "b"]}]}),
        )
        .await;
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

/// Query strings and path parameters are refused as JSON naming the
/// parameter, as bodies are; a NUL never reaches the database.
async fn query_and_path_errors_name_the_parameter(db: TestDb) -> TestDb {
    let api = Api::new(&db).await;
    for (path, field) in [
        ("/api/v1/jobs?limit=ten", "limit"),
        ("/api/v1/jobs?cursor=1.5", "cursor"),
        ("/api/v1/dlq?limit=ten", "limit"),
        ("/api/v1/workflows?limit=many", "limit"),
        ("/api/v1/schedules/preview", "cron"),
        ("/api/v1/schedules/preview?timezone=UTC", "cron"),
        ("/api/v1/audit?limit=-1", "limit"),
        ("/api/v1/starvation?limit=x", "limit"),
        ("/api/v1/providers/calls?limit=x", "limit"),
    ] {
        let (status, e) = api.call("GET", path, None).await;
        assert!(e.is_object(), "a JSON error for {path}: {e}");
        assert_eq!((status, e["field"].as_str()), (422, Some(field)), "{path}: {e}");
        assert!(e["error"].as_str().unwrap().starts_with(field), "{path}: {e}");
    }
    let (status, e) = api.call("GET", "/api/v1/jobs?limit=5&limit=6", None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("limit")), "a repeated parameter: {e}");
    let (status, e) = api.call("GET", &format!("/api/v1/interviews?q={}", "x".repeat(201)), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("q")), "the search text is `q` here: {e}");

    // NUL in any query parameter: the parameter's 422, on both drivers.
    for (path, field) in [
        ("/api/v1/jobs?queue=%00", "queue"),
        ("/api/v1/jobs?kind=noop%00", "kind"),
        ("/api/v1/jobs?q=a%00b", "q"),
        ("/api/v1/dlq?q=%00", "q"),
        ("/api/v1/jobs?state=available&unused=%00", "unused"),
    ] {
        let (status, e) = api.call("GET", path, None).await;
        assert!(e.is_object(), "a JSON error for {path}: {e}");
        assert_eq!((status, e["field"].as_str()), (422, Some(field)), "{path}: {e}");
        assert!(e["error"].as_str().unwrap().contains("NUL"), "{e}");
    }

    // NUL in a path parameter: nothing stored has such an id, so 404 naming it.
    for (method, path, field) in [
        ("GET", "/api/v1/workflows/%00", "id"),
        ("GET", "/api/v1/workflows/a%00b", "id"),
        ("POST", "/api/v1/workflows/%00/cancel", "id"),
        ("POST", "/api/v1/workflows/%00/retry", "id"),
        ("GET", "/api/v1/jobs/%00", "id"),
        ("POST", "/api/v1/jobs/1%00/retry", "id"),
        ("DELETE", "/api/v1/dlq/%00", "id"),
        ("POST", "/api/v1/schedules/%00/pause", "id"),
        ("DELETE", "/api/v1/schedules/%00", "id"),
        ("DELETE", "/api/v1/workflow-templates/%00", "id"),
        ("POST", "/api/v1/workflow-templates/%00/run", "id"),
        ("POST", "/api/v1/queues/%00/pause", "name"),
    ] {
        let (status, e) = api.call(method, path, None).await;
        assert!(e.is_object(), "a JSON error for {method} {path}: {e}");
        assert_eq!((status, e["field"].as_str()), (404, Some(field)), "{method} {path}: {e}");
    }
    let (status, e) = api.call("PATCH", "/api/v1/queues/%00", Some(json!({"paused": true}).to_string())).await;
    assert_eq!((status, e["field"].as_str()), (404, Some("name")), "{e}");
    // Not valid UTF-8 once decoded: a JSON 400 naming the parameter, not axum's text.
    let (status, e) = api.call("GET", "/api/v1/workflows/%FF", None).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("id")), "{e}");

    // The same checks cover a schedule's name and its job template.
    let (status, e) = api
        .post(
            "/api/v1/schedules",
            json!({"name": "n", "cron": "0 * * * *", "job": {"kind": "noop", "payload": {"x": "\u{0}"}}}),
        )
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("job.payload.x")), "{e}");
    let (status, e) =
        api.post("/api/v1/schedules", json!({"name": "n\u{0}", "cron": "0 * * * *", "job": {"kind": "noop"}})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("name")), "{e}");
    let (status, e) =
        api.post("/api/v1/schedules", json!({"name": "n", "cron": "0 * * * *", "job": {"kind": 1}})).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("job.kind")), "{e}");
    let with_run_at = json!({"name": "n", "cron": "0 * * * *", "job": {"kind": "noop", "run_at": 5}});
    let (status, e) = api.post("/api/v1/schedules", with_run_at).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("job.run_at")), "{e}");
    // A payload no fire could enqueue is refused now, not dropped at each fire.
    let big =
        json!({"name": "big", "cron": "0 * * * *", "job": {"kind": "noop", "payload": {"x": "x".repeat(300 * 1024)}}});
    let (status, e) = api.post("/api/v1/schedules", big).await;
    assert_eq!((status, e["field"].as_str()), (413, Some("job.payload")), "{e}");
    let (_, schedules) = api.call("GET", "/api/v1/schedules", None).await;
    assert_eq!(schedules, json!([]), "nothing refused was saved");
    db
}

/// MeetMind's own job kinds run interview work (scorecards, report emails):
/// no API caller may enqueue them, by any of the four doors.
async fn internal_kinds_are_refused_at_every_entry(db: TestDb) -> TestDb {
    let api = Api::new(&db).await;
    let scorecard = json!({"kind": "interview.scorecard", "payload": {"interview_id": "x"}});
    let (status, body) = api.post("/api/v1/jobs", scorecard.clone()).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("kind")), "{body}");
    let (status, body) = api.post("/api/v1/jobs", json!([{"kind": "noop"}, scorecard])).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("jobs[1].kind")), "{body}");
    let wf = json!({"name": "w", "jobs": [{"key": "a", "kind": "noop"}, {"key": "b", "kind": "interview.email", "depends_on": ["a"]}]});
    let (status, body) = api.post("/api/v1/workflows", wf.clone()).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("jobs[1].kind")), "{body}");
    let (status, body) = api.post("/api/v1/workflow-templates", json!({"name": "t", "spec": wf})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("jobs[1].kind")), "{body}");
    let (status, body) = api
        .post("/api/v1/schedules", json!({"name": "s", "cron": "0 * * * *", "job": {"kind": "interview.purge"}}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("job.kind")), "{body}");
    let (_, jobs) = api.call("GET", "/api/v1/jobs?kind=interview.scorecard", None).await;
    assert_eq!(jobs["jobs"], json!([]), "nothing was enqueued");
    db
}

both_backends!(
    internal_kinds_are_refused_at_every_entry,
    query_and_path_errors_name_the_parameter,
    submission_and_its_errors,
    listing_detail_cancel_retry_and_the_dlq,
    queues_pause_resume_and_policies,
    workflows_over_rest,
);
