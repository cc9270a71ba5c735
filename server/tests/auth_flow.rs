//! Accounts end to end through the service and the HTTP layer, on both
//! databases: setup link, sign-in throttling, session expiry on an injected
//! clock, user administration with its audit trail, and token revocation.

#[macro_use]
mod common;

use std::sync::Arc;

use app::{
    auth::{AppError, NewUser, Principal, UserRole},
    services::{AuthService, RequestMeta},
};
use axum::{body::Body, http::Request};
use common::TestDb;
use meetmind::clock::{Clock, ManualClock};
use tower::ServiceExt;

const T0: i64 = 1_800_000_000_000;

fn meta(ip: &str) -> RequestMeta {
    RequestMeta { client_ip: ip.into(), https: false, session_hash: None }
}

fn new_user(email: &str, role: UserRole) -> NewUser {
    NewUser { email: email.into(), name: "Someone".into(), role, password: "correct horse battery".into() }
}

async fn status(app: &axum::Router, path: &str, header: (&str, &str)) -> u16 {
    let req = Request::get(path).header(header.0, header.1).body(Body::empty()).unwrap();
    app.clone().oneshot(req).await.unwrap().status().as_u16()
}

fn cookie_of(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn setup_link_is_one_use_and_only_on_an_empty_database(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let (_, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    let first = auth.issue_setup_link().await.unwrap().expect("no users yet");
    let second = auth.issue_setup_link().await.unwrap().expect("still no users");
    assert!(!auth.setup_token_valid(&first).await.unwrap(), "a newer link retires the older one");
    assert!(auth.setup_token_valid(&second).await.unwrap());
    let weak = NewUser { password: "short".into(), ..new_user("root@example.com", UserRole::Admin) };
    assert!(
        matches!(auth.complete_setup(&second, weak, &meta("1.1.1.1")).await, Err(AppError::Invalid { ref field, .. }) if field == "password")
    );
    let session = auth
        .complete_setup(&second, new_user("root@example.com", UserRole::Interviewer), &meta("1.1.1.1"))
        .await
        .unwrap();
    assert!(session.set_cookie.contains("HttpOnly"));
    let users = db.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].role, "admin", "the setup link always creates an admin");
    assert!(users[0].password_hash.starts_with("$argon2id$"));
    assert!(auth.complete_setup(&second, new_user("x@example.com", UserRole::Admin), &meta("1.1.1.1")).await.is_err());
    assert!(auth.issue_setup_link().await.unwrap().is_none(), "no link once an account exists");
    db
}

async fn setup_links_expire(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let (_, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    let link = auth.issue_setup_link().await.unwrap().unwrap();
    clock.advance_ms(meetmind::auth::service::SETUP_LINK_TTL_MS);
    assert!(!auth.setup_token_valid(&link).await.unwrap());
    assert!(auth.complete_setup(&link, new_user("a@example.com", UserRole::Admin), &meta("1.1.1.1")).await.is_err());
    db
}

async fn sign_in_is_throttled_per_account(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let (_, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    auth.add_user("test", new_user("ada@example.com", UserRole::Interviewer)).await.unwrap();
    for _ in 0..5 {
        let e = auth.login("ada@example.com", "wrong password!", &meta("10.0.0.1")).await.err().unwrap();
        assert!(matches!(e, AppError::Invalid { .. }), "{e:?}");
    }
    // Even the right password waits now, from another address too.
    let e = auth.login("ADA@example.com", "correct horse battery", &meta("10.0.0.2")).await.err().unwrap();
    assert_eq!(e, AppError::RateLimited { retry_after_secs: 900 });
    assert!(e.to_string().contains("try again in 900 s"));
    clock.advance_ms(15 * 60_000);
    assert!(auth.login("ada@example.com", "correct horse battery", &meta("10.0.0.2")).await.is_ok());
    db
}

/// Attempts in flight at once are counted before any password is checked, so
/// a burst cannot get more guesses than the limit (5 per account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_get_no_more_guesses_than_the_limit() {
    let db = TestDb::sqlite().await.migrated().await;
    let clock = ManualClock::at(T0);
    let (_, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    auth.add_user("test", new_user("ada@example.com", UserRole::Interviewer)).await.unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(30));
    let attempts: Vec<_> = (0..30)
        .map(|_| {
            let (auth, start) = (auth.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let m = meta("10.0.0.1");
                auth.login("ada@example.com", "wrong password!", &m).await
            })
        })
        .collect();
    let (mut invalid, mut limited) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Err(AppError::Invalid { .. }) => invalid += 1,
            Err(AppError::RateLimited { .. }) => limited += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
            Ok(_) => panic!("a wrong password signed in"),
        }
    }
    assert!(invalid <= 5, "{invalid} of 30 concurrent guesses were checked; the limit is 5");
    assert_eq!((invalid, limited), (5, 25));
    // The account is locked for everyone now, the right password too.
    let e = auth.login("ada@example.com", "correct horse battery", &meta("10.0.0.2")).await.err().unwrap();
    assert!(matches!(e, AppError::RateLimited { .. }), "{e:?}");
    db.finish().await;
}

async fn sessions_expire_when_idle_and_when_old(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    auth.add_user("test", new_user("ada@example.com", UserRole::Interviewer)).await.unwrap();
    let s = auth.login("ada@example.com", "correct horse battery", &meta("10.0.0.1")).await.unwrap();
    let cookie = cookie_of(&s.set_cookie);
    assert_eq!(status(&app, "/api/v1/me", ("cookie", &cookie)).await, 200);
    // Active every 11 hours: the idle limit (12 h) never trips...
    for _ in 0..20 {
        clock.advance_ms(11 * 3_600_000);
        if clock.now_ms() - T0 >= 7 * 86_400_000 {
            break;
        }
        assert_eq!(status(&app, "/api/v1/me", ("cookie", &cookie)).await, 200);
    }
    // ...but the absolute limit (7 days) does.
    assert_eq!(status(&app, "/api/v1/me", ("cookie", &cookie)).await, 401);

    let s = auth.login("ada@example.com", "correct horse battery", &meta("10.0.0.1")).await.unwrap();
    let cookie = cookie_of(&s.set_cookie);
    clock.advance_ms(12 * 3_600_000);
    assert_eq!(status(&app, "/api/v1/me", ("cookie", &cookie)).await, 401, "idle for 12 h");
    db
}

async fn admins_manage_users_and_the_audit_log_records_it(db: TestDb) -> TestDb {
    let clock = ManualClock::at(T0);
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    let admin_view = auth.add_user("cli", new_user("boss@example.com", UserRole::Admin)).await.unwrap();
    let boss = Principal::User(app::auth::Me {
        id: admin_view.id.clone(),
        email: admin_view.email.clone(),
        name: admin_view.name.clone(),
        role: UserRole::Admin,
    });
    let iv = auth.create_user(&boss, new_user("Ivy@Example.com", UserRole::Interviewer)).await.unwrap();
    assert_eq!(iv.email, "ivy@example.com");
    let dup = auth.create_user(&boss, new_user("ivy@example.com", UserRole::Interviewer)).await.unwrap_err();
    assert!(matches!(dup, AppError::Invalid { ref field, .. } if field == "email"));
    assert!(auth.set_user_disabled(&boss, &admin_view.id, true).await.is_err(), "no self-lockout");

    let s = auth.login("ivy@example.com", "correct horse battery", &meta("10.0.0.1")).await.unwrap();
    let cookie = cookie_of(&s.set_cookie);
    assert_eq!(status(&app, "/api/v1/users", ("cookie", &cookie)).await, 403);
    auth.set_user_role(&boss, &iv.id, UserRole::Admin).await.unwrap();
    assert_eq!(status(&app, "/api/v1/users", ("cookie", &cookie)).await, 200, "re-roled at once");
    auth.set_user_disabled(&boss, &iv.id, true).await.unwrap();
    assert_eq!(status(&app, "/api/v1/me", ("cookie", &cookie)).await, 401, "disabling ends sessions");
    assert!(auth.login("ivy@example.com", "correct horse battery", &meta("10.0.0.1")).await.is_err());

    let log = auth.audit_log(&boss, 50).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.disable", "user.role", "user.create", "user.create"]);
    assert!(log.iter().all(|e| !e.detail.contains("correct horse")), "no secrets in the audit log");
    assert_eq!(log[0].actor, "boss@example.com");
    let iv_principal =
        Principal::User(app::auth::Me { id: iv.id, email: iv.email, name: iv.name, role: UserRole::Interviewer });
    assert_eq!(auth.audit_log(&iv_principal, 10).await.unwrap_err(), AppError::Forbidden);
    db
}

async fn revoked_tokens_stop_working(db: TestDb) -> TestDb {
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let created = auth.add_token("cli", "deploy", "admin").await.unwrap();
    let bearer = format!("Bearer {}", created.secret);
    assert_eq!(status(&app, "/api/v1/users", ("authorization", &bearer)).await, 200);
    let stored = db.store.list_tokens().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token_hash, created.secret, "only the hash is stored");
    assert!(stored[0].last_used_at.is_some());
    assert!(
        matches!(auth.add_token("cli", "x", "jobs:delete").await, Err(AppError::Invalid { ref field, .. }) if field == "scopes")
    );
    let admin = Principal::Token { id: created.token.id.clone(), name: "deploy".into(), scopes: vec!["admin".into()] };
    auth.revoke_token(&admin, &created.token.id).await.unwrap();
    assert_eq!(status(&app, "/api/v1/users", ("authorization", &bearer)).await, 401);
    assert_eq!(status(&app, "/api/v1/users", ("authorization", "Bearer mm_forged")).await, 401);
    db
}

/// A server function's argument holding a NUL character (which PostgreSQL's
/// text cannot store) is the field's 422, before any handler or query runs,
/// whoever calls, whether the arguments are form-encoded or JSON.
async fn server_function_arguments_with_a_nul_are_the_fields_422(db: TestDb) -> TestDb {
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let admin = common::signed_in(&auth, "admin@example.com", UserRole::Admin).await;
    let call = |path: &str, ctype: &str, body: String, cookie: Option<&str>| {
        let mut req = axum::http::Request::post(path)
            .header("host", "meetmind.test")
            .header("origin", "http://meetmind.test")
            .header("content-type", ctype);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let req = req.body(axum::body::Body::from(body)).unwrap();
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (status, serde_json::from_slice::<AppError>(&bytes).ok())
        }
    };
    let form = "application/x-www-form-urlencoded";
    let field = |f: &str| Some(AppError::invalid(f, format!("{f} must not contain a NUL character")));
    // Signed out: the sign-in form.
    assert_eq!(
        call("/api/login", form, "email=ada%00%40example.com&password=x".into(), None).await,
        (422, field("email"))
    );
    // An admin's server functions, form-encoded and JSON.
    let body = "email=new%40example.com&name=Ne%00w&role=interviewer&password=long+enough+password".to_string();
    assert_eq!(call("/api/users_create", form, body, Some(&admin)).await, (422, field("name")));
    let json = serde_json::json!({"id": "u\u{0}", "role": "admin"}).to_string();
    assert_eq!(call("/api/users_set_role", "application/json", json, Some(&admin)).await, (422, field("id")));
    let json = serde_json::json!({"new": {"title": "T\u{0}", "role": "r", "candidate_name": "c", "candidate_email": "c@x.co"}});
    let (status, e) = call("/api/interview_create", "application/json", json.to_string(), Some(&admin)).await;
    assert_eq!((status, e), (422, field("new.title")));
    assert!(db.store.list_users().await.unwrap().iter().all(|u| u.email != "new@example.com"), "nothing was written");
    // Arguments that do not decode are refused naming the field, before the handler runs.
    let named = |e: Option<AppError>| match e {
        Some(AppError::Invalid { field, .. }) => field,
        other => format!("{other:?}"),
    };
    for (path, body, want) in [
        ("/api/interview_pause", r#"{"id": "x", "paused": "yes"}"#, "paused"),
        ("/api/interview_pause", r#"{"paused": true}"#, "id"),
        (
            "/api/interview_append",
            r#"{"id": "x", "segments": [{"client_id": "c", "speaker": "robot", "text": "t", "start_ms": 0, "end_ms": 1}]}"#,
            "segments[0].speaker",
        ),
        ("/api/users_set_disabled", "id=u1&disabled=true", "request"),
    ] {
        let (status, e) = call(path, "application/json", body.to_string(), Some(&admin)).await;
        assert_eq!((status, named(e)), (422, want.to_string()), "{path} {body}");
    }
    // The text "%00" (sent as %2500) is not a NUL: the call goes through.
    let body = "email=new%40example.com&name=100%2500&role=interviewer&password=long+enough+password".to_string();
    assert_eq!(call("/api/users_create", form, body, Some(&admin)).await.0, 200);
    // An email no account can have is refused before the limiter counts it or a query runs.
    let long = format!("{}@example.com", "a".repeat(1 << 16));
    assert!(matches!(
        auth.login(&long, "wrong password!", &meta("10.0.0.9")).await,
        Err(AppError::Invalid { ref field, .. }) if field == "email"
    ));
    db
}

both_backends!(
    server_function_arguments_with_a_nul_are_the_fields_422,
    setup_link_is_one_use_and_only_on_an_empty_database,
    setup_links_expire,
    sign_in_is_throttled_per_account,
    sessions_expire_when_idle_and_when_old,
    admins_manage_users_and_the_audit_log_records_it,
    revoked_tokens_stop_working,
);
