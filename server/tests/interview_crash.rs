//! A real `meetmind serve` process is killed (SIGKILL) while the
//! post-interview workflow's scorecard job runs; a restarted process
//! rescues the job when its lease expires and the workflow completes, down
//! to the email in the outbox. The scorecard is slowed by the provider
//! simulator so the kill lands mid-call.

#[macro_use]
mod common;

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use app::{
    auth::{Me, NewUser, Principal, UserRole},
    interviews::{Mode, NewInterview},
    services::InterviewService,
};
use meetmind::{
    clock::SystemClock,
    meetmind::demo_script,
    store::{SqliteStore, Store},
};

const BIN: &str = env!("CARGO_BIN_EXE_meetmind");

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path, db_url: &str, sim: &str, log: &str) -> Node {
    let mut cmd = Command::new(BIN);
    common::env::isolate(&mut cmd);
    let log = std::fs::File::create(dir.join(log)).unwrap();
    cmd.current_dir(dir)
        .args(["serve", "--roles", "worker,maintenance"])
        .env("DATABASE_URL", db_url)
        .env("GEMINI_API_KEY", "sim-key")
        .env("GEMINI_BASE_URL", format!("{sim}/gemini"))
        .env("MEETMIND_LLM_TIERS", "gemini")
        .env("MEETMIND_LLM_ATTEMPT_TIMEOUT_MS", "20000")
        .env("MEETMIND_JOB_LEASE_SECS", "2")
        .env("MEETMIND_SHUTDOWN_GRACE_SECS", "1")
        .env("MEETMIND_NODE_HEARTBEAT_SECS", "1")
        .env("MEETMIND_EMAIL_OUTBOX", dir.join("outbox"))
        .stdout(Stdio::null())
        .stderr(log);
    Node(cmd.spawn().expect("start meetmind serve"))
}

async fn job_state(store: &Arc<dyn Store>, workflow: &str, key: &str) -> Option<String> {
    store
        .workflow_jobs(workflow)
        .await
        .ok()?
        .into_iter()
        .find(|j| j.workflow_key.as_deref() == Some(key))
        .map(|j| j.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_the_scorecard_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}", dir.path().join("meetmind.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&db_url, 3).await.unwrap());
    store.migrate().await.unwrap();

    // The provider simulator, slow enough that the scorecard call is in flight for seconds.
    let sim = common::provider_sim().await;
    let http = reqwest::Client::new();
    http.put(format!("{sim}/_sim/faults/gemini"))
        .json(&serde_json::json!({ "latency_ms": 6000 }))
        .send()
        .await
        .unwrap();

    // An ended interview with the demo transcript; its workflow is queued, not run here.
    let llm = meetmind::llm::router::Router::new(Vec::new(), Default::default(), Arc::new(SystemClock));
    let (mm, _) = common::interviews(store.clone(), Arc::new(SystemClock), llm, dir.path().join("unused-outbox"));
    let auth = meetmind::auth::Auth::new(store.clone(), Arc::new(SystemClock), false);
    let u = auth
        .add_user(
            "test",
            NewUser {
                email: "owner@example.com".into(),
                name: "Owner".into(),
                role: UserRole::Interviewer,
                password: "correct horse battery".into(),
            },
        )
        .await
        .unwrap();
    let who = Principal::User(Me { id: u.id, email: u.email, name: u.name, role: UserRole::Interviewer });
    let new = NewInterview {
        title: "Crash test".into(),
        role: demo_script::ROLE.into(),
        candidate_name: demo_script::CANDIDATE_NAME.into(),
        candidate_email: demo_script::CANDIDATE_EMAIL.into(),
        mode: Mode::Assist,
        template: Some("backend_engineer".into()),
        rubric: None,
        plan: None,
        scheduled_at: None,
        duration_min: 45,
        shared_with: vec![],
        consent_notice: None,
        owner_email: None,
    };
    let id = mm.create(&who, new).await.unwrap().interview.id;
    mm.start(&who, &id).await.unwrap();
    let segs = common::demo_segments();
    mm.append(&who, &id, segs).await.unwrap();
    let workflow = mm.end(&who, &id).await.unwrap().workflow_id.unwrap();

    // 1. A node picks the workflow up; kill it while the scorecard runs.
    let first = serve(dir.path(), &db_url, &sim, "first.log");
    let started = Instant::now();
    while job_state(&store, &workflow, "scorecard").await.as_deref() != Some("running") {
        assert!(started.elapsed() < Duration::from_secs(30), "the scorecard never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    drop(first); // SIGKILL: no drain, the lease is left behind
    assert_eq!(job_state(&store, &workflow, "scorecard").await.as_deref(), Some("running"), "killed mid-call");
    assert!(store.get_results(&id).await.unwrap().iter().all(|r| r.kind != "scorecard"));

    // 2. The providers recover; a new node rescues the job and finishes the workflow.
    http.post(format!("{sim}/_sim/reset")).send().await.unwrap();
    let _second = serve(dir.path(), &db_url, &sim, "second.log");
    let started = Instant::now();
    loop {
        let w = store.get_workflow(&workflow).await.unwrap().unwrap();
        if w.state != "running" {
            assert_eq!(
                w.state,
                "succeeded",
                "{}",
                std::fs::read_to_string(dir.path().join("second.log")).unwrap_or_default()
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the workflow did not complete after the restart:\n{}",
            std::fs::read_to_string(dir.path().join("second.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let scorecard = store
        .workflow_jobs(&workflow)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.workflow_key.as_deref() == Some("scorecard"))
        .unwrap();
    assert!(scorecard.attempt >= 2, "the scorecard ran again after the crash: attempt {}", scorecard.attempt);
    let results = store.get_results(&id).await.unwrap();
    assert!(results.iter().any(|r| r.kind == "scorecard"));
    let summary = results.iter().find(|r| r.kind == "summary").unwrap();
    assert_eq!(summary.tier, "gemini", "the summary went through the provider after the restart");
    let mails = std::fs::read_dir(dir.path().join("outbox")).unwrap().count();
    assert_eq!(mails, 1, "the report was emailed once");
    if std::env::var("SHOW_LOGS").is_ok() {
        eprintln!("{}", std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default());
        eprintln!("{}", std::fs::read_to_string(dir.path().join("second.log")).unwrap_or_default());
    }
    store.close().await;
}
