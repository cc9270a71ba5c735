//! What the admin pages rely on beyond the job API: workflow templates
//! (saved after every workflow check, replaced by name, run again) and the
//! cron preview the schedule form shows as the user types.

#[macro_use]
mod common;

use std::sync::Arc;

use common::TestDb;
use serde_json::{json, Value};

async fn serve(db: &TestDb) -> (String, String, String) {
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(meetmind::clock::SystemClock));
    let admin = auth.add_token("test", "ops", "admin").await.unwrap().secret;
    let reader = auth.add_token("test", "svc", "workflows:read").await.unwrap().secret;
    let base = common::listen(app).await;
    (base, admin, reader)
}

fn diamond(name: &str) -> Value {
    json!({"name": name, "jobs": [
        {"key": "a", "kind": "noop"},
        {"key": "b", "kind": "noop", "depends_on": ["a"]},
        {"key": "c", "kind": "noop", "depends_on": ["a"], "on_parent_failure": "continue"},
        {"key": "d", "kind": "noop", "depends_on": ["b", "c"]},
    ]})
}

async fn templates_are_checked_saved_by_name_and_run(db: TestDb) -> TestDb {
    let (base, admin, reader) = serve(&db).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/api/v1/workflow-templates");

    // The same checks as a submitted workflow: a cycle, an unknown kind.
    let mut cyclic = diamond("loop");
    cyclic["jobs"][0]["depends_on"] = json!(["d"]);
    let r = http.post(&url).bearer_auth(&admin).json(&json!({"name": "loop", "spec": cyclic})).send().await.unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("cycle"), "{body}");
    let mut unknown = diamond("bad");
    unknown["jobs"][1]["kind"] = json!("no_such_kind");
    let r = http.post(&url).bearer_auth(&admin).json(&json!({"name": "bad", "spec": unknown})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "jobs[1].kind");
    let r = http.post(&url).bearer_auth(&admin).json(&json!({"name": " ", "spec": diamond("x")})).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "name");
    let r = http
        .post(&url)
        .bearer_auth(&reader)
        .json(&json!({"name": "diamond", "spec": diamond("x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "saving needs workflows:write");

    // Saved, then replaced by name (same id), listed once.
    let r = http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"name": "diamond", "spec": diamond("v1")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    let r = http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({"name": "diamond", "spec": diamond("v2")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    let list: Vec<Value> = http.get(&url).bearer_auth(&reader).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["spec"]["name"], "v2");
    assert_eq!(list[0]["spec"]["jobs"][2]["on_parent_failure"], "continue");

    // Run it: a new workflow with the template's four jobs and edges.
    let id = first["id"].as_str().unwrap();
    let r = http.post(format!("{url}/{id}/run")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let run: Value = r.json().await.unwrap();
    let wf: Value = http
        .get(format!("{base}/api/v1/workflows/{}", run["id"].as_str().unwrap()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wf["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(wf["edges"].as_array().unwrap().len(), 4);
    assert_eq!(wf["name"], "v2");

    let r = http.delete(format!("{url}/{id}")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = http.post(format!("{url}/{id}/run")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(r.status(), 404);
    db
}

async fn the_cron_preview_lists_five_fires_or_names_the_field(db: TestDb) -> TestDb {
    let (base, admin, _) = serve(&db).await;
    let http = reqwest::Client::new();
    let preview = |q: &'static str| http.get(format!("{base}/api/v1/schedules/preview?{q}")).bearer_auth(&admin).send();
    let r = preview("cron=0%20*%20*%20*%20*&timezone=Europe/Paris").await.unwrap();
    assert_eq!(r.status(), 200);
    let next: Vec<i64> = serde_json::from_value(r.json::<Value>().await.unwrap()["next_ms"].clone()).unwrap();
    assert_eq!(next.len(), 5);
    assert!(next.windows(2).all(|w| w[1] - w[0] == 3_600_000), "hourly: {next:?}");
    assert!(next.iter().all(|t| t % 3_600_000 == 0));
    let r = preview("cron=61%20*%20*%20*%20*").await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "cron");
    let r = preview("cron=0%20*%20*%20*%20*&timezone=Mars/Base").await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "timezone");
    db
}

/// Workflows created in one millisecond (a frozen clock) all appear, each
/// once, across pages: the cursor carries the id as well as the time.
async fn pages_of_workflows_skip_none_created_in_the_same_millisecond(db: TestDb) -> TestDb {
    let clock = meetmind::clock::ManualClock::at(1_800_000_000_000);
    let (app, auth) = common::app_with_auth(db.store.clone(), Arc::new(clock));
    let admin = auth.add_token("test", "ops", "admin").await.unwrap().secret;
    let base = common::listen(app).await;
    let http = reqwest::Client::new();
    let mut submitted = Vec::new();
    for i in 0..5 {
        let r = http
            .post(format!("{base}/api/v1/workflows"))
            .bearer_auth(&admin)
            .json(&diamond(&format!("w{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        submitted.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut url = format!("{base}/api/v1/workflows?limit=2");
    for _ in 0..5 {
        let page: Value = http.get(&url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        seen.extend(page["workflows"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{base}/api/v1/workflows?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut expected = submitted.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every workflow once: {seen:?}");
    let bad = http.get(format!("{base}/api/v1/workflows?cursor=yesterday")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "cursor");
    db
}

both_backends!(multi_thread;
    templates_are_checked_saved_by_name_and_run,
    the_cron_preview_lists_five_fires_or_names_the_field,
    pages_of_workflows_skip_none_created_in_the_same_millisecond,
);
