//! The interviews REST API as an ATS would use it: token scopes, the JSON
//! errors, idempotent batches, search and Ask, the candidate's room without
//! credentials, and the live SSE stream (which never shows a candidate the
//! suggestions).

#[macro_use]
mod common;

use std::{sync::Arc, time::Duration};

use app::auth::UserRole;
use axum::{body::Body, http::Request, Router};
use common::TestDb;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    app: Router,
}

impl Api {
    async fn call(&self, method: &str, path: &str, auth: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(path).header("host", "meetmind.test");
        if let Some(a) = auth {
            req = if a.starts_with("mm_session=") {
                req.header("cookie", a).header("origin", "http://meetmind.test")
            } else {
                req.header("authorization", format!("Bearer {a}"))
            };
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        let res = self.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())),
        )
    }
}

fn new_interview(owner: Option<&str>) -> Value {
    let mut v = json!({
        "title": "Backend — Alex", "role": "Senior Backend Engineer", "candidate_name": "Alex Rivera",
        "candidate_email": "alex@example.com", "template": "backend_engineer",
    });
    if let Some(o) = owner {
        v["owner_email"] = json!(o);
    }
    v
}

async fn an_ats_drives_an_interview_with_scoped_tokens(db: TestDb) -> TestDb {
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let api = Api { app };
    let owner = common::signed_in(&auth, "owner@example.com", UserRole::Interviewer).await;
    let stranger = common::signed_in(&auth, "stranger@example.com", UserRole::Interviewer).await;
    let writer = auth.add_token("test", "ats", "interviews:read,interviews:write").await.unwrap().secret;
    let reader = auth.add_token("test", "bi", "interviews:read").await.unwrap().secret;
    let jobs = auth.add_token("test", "svc", "jobs:read").await.unwrap().secret;

    let (status, e) = api.call("POST", "/api/v1/interviews", Some(&writer), Some(new_interview(None))).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("owner_email")), "{e}");
    let (status, e) =
        api.call("POST", "/api/v1/interviews", Some(&reader), Some(new_interview(Some("owner@example.com")))).await;
    assert_eq!(status, 403, "{e}");
    assert_eq!(api.call("GET", "/api/v1/interviews", Some(&jobs), None).await.0, 403);
    let (status, e) = api.call("POST", "/api/v1/interviews", Some(&writer), Some(json!({"title": "x"}))).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["field"], "role", "the first missing field, by name: {e}");
    // A value of the wrong type names its field, never the value serde quotes.
    let mut wrong = new_interview(Some("owner@example.com"));
    wrong["duration_min"] = json!(-5);
    let (status, e) = api.call("POST", "/api/v1/interviews", Some(&writer), Some(wrong)).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("duration_min")), "{e}");
    // PostgreSQL's text cannot hold NUL: the field's 422, before the database.
    let mut nul = new_interview(Some("owner@example.com"));
    nul["title"] = json!("Backend\u{0} — Alex");
    let (status, e) = api.call("POST", "/api/v1/interviews", Some(&writer), Some(nul)).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("title")), "{e}");
    // Query and path errors are JSON naming the parameter, like body errors.
    let (status, e) = api.call("GET", "/api/v1/search", Some(&reader), None).await;
    assert!(e.is_object(), "a JSON error, not axum's text: {e}");
    assert_eq!((status, e["field"].as_str()), (422, Some("q")), "{e}");
    let (status, e) = api.call("GET", "/api/v1/search?q=%00", Some(&reader), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("q")), "{e}");
    let (status, e) = api.call("GET", "/api/v1/interviews?q=x%00", Some(&reader), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("q")), "{e}");
    let (status, e) = api.call("GET", "/api/v1/interviews/%FF", Some(&reader), None).await;
    assert!(e.is_object(), "a JSON error, not axum's text: {e}");
    assert_eq!((status, e["field"].as_str()), (400, Some("id")), "{e}");
    let (status, e) = api.call("GET", "/api/v1/interviews/%00", Some(&reader), None).await;
    assert!(e.is_object(), "{e}");
    assert_eq!((status, e["field"].as_str()), (404, Some("id")), "an id with NUL cannot exist: {e}");
    let (status, e) = api.call("GET", "/api/v1/room/%00", None, None).await;
    assert_eq!((status, e["field"].as_str()), (404, Some("token")), "{e}");
    let (status, created) =
        api.call("POST", "/api/v1/interviews", Some(&writer), Some(new_interview(Some("owner@example.com")))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["interview"]["id"].as_str().unwrap().to_string();
    let room_token = created["link"]["candidate_token"].as_str().unwrap().to_string();

    assert_eq!(
        api.call("POST", &format!("/api/v1/interviews/{id}/start"), Some(&writer), Some(json!({}))).await.0,
        200
    );
    let batch = json!({"segments": [
        {"client_id": "s1", "speaker": "interviewer", "text": "How did you move the pipeline onto Kafka?", "start_ms": 0, "end_ms": 4000},
        {"client_id": "s2", "speaker": "candidate", "text": "We sized Kafka partitions by consumer lag and made consumers idempotent.", "start_ms": 5000, "end_ms": 12000}
    ]});
    let (status, first) =
        api.call("POST", &format!("/api/v1/interviews/{id}/segments"), Some(&writer), Some(batch.clone())).await;
    assert_eq!(status, 200, "{first}");
    let (_, again) = api.call("POST", &format!("/api/v1/interviews/{id}/segments"), Some(&writer), Some(batch)).await;
    assert_eq!(first, again, "a retried batch returns the same segments");
    let long = json!({"segments": [{"client_id": "s3", "speaker": "candidate", "text": "x".repeat(10_001), "start_ms": 0, "end_ms": 1}]});
    let (status, e) = api.call("POST", &format!("/api/v1/interviews/{id}/segments"), Some(&writer), Some(long)).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("segments[0].text")), "{e}");
    let nul = json!({"segments": [{"client_id": "s3", "speaker": "candidate", "text": "a\u{0}b", "start_ms": 0, "end_ms": 1}]});
    let (status, e) = api.call("POST", &format!("/api/v1/interviews/{id}/segments"), Some(&writer), Some(nul)).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("segments[0].text")), "{e}");
    let nul = json!({"segments": [{"client_id": "s\u{0}", "speaker": "candidate", "text": "ok", "start_ms": 0, "end_ms": 1}]});
    let (status, e) = api.call("POST", &format!("/api/v1/room/{room_token}/segments"), None, Some(nul)).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("segments[0].client_id")), "{e}");
    let wrong = json!({"segments": [{"client_id": "s3", "speaker": "candidate", "text": "ok", "start_ms": "soon", "end_ms": 1}]});
    let (status, e) = api.call("POST", &format!("/api/v1/interviews/{id}/segments"), Some(&writer), Some(wrong)).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("segments[0].start_ms")), "{e}");
    let (_, t) = api.call("GET", &format!("/api/v1/interviews/{id}/segments"), Some(&reader), None).await;
    assert_eq!(t.as_array().unwrap().len(), 2);

    let (status, hits) =
        api.call("GET", &format!("/api/v1/interviews/{id}/search?q=kafka%20partitions"), Some(&reader), None).await;
    assert_eq!(status, 200);
    let (status, e) = api.call("GET", &format!("/api/v1/interviews/{id}/search"), Some(&reader), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("q")), "{e}");
    let (status, e) = api
        .call("POST", &format!("/api/v1/interviews/{id}/ask"), Some(&reader), Some(json!({"question": "why\u{0}?"})))
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("question")), "{e}");
    assert_eq!(hits[0]["segment"]["client_id"], "s2", "{hits}");
    let (status, answer) = api
        .call(
            "POST",
            &format!("/api/v1/interviews/{id}/ask"),
            Some(&reader),
            Some(json!({"question": "what about Kafka?"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(!answer["citations"].as_array().unwrap().is_empty());

    // People: the owner (an interviewer) reaches it; another interviewer does not.
    assert_eq!(api.call("GET", &format!("/api/v1/interviews/{id}"), Some(&owner), None).await.0, 200);
    assert_eq!(api.call("GET", &format!("/api/v1/interviews/{id}"), Some(&stranger), None).await.0, 404);
    assert_eq!(api.call("GET", &format!("/api/v1/interviews/{id}/export"), Some(&owner), None).await.0, 403);

    // The room needs no credentials but its token, and refuses a wrong one with JSON.
    let (status, room) = api.call("GET", &format!("/api/v1/room/{room_token}"), None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        room["segments"].as_array().unwrap().len(),
        1,
        "the candidate sees their own segment, not the interviewer's"
    );
    let (status, e) = api.call("GET", "/api/v1/room/not-a-token", None, None).await;
    assert_eq!(status, 404);
    assert!(e["error"].as_str().unwrap().contains("not valid"), "{e}");

    let (status, ended) =
        api.call("POST", &format!("/api/v1/interviews/{id}/end"), Some(&writer), Some(json!({}))).await;
    assert_eq!((status, ended["state"].as_str()), (200, Some("completed")));
    assert!(ended["workflow_id"].is_string());
    let (_, detail) = api.call("GET", &format!("/api/v1/interviews/{id}"), Some(&reader), None).await;
    assert_eq!(detail["workflow"].as_array().unwrap().len(), 6);
    assert_eq!(
        api.call("GET", &format!("/api/v1/interviews/{id}/report"), Some(&reader), None).await.0,
        404,
        "not written yet"
    );
    db
}

both_backends!(multi_thread; an_ats_drives_an_interview_with_scoped_tokens);

/// Reads SSE lines until one of `names` arrives (or the time is up).
async fn read_until(res: &mut reqwest::Response, names: &[&str], secs: u64) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut buf = String::new();
    while tokio::time::Instant::now() < deadline {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_millis(300), res.chunk()).await else { continue };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        for line in buf.lines() {
            if let Some(n) = line.strip_prefix("event: ") {
                seen.push(n.to_string());
            }
        }
        buf.clear();
        if names.iter().all(|n| seen.iter().any(|s| s == n)) {
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_streams_carry_segments_and_suggestions_to_staff_only() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let writer = auth.add_token("test", "ats", "interviews:read,interviews:write").await.unwrap().secret;
    common::signed_in(&auth, "owner@example.com", UserRole::Interviewer).await;
    let base = common::listen(app).await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/api/v1/interviews"))
        .bearer_auth(&writer)
        .json(&new_interview(Some("owner@example.com")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["interview"]["id"].as_str().unwrap().to_string();
    let token = created["link"]["candidate_token"].as_str().unwrap().to_string();
    http.post(format!("{base}/api/v1/interviews/{id}/start")).bearer_auth(&writer).send().await.unwrap();
    http.post(format!("{base}/api/v1/room/{token}/consent")).send().await.unwrap();

    let mut staff =
        http.get(format!("{base}/api/v1/interviews/{id}/events")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(staff.headers()["content-type"], "text/event-stream");
    let mut candidate = http.get(format!("{base}/api/v1/room/{token}/events")).send().await.unwrap();
    let hello = read_until(&mut candidate, &["hello"], 5).await;
    assert!(hello.contains(&"hello".to_string()));
    read_until(&mut staff, &["hello"], 5).await;

    let answer = json!({"segments": [{"client_id": "a1", "speaker": "candidate",
        "text": "During the incident I was on call, found the retry storm and wrote the postmortem.", "start_ms": 0, "end_ms": 5000}]});
    let r = http.post(format!("{base}/api/v1/room/{token}/segments")).json(&answer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let staff_seen = read_until(&mut staff, &["segment", "suggestion_token", "suggestion"], 10).await;
    assert!(staff_seen.contains(&"segment".to_string()), "{staff_seen:?}");
    assert!(staff_seen.contains(&"suggestion".to_string()), "suggestions stream to the interviewer: {staff_seen:?}");
    // Read for the whole window (no event is named "end"): a suggestion sent
    // after the segment must be caught too, not missed by stopping early.
    let candidate_seen = read_until(&mut candidate, &["segment", "end"], 2).await;
    assert!(candidate_seen.contains(&"segment".to_string()));
    assert!(!candidate_seen.iter().any(|e| e.starts_with("suggestion")), "never to the candidate: {candidate_seen:?}");

    // Ending the link tells the open room, then closes its stream; the staff stream goes on.
    let r = http.delete(format!("{base}/api/v1/interviews/{id}/link")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(read_until(&mut candidate, &["state"], 5).await.contains(&"state".to_string()));
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match candidate.chunk().await {
                Ok(Some(c)) if String::from_utf8_lossy(&c).starts_with(':') => continue,
                Ok(Some(c)) => return Err(String::from_utf8_lossy(&c).to_string()),
                Ok(None) | Err(_) => return Ok(()),
            }
        }
    })
    .await;
    assert!(matches!(ended, Ok(Ok(()))), "the room's stream ends: {ended:?}");
    let r = http.get(format!("{base}/api/v1/room/{token}/events")).send().await.unwrap();
    assert_eq!(r.status(), 404, "and the ended link cannot open a new one");
    assert!(read_until(&mut staff, &["state"], 5).await.contains(&"state".to_string()));
    db.finish().await;
}
