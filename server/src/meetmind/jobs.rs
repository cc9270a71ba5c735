//! The post-interview workflow's job kinds, plus the retention purge. Each
//! job reads what it needs from the store and writes its result with the
//! prompt and tier, replacing its own earlier result, so a retried or
//! resumed job is harmless.

use std::sync::Arc;

use app::interviews::{Insights, InterviewState, Scorecard, Segment};
use async_trait::async_trait;
use serde_json::json;

use super::{analysis, prompts, service, MeetMindConfig};
use crate::{
    clock::SharedClock,
    llm::{offline::Purpose, router::Router},
    scheduler::handlers::{email_send::EmailSend, Handler, HandlerError, JobContext, Registry},
    store::{InterviewRow, ResultRow, Store},
};

/// What the interview jobs share.
pub struct Analyst {
    pub store: Arc<dyn Store>,
    pub llm: Arc<Router>,
    pub clock: SharedClock,
    pub config: MeetMindConfig,
    pub email: Option<Arc<EmailSend>>,
}

/// Registers every interview kind.
pub fn register(registry: &mut Registry, analyst: Arc<Analyst>) {
    for step in [Step::Finalize, Step::Summary, Step::Scorecard, Step::Insights, Step::Report, Step::Email, Step::Purge]
    {
        registry.register(InterviewJob { step, analyst: analyst.clone() });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Finalize,
    Summary,
    Scorecard,
    Insights,
    Report,
    Email,
    Purge,
}

struct InterviewJob {
    step: Step,
    analyst: Arc<Analyst>,
}

/// An AI call inside a job may take longer than a live suggestion.
const JOB_LLM_DEADLINE: std::time::Duration = std::time::Duration::from_secs(45);

fn store_err(e: crate::store::StoreError) -> HandlerError {
    HandlerError::retry(format!("store: {e}"))
}

impl Analyst {
    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    async fn interview(&self, payload: &serde_json::Value) -> Result<InterviewRow, HandlerError> {
        let id =
            payload["interview_id"].as_str().ok_or_else(|| HandlerError::permanent("payload: interview_id missing"))?;
        // Deleted (for example by a candidate's erasure request): nothing to do, and nothing to retry.
        self.store
            .get_interview(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| HandlerError::permanent(format!("interview {id} no longer exists")))
    }

    async fn segments(&self, id: &str) -> Result<Vec<Segment>, HandlerError> {
        Ok(self.store.list_segments(id).await.map_err(store_err)?.iter().map(service::segment).collect())
    }

    async fn put(
        &self,
        id: &str,
        kind: &str,
        body: String,
        prompt: Option<String>,
        tier: &str,
        degraded: bool,
    ) -> Result<(), HandlerError> {
        self.store
            .put_result(&ResultRow {
                interview_id: id.to_string(),
                kind: kind.to_string(),
                body,
                prompt,
                tier: tier.to_string(),
                degraded,
                created_at: self.now(),
            })
            .await
            .map_err(store_err)
    }

    async fn result(&self, id: &str, kind: &str) -> Result<Option<ResultRow>, HandlerError> {
        Ok(self.store.get_results(id).await.map_err(store_err)?.into_iter().find(|r| r.kind == kind))
    }

    async fn run(&self, step: Step, ctx: &JobContext) -> Result<(), HandlerError> {
        if step == Step::Purge {
            return self.purge().await;
        }
        let row = self.interview(&ctx.payload).await?;
        let rubric: app::interviews::Rubric = serde_json::from_str(&row.rubric).unwrap_or_default();
        match step {
            Step::Finalize => {
                if row.state != InterviewState::Completed.as_str() {
                    return Err(HandlerError::permanent(format!("the interview is {}, not completed", row.state)));
                }
                let segs = self.segments(&row.id).await?;
                let words: usize = segs.iter().map(|s| s.text.split_whitespace().count()).sum();
                let body = json!({
                    "segments": segs.len(), "words": words,
                    "duration_ms": segs.iter().map(|s| s.end_ms).max().unwrap_or(0),
                });
                self.put(&row.id, "finalize", body.to_string(), None, "none", false).await
            }
            Step::Summary => {
                let segs = self.segments(&row.id).await?;
                let prompt = prompts::summary(&row.title, &segs);
                let sentences = segs
                    .iter()
                    .filter(|s| s.speaker == app::interviews::Speaker::Candidate)
                    .flat_map(|s| s.text.split_inclusive(['.', '!', '?']).map(|x| x.trim().to_string()))
                    .filter(|x| x.split_whitespace().count() >= 8)
                    .collect();
                let answer = self.llm.complete(&Purpose::Summary { sentences }, &prompt, JOB_LLM_DEADLINE).await;
                let mut text = answer.text.clone();
                if answer.degraded {
                    // Offline: the extract, framed by what the rubric evidence shows.
                    let (covered, uncovered) = analysis::coverage(&segs, &rubric);
                    let names = |keys: &[String]| -> String {
                        let n: Vec<&str> = rubric
                            .competencies
                            .iter()
                            .filter(|c| keys.contains(&c.key))
                            .map(|c| c.name.as_str())
                            .collect();
                        if n.is_empty() {
                            "none".into()
                        } else {
                            n.join(", ")
                        }
                    };
                    text = format!(
                        "Key moments from the candidate (extractive, offline): {text} Evidence found for: {}. No evidence for: {}.",
                        names(&covered),
                        names(&uncovered)
                    );
                }
                let prompt_text = Some(prompts::text(&prompt));
                self.put(
                    &row.id,
                    "summary",
                    json!({ "text": text }).to_string(),
                    prompt_text,
                    &answer.tier,
                    answer.degraded,
                )
                .await
            }
            Step::Scorecard => {
                let segs = self.segments(&row.id).await?;
                let prompt = prompts::scorecard(&rubric, &segs);
                let answer = self.llm.complete(&Purpose::Generic, &prompt, JOB_LLM_DEADLINE).await;
                let parsed =
                    if answer.degraded { None } else { analysis::parse_scorecard(&answer.text, &segs, &rubric) };
                // A reply we cannot use counts as offline: the evidence-based card, marked degraded.
                let (card, tier, degraded) = match parsed {
                    Some(card) => (card, answer.tier, false),
                    None => (analysis::offline_scorecard(&segs, &rubric), "offline".to_string(), true),
                };
                let prompt_text = Some(prompts::text(&prompt));
                let body = serde_json::to_string(&card).map_err(|e| HandlerError::permanent(e.to_string()))?;
                self.put(&row.id, "scorecard", body, prompt_text, &tier, degraded).await
            }
            Step::Insights => {
                let segs = self.segments(&row.id).await?;
                let plan: Vec<app::interviews::PlannedQuestion> = serde_json::from_str(&row.plan).unwrap_or_default();
                let insights = analysis::insights(&segs, &rubric, &plan);
                let body = serde_json::to_string(&insights).map_err(|e| HandlerError::permanent(e.to_string()))?;
                self.put(&row.id, "insights", body, None, "none", false).await
            }
            Step::Report => self.report(&row).await,
            Step::Email => self.email(&row, ctx.id).await,
            Step::Purge => unreachable!("handled above"),
        }
    }

    async fn report(&self, row: &InterviewRow) -> Result<(), HandlerError> {
        let summary = self.result(&row.id, "summary").await?;
        let scorecard = self.result(&row.id, "scorecard").await?;
        let insights = self.result(&row.id, "insights").await?;
        let summary_text = summary
            .as_ref()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
            .and_then(|v| v["text"].as_str().map(str::to_string));
        let card: Option<Scorecard> = scorecard.as_ref().and_then(|r| serde_json::from_str(&r.body).ok());
        let ins: Option<Insights> = insights.as_ref().and_then(|r| serde_json::from_str(&r.body).ok());
        let provenance = [("Summary", &summary), ("Scorecard", &scorecard)]
            .into_iter()
            .filter_map(|(name, r)| r.as_ref().map(|r| (name.to_string(), r.tier.clone(), r.degraded)))
            .collect();
        let shares = self.store.interview_shares(&row.id).await.map_err(store_err)?;
        let view = service::view(row, shares);
        let input = analysis::ReportInput {
            interview: &view,
            summary: summary_text.as_deref(),
            scorecard: card.as_ref(),
            insights: ins.as_ref(),
            provenance,
            base_url: &self.config.public_url,
        };
        let degraded = [&summary, &scorecard].iter().any(|r| r.as_ref().is_none_or(|r| r.degraded));
        self.put(&row.id, "report_md", analysis::report_markdown(&input), None, "none", degraded).await?;
        self.put(&row.id, "report_html", analysis::report_html(&input), None, "none", degraded).await
    }

    async fn email(&self, row: &InterviewRow, job_id: i64) -> Result<(), HandlerError> {
        let Some(email) = &self.email else {
            return Err(HandlerError::permanent("email delivery is not configured on this node"));
        };
        let owner = self
            .store
            .user_by_id(&row.owner_id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| HandlerError::permanent("the interview's owner no longer exists"))?;
        let md = self
            .result(&row.id, "report_md")
            .await?
            .ok_or_else(|| HandlerError::retry("the report is not written yet"))?;
        let html = self.result(&row.id, "report_html").await?.map(|r| r.body);
        let to = owner.email.parse().map_err(|e| HandlerError::permanent(format!("owner email: {e}")))?;
        let subject = format!("Interview report: {} — {}", row.title, row.candidate_name);
        email.deliver(to, subject.chars().take(300).collect(), md.body, html, job_id).await
    }

    async fn purge(&self) -> Result<(), HandlerError> {
        let before = self.now() - self.config.retention_ms;
        let ids = self.store.interviews_ended_before(before, 500).await.map_err(store_err)?;
        for id in &ids {
            let workflow = self.store.get_interview(id).await.map_err(store_err)?.and_then(|r| r.workflow_id);
            super::erase(self.store.as_ref(), id, workflow.as_deref(), self.now()).await.map_err(store_err)?;
            let _ =
                self.store.append_audit(self.now(), "retention", "interview.purge", id, "retention period over").await;
        }
        if !ids.is_empty() {
            tracing::info!(purged = ids.len(), "interviews past their retention period were purged");
        }
        Ok(())
    }
}

#[async_trait]
impl Handler for InterviewJob {
    /// Enqueued by MeetMind's own workflow and retention schedule only.
    fn internal(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        match self.step {
            Step::Finalize => "interview.finalize",
            Step::Summary => "interview.summary",
            Step::Scorecard => "interview.scorecard",
            Step::Insights => "interview.insights",
            Step::Report => "interview.report",
            Step::Email => "interview.email",
            Step::Purge => "interview.purge",
        }
    }

    fn validate(&self, payload: &serde_json::Value) -> Result<(), String> {
        if self.step == Step::Purge || payload["interview_id"].is_string() {
            Ok(())
        } else {
            Err("interview_id: required".into())
        }
    }

    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(120)
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError> {
        self.analyst.run(self.step, &ctx).await
    }
}
