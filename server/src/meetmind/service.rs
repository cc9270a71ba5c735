//! The interview service: every REST route and server function about
//! interviews goes through here, and here each call is checked against the
//! interview itself (owner, shared with, admin, or a token with the scope).

use std::sync::Arc;

use app::{
    auth::{AppError, Principal},
    interviews::{
        check_plan, check_rubric, check_segments, AskAnswer, CandidateLink, Citation, CreatedInterview, Decision,
        InterviewDetail, InterviewState, InterviewView, LiveDetail, Mode, NewInterview, NewSegment, PlannedQuestion,
        Recommendation, RoomView, Rubric, RubricTemplate, ScorecardResult, SearchHit, Segment, Speaker, Suggestion,
        SummaryResult, DEFAULT_CONSENT, MAX_SEARCH_RESULTS,
    },
};
use tracing::{info, warn};

use super::{analysis, hub::Audience, hub::InterviewHub, live::LiveState, prompts, search, templates, MeetMindConfig};
use crate::{
    auth::secret,
    clock::SharedClock,
    error::internal,
    llm::{offline::Purpose, router::Router},
    scheduler::engine::{Engine, WorkflowError},
    store::{InterviewRow, ResultRow, SegmentRow, Store},
};

/// Marks a workflow being submitted (not yet an id).
const CLAIM: &str = "claim:";

pub struct MeetMind {
    pub store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
    pub llm: Arc<Router>,
    pub clock: SharedClock,
    pub hub: InterviewHub,
    pub config: MeetMindConfig,
    pub(super) live: LiveState,
}

/// What a caller may do with an interview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

pub(super) fn segment(r: &SegmentRow) -> Segment {
    Segment {
        id: r.id,
        client_id: r.client_id.clone(),
        speaker: Speaker::parse(&r.speaker).unwrap_or(Speaker::Interviewer),
        text: r.text.clone(),
        start_ms: r.start_ms,
        end_ms: r.end_ms,
    }
}

pub(super) fn view(r: &InterviewRow, shares: Vec<String>) -> InterviewView {
    InterviewView {
        id: r.id.clone(),
        title: r.title.clone(),
        role: r.role.clone(),
        candidate_name: r.candidate_name.clone(),
        candidate_email: r.candidate_email.clone(),
        owner_id: r.owner_id.clone(),
        shared_with: shares,
        mode: Mode::parse(&r.mode).unwrap_or_default(),
        state: InterviewState::parse(&r.state).unwrap_or(InterviewState::Scheduled),
        rubric: serde_json::from_str(&r.rubric).unwrap_or_default(),
        plan: serde_json::from_str(&r.plan).unwrap_or_default(),
        duration_min: r.duration_min.max(0) as u32,
        consent_notice: r.consent_notice.clone(),
        consent_accepted_at: r.consent_accepted_at,
        candidate_link_expires_at: r.token_expires_at,
        scheduled_at: r.scheduled_at,
        started_at: r.started_at,
        ended_at: r.ended_at,
        created_at: r.created_at,
        workflow_id: r.workflow_id.clone().filter(|w| !w.starts_with(CLAIM)),
        decision: r.decision.as_deref().and_then(|d| serde_json::from_str(d).ok()),
        paused_at: r.paused_at.filter(|_| r.state == "live"),
    }
}

fn room_path(token: &str) -> String {
    format!("/room/{token}")
}

/// The post-interview workflow: finalize, then summary, scorecard and
/// insights in parallel, then the report, then the email.
pub fn workflow_spec(interview_id: &str, title: &str) -> app::dag::WorkflowSpec {
    let job = |key: &str, deps: &[&str]| app::dag::JobSpec {
        key: key.to_string(),
        kind: format!("interview.{key}"),
        payload: serde_json::json!({ "interview_id": interview_id }),
        queue: Some(super::QUEUE.to_string()),
        priority: Some(3),
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        on_parent_failure: if key == "report" { app::dag::EdgePolicy::Continue } else { app::dag::EdgePolicy::Fail },
        edge_policies: Default::default(),
    };
    app::dag::WorkflowSpec {
        name: format!("interview: {}", title.chars().take(80).collect::<String>()),
        jobs: vec![
            job("finalize", &[]),
            job("summary", &["finalize"]),
            job("scorecard", &["finalize"]),
            job("insights", &["finalize"]),
            job("report", &["summary", "scorecard", "insights"]),
            job("email", &["report"]),
        ],
    }
}

impl MeetMind {
    /// The post-interview workflow's jobs, (key, state), once it exists.
    async fn workflow_steps(&self, row: &InterviewRow) -> Result<Vec<(String, String)>, AppError> {
        let Some(w) = row.workflow_id.as_ref().filter(|w| !w.starts_with(CLAIM)) else { return Ok(Vec::new()) };
        let jobs = self.store.workflow_jobs(w).await.map_err(internal)?;
        Ok(jobs.into_iter().map(|j| (j.workflow_key.unwrap_or_default(), j.state)).collect())
    }

    pub fn new(
        store: Arc<dyn Store>,
        engine: Arc<Engine>,
        llm: Arc<Router>,
        clock: SharedClock,
        config: MeetMindConfig,
    ) -> Arc<MeetMind> {
        let hub = InterviewHub::new(store.clone(), &engine.node);
        let mm = Arc::new(MeetMind { store, engine, llm, clock, hub, config, live: LiveState::default() });
        mm.live.bind(&mm);
        mm
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The interview, if the caller may reach it this way. Unreachable and
    /// missing look the same (404), so ids cannot be probed.
    async fn reach(&self, who: &Principal, id: &str, access: Access) -> Result<(InterviewRow, Vec<String>), AppError> {
        let row = self.store.get_interview(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        let shares = self.store.interview_shares(id).await.map_err(internal)?;
        let scope = match access {
            Access::Read => "interviews:read",
            Access::Write => "interviews:write",
        };
        let ok = match who {
            _ if who.is_admin() => true,
            Principal::User(me) => me.id == row.owner_id || shares.contains(&me.id),
            Principal::Token { .. } => who.has_scope(scope),
        };
        if ok && who.has_scope(scope) {
            Ok((row, shares))
        } else if ok {
            Err(AppError::Forbidden)
        } else {
            Err(AppError::NotFound)
        }
    }

    async fn by_token(&self, token: &str) -> Result<InterviewRow, AppError> {
        let refused =
            || AppError::invalid("token", "This interview link is not valid. Ask your interviewer for a new one.");
        if token.is_empty() || token.len() > 100 {
            return Err(refused());
        }
        let row =
            self.store.interview_by_token(&secret::hash_secret(token)).await.map_err(internal)?.ok_or_else(refused)?;
        if row.token_expires_at <= self.now() {
            return Err(AppError::invalid(
                "token",
                "This interview link has expired. Ask your interviewer for a new one.",
            ));
        }
        if row.state == "cancelled" {
            return Err(AppError::invalid("token", "This interview was cancelled."));
        }
        Ok(row)
    }

    /// The interview a valid room token opens (for the candidate's stream).
    pub async fn room_interview(&self, token: &str) -> Result<String, AppError> {
        Ok(self.by_token(token).await?.id)
    }

    pub async fn segments(&self, id: &str) -> Result<Vec<Segment>, AppError> {
        Ok(self.store.list_segments(id).await.map_err(internal)?.iter().map(segment).collect())
    }

    fn new_link(&self) -> (String, String, i64) {
        let token = secret::random_secret();
        let hash = secret::hash_secret(&token);
        (token, hash, self.now() + self.config.candidate_link_ttl_ms)
    }

    /// Appends segments; idempotent by client id. A retried append of
    /// segments already stored succeeds even after the interview ended.
    async fn append_rows(&self, row: &InterviewRow, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError> {
        check_segments(&segments)?;
        // A client id names one segment: a retry must repeat it exactly, so an
        // id cannot be used to read or shadow someone else's segment.
        let ids: Vec<String> = segments.iter().map(|s| s.client_id.clone()).collect();
        let stored = self.store.segments_by_client_ids(&row.id, &ids).await.map_err(internal)?;
        for (i, s) in segments.iter().enumerate() {
            if let Some(old) = stored.iter().find(|o| o.client_id == s.client_id) {
                if old.speaker != s.speaker.as_str() || old.text != s.text {
                    return Err(AppError::invalid(
                        &format!("segments[{i}].client_id"),
                        "this client_id already names a different segment; use a new one",
                    ));
                }
            }
        }
        if row.state != "live" {
            if stored.len() == ids.len() {
                return Ok(stored.iter().map(segment).collect());
            }
            return Err(AppError::invalid(
                "state",
                format!("the interview is {}, not live: start it before adding to the transcript", row.state),
            ));
        }
        let rows: Vec<SegmentRow> = segments
            .into_iter()
            .map(|s| SegmentRow {
                id: 0,
                client_id: s.client_id,
                speaker: s.speaker.as_str().to_string(),
                text: s.text,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
            })
            .collect();
        let written = self.store.insert_segments(&row.id, &rows, self.now()).await.map_err(internal)?;
        let mut candidate_spoke = false;
        for (s, new) in &written {
            if *new {
                let seg = segment(s);
                candidate_spoke |= seg.speaker == Speaker::Candidate;
                // What the interviewer types stays on the staff side of the room.
                let audience = if seg.speaker == Speaker::Interviewer { Audience::Staff } else { Audience::Everyone };
                self.hub.publish(&row.id, audience, "segment", &seg);
            }
        }
        if candidate_spoke {
            self.live.kick(self, &row.id);
        }
        Ok(written.iter().map(|(s, _)| segment(s)).collect())
    }

    /// Submits the post-interview workflow once; a second call (or a retried
    /// `end` after a crash between the two steps) finds it or submits it.
    async fn ensure_workflow(&self, row: &InterviewRow) -> Result<(), AppError> {
        // Claim first, so two racing `end`s (a double click, the AI closing
        // while a person ends) submit one workflow. A claim left by a crash
        // between claim and submit is taken over after two minutes.
        let stale_claim =
            row.workflow_id.as_deref().is_some_and(|w| w.starts_with(CLAIM)) && self.now() - row.updated_at > 120_000;
        if row.workflow_id.is_some() && !stale_claim {
            return Ok(());
        }
        let claim = format!("{CLAIM}{}", uuid::Uuid::new_v4().simple());
        let claimed = self
            .store
            .claim_interview_workflow(&row.id, row.workflow_id.as_deref(), &claim, self.now())
            .await
            .map_err(internal)?;
        if !claimed {
            return Ok(());
        }
        let spec = workflow_spec(&row.id, &row.title);
        let submitted = self.engine.submit_workflow(&spec).await.map_err(|e| match e {
            WorkflowError::App(e) => e,
            other => AppError::Server(other.to_string()),
        });
        let workflow_id = match submitted {
            Ok((w, _)) => w,
            Err(e) => {
                // Release the claim so a retried `end` tries again.
                let _ = self.store.claim_interview_workflow(&row.id, Some(&claim), "", self.now()).await;
                return Err(e);
            }
        };
        self.store.claim_interview_workflow(&row.id, Some(&claim), &workflow_id, self.now()).await.map_err(internal)?;
        info!(interview = %row.id, workflow = %workflow_id, "post-interview workflow submitted");
        Ok(())
    }

    /// Ends a live interview and starts its workflow. Used by people, by the
    /// API and by the AI when it closes an AI-led interview.
    pub async fn end_by_id(&self, id: &str) -> Result<InterviewRow, AppError> {
        let now = self.now();
        let moved =
            self.store.transition_interview(id, &["live", "scheduled"], "completed", now).await.map_err(internal)?;
        let row = self.store.get_interview(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        if !moved && row.state != "completed" {
            return Err(AppError::invalid(
                "state",
                format!("the interview is {}; only a live interview can end", row.state),
            ));
        }
        self.ensure_workflow(&row).await?;
        let row = self.store.get_interview(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        self.hub.publish(
            id,
            Audience::Everyone,
            "state",
            serde_json::json!({ "state": row.state, "workflow_id": row.workflow_id }),
        );
        Ok(row)
    }

    pub(super) async fn append_ai(&self, row: &InterviewRow, client_id: String, text: String) -> Result<(), AppError> {
        let offset = (self.now() - row.started_at.unwrap_or(row.created_at)).max(0);
        let words = text.split_whitespace().count() as i64;
        let seg = NewSegment { client_id, speaker: Speaker::Ai, text, start_ms: offset, end_ms: offset + words * 400 };
        self.append_rows(row, vec![seg]).await.map(|_| ())
    }

    async fn audit(&self, who: &Principal, action: &str, target: &str, detail: &str) {
        if let Err(e) = self.store.append_audit(self.now(), &who.actor(), action, target, detail).await {
            warn!(error = %e, "audit write failed");
        }
    }

    fn owner_for(&self, who: &Principal) -> Option<String> {
        match who {
            Principal::User(me) => Some(me.id.clone()),
            Principal::Token { .. } => None,
        }
    }
}

#[async_trait::async_trait]
impl app::services::InterviewService for MeetMind {
    fn templates(&self) -> Vec<RubricTemplate> {
        templates::templates()
    }

    async fn create(&self, who: &Principal, new: NewInterview) -> Result<CreatedInterview, AppError> {
        new.check()?;
        let (rubric, plan): (Rubric, Vec<PlannedQuestion>) = match (&new.rubric, &new.template) {
            (Some(r), _) => (r.clone(), new.plan.clone().unwrap_or_default()),
            (None, Some(key)) => {
                let t = templates::template(key).ok_or_else(|| {
                    let known: Vec<String> = templates::templates().into_iter().map(|t| t.key).collect();
                    AppError::invalid("template", format!("no template {key:?}; known: {}", known.join(", ")))
                })?;
                (t.rubric, new.plan.clone().unwrap_or(t.plan))
            }
            (None, None) => return Err(AppError::invalid("rubric", "give a rubric, or a template to copy one from")),
        };
        check_rubric(&rubric)?;
        check_plan(&plan, Some(&rubric))?;
        if new.mode == Mode::AiLed && plan.is_empty() {
            return Err(AppError::invalid("plan", "an AI-led interview needs a question plan"));
        }
        // The owner: interviewers own what they create; admins and tokens may name one.
        let owner = match (&new.owner_email, who) {
            (_, Principal::User(me)) if !who.is_admin() => me.id.clone(),
            (Some(email), _) => {
                // Accounts store their email in lower case (`new.check()` refused a NUL).
                let u = self.store.user_by_email(&email.trim().to_lowercase()).await.map_err(internal)?;
                u.filter(|u| !u.disabled)
                    .ok_or_else(|| AppError::invalid("owner_email", "no active user with that email"))?
                    .id
            }
            (None, _) => self
                .owner_for(who)
                .ok_or_else(|| AppError::invalid("owner_email", "an API token must name the owning interviewer"))?,
        };
        for id in &new.shared_with {
            if self.store.user_by_id(id).await.map_err(internal)?.is_none() {
                return Err(AppError::invalid("shared_with", format!("no user {id:?}")));
            }
        }
        let now = self.now();
        let (token, hash, expires_at) = self.new_link();
        let row = InterviewRow {
            id: uuid::Uuid::new_v4().simple().to_string(),
            title: new.title.trim().to_string(),
            role: new.role.trim().to_string(),
            candidate_name: new.candidate_name.trim().to_string(),
            candidate_email: new.candidate_email.trim().to_string(),
            owner_id: owner,
            mode: new.mode.as_str().to_string(),
            state: "scheduled".into(),
            rubric: serde_json::to_string(&rubric).unwrap_or_default(),
            plan: serde_json::to_string(&plan).unwrap_or_default(),
            duration_min: new.duration_min as i32,
            consent_notice: new.consent_notice.clone().unwrap_or_else(|| DEFAULT_CONSENT.to_string()),
            consent_accepted_at: None,
            token_hash: hash,
            token_expires_at: expires_at,
            scheduled_at: new.scheduled_at.unwrap_or(now),
            started_at: None,
            ended_at: None,
            workflow_id: None,
            decision: None,
            created_at: now,
            updated_at: now,
            paused_at: None,
            paused_ms: 0,
        };
        self.store.insert_interview(&row, &new.shared_with).await.map_err(internal)?;
        info!(interview = %row.id, mode = %row.mode, "interview created");
        Ok(CreatedInterview {
            interview: view(&row, new.shared_with.clone()),
            link: CandidateLink { candidate_path: room_path(&token), candidate_token: token, expires_at },
        })
    }

    async fn list(&self, who: &Principal, text: Option<String>) -> Result<Vec<InterviewView>, AppError> {
        let viewer = match who {
            _ if who.is_admin() => None,
            Principal::User(me) => Some(me.id.clone()),
            Principal::Token { .. } if who.has_scope("interviews:read") => None,
            Principal::Token { .. } => return Err(AppError::Forbidden),
        };
        let text = app::jobs::search_text("text", text.as_deref())?;
        let rows = self.store.list_interviews(viewer.as_deref(), text.as_deref(), 200).await.map_err(internal)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut shares = self.store.shares_of(&ids).await.map_err(internal)?;
        Ok(rows.iter().map(|r| view(r, shares.remove(&r.id).unwrap_or_default())).collect())
    }

    async fn detail(&self, who: &Principal, id: &str) -> Result<InterviewDetail, AppError> {
        let (row, shares) = self.reach(who, id, Access::Read).await?;
        let results = self.store.get_results(id).await.map_err(internal)?;
        let find = |kind: &str| results.iter().find(|r| r.kind == kind);
        let provenance = |r: &ResultRow| app::interviews::Provenance {
            tier: r.tier.clone(),
            degraded: r.degraded,
            created_at: r.created_at,
        };
        let summary = find("summary").map(|r| SummaryResult {
            text: serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v["text"].as_str().map(str::to_string))
                .unwrap_or_default(),
            provenance: provenance(r),
        });
        let scorecard = find("scorecard").and_then(|r| {
            serde_json::from_str(&r.body).ok().map(|scorecard| ScorecardResult { scorecard, provenance: provenance(r) })
        });
        let insights = find("insights").and_then(|r| serde_json::from_str(&r.body).ok());
        Ok(InterviewDetail {
            report_ready: find("report_html").is_some(),
            workflow: self.workflow_steps(&row).await?,
            interview: view(&row, shares),
            summary,
            scorecard,
            insights,
        })
    }

    async fn live_detail(&self, who: &Principal, id: &str) -> Result<LiveDetail, AppError> {
        let (row, shares) = self.reach(who, id, Access::Read).await?;
        let kinds = self.store.result_kinds(id).await.map_err(internal)?;
        Ok(LiveDetail {
            report_ready: kinds.iter().any(|k| k == "report_html"),
            workflow: self.workflow_steps(&row).await?,
            interview: view(&row, shares),
        })
    }

    async fn transcript(&self, who: &Principal, id: &str) -> Result<Vec<Segment>, AppError> {
        self.reach(who, id, Access::Read).await?;
        self.segments(id).await
    }

    async fn suggestions(&self, who: &Principal, id: &str) -> Result<Vec<Suggestion>, AppError> {
        self.reach(who, id, Access::Read).await?;
        let rows = self.store.list_suggestions(id, 100).await.map_err(internal)?;
        Ok(rows.iter().filter_map(super::live::suggestion_from_row).collect())
    }

    async fn append(&self, who: &Principal, id: &str, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError> {
        let (row, _) = self.reach(who, id, Access::Write).await?;
        reserved_ids(&segments)?;
        self.append_rows(&row, segments).await
    }

    async fn start(&self, who: &Principal, id: &str) -> Result<InterviewView, AppError> {
        let (row, shares) = self.reach(who, id, Access::Write).await?;
        let moved = self.store.transition_interview(id, &["scheduled"], "live", self.now()).await.map_err(internal)?;
        if !moved && row.state != "live" {
            return Err(AppError::invalid(
                "state",
                format!("the interview is {}; only a scheduled one can start", row.state),
            ));
        }
        let row = self.store.get_interview(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        self.hub.publish(id, Audience::Everyone, "state", serde_json::json!({ "state": row.state }));
        if moved && row.mode == "ai_led" {
            super::live::open_ai_led(self, &row).await;
        }
        Ok(view(&row, shares))
    }

    async fn pause(&self, who: &Principal, id: &str, paused: bool) -> Result<InterviewView, AppError> {
        let (row, shares) = self.reach(who, id, Access::Write).await?;
        if row.state != "live" {
            return Err(AppError::invalid(
                "state",
                format!("the interview is {}; only a live interview can pause", row.state),
            ));
        }
        // Pausing twice (or resuming a running interview) is a no-op, so a
        // retried click is harmless.
        let moved = self.store.set_interview_paused(id, paused, self.now()).await.map_err(internal)?;
        let row = self.store.get_interview(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        if moved {
            self.audit(who, if paused { "interview.pause" } else { "interview.resume" }, id, "").await;
            self.hub.publish(
                id,
                Audience::Everyone,
                "state",
                serde_json::json!({ "state": row.state, "paused": paused }),
            );
            if !paused {
                // Answers given during the pause get their turn now.
                self.live.kick(self, id);
            }
        }
        Ok(view(&row, shares))
    }

    async fn revoke_link(&self, who: &Principal, id: &str) -> Result<(), AppError> {
        let (row, _) = self.reach(who, id, Access::Write).await?;
        self.store.expire_candidate_token(id, self.now()).await.map_err(internal)?;
        self.audit(who, "interview.link_revoke", id, "").await;
        self.hub.publish(
            id,
            Audience::Everyone,
            "state",
            serde_json::json!({ "state": row.state, "link_revoked": true }),
        );
        Ok(())
    }

    async fn end(&self, who: &Principal, id: &str) -> Result<InterviewView, AppError> {
        let (_, shares) = self.reach(who, id, Access::Write).await?;
        let row = self.end_by_id(id).await?;
        Ok(view(&row, shares))
    }

    async fn cancel(&self, who: &Principal, id: &str) -> Result<InterviewView, AppError> {
        let (row, shares) = self.reach(who, id, Access::Write).await?;
        if !self
            .store
            .transition_interview(id, &["scheduled", "live"], "cancelled", self.now())
            .await
            .map_err(internal)?
        {
            return Err(AppError::invalid("state", format!("the interview is {}; it cannot be cancelled", row.state)));
        }
        self.hub.publish(id, Audience::Everyone, "state", serde_json::json!({ "state": "cancelled" }));
        let row = self.store.get_interview(id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
        Ok(view(&row, shares))
    }

    async fn decide(&self, who: &Principal, id: &str, decision: Recommendation, note: String) -> Result<(), AppError> {
        let (row, _) = self.reach(who, id, Access::Write).await?;
        if row.state != "completed" {
            return Err(AppError::invalid("decision", "record the decision after the interview has ended"));
        }
        if note.chars().count() > 5_000 {
            return Err(AppError::invalid("note", "at most 5,000 characters"));
        }
        let d = Decision { decision, note, by: who.actor(), at: self.now() };
        self.store
            .set_decision(id, &serde_json::to_string(&d).unwrap_or_default(), self.now())
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn new_link(&self, who: &Principal, id: &str) -> Result<CandidateLink, AppError> {
        self.reach(who, id, Access::Write).await?;
        let (token, hash, expires_at) = self.new_link();
        self.store.set_candidate_token(id, &hash, expires_at, self.now()).await.map_err(internal)?;
        // A room still open on the old link is told, and its stream ends.
        self.hub.publish(id, Audience::Everyone, "state", serde_json::json!({ "link_revoked": true }));
        Ok(CandidateLink { candidate_path: room_path(&token), candidate_token: token, expires_at })
    }

    async fn search(&self, who: &Principal, id: Option<&str>, query: &str) -> Result<Vec<SearchHit>, AppError> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > 500 {
            return Err(AppError::invalid("q", "a search needs 1 to 500 characters"));
        }
        // One transcript, or every interview the caller may see.
        let ids: Vec<String> = match id {
            Some(id) => vec![self.reach(who, id, Access::Read).await?.0.id],
            None => self.list(who, None).await?.into_iter().map(|v| v.id).collect(),
        };
        let mut docs: Vec<(String, Vec<Segment>)> = Vec::with_capacity(ids.len());
        for id in ids {
            let segs = self.segments(&id).await?;
            docs.push((id, segs));
        }
        Ok(search_hits(&docs, query, MAX_SEARCH_RESULTS))
    }

    async fn ask(&self, who: &Principal, id: &str, question: &str) -> Result<AskAnswer, AppError> {
        let question = question.trim();
        if question.is_empty() || question.chars().count() > 1_000 {
            return Err(AppError::invalid("question", "a question needs 1 to 1,000 characters"));
        }
        self.reach(who, id, Access::Read).await?;
        let segs = self.segments(id).await?;
        let docs = vec![(id.to_string(), segs)];
        let hits = search_hits(&docs, question, 6);
        if hits.is_empty() {
            return Ok(AskAnswer {
                answer: "Nothing in this transcript matches the question.".into(),
                citations: Vec::new(),
                tier: "none".into(),
                degraded: false,
            });
        }
        let passages: Vec<Segment> = hits.iter().map(|h| h.segment.clone()).collect();
        let prompt = prompts::ask(question, &passages);
        let purpose = Purpose::Evidence {
            keywords: search::terms(question),
            segments: passages.iter().map(|s| s.text.clone()).collect(),
        };
        let answer = self.llm.complete(&purpose, &prompt, self.config.suggest_budget).await;
        let cite = |s: &Segment| analysis::citation(s);
        if answer.degraded {
            // Offline: the top passages are the answer.
            let top: Vec<&Segment> = passages.iter().take(3).collect();
            let text = top
                .iter()
                .map(|s| format!("[{}] {}", app::interviews::format_offset(s.start_ms), s.text))
                .collect::<Vec<_>>()
                .join("\n");
            return Ok(AskAnswer {
                answer: text,
                citations: top.into_iter().map(cite).collect(),
                tier: answer.tier,
                degraded: true,
            });
        }
        // Only passages we retrieved may be cited.
        let mut citations: Vec<Citation> =
            passages.iter().filter(|s| answer.text.contains(&format!("#{}", s.id))).map(cite).collect();
        if citations.is_empty() {
            citations = passages.iter().take(2).map(cite).collect();
        }
        Ok(AskAnswer { answer: answer.text, citations, tier: answer.tier, degraded: false })
    }

    async fn report(&self, who: &Principal, id: &str, markdown: bool) -> Result<String, AppError> {
        self.reach(who, id, Access::Read).await?;
        let kind = if markdown { "report_md" } else { "report_html" };
        let results = self.store.get_results(id).await.map_err(internal)?;
        results.into_iter().find(|r| r.kind == kind).map(|r| r.body).ok_or(AppError::NotFound)
    }

    async fn export(&self, who: &Principal, id: &str) -> Result<serde_json::Value, AppError> {
        if !who.is_admin() {
            return Err(AppError::Forbidden);
        }
        let (row, shares) = self.reach(who, id, Access::Read).await?;
        let segments = self.segments(id).await?;
        let suggestions = self.store.list_suggestions(id, 1000).await.map_err(internal)?;
        let results = self.store.get_results(id).await.map_err(internal)?;
        self.audit(who, "interview.export", id, &row.candidate_email).await;
        Ok(serde_json::json!({
            "interview": view(&row, shares),
            "transcript": segments,
            "suggestions": suggestions.iter().filter_map(super::live::suggestion_from_row).collect::<Vec<_>>(),
            "results": results.iter().map(|r| serde_json::json!({
                "kind": r.kind, "body": r.body, "prompt": r.prompt, "tier": r.tier, "degraded": r.degraded,
                "created_at": r.created_at,
            })).collect::<Vec<_>>(),
        }))
    }

    async fn delete(&self, who: &Principal, id: &str) -> Result<(), AppError> {
        if !who.is_admin() {
            return Err(AppError::Forbidden);
        }
        let (row, _) = self.reach(who, id, Access::Write).await?;
        super::erase(self.store.as_ref(), id, row.workflow_id.as_deref(), self.now()).await.map_err(internal)?;
        self.audit(who, "interview.delete", id, "transcript, results and job payloads removed").await;
        Ok(())
    }

    async fn room(&self, token: &str) -> Result<RoomView, AppError> {
        let row = self.by_token(token).await?;
        // The candidate sees the AI's questions and their own answers only.
        let segments = self
            .segments(&row.id)
            .await?
            .into_iter()
            .filter(|s| matches!(s.speaker, Speaker::Ai | Speaker::Candidate))
            .collect();
        Ok(RoomView {
            title: row.title.clone(),
            role: row.role.clone(),
            candidate_name: row.candidate_name.clone(),
            mode: Mode::parse(&row.mode).unwrap_or_default(),
            state: InterviewState::parse(&row.state).unwrap_or(InterviewState::Scheduled),
            consent_notice: row.consent_notice.clone(),
            consent_accepted_at: row.consent_accepted_at,
            paused: row.state == "live" && row.paused_at.is_some(),
            segments,
        })
    }

    async fn room_consent(&self, token: &str) -> Result<RoomView, AppError> {
        let row = self.by_token(token).await?;
        if self.store.accept_consent(&row.id, self.now()).await.map_err(internal)? {
            info!(interview = %row.id, "candidate accepted the consent notice");
        }
        // An AI-led interview starts when the candidate is ready.
        if row.mode == "ai_led"
            && row.state == "scheduled"
            && self.store.transition_interview(&row.id, &["scheduled"], "live", self.now()).await.map_err(internal)?
        {
            let row = self.store.get_interview(&row.id).await.map_err(internal)?.ok_or(AppError::NotFound)?;
            self.hub.publish(&row.id, Audience::Everyone, "state", serde_json::json!({ "state": "live" }));
            super::live::open_ai_led(self, &row).await;
        }
        self.room(token).await
    }

    async fn room_append(&self, token: &str, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError> {
        let row = self.by_token(token).await?;
        if row.consent_accepted_at.is_none() {
            return Err(AppError::invalid("consent", "accept the consent notice first"));
        }
        if segments.iter().any(|s| s.speaker != Speaker::Candidate) {
            return Err(AppError::invalid("speaker", "the candidate's room adds candidate segments only"));
        }
        reserved_ids(&segments)?;
        // The server's clock places the answer: a reloaded room page would
        // otherwise date it from its own load and sort it before the question.
        let now = (self.now() - row.started_at.unwrap_or(row.created_at)).max(0);
        let segments = segments
            .into_iter()
            .map(|s| NewSegment {
                start_ms: now,
                end_ms: now.saturating_add(s.end_ms.saturating_sub(s.start_ms).clamp(0, 600_000)),
                ..s
            })
            .collect();
        let stored = self.append_rows(&row, segments).await?;
        Ok(stored.into_iter().filter(|s| matches!(s.speaker, Speaker::Candidate | Speaker::Ai)).collect())
    }
}

/// `ai-…` client ids belong to the AI interviewer's turns.
fn reserved_ids(segments: &[NewSegment]) -> Result<(), AppError> {
    match segments.iter().position(|s| s.client_id.starts_with("ai-")) {
        Some(i) => {
            Err(AppError::invalid(&format!("segments[{i}].client_id"), "client ids starting with ai- are reserved"))
        }
        None => Ok(()),
    }
}

/// BM25 over the given transcripts; each hit comes with its neighbours.
pub fn search_hits(docs: &[(String, Vec<Segment>)], query: &str, limit: usize) -> Vec<SearchHit> {
    let flat: Vec<(usize, usize)> =
        docs.iter().enumerate().flat_map(|(d, (_, segs))| (0..segs.len()).map(move |i| (d, i))).collect();
    let texts: Vec<&str> = flat.iter().map(|(d, i)| docs[*d].1[*i].text.as_str()).collect();
    let index = search::Index::build(&texts);
    index
        .search(query, limit)
        .into_iter()
        .map(|(pos, score)| {
            let (d, i) = flat[pos];
            let segs = &docs[d].1;
            SearchHit {
                interview_id: docs[d].0.clone(),
                segment: segs[i].clone(),
                score,
                before: i.checked_sub(1).map(|j| segs[j].clone()),
                after: segs.get(i + 1).cloned(),
            }
        })
        .collect()
}
