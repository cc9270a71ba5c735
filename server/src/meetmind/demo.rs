//! `meetmind demo`: seeds a realistic sample interview and runs it end to
//! end (live suggestions, then the post-interview workflow to the emailed
//! report) with whatever LLM tiers are configured; with none, offline.

use std::{sync::Arc, time::Duration};

use app::{
    auth::{Me, NewUser, Principal, UserRole},
    interviews::{Mode, NewInterview, NewSegment, Speaker},
    services::InterviewService,
};
use tokio::sync::watch;

use super::{demo_script, live};
use crate::{
    clock::SharedClock,
    config::Config,
    scheduler::runtime::{self, RuntimeConfig},
    serve::{assemble, Parts},
    store::{self, Store},
};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    App(#[from] app::auth::AppError),
    #[error("{0}")]
    Setup(String),
}

/// What the demo made, for the caller to print.
pub struct DemoOutcome {
    pub interview_id: String,
    pub suggestions: usize,
    pub workflow_state: String,
    pub recommendation: Option<String>,
    pub summary: Option<String>,
    pub report_url: String,
}

/// The owner: the first admin, else a demo interviewer who cannot sign in
/// (its password is random and never shown).
async fn owner(config: &Config, store: &Arc<dyn Store>, clock: SharedClock) -> Result<Me, DemoError> {
    let users = store.list_users().await?;
    if let Some(u) = users.iter().find(|u| u.role == "admin" && !u.disabled) {
        return Ok(Me { id: u.id.clone(), email: u.email.clone(), name: u.name.clone(), role: UserRole::Admin });
    }
    let email = "demo-interviewer@meetmind.local";
    let id = match store.user_by_email(email).await? {
        Some(u) => u.id,
        None => {
            let auth = crate::auth::Auth::new(store.clone(), clock, config.secure_cookies);
            let password = crate::auth::secret::random_secret();
            let user =
                NewUser { email: email.into(), name: "Demo Interviewer".into(), role: UserRole::Interviewer, password };
            auth.add_user("demo", user).await?.id
        }
    };
    Ok(Me { id, email: email.into(), name: "Demo Interviewer".into(), role: UserRole::Interviewer })
}

pub async fn run(config: &Config) -> Result<DemoOutcome, DemoError> {
    let store = store::connect(config).await?;
    store.migrate().await?;
    // Ends with the demo (its sender is dropped on return).
    let (_keep_time, stop) = tokio::sync::watch::channel(false);
    let clock: SharedClock = crate::clock_sync::database_clock(store.clone(), stop).await;
    let Parts { engine, llm, meetmind } =
        assemble(config, store.clone(), clock.clone(), "demo").map_err(|e| DemoError::Setup(e.to_string()))?;
    crate::llm::spawn_call_recorder(&llm, store.clone());
    let me = owner(config, &store, clock).await?;
    let who = Principal::User(me);

    let created = meetmind
        .create(
            &who,
            NewInterview {
                title: format!("{} — {}", demo_script::ROLE, demo_script::CANDIDATE_NAME),
                role: demo_script::ROLE.into(),
                candidate_name: demo_script::CANDIDATE_NAME.into(),
                candidate_email: demo_script::CANDIDATE_EMAIL.into(),
                mode: Mode::Assist,
                template: Some("backend_engineer".into()),
                rubric: None,
                plan: None,
                scheduled_at: None,
                duration_min: 45,
                shared_with: Vec::new(),
                consent_notice: None,
                owner_email: None,
            },
        )
        .await?;
    let id = created.interview.id.clone();
    meetmind.start(&who, &id).await?;

    // The conversation, turn by turn, with a suggestion after each answer
    // (called directly rather than waiting out the debounce).
    let mut suggestions = 0;
    for (n, (speaker, text, start_ms, end_ms)) in demo_script::transcript().into_iter().enumerate() {
        let seg = NewSegment { client_id: format!("demo-{n}"), speaker, text: text.into(), start_ms, end_ms };
        meetmind.append(&who, &id, vec![seg]).await?;
        if speaker == Speaker::Candidate {
            let row = store.get_interview(&id).await?.ok_or(app::auth::AppError::NotFound)?;
            let segments = meetmind.segments(&id).await?;
            if live::suggest(&meetmind, &row, &segments).await.is_some() {
                suggestions += 1;
            }
        }
    }
    meetmind.end(&who, &id).await?;

    // Work the post-interview workflow here, then stop.
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(runtime::run(
        engine.clone(),
        RuntimeConfig { queue_kind: config.scheduler, maintenance: true, ..RuntimeConfig::default() },
        stop_rx,
    ));
    let workflow_id = store.get_interview(&id).await?.and_then(|r| r.workflow_id).unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut workflow_state = String::from("running");
    while tokio::time::Instant::now() < deadline {
        if let Some(w) = store.get_workflow(&workflow_id).await? {
            workflow_state = w.state.clone();
            if w.state != "running" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop_tx.send(true);
    let _ = worker.await;

    let detail = meetmind.detail(&who, &id).await?;
    store.close().await;
    Ok(DemoOutcome {
        report_url: format!("{}/api/v1/interviews/{id}/report", config.meetmind.public_url),
        interview_id: id,
        suggestions,
        workflow_state,
        recommendation: detail.scorecard.map(|s| s.scorecard.recommendation.label().to_string()),
        summary: detail.summary.map(|s| s.text),
    })
}
