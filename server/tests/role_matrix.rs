//! The role matrix: every route, page and server function, called as every
//! kind of caller, answers exactly as the access table says. Every page the
//! app renders and every server function it registers must have an entry.

mod common;

use std::sync::Arc;

use app::auth::{Principal, UserRole};
use axum::{body::Body, http::Request, Router};
use common::TestDb;
use meetmind::auth::rules::{self, Decision, Kind, RULES};
use tower::ServiceExt;

struct Caller {
    name: &'static str,
    principal: Option<Principal>,
    cookie: Option<String>,
    bearer: Option<String>,
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "no-such-id")
        .replace("{token}", "no-such-token")
        .replace("{name}", "matrix-queue")
        .replace('*', "meetmind.css")
}

async fn call(app: &Router, method: &str, path: &str, kind: Kind, caller: &Caller) -> (u16, String) {
    let mut req = Request::builder().method(method).uri(path).header("host", "meetmind.test");
    if method != "GET" {
        req = req.header("origin", "http://meetmind.test");
    }
    if let Some(c) = &caller.cookie {
        req = req.header("cookie", c);
    }
    if let Some(t) = &caller.bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match (method, kind, path.starts_with("/api/v1/")) {
        ("GET", _, _) => Body::empty(),
        (_, _, true) => {
            req = req.header("content-type", "application/json");
            Body::from("{}")
        }
        _ => {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            Body::empty()
        }
    };
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location)
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));

    let admin_cookie = common::signed_in(&auth, "admin@example.com", UserRole::Admin).await;
    let interviewer_cookie = common::signed_in(&auth, "iv@example.com", UserRole::Interviewer).await;
    let principal_of = |email: &str, role| {
        Principal::User(app::auth::Me { id: String::new(), email: email.into(), name: email.into(), role })
    };
    let token = |scopes: &str| Principal::Token {
        id: String::new(),
        name: String::new(),
        scopes: scopes.split(',').map(str::to_string).collect(),
    };
    let mut callers = vec![
        Caller { name: "anonymous", principal: None, cookie: None, bearer: None },
        Caller {
            name: "admin",
            principal: Some(principal_of("admin@example.com", UserRole::Admin)),
            cookie: Some(admin_cookie),
            bearer: None,
        },
        Caller {
            name: "interviewer",
            principal: Some(principal_of("iv@example.com", UserRole::Interviewer)),
            cookie: Some(interviewer_cookie),
            bearer: None,
        },
    ];
    for (name, scopes) in
        [("token:admin", "admin"), ("token:jobs", "jobs:read,jobs:write"), ("token:metrics", "metrics:read")]
    {
        let secret = auth.add_token("test", name, scopes).await.unwrap().secret;
        callers.push(Caller { name, principal: Some(token(scopes)), cookie: None, bearer: Some(secret) });
    }

    let mut checked = 0;
    for rule in RULES {
        let path = concrete(rule.path);
        // Sign-out ends the session it is called with: test it last.
        if rule.path == "/api/logout" {
            continue;
        }
        for caller in &callers {
            let expected = rules::decide(rule.need, caller.principal.as_ref());
            let (status, location) = call(&app, rule.method, &path, rule.kind, caller).await;
            let ok = match (expected, rule.kind) {
                (Decision::Allow, _) => {
                    ![401, 403].contains(&status) && status < 500 && !location.starts_with("/login")
                }
                (Decision::SignIn, Kind::Page) => status == 303 && location.starts_with("/login?next="),
                (Decision::SignIn, _) => status == 401,
                (Decision::Deny, _) => status == 403,
            };
            assert!(ok, "{} {} as {}: expected {expected:?}, got {status} {location}", rule.method, path, caller.name);
            checked += 1;
        }
    }
    assert!(checked > 100);

    // Sign-out: interviewers and admins may; tokens and strangers may not.
    for caller in &callers {
        let (status, _) = call(&app, "POST", "/api/logout", Kind::Api, caller).await;
        let want = match caller.name {
            "anonymous" => 401,
            "admin" | "interviewer" => 200,
            _ => 403,
        };
        assert_eq!(status, want, "logout as {}", caller.name);
    }
    // The session is gone: the cookie no longer opens admin pages.
    let (status, _) = call(&app, "GET", "/jobs", Kind::Page, &callers[1]).await;
    assert_eq!(status, 303);
    db.finish().await;
}

#[tokio::test]
async fn every_page_and_server_function_has_an_entry() {
    for listing in leptos_axum::generate_route_list(app::App) {
        let path = listing.path();
        let rule = rules::exact("GET", path).unwrap_or_else(|| panic!("page {path} has no access rule"));
        assert_eq!(rule.kind, Kind::Page, "{path}");
    }
    let mut functions = 0;
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let rule = rules::exact(method.as_str(), path)
            .unwrap_or_else(|| panic!("server function {method} {path} has no access rule"));
        assert_eq!(rule.kind, Kind::Api, "{path}");
        functions += 1;
    }
    assert!(functions >= 12, "the server functions are registered ({functions})");
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let admin = common::signed_in(&auth, "admin@example.com", UserRole::Admin).await;
    let send = |origin: Option<&str>, csrf: Option<&str>| {
        let mut req = Request::post("/api/tokens_create")
            .header("host", "meetmind.test")
            .header("cookie", &admin)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        app.clone().oneshot(req.body(Body::from("name=ci&scopes=jobs%3Aread")).unwrap())
    };
    let res = send(Some("https://evil.example"), None).await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("cross-origin"));
    assert_eq!(send(None, None).await.unwrap().status().as_u16(), 403, "no Origin and no CSRF token");
    assert_eq!(send(None, Some("wrong")).await.unwrap().status().as_u16(), 403);
    assert_eq!(send(None, Some("csrf-test")).await.unwrap().status().as_u16(), 200, "the session's CSRF token");
    assert_eq!(send(Some("http://meetmind.test"), None).await.unwrap().status().as_u16(), 200, "same origin");
    // Nothing was created by the refused requests.
    assert_eq!(db.store.list_tokens().await.unwrap().len(), 2);
    db.finish().await;
}

#[tokio::test]
async fn responses_carry_security_headers_with_a_fresh_nonce() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, _) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let res = app.clone().oneshot(Request::get("/login").body(Body::empty()).unwrap()).await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("referrer-policy"));
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_string();
    let html = String::from_utf8(axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap().to_vec()).unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the header's nonce");
    let again = app.oneshot(Request::get("/login").body(Body::empty()).unwrap()).await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(&nonce));
    db.finish().await;
}

#[tokio::test]
async fn private_answers_are_never_cached_and_https_stays_https() {
    let db = TestDb::sqlite().await.migrated().await;
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let secret = auth.add_token("cache", "root", "admin").await.unwrap().secret;
    let get = |uri: &str, bearer: bool, https: bool| {
        let mut req = Request::get(uri).header("host", "meetmind.test");
        if bearer {
            req = req.header("authorization", format!("Bearer {secret}"));
        }
        if https {
            req = req.header("x-forwarded-proto", "https");
        }
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let cache =
        |res: &axum::response::Response| res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    // A page, an API answer with data, a refusal: none may be stored.
    let page = get("/login", false, false).await.unwrap();
    assert_eq!(cache(&page).as_deref(), Some("no-store"));
    assert!(!page.headers().contains_key("strict-transport-security"), "plain HTTP gets no HSTS");
    let jobs = get("/api/v1/jobs", true, false).await.unwrap();
    assert_eq!(jobs.status().as_u16(), 200);
    assert_eq!(cache(&jobs).as_deref(), Some("no-store"));
    let refused = get("/api/v1/jobs", false, false).await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(cache(&refused).as_deref(), Some("no-store"));
    // Static files keep their own caching.
    let asset = get("/sw.js", false, false).await.unwrap();
    assert_ne!(cache(&asset).as_deref(), Some("no-store"));
    // Behind a TLS proxy, browsers are told to stay on HTTPS.
    let secure = get("/login", false, true).await.unwrap();
    assert_eq!(secure.headers()["strict-transport-security"], "max-age=31536000");
    db.finish().await;
}

#[tokio::test]
async fn a_route_without_an_entry_is_closed_to_everyone() {
    let db = TestDb::sqlite().await.migrated().await;
    let (_, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let secret = auth.add_token("test", "root", "admin").await.unwrap().secret;
    let app = Router::new()
        .route("/api/v1/forgotten", axum::routing::get(|| async { "should not be reachable" }))
        .layer(axum::middleware::from_fn_with_state(auth.clone(), meetmind::auth::middleware::guard));
    let res = app
        .oneshot(
            Request::get("/api/v1/forgotten")
                .header("authorization", format!("Bearer {secret}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 500);
    let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("no access rule"));
    db.finish().await;
}
