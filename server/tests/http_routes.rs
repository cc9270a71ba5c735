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
        .oneshot(Request::get("/metrics").header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap())
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
