//! The HTTP surface in-process: operational endpoints and the rendered shell.

mod common;

use std::sync::Arc;

use axum::{body::Body, http::Request, Router};
use common::TestDb;
use meetmind::http;
use tower::ServiceExt;

fn app(db: &TestDb) -> Router {
    common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock)).0
}

async fn get(app: &Router, path: &str) -> (u16, String, String) {
    get_as(app, path, None).await
}

async fn get_as(app: &Router, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let body = axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn health_and_readiness_answer_json() {
    let db = TestDb::sqlite().await;
    let app = app(&db);
    let (status, ctype, body) = get(&app, "/healthz").await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["node"], "test-node");

    // Not migrated yet: not ready, and it says why.
    let (status, _, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["migrations"], "pending");

    db.store.migrate().await.unwrap();
    let (status, ctype, body) = get(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(ctype.starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ready");
    assert_eq!(v["backend"], "sqlite");

    // A closed pool is an unreachable database.
    db.store.close().await;
    let (status, _, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("unreachable"), "{body}");
}

#[tokio::test]
async fn metrics_count_requests_in_prometheus_text() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    get(&app, "/healthz").await;
    get(&app, "/healthz").await;
    let (status, _, _) = get(&app, "/metrics").await;
    assert_eq!(status, 401, "metrics need a token");
    let token = auth.add_token("test", "prometheus", "metrics:read").await.unwrap().secret;
    let res = app
        .clone()
        .oneshot(
            Request::get("/metrics").header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
    let body = String::from_utf8(axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"));
    assert!(body.contains("meetmind_http_requests_total{class=\"2xx\"} 2"), "{body}");
    assert!(body.contains("meetmind_http_requests_total{class=\"4xx\"} 1"), "{body}");
    assert!(body.contains("meetmind_build_info{"));
    db.finish().await;
}

#[tokio::test]
async fn pages_render_with_navigation_and_unknown_paths_are_404() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let admin = common::signed_in(&auth, "admin@example.com", app::auth::UserRole::Admin).await;
    let cookie = Some(admin.as_str());
    for (path, _, _) in app::layout::NAV {
        let (status, ctype, body) = get_as(&app, path, cookie).await;
        assert_eq!(status, 200, "{path}");
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        for (href, label, _) in app::layout::NAV {
            assert!(body.contains(&format!("href=\"{href}\"")), "{path} links {href}");
            assert!(body.contains(label), "{path} shows {label}");
        }
        assert!(body.contains("/pkg/meetmind.js"), "{path} loads the wasm bundle");
    }
    // Anonymous visitors are sent to the login page, which says where they were going.
    let (status, _, _) = get(&app, "/jobs").await;
    assert_eq!(status, 303);
    let (status, _, body) = get(&app, "/login?next=%2Fjobs").await;
    assert_eq!(status, 200);
    assert!(body.contains("Sign in"));
    let (status, _, body) = get_as(&app, "/no/such/page", cookie).await;
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"));
    db.finish().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_handlers() {
    let db = TestDb::sqlite().await.migrated().await;
    let app = app(&db);
    let big = vec![b'x'; http::MAX_BODY_BYTES + 1];
    let res = app
        .oneshot(
            Request::post("/api/anything")
                .header("content-length", big.len().to_string())
                .body(Body::from(big))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    db.finish().await;
}

/// A POST whose body streams in chunks with no Content-Length.
fn chunked_post(path: &str, token: &str, body: String) -> Request<Body> {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.as_bytes().chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap()
}

#[tokio::test]
async fn chunked_bodies_are_held_to_the_route_limit_as_they_stream() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let token = auth.add_token("test", "admin", "admin").await.unwrap().secret;
    let user = |name: String| {
        serde_json::json!({ "email": "big@example.com", "name": name, "role": "interviewer", "password": "correct horse battery" })
            .to_string()
    };

    // 1.5 MB of JSON to a 1 MB route, declaring no length: under the global
    // cap and axum's 2 MB default, so only the route's limit can refuse it.
    let big = user("x".repeat(1_500_000));
    assert!(big.len() > http::MAX_BODY_BYTES && big.len() < 2 * 1024 * 1024);
    let res = app.clone().oneshot(chunked_post("/api/v1/users", &token, big)).await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&bytes));
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(body["error"].as_str().unwrap().contains(&format!("{}-byte limit", http::MAX_BODY_BYTES)), "{body}");
    assert!(db.store.list_users().await.unwrap().is_empty(), "nothing was created");

    // A chunked body within the limit still arrives whole.
    let res = app.clone().oneshot(chunked_post("/api/v1/users", &token, user("Big Body".into()))).await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    db.finish().await;
}

#[tokio::test]
async fn batch_routes_accept_bodies_past_axums_default_limit() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let token = auth.add_token("test", "svc", "jobs:write").await.unwrap().secret;
    let blob = "x".repeat(3_000);
    let batch: Vec<serde_json::Value> =
        (0..1_000).map(|i| serde_json::json!({ "kind": "noop", "payload": { "i": i, "blob": &blob } })).collect();
    let body = serde_json::Value::Array(batch).to_string();
    // Past axum's 2 MB default, well within the batch limit.
    assert!(body.len() > 3_000_000 && body.len() < http::MAX_BATCH_BODY_BYTES);
    let res = app
        .oneshot(
            Request::post("/api/v1/jobs")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .header("content-length", body.len().to_string())
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status().as_u16();
    let out: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap()).unwrap();
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["jobs"].as_array().unwrap().len(), 1_000);
    db.finish().await;
}
