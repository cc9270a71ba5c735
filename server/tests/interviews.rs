//! MeetMind interviews end to end through the service: transcript
//! idempotency and validation, who may reach what, debounced live
//! suggestions (offline, and through the simulator with tiers failing), the
//! AI-led mode, the post-interview workflow to the emailed report, moment
//! search and Ask, and the candidate's privacy rights.

#[macro_use]
mod common;

use std::{sync::Arc, time::Duration};

use app::{
    auth::{AppError, Me, NewUser, Principal, UserRole},
    interviews::{Mode, NewInterview, NewSegment, PlannedQuestion, Speaker},
    services::InterviewService,
};
use common::TestDb;
use meetmind::{
    clock::{Clock, ManualClock, SharedClock, SystemClock},
    llm::{
        provider::{HttpProvider, Provider},
        router::{Router, RouterConfig},
    },
    meetmind::{demo_script, MeetMind},
    scheduler::{engine::Engine, runtime},
    store::Store,
};

fn offline() -> Arc<Router> {
    Router::new(Vec::new(), RouterConfig::default(), Arc::new(SystemClock))
}

async fn person(store: &Arc<dyn Store>, email: &str, role: UserRole) -> Principal {
    let auth = meetmind::auth::Auth::new(store.clone(), Arc::new(SystemClock), false);
    let u = auth
        .add_user(
            "test",
            NewUser { email: email.into(), name: email.into(), role, password: "correct horse battery".into() },
        )
        .await
        .unwrap();
    Principal::User(Me { id: u.id, email: u.email, name: u.name, role })
}

fn new_interview(mode: Mode) -> NewInterview {
    NewInterview {
        title: "Backend — Alex".into(),
        role: demo_script::ROLE.into(),
        candidate_name: demo_script::CANDIDATE_NAME.into(),
        candidate_email: demo_script::CANDIDATE_EMAIL.into(),
        mode,
        template: Some("backend_engineer".into()),
        rubric: None,
        plan: None,
        scheduled_at: None,
        duration_min: 45,
        shared_with: vec![],
        consent_notice: None,
        owner_email: None,
    }
}

fn seg(client: &str, speaker: Speaker, text: &str, start_ms: i64) -> NewSegment {
    NewSegment { client_id: client.into(), speaker, text: text.into(), start_ms, end_ms: start_ms + 4_000 }
}

fn outbox() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs the scheduler until `done` holds or the time is up.
async fn work_until<F, Fut>(engine: &Arc<Engine>, secs: u64, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let rt = tokio::spawn(runtime::run(
        engine.clone(),
        runtime::RuntimeConfig { maintenance: true, ..Default::default() },
        stop_rx,
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut ok = false;
    while tokio::time::Instant::now() < deadline {
        if done().await {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let _ = rt.await;
    ok
}

async fn transcript_is_idempotent_ordered_and_validated(db: TestDb) -> TestDb {
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), Arc::new(SystemClock), offline(), out.path().into());
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let created = mm.create(&iv, new_interview(Mode::Assist)).await.unwrap();
    let id = created.interview.id.clone();
    assert_eq!(created.interview.rubric.competencies.len(), 5, "copied from the template");

    let early = mm.append(&iv, &id, vec![seg("a", Speaker::Interviewer, "Hello", 0)]).await;
    assert!(
        matches!(early, Err(AppError::Invalid { ref field, ref message }) if field == "state" && message.contains("not live"))
    );

    mm.start(&iv, &id).await.unwrap();
    let first = mm
        .append(
            &iv,
            &id,
            vec![
                seg("b", Speaker::Candidate, "Later words", 5_000),
                seg("a", Speaker::Interviewer, "Earlier words", 1_000),
            ],
        )
        .await
        .unwrap();
    // A retried post after a network blip: same ids, no duplicates.
    let again = mm.append(&iv, &id, vec![seg("a", Speaker::Interviewer, "Earlier words", 1_000)]).await.unwrap();
    assert_eq!(again[0].id, first[1].id);
    let t = mm.transcript(&iv, &id).await.unwrap();
    assert_eq!(t.iter().map(|s| s.client_id.as_str()).collect::<Vec<_>>(), vec!["a", "b"], "ordered by offset");
    // A client id names one segment: reusing it for other words is refused, not answered with the old segment.
    let reuse = mm.append(&iv, &id, vec![seg("a", Speaker::Candidate, "Other words", 1_000)]).await;
    assert!(matches!(reuse, Err(AppError::Invalid { ref field, .. }) if field == "segments[0].client_id"), "{reuse:?}");
    let ai = mm.append(&iv, &id, vec![seg("ai-q1", Speaker::Ai, "Next question?", 2_000)]).await;
    assert!(
        matches!(ai, Err(AppError::Invalid { ref field, .. }) if field == "segments[0].client_id"),
        "the AI's ids are reserved"
    );

    let long = "x".repeat(10_001);
    match mm.append(&iv, &id, vec![seg("c", Speaker::Candidate, &long, 9_000)]).await {
        Err(AppError::Invalid { field, message }) => {
            assert_eq!(field, "segments[0].text");
            assert!(message.contains("10000"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(mm.transcript(&iv, &id).await.unwrap().len(), 2, "nothing stored from the refused batch");

    mm.end(&iv, &id).await.unwrap();
    // After the end, a retry of a stored segment still succeeds; new ones are refused.
    assert!(mm.append(&iv, &id, vec![seg("b", Speaker::Candidate, "Later words", 5_000)]).await.is_ok());
    assert!(mm.append(&iv, &id, vec![seg("d", Speaker::Candidate, "Too late", 9_000)]).await.is_err());
    db
}

async fn access_is_per_interview_and_rooms_are_per_token(db: TestDb) -> TestDb {
    let clock = ManualClock::at(1_800_000_000_000);
    let shared: SharedClock = Arc::new(clock.clone());
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), shared, offline(), out.path().into());
    let alice = person(&db.store, "alice@example.com", UserRole::Interviewer).await;
    let bob = person(&db.store, "bob@example.com", UserRole::Interviewer).await;
    let carol = person(&db.store, "carol@example.com", UserRole::Interviewer).await;
    let admin = person(&db.store, "admin@example.com", UserRole::Admin).await;
    let Principal::User(carol_me) = &carol else { unreachable!() };
    let mut new = new_interview(Mode::Assist);
    new.shared_with = vec![carol_me.id.clone()];
    let a = mm.create(&alice, new).await.unwrap();
    let other = mm.create(&bob, new_interview(Mode::Assist)).await.unwrap();
    let id = a.interview.id.clone();
    mm.start(&alice, &id).await.unwrap();
    mm.append(&alice, &id, vec![seg("1", Speaker::Candidate, "We moved the pipeline onto Kafka", 0)]).await.unwrap();

    // Bob can neither read nor search nor write Alice's interview; it looks absent.
    assert_eq!(mm.detail(&bob, &id).await.unwrap_err(), AppError::NotFound);
    assert_eq!(mm.live_detail(&bob, &id).await.unwrap_err(), AppError::NotFound);
    assert_eq!(mm.search(&bob, Some(&id), "kafka").await.unwrap_err(), AppError::NotFound);
    assert_eq!(mm.append(&bob, &id, vec![seg("2", Speaker::Candidate, "x", 1)]).await.unwrap_err(), AppError::NotFound);
    assert!(mm.search(&bob, None, "kafka").await.unwrap().is_empty(), "search across interviews skips others'");
    assert_eq!(mm.list(&bob, None).await.unwrap().len(), 1);
    // Carol, shared with, and the admin can.
    assert_eq!(mm.search(&carol, Some(&id), "kafka").await.unwrap().len(), 1);
    let all = mm.list(&admin, None).await.unwrap();
    assert_eq!(all.len(), 2);
    // Each row carries its own shares (read for the whole page at once).
    let shares_of = |iv: &str| all.iter().find(|v| v.id == iv).map(|v| v.shared_with.clone()).unwrap();
    assert_eq!(shares_of(&id), vec![carol_me.id.clone()]);
    assert!(shares_of(&other.interview.id).is_empty());
    assert_eq!(mm.list(&carol, None).await.unwrap().iter().map(|v| v.shared_with.len()).collect::<Vec<_>>(), vec![1]);
    // The list's search folds case in every script and takes the text literally.
    let mut accented = new_interview(Mode::Assist);
    accented.candidate_name = "Émilie Dupré".into();
    let accented = mm.create(&alice, accented).await.unwrap().interview.id;
    let found = mm.list(&admin, Some("émilie DUPRÉ".into())).await.unwrap();
    assert_eq!(found.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), vec![accented]);
    assert!(mm.list(&admin, Some("é.ilie".into())).await.unwrap().is_empty(), "a dot is a dot");
    assert!(mm.export(&alice, &id).await.is_err(), "export is for admins");

    // The room opens its own interview only, and shows nothing of the other.
    let room = mm.room(&a.link.candidate_token).await.unwrap();
    assert_eq!(room.title, a.interview.title);
    assert!(
        mm.room_append(&a.link.candidate_token, vec![seg("r1", Speaker::Candidate, "hi", 10)]).await.is_err(),
        "consent first"
    );
    mm.room_consent(&a.link.candidate_token).await.unwrap();
    mm.room_append(&a.link.candidate_token, vec![seg("r1", Speaker::Candidate, "My answer", 10)]).await.unwrap();
    let bad = mm.room_append(&a.link.candidate_token, vec![seg("r2", Speaker::Interviewer, "x", 11)]).await;
    assert!(bad.is_err(), "a candidate cannot speak as the interviewer");
    // Offsets the room rewrites anyway never overflow, whatever was sent.
    let wild = NewSegment { start_ms: -1, end_ms: i64::MAX, ..seg("r3", Speaker::Candidate, "Wild offsets", 0) };
    mm.room_append(&a.link.candidate_token, vec![wild]).await.unwrap();
    // A client id twice in one batch is refused whole; nothing of it is kept.
    let before = mm.transcript(&alice, &id).await.unwrap().len();
    let twice = vec![seg("d1", Speaker::Candidate, "first", 20), seg("d1", Speaker::Candidate, "second", 21)];
    match mm.room_append(&a.link.candidate_token, twice).await {
        Err(AppError::Invalid { field, .. }) => assert_eq!(field, "segments[1].client_id"),
        other => panic!("{other:?}"),
    }
    // NUL is the field's error on both drivers (PostgreSQL's text cannot hold it).
    match mm.append(&alice, &id, vec![seg("n1", Speaker::Candidate, "a\0b", 30)]).await {
        Err(AppError::Invalid { field, .. }) => assert_eq!(field, "segments[0].text"),
        other => panic!("{other:?}"),
    }
    assert_eq!(mm.transcript(&alice, &id).await.unwrap().len(), before);
    // An admin names the owner by email in any case (accounts store it lower-cased).
    let mut for_alice = new_interview(Mode::Assist);
    for_alice.owner_email = Some("ALICE@Example.com".into());
    let owned = mm.create(&admin, for_alice).await.unwrap().interview.id;
    assert!(mm.detail(&alice, &owned).await.is_ok());
    assert!(mm.room(&other.link.candidate_token).await.unwrap().segments.is_empty());
    assert!(matches!(mm.room("wrong-token").await, Err(AppError::Invalid { ref field, .. }) if field == "token"));
    clock.advance_ms(15 * 86_400_000);
    match mm.room(&a.link.candidate_token).await {
        Err(AppError::Invalid { message, .. }) => assert!(message.contains("expired")),
        other => panic!("{other:?}"),
    }
    // A fresh link works; the old one stays dead.
    let link = mm.new_link(&alice, &id).await.unwrap();
    assert!(mm.room(&link.candidate_token).await.is_ok());
    db
}

async fn a_burst_of_answers_makes_one_degraded_suggestion(db: TestDb) -> TestDb {
    let out = outbox();
    // A quiet period well above one append's round trips on a loaded CI
    // machine, so the burst is one burst however slow the database is.
    let quiet = Duration::from_millis(1_500);
    let (mm, _) = common::interviews_with_quiet(
        db.store.clone(),
        Arc::new(SystemClock),
        offline(),
        out.path().into(),
        "test-node",
        quiet,
    );
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let id = mm.create(&iv, new_interview(Mode::Assist)).await.unwrap().interview.id;
    mm.start(&iv, &id).await.unwrap();
    let mut events = mm.hub.subscribe();
    for i in 0..10 {
        let text =
            format!("Part {i}: during the incident I was on call; we watched consumer lag on Kafka and added alerts.");
        mm.append(&iv, &id, vec![seg(&format!("c{i}"), Speaker::Candidate, &text, i * 1_000)]).await.unwrap();
    }
    // The suggestion is stored, then announced: wait for the announcement.
    let mut names = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), async {
        while !names.contains(&"suggestion") {
            match events.recv().await {
                Ok(ev) => names.push(ev.name),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("the hub closed: {e}"),
            }
        }
    })
    .await
    .expect("a suggestion arrives after the quiet period");
    assert!(names.contains(&"suggestion_token"), "{names:?}");
    // A second generation would start no later than one more quiet period.
    tokio::time::sleep(quiet + Duration::from_millis(500)).await;
    let s = mm.suggestions(&iv, &id).await.unwrap();
    assert_eq!(s.len(), 1, "ten segments in a burst: one generation");
    let s = &s[0];
    assert!(s.degraded && s.tier == "offline");
    assert!(!s.follow_ups.is_empty() && s.follow_ups.len() <= 3);
    assert!(s.covered.contains(&"operations".to_string()), "{s:?}");
    assert!(!s.uncovered.is_empty());
    // The interview goes on.
    mm.append(&iv, &id, vec![seg("after", Speaker::Interviewer, "Thanks. Next question?", 60_000)]).await.unwrap();
    db
}

async fn search_ranks_the_moment_and_ask_cites_real_segments(db: TestDb) -> TestDb {
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), Arc::new(SystemClock), offline(), out.path().into());
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let id = mm.create(&iv, new_interview(Mode::Assist)).await.unwrap().interview.id;
    mm.start(&iv, &id).await.unwrap();
    let segs = common::demo_segments();
    mm.append(&iv, &id, segs).await.unwrap();
    let hits = mm.search(&iv, Some(&id), "runaway retry storm").await.unwrap();
    assert!(hits[0].segment.text.contains("retry storm"), "{:?}", hits[0].segment.text);
    assert!(hits[0].before.is_some(), "context around the moment");
    let typo = mm.search(&iv, Some(&id), "kafak partitons").await.unwrap();
    assert!(typo[0].segment.text.contains("Kafka"));
    let answer = mm.ask(&iv, &id, "When did they talk about Kafka?").await.unwrap();
    assert!(answer.degraded, "offline: the answer is the top passages");
    let ids: Vec<i64> = mm.transcript(&iv, &id).await.unwrap().iter().map(|s| s.id).collect();
    assert!(!answer.citations.is_empty() && answer.citations.iter().all(|c| ids.contains(&c.segment_id)));
    assert!(answer.answer.contains("Kafka"));
    db
}

async fn the_workflow_writes_results_and_emails_the_report(db: TestDb) -> TestDb {
    let out = outbox();
    let (mm, engine) = common::interviews(db.store.clone(), Arc::new(SystemClock), offline(), out.path().into());
    let iv = person(&db.store, "owner@example.com", UserRole::Interviewer).await;
    let id = mm.create(&iv, new_interview(Mode::Assist)).await.unwrap().interview.id;
    mm.start(&iv, &id).await.unwrap();
    let segs = common::demo_segments();
    mm.append(&iv, &id, segs).await.unwrap();
    // Two ends at once (a double click, or the AI closing as a person ends): one workflow.
    let (a, b) = tokio::join!(mm.end(&iv, &id), mm.end(&iv, &id));
    a.unwrap();
    b.unwrap();
    let ended = mm.detail(&iv, &id).await.unwrap().interview;
    let workflow = ended.workflow_id.clone().expect("workflow submitted");
    assert_eq!(db.store.list_workflows(None, 10).await.unwrap().len(), 1, "submitted once");
    // Ending twice is harmless: the same workflow.
    assert_eq!(mm.end(&iv, &id).await.unwrap().workflow_id, Some(workflow.clone()));
    let store = db.store.clone();
    let w = workflow.clone();
    let done = work_until(&engine, 60, || {
        let store = store.clone();
        let w = w.clone();
        async move { store.get_workflow(&w).await.unwrap().is_some_and(|w| w.state != "running") }
    })
    .await;
    assert!(done, "the workflow finished");
    assert_eq!(db.store.get_workflow(&workflow).await.unwrap().unwrap().state, "succeeded");

    let detail = mm.detail(&iv, &id).await.unwrap();
    assert!(detail.report_ready);
    assert_eq!(detail.workflow.len(), 6);
    // The live screen's view reads no result, and says the same.
    let live = mm.live_detail(&iv, &id).await.unwrap();
    assert_eq!((live.report_ready, &live.workflow, &live.interview), (true, &detail.workflow, &detail.interview));
    // Retention never prunes a workflow an interview links to: its page
    // lists the steps and links the report from them.
    assert_eq!(db.store.prune_workflows(i64::MAX / 2, 10).await.unwrap(), 0);
    assert_eq!(mm.detail(&iv, &id).await.unwrap().workflow.len(), 6);
    let card = detail.scorecard.expect("scorecard").scorecard;
    let ids: Vec<i64> = mm.transcript(&iv, &id).await.unwrap().iter().map(|s| s.id).collect();
    assert!(card.scores.iter().any(|s| s.level.is_some()));
    for s in &card.scores {
        assert!(s.citations.iter().all(|c| ids.contains(&c.segment_id)), "citations point at real segments: {s:?}");
    }
    let insights = detail.insights.expect("insights");
    assert!(insights.question_coverage.iter().all(|q| q.asked_at.is_some()), "the demo asks every planned question");
    let results = db.store.get_results(&id).await.unwrap();
    let scorecard_row = results.iter().find(|r| r.kind == "scorecard").unwrap();
    assert!(
        scorecard_row.prompt.as_deref().is_some_and(|p| p.contains("accent")),
        "the prompt is stored, with its guardrails"
    );
    assert_eq!(scorecard_row.tier, "offline");
    let html = mm.report(&iv, &id, false).await.unwrap();
    assert!(html.contains(&format!("/interviews/{id}/live#seg-")));
    // The email is in the outbox.
    let mails: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("owner@example.com") && mails[0].contains("Interview report"));

    // The interviewer's own decision stays separate from the AI's recommendation.
    mm.decide(&iv, &id, app::interviews::Recommendation::Yes, "Strong systems depth".into()).await.unwrap();
    let d = mm.detail(&iv, &id).await.unwrap();
    assert_eq!(d.interview.decision.unwrap().decision, app::interviews::Recommendation::Yes);
    db
}

async fn the_ai_led_mode_runs_the_plan_offline_to_the_end(db: TestDb) -> TestDb {
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), Arc::new(SystemClock), offline(), out.path().into());
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let mut new = new_interview(Mode::AiLed);
    new.plan = Some(
        ["Tell me about your current role?", "Describe an incident you handled?", "How do you review code?"]
            .iter()
            .map(|q| PlannedQuestion { text: q.to_string(), competency: None })
            .collect(),
    );
    let created = mm.create(&iv, new).await.unwrap();
    let token = created.link.candidate_token.clone();
    let room = mm.room_consent(&token).await.unwrap();
    assert_eq!(room.segments.len(), 1, "the AI opened with the first question");
    assert!(room.segments[0].text.contains("current role"));
    let long =
        "I run the platform team and we own the event pipeline, the on-call rotation and the database upgrades; \
                last quarter we moved the billing events onto Kafka and cut the consumer lag from minutes to seconds.";
    for n in 0..4 {
        let count = mm.room(&token).await.unwrap().segments.len();
        mm.room_append(&token, vec![seg(&format!("a{n}"), Speaker::Candidate, long, (n as i64 + 1) * 60_000)])
            .await
            .unwrap();
        // Wait for the AI's next turn.
        let mut turned = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if mm.room(&token).await.unwrap().segments.len() > count + 1 {
                turned = true;
                break;
            }
        }
        if n < 3 {
            assert!(turned, "the AI took turn {n}");
        }
        // The closing line is written before the interview is ended, so
        // the closing line, not the state, says the AI is done.
        if mm.room(&token).await.unwrap().segments.last().is_some_and(|s| s.client_id == "ai-close") {
            break;
        }
    }
    let t = mm.transcript(&iv, &created.interview.id).await.unwrap();
    let ai: Vec<&str> = t.iter().filter(|s| s.speaker == Speaker::Ai).map(|s| s.client_id.as_str()).collect();
    assert_eq!(ai, vec!["ai-q0", "ai-q1", "ai-q2", "ai-close"]);
    // Ending follows the closing line: the state is written first, the
    // workflow is submitted right after it.
    let mut d = mm.detail(&iv, &created.interview.id).await.unwrap();
    for _ in 0..50 {
        if d.interview.state == app::interviews::InterviewState::Completed && d.interview.workflow_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        d = mm.detail(&iv, &created.interview.id).await.unwrap();
    }
    assert_eq!(d.interview.state, app::interviews::InterviewState::Completed);
    assert!(d.interview.workflow_id.is_some(), "closing started the post-interview workflow");
    db
}

async fn candidates_data_can_be_exported_deleted_and_expires(db: TestDb) -> TestDb {
    let clock = ManualClock::at(1_800_000_000_000);
    let out = outbox();
    let (mm, engine) = common::interviews(db.store.clone(), Arc::new(clock.clone()), offline(), out.path().into());
    let admin = person(&db.store, "admin@example.com", UserRole::Admin).await;
    let first = mm.create(&admin, new_interview(Mode::Assist)).await.unwrap().interview.id;
    let second = mm.create(&admin, new_interview(Mode::Assist)).await.unwrap().interview.id;
    for id in [&first, &second] {
        mm.start(&admin, id).await.unwrap();
        mm.append(&admin, id, vec![seg("1", Speaker::Candidate, "I led the Kafka migration", 0)]).await.unwrap();
        mm.end(&admin, id).await.unwrap();
    }
    let export = mm.export(&admin, &first).await.unwrap();
    assert_eq!(export["transcript"].as_array().unwrap().len(), 1);
    assert_eq!(export["interview"]["candidate_email"], demo_script::CANDIDATE_EMAIL);

    let workflow = db.store.get_interview(&first).await.unwrap().unwrap().workflow_id.unwrap();
    mm.delete(&admin, &first).await.unwrap();
    assert!(db.store.get_interview(&first).await.unwrap().is_none());
    assert!(db.store.list_segments(&first).await.unwrap().is_empty());
    for job in db.store.workflow_jobs(&workflow).await.unwrap() {
        assert!(!job.payload.contains(&first), "job payloads are scrubbed: {}", job.payload);
    }
    assert!(db.store.list_audit(10).await.unwrap().iter().any(|a| a.action == "interview.delete"));

    // Past the retention period, the purge job removes the rest.
    clock.advance_ms(366 * 86_400_000);
    engine
        .enqueue(
            vec![app::jobs::NewJob {
                kind: "interview.purge".into(),
                payload: serde_json::json!({}),
                queue: Some("meetmind".into()),
                priority: None,
                run_at: None,
                max_attempts: None,
                retry_delays_ms: None,
                timeout_ms: None,
                idempotency_key: None,
            }],
            false,
        )
        .await
        .unwrap();
    let store = db.store.clone();
    let s = second.clone();
    let c = clock.clone();
    let purged = work_until(&engine, 20, || {
        let store = store.clone();
        let s = s.clone();
        // On PostgreSQL the purge can meet a deadlock with the second
        // interview's workflow jobs and retry; time must pass for the retry.
        c.advance_ms(2_000);
        async move { store.get_interview(&s).await.unwrap().is_none() }
    })
    .await;
    if !purged {
        for j in db
            .store
            .list_jobs(&meetmind::store::jobs::JobFilter { limit: 50, ..Default::default() })
            .await
            .unwrap_or_default()
        {
            eprintln!(
                "job {} {} {} {:?} run_at={} now={}",
                j.id,
                j.kind,
                j.state,
                j.last_error,
                j.run_at,
                clock.now_ms()
            );
        }
    }
    assert!(purged, "the expired interview was purged");
    db
}

async fn a_paused_interview_waits_and_a_revoked_link_is_refused(db: TestDb) -> TestDb {
    let clock = ManualClock::at(1_800_000_000_000);
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), Arc::new(clock.clone()), offline(), out.path().into());
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let created = mm.create(&iv, new_interview(Mode::Assist)).await.unwrap();
    let (id, token) = (created.interview.id.clone(), created.link.candidate_token.clone());
    let not_live = mm.pause(&iv, &id, true).await.unwrap_err();
    assert!(matches!(not_live, AppError::Invalid { ref field, .. } if field == "state"), "{not_live:?}");
    mm.start(&iv, &id).await.unwrap();

    let v = mm.pause(&iv, &id, true).await.unwrap();
    assert_eq!(v.paused_at, Some(1_800_000_000_000));
    assert_eq!(mm.pause(&iv, &id, true).await.unwrap().paused_at, v.paused_at, "a second pause changes nothing");
    assert!(mm.room(&token).await.unwrap().paused, "the candidate's room says paused");
    // What is said while paused is kept, but the AI stays quiet.
    let answer = "During the incident I was on call; we watched consumer lag on Kafka and added alerts.";
    mm.append(&iv, &id, vec![seg("c1", Speaker::Candidate, answer, 1_000)]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(mm.suggestions(&iv, &id).await.unwrap().is_empty(), "no suggestion while paused");
    assert_eq!(mm.transcript(&iv, &id).await.unwrap().len(), 1);

    clock.advance_ms(600_000);
    let v = mm.pause(&iv, &id, false).await.unwrap();
    assert_eq!(v.paused_at, None);
    let row = db.store.get_interview(&id).await.unwrap().unwrap();
    assert_eq!(row.paused_ms, 600_000, "the pause is kept out of the interview's running time");
    assert!(!mm.room(&token).await.unwrap().paused);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while mm.suggestions(&iv, &id).await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "resuming gives the waiting answer its suggestion");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Ending the link now: the room refuses it as expired, and a stranger cannot.
    let stranger = person(&db.store, "other@example.com", UserRole::Interviewer).await;
    assert_eq!(mm.revoke_link(&stranger, &id).await.unwrap_err(), AppError::NotFound);
    mm.revoke_link(&iv, &id).await.unwrap();
    match mm.room(&token).await {
        Err(AppError::Invalid { field, message }) => {
            assert!(field == "token" && message.contains("expired"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(mm.room_append(&token, vec![seg("r9", Speaker::Candidate, "late", 5)]).await.is_err());
    db
}

both_backends!(multi_thread;
    a_paused_interview_waits_and_a_revoked_link_is_refused,
    transcript_is_idempotent_ordered_and_validated,
    access_is_per_interview_and_rooms_are_per_token,
    a_burst_of_answers_makes_one_degraded_suggestion,
    search_ranks_the_moment_and_ask_cites_real_segments,
    the_workflow_writes_results_and_emails_the_report,
    the_ai_led_mode_runs_the_plan_offline_to_the_end,
    candidates_data_can_be_exported_deleted_and_expires,
);

// ---- through the provider simulator ------------------------------------------

fn tiers(base: &str) -> Arc<Router> {
    let http = reqwest::Client::new();
    let providers: Vec<Arc<dyn Provider>> = vec![
        Arc::new(HttpProvider::gemini(http.clone(), &format!("{base}/gemini"), "k", "gemini-2.0-flash")),
        Arc::new(HttpProvider::openai_compatible("openrouter", http, &format!("{base}/openrouter/v1"), "k", "m")),
    ];
    let config = RouterConfig { attempt_timeout: Duration::from_millis(500), ..RouterConfig::default() };
    Router::new(providers, config, Arc::new(SystemClock))
}

async fn fault(base: &str, provider: &str, f: serde_json::Value) {
    let r = reqwest::Client::new().put(format!("{base}/_sim/faults/{provider}")).json(&f).send().await.unwrap();
    assert!(r.status().is_success());
}

async fn live(mm: &Arc<MeetMind>, iv: &Principal) -> String {
    let id = mm.create(iv, new_interview(Mode::Assist)).await.unwrap().interview.id;
    mm.start(iv, &id).await.unwrap();
    mm.append(iv, &id, vec![seg("q", Speaker::Interviewer, "Tell me about an incident?", 0)]).await.unwrap();
    mm.append(
        iv,
        &id,
        vec![seg("a", Speaker::Candidate, "The alert fired at 2 a.m. and I ran the postmortem.", 5_000)],
    )
    .await
    .unwrap();
    id
}

async fn wait_suggestion(mm: &Arc<MeetMind>, iv: &Principal, id: &str) -> app::interviews::Suggestion {
    for _ in 0..100 {
        if let Some(s) = mm.suggestions(iv, id).await.unwrap().into_iter().next() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no suggestion arrived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_primary_failing_the_suggestion_comes_from_the_next_tier() {
    let base = common::provider_sim().await;
    fault(&base, "gemini", serde_json::json!({ "error_rate": 1.0, "error_status": 503 })).await;
    let db = TestDb::sqlite().await.migrated().await;
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), Arc::new(SystemClock), tiers(&base), out.path().into());
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let id = live(&mm, &iv).await;
    let s = wait_suggestion(&mm, &iv, &id).await;
    assert_eq!(s.tier, "openrouter");
    assert!(!s.degraded);
    assert!(!s.follow_ups.is_empty());
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_tier_down_a_degraded_suggestion_arrives_and_the_interview_goes_on() {
    let base = common::provider_sim().await;
    fault(&base, "gemini", serde_json::json!({ "error_rate": 1.0, "error_status": 500 })).await;
    fault(&base, "openrouter", serde_json::json!({ "hang": true })).await;
    let db = TestDb::sqlite().await.migrated().await;
    let out = outbox();
    let (mm, _) = common::interviews(db.store.clone(), Arc::new(SystemClock), tiers(&base), out.path().into());
    let iv = person(&db.store, "iv@example.com", UserRole::Interviewer).await;
    let id = live(&mm, &iv).await;
    let s = wait_suggestion(&mm, &iv, &id).await;
    assert_eq!(s.tier, "offline");
    assert!(s.degraded && !s.follow_ups.is_empty());
    mm.append(&iv, &id, vec![seg("next", Speaker::Interviewer, "Let's move on.", 30_000)]).await.unwrap();
    assert_eq!(mm.transcript(&iv, &id).await.unwrap().len(), 3);
    db.finish().await;
}

/// Two nodes on one PostgreSQL: an event published on one reaches the
/// other's live streams through NOTIFY, and an installation in another schema
/// of the same database is not heard (NOTIFY channels are database-wide).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interview_events_cross_nodes_on_postgres() {
    use meetmind::meetmind::hub::Audience;
    let Some(db) = TestDb::postgres().await else { return };
    let db = db.migrated().await;
    let other = TestDb::postgres().await.expect("a second schema").migrated().await;
    let out = outbox();
    let (a, _) = common::interviews(db.store.clone(), Arc::new(SystemClock), offline(), out.path().into());
    let (b, _) = common::interviews_on(db.store.clone(), Arc::new(SystemClock), offline(), out.path().into(), "node-b");
    let (elsewhere, _) =
        common::interviews_on(other.store.clone(), Arc::new(SystemClock), offline(), out.path().into(), "node-c");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let hub = b.hub.clone();
    tokio::spawn(async move { hub.relay_remote(stop_rx).await });
    let mut on_b = b.hub.subscribe();
    let publish = || {
        elsewhere.hub.publish(
            "iv-elsewhere",
            Audience::Staff,
            "suggestion",
            serde_json::json!({ "follow_ups": ["No"] }),
        );
        a.hub.publish("iv-1", Audience::Staff, "suggestion", serde_json::json!({ "follow_ups": ["Why?"] }));
    };
    // The relay's LISTEN starts in the background and PostgreSQL drops what
    // was sent before it: publish again until the first one gets through.
    let ev = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            publish();
            if let Ok(ev) = tokio::time::timeout(Duration::from_millis(300), on_b.recv()).await {
                return ev.expect("the hub is open");
            }
        }
    })
    .await
    .expect("relayed in time");
    assert_eq!((ev.interview_id.as_str(), ev.name), ("iv-1", "suggestion"));
    assert_eq!(ev.audience, Audience::Staff);
    assert_eq!(ev.data["follow_ups"][0], "Why?");
    publish();
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(ev) = on_b.try_recv() {
        assert_eq!(ev.interview_id, "iv-1", "the other schema's installation is not relayed here");
    }
    let _ = stop_tx.send(true);
    other.finish().await;
    db.finish().await;
}
