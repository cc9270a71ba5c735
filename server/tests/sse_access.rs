//! Open event streams check their caller again while they run: a revoked
//! token, a disabled account, a demoted admin or a signed-out session loses
//! the stream within the re-check interval; a caller still allowed keeps it.

mod common;

use std::{sync::Arc, time::Duration};

use app::auth::UserRole;
use common::TestDb;
use serde_json::{json, Value};

/// The re-check interval for these tests (15 s in production).
const RECHECK: Duration = Duration::from_millis(300);
/// How long a stream may take to end once access is gone.
const END_WITHIN: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq)]
enum Outcome {
    /// The body ended cleanly.
    Ended,
    /// Reading failed (the connection broke rather than the stream ending).
    #[allow(dead_code)] // shown in failure messages
    Failed(String),
    /// Still open when the time was up.
    Open,
}

/// Reads until the body ends or `within` passes; returns how and the text read.
async fn read_for(res: &mut reqwest::Response, within: Duration) -> (Outcome, String) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Err(_) => return (Outcome::Open, text),
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => return (Outcome::Ended, text),
            Ok(Err(e)) => return (Outcome::Failed(e.to_string()), text),
        }
    }
}

/// Reads until an `event: {name}` frame arrived (or 5 s pass); returns the text.
async fn wait_for(res: &mut reqwest::Response, name: &str) -> String {
    let want = format!("event: {name}\n");
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !text.contains(&want) {
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no `{name}` frame: {other:?}; read {text:?}"),
        }
    }
    text
}

async fn serve(db: &TestDb) -> (String, Arc<meetmind::auth::Auth>) {
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    auth.set_sse_recheck(RECHECK);
    (common::listen(app).await, auth)
}

async fn user_id(db: &TestDb, email: &str) -> String {
    db.store.user_by_email(email).await.unwrap().expect("the account exists").id
}

/// Asserts the stream ends, cleanly, with the `signed-out` frame last.
async fn assert_signed_out(res: &mut reqwest::Response, what: &str) {
    let (outcome, text) = read_for(res, END_WITHIN).await;
    assert_eq!(outcome, Outcome::Ended, "{what}: the stream ends; read {text:?}");
    assert!(text.ends_with("event: signed-out\ndata: {}\n\n"), "{what}: the client is told; read {text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_loses_the_dashboard_feed() {
    let db = TestDb::sqlite().await.migrated().await;
    let (base, auth) = serve(&db).await;
    let ops = auth.add_token("test", "ops", "admin").await.unwrap();
    let keeper = auth.add_token("test", "keeper", "admin").await.unwrap().secret;
    let http = reqwest::Client::new();

    let mut feed = http.get(format!("{base}/api/v1/events")).bearer_auth(&ops.secret).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(feed.headers()["content-type"], "text/event-stream");
    wait_for(&mut feed, "hello").await;
    // Several re-checks pass while the token is good: frames keep coming.
    let (outcome, text) = read_for(&mut feed, RECHECK * 5).await;
    assert_eq!(outcome, Outcome::Open, "a valid token keeps its stream; read {text:?}");

    let r = http.delete(format!("{base}/api/v1/tokens/{}", ops.token.id)).bearer_auth(&keeper).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_signed_out(&mut feed, "revoked token").await;
    let again = http.get(format!("{base}/api/v1/events")).bearer_auth(&ops.secret).send().await.unwrap();
    assert_eq!(again.status(), 401, "and cannot open a new one");
    db.finish().await;
}

/// A browser whose stream had dropped before its session ended reconnects
/// without a valid session: EventSource cannot read a 401, so it gets the
/// `signed-out` frame in a stream of its own. Token callers and plain
/// requests still get the 401 JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_browser_reconnecting_is_told_in_its_own_terms() {
    let db = TestDb::sqlite().await.migrated().await;
    let (base, auth) = serve(&db).await;
    let cookie = common::signed_in(&auth, "ivy@example.com", UserRole::Interviewer).await;
    let http = reqwest::Client::new();
    let events = format!("{base}/api/v1/events");

    // No session at all, as EventSource asks.
    let mut res = http.get(&events).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let (outcome, text) = read_for(&mut res, END_WITHIN).await;
    assert_eq!(outcome, Outcome::Ended, "read {text:?}");
    assert_eq!(text, "event: signed-out\ndata: {}\n\n");
    // Signed in but not allowed (an interviewer on the admins' feed): the same.
    let mut res =
        http.get(&events).header("accept", "text/event-stream").header("cookie", cookie.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(read_for(&mut res, END_WITHIN).await.1, "event: signed-out\ndata: {}\n\n");

    // Without the Accept header, or with a token, the refusal is the API's.
    let plain = http.get(&events).send().await.unwrap();
    assert_eq!(plain.status(), 401);
    let token =
        http.get(&events).header("accept", "text/event-stream").bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(token.status(), 401);
    let scoped = auth.add_token("test", "reader", "jobs:read").await.unwrap().secret;
    let denied = http.get(&events).header("accept", "text/event-stream").bearer_auth(&scoped).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    db.finish().await;
}

fn new_interview(owner: &str) -> Value {
    json!({
        "title": "Backend — Alex", "role": "Senior Backend Engineer", "candidate_name": "Alex Rivera",
        "candidate_email": "alex@example.com", "template": "backend_engineer", "owner_email": owner,
    })
}

/// Creates an interview owned by `owner` over REST; returns its id.
async fn interview_for(http: &reqwest::Client, base: &str, writer: &str, owner: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/interviews"))
        .bearer_auth(writer)
        .json(&new_interview(owner))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    created["interview"]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_interviewer_loses_the_live_stream() {
    let db = TestDb::sqlite().await.migrated().await;
    let (base, auth) = serve(&db).await;
    let cookie = common::signed_in(&auth, "ivy@example.com", UserRole::Interviewer).await;
    let admin = auth.add_token("test", "ops", "admin").await.unwrap().secret;
    let writer = auth.add_token("test", "ats", "interviews:read,interviews:write").await.unwrap().secret;
    let http = reqwest::Client::new();
    let id = interview_for(&http, &base, &writer, "ivy@example.com").await;

    let mut live = http
        .get(format!("{base}/api/v1/interviews/{id}/events"))
        .header("cookie", cookie.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    wait_for(&mut live, "hello").await;
    let (outcome, text) = read_for(&mut live, RECHECK * 5).await;
    assert_eq!(outcome, Outcome::Open, "an enabled account keeps its stream; read {text:?}");

    let ivy = user_id(&db, "ivy@example.com").await;
    let r = http
        .patch(format!("{base}/api/v1/users/{ivy}"))
        .bearer_auth(&admin)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_signed_out(&mut live, "disabled account").await;
    let again = http
        .get(format!("{base}/api/v1/interviews/{id}/events"))
        .header("cookie", cookie.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401, "and cannot open a new one");
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_or_signed_out_admin_loses_the_dashboard_feed() {
    let db = TestDb::sqlite().await.migrated().await;
    let (base, auth) = serve(&db).await;
    let demoted = common::signed_in(&auth, "boss@example.com", UserRole::Admin).await;
    let leaving = common::signed_in(&auth, "leaving@example.com", UserRole::Admin).await;
    let admin = auth.add_token("test", "ops", "admin").await.unwrap().secret;
    let http = reqwest::Client::new();

    let mut a = http.get(format!("{base}/api/v1/events")).header("cookie", demoted.as_str()).send().await.unwrap();
    let mut b = http.get(format!("{base}/api/v1/events")).header("cookie", leaving.as_str()).send().await.unwrap();
    assert_eq!((a.status(), b.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
    wait_for(&mut a, "hello").await;
    wait_for(&mut b, "hello").await;

    let boss = user_id(&db, "boss@example.com").await;
    let r = http
        .patch(format!("{base}/api/v1/users/{boss}"))
        .bearer_auth(&admin)
        .json(&json!({"role": "interviewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_signed_out(&mut a, "demoted admin").await;

    // Signing out deletes the session row (what `logout` does).
    let secret = leaving.strip_prefix("mm_session=").unwrap();
    db.store.delete_session(&meetmind::auth::secret::hash_secret(secret)).await.unwrap();
    assert_signed_out(&mut b, "signed-out session").await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_still_allowed_keep_their_streams() {
    let db = TestDb::sqlite().await.migrated().await;
    let (base, auth) = serve(&db).await;
    let cookie = common::signed_in(&auth, "ivy@example.com", UserRole::Interviewer).await;
    common::signed_in(&auth, "other@example.com", UserRole::Interviewer).await;
    let admin = auth.add_token("test", "ops", "admin").await.unwrap();
    let other_token = auth.add_token("test", "other", "admin").await.unwrap();
    let writer = auth.add_token("test", "ats", "interviews:read,interviews:write").await.unwrap().secret;
    let http = reqwest::Client::new();
    let id = interview_for(&http, &base, &writer, "ivy@example.com").await;

    let mut feed = http.get(format!("{base}/api/v1/events")).bearer_auth(&admin.secret).send().await.unwrap();
    let mut live = http
        .get(format!("{base}/api/v1/interviews/{id}/events"))
        .header("cookie", cookie.as_str())
        .send()
        .await
        .unwrap();
    wait_for(&mut feed, "hello").await;
    wait_for(&mut live, "hello").await;

    // Other callers lose access; these two do not.
    let r = http
        .delete(format!("{base}/api/v1/tokens/{}", other_token.token.id))
        .bearer_auth(&admin.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let other = user_id(&db, "other@example.com").await;
    let r = http
        .patch(format!("{base}/api/v1/users/{other}"))
        .bearer_auth(&admin.secret)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // As long as the others' streams took to end, and then some.
    let (outcome, text) = read_for(&mut feed, Duration::from_secs(3)).await;
    assert_eq!(outcome, Outcome::Open, "the dashboard feed stays open; read {text:?}");
    assert!(text.contains("event: stats"), "and frames keep coming: {text:?}");
    assert!(!text.contains("signed-out"), "{text:?}");
    let (outcome, text) = read_for(&mut live, Duration::from_millis(100)).await;
    assert_eq!(outcome, Outcome::Open, "the live stream stays open; read {text:?}");
    assert!(!text.contains("signed-out"), "{text:?}");
    // And still delivers: starting the interview is a `state` frame.
    let r = http.post(format!("{base}/api/v1/interviews/{id}/start")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    wait_for(&mut live, "state").await;
    db.finish().await;
}

/// The candidate's room stream has no session to re-check: its link is
/// checked again before events go out, so a link that expired while the
/// stream stayed open hears only that it ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_room_link_hears_no_more() {
    let db = TestDb::sqlite().await.migrated().await;
    let clock = meetmind::clock::ManualClock::at(1_800_000_000_000);
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock.clone()));
    let base = common::listen(app).await;
    let writer = auth.add_token("test", "ats", "interviews:read,interviews:write").await.unwrap().secret;
    common::signed_in(&auth, "ivy@example.com", UserRole::Interviewer).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/interviews"))
        .bearer_auth(&writer)
        .json(&new_interview("ivy@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["interview"]["id"].as_str().unwrap().to_string();
    let token = created["link"]["candidate_token"].as_str().unwrap().to_string();

    let mut room = http.get(format!("{base}/api/v1/room/{token}/events")).send().await.unwrap();
    assert_eq!(room.status(), 200);
    wait_for(&mut room, "hello").await;
    // Still valid: the start reaches the candidate.
    let r = http.post(format!("{base}/api/v1/interviews/{id}/start")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    wait_for(&mut room, "state").await;

    clock.advance_ms(15 * 86_400_000);
    // Past the room's re-check interval (5 s), the next event finds the link expired.
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    let r = http.post(format!("{base}/api/v1/interviews/{id}/end")).bearer_auth(&writer).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (outcome, text) = read_for(&mut room, END_WITHIN).await;
    assert_eq!(outcome, Outcome::Ended, "read {text:?}");
    // Only that the link ended, so the room can say so; not the event itself.
    assert!(text.contains("event: state\ndata: {\"link_revoked\":true}"), "{text:?}");
    assert!(!text.contains("completed"), "nothing after expiry: {text:?}");
    db.finish().await;
}
