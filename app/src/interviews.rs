//! Interviews as the API, the server functions and the screens see them, and
//! the checks on submitted interviews and segments that need no database.

use serde::{Deserialize, Serialize};

use crate::auth::AppError;

/// A segment longer than this is refused.
pub const MAX_SEGMENT_CHARS: usize = 10_000;
/// Segments per append call.
pub const MAX_SEGMENT_BATCH: usize = 500;
pub const MAX_COMPETENCIES: usize = 20;
pub const MAX_QUESTIONS: usize = 50;
pub const MAX_SEARCH_RESULTS: usize = 50;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The AI conducts the interview.
    AiLed,
    /// A person interviews; the AI suggests.
    #[default]
    Assist,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::AiLed => "ai_led",
            Mode::Assist => "assist",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::AiLed, Mode::Assist].into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterviewState {
    Scheduled,
    Live,
    Completed,
    Cancelled,
}

impl InterviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            InterviewState::Scheduled => "scheduled",
            InterviewState::Live => "live",
            InterviewState::Completed => "completed",
            InterviewState::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<InterviewState> {
        [InterviewState::Scheduled, InterviewState::Live, InterviewState::Completed, InterviewState::Cancelled]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Interviewer,
    Candidate,
    Ai,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Interviewer => "interviewer",
            Speaker::Candidate => "candidate",
            Speaker::Ai => "ai",
        }
    }
    pub fn parse(s: &str) -> Option<Speaker> {
        [Speaker::Interviewer, Speaker::Candidate, Speaker::Ai].into_iter().find(|m| m.as_str() == s)
    }
}

/// One competency with four behaviourally anchored levels (1 = weakest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Competency {
    /// Stable identifier, e.g. `system_design`.
    pub key: String,
    pub name: String,
    pub description: String,
    pub levels: [String; 4],
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rubric {
    pub competencies: Vec<Competency>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedQuestion {
    pub text: String,
    /// The competency it probes, by key.
    #[serde(default)]
    pub competency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RubricTemplate {
    pub key: String,
    pub name: String,
    pub rubric: Rubric,
    pub plan: Vec<PlannedQuestion>,
}

/// What creating an interview takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInterview {
    pub title: String,
    pub role: String,
    pub candidate_name: String,
    pub candidate_email: String,
    #[serde(default)]
    pub mode: Mode,
    /// A built-in template to copy the rubric and plan from, when `rubric` is absent.
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub rubric: Option<Rubric>,
    #[serde(default)]
    pub plan: Option<Vec<PlannedQuestion>>,
    /// Unix ms; absent means "now".
    #[serde(default)]
    pub scheduled_at: Option<i64>,
    #[serde(default = "default_duration")]
    pub duration_min: u32,
    /// User ids of interviewers who may also see it.
    #[serde(default)]
    pub shared_with: Vec<String>,
    /// The consent notice shown to the candidate; a default one when absent.
    #[serde(default)]
    pub consent_notice: Option<String>,
    /// The owning interviewer's email: required from API tokens, optional for
    /// admins (who otherwise own it), ignored for interviewers (they own it).
    #[serde(default)]
    pub owner_email: Option<String>,
}

fn default_duration() -> u32 {
    45
}

pub const DEFAULT_CONSENT: &str =
    "This interview is transcribed. An AI assistant suggests questions to the interviewer \
and drafts a summary and a scorecard afterwards; a person makes every hiring decision. Your transcript is kept for the \
retention period of the organisation and you may ask for a copy or for its deletion.";

fn bad(field: &str, message: impl Into<String>) -> AppError {
    AppError::invalid(field, message)
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), AppError> {
    AppError::refuse_nul(field, value)?;
    let n = value.trim().chars().count();
    if n == 0 || n > max {
        return Err(bad(field, format!("{field} must be 1 to {max} characters")));
    }
    Ok(())
}

impl NewInterview {
    /// Every check that needs no database.
    pub fn check(&self) -> Result<(), AppError> {
        check_text("title", &self.title, 200)?;
        check_text("role", &self.role, 200)?;
        check_text("candidate_name", &self.candidate_name, 200)?;
        let email = self.candidate_email.trim();
        AppError::refuse_nul("candidate_email", email)?;
        if email.len() > 254 || !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
            return Err(bad("candidate_email", "candidate_email must be an email address"));
        }
        if !(5..=240).contains(&self.duration_min) {
            return Err(bad("duration_min", "duration_min must be 5 to 240 minutes"));
        }
        if let Some(c) = &self.consent_notice {
            check_text("consent_notice", c, 4000)?;
        }
        if let Some(r) = &self.rubric {
            check_rubric(r)?;
        }
        if let Some(p) = &self.plan {
            check_plan(p, self.rubric.as_ref())?;
        }
        if self.shared_with.len() > 50 {
            return Err(bad("shared_with", "at most 50 interviewers"));
        }
        self.shared_with
            .iter()
            .enumerate()
            .try_for_each(|(i, e)| AppError::refuse_nul(&format!("shared_with[{i}]"), e))?;
        if let Some(e) = &self.owner_email {
            AppError::refuse_nul("owner_email", e)?;
        }
        Ok(())
    }
}

pub fn check_rubric(r: &Rubric) -> Result<(), AppError> {
    if r.competencies.is_empty() || r.competencies.len() > MAX_COMPETENCIES {
        return Err(bad("rubric.competencies", format!("a rubric needs 1 to {MAX_COMPETENCIES} competencies")));
    }
    for (i, c) in r.competencies.iter().enumerate() {
        let f = |x: &str| format!("rubric.competencies[{i}].{x}");
        if c.key.is_empty() || c.key.len() > 64 || !c.key.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(bad(&f("key"), "a key is 1 to 64 letters, digits or underscores"));
        }
        if r.competencies.iter().filter(|o| o.key == c.key).count() > 1 {
            return Err(bad(&f("key"), format!("duplicate competency key {:?}", c.key)));
        }
        check_text(&f("name"), &c.name, 120)?;
        check_text(&f("description"), &c.description, 1000)?;
        for (l, level) in c.levels.iter().enumerate() {
            check_text(&f(&format!("levels[{l}]")), level, 1000)?;
        }
    }
    Ok(())
}

pub fn check_plan(plan: &[PlannedQuestion], rubric: Option<&Rubric>) -> Result<(), AppError> {
    if plan.len() > MAX_QUESTIONS {
        return Err(bad("plan", format!("at most {MAX_QUESTIONS} questions")));
    }
    for (i, q) in plan.iter().enumerate() {
        check_text(&format!("plan[{i}].text"), &q.text, 1000)?;
        if let (Some(key), Some(r)) = (&q.competency, rubric) {
            if !r.competencies.iter().any(|c| &c.key == key) {
                return Err(bad(&format!("plan[{i}].competency"), format!("no competency {key:?} in the rubric")));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterviewView {
    pub id: String,
    pub title: String,
    pub role: String,
    pub candidate_name: String,
    pub candidate_email: String,
    pub owner_id: String,
    pub shared_with: Vec<String>,
    pub mode: Mode,
    pub state: InterviewState,
    pub rubric: Rubric,
    pub plan: Vec<PlannedQuestion>,
    pub duration_min: u32,
    pub consent_notice: String,
    pub consent_accepted_at: Option<i64>,
    pub candidate_link_expires_at: i64,
    pub scheduled_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub created_at: i64,
    pub workflow_id: Option<String>,
    pub decision: Option<Decision>,
    /// When a live interview was paused; none while it runs.
    #[serde(default)]
    pub paused_at: Option<i64>,
}

/// A new interview, with the candidate's room link (shown once; only its
/// hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInterview {
    pub interview: InterviewView,
    pub link: CandidateLink,
}

/// A fresh candidate link (the token is shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateLink {
    pub candidate_token: String,
    pub candidate_path: String,
    pub expires_at: i64,
}

/// What an append carries. `client_id` makes retries harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSegment {
    pub client_id: String,
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl NewSegment {
    pub fn check(&self, index: usize) -> Result<(), AppError> {
        let f = |x: &str| format!("segments[{index}].{x}");
        if self.client_id.is_empty() || self.client_id.len() > 100 {
            return Err(bad(&f("client_id"), "client_id must be 1 to 100 characters"));
        }
        AppError::refuse_nul(&f("client_id"), &self.client_id)?;
        AppError::refuse_nul(&f("text"), &self.text)?;
        let n = self.text.chars().count();
        if self.text.trim().is_empty() {
            return Err(bad(&f("text"), "a segment needs text"));
        }
        if n > MAX_SEGMENT_CHARS {
            return Err(bad(
                &f("text"),
                format!("a segment is at most {MAX_SEGMENT_CHARS} characters; this one has {n}"),
            ));
        }
        if self.start_ms < 0 || self.end_ms < self.start_ms || self.end_ms > 24 * 3_600_000 {
            return Err(bad(&f("end_ms"), "offsets must satisfy 0 <= start_ms <= end_ms <= 24 h"));
        }
        Ok(())
    }
}

pub fn check_segments(segments: &[NewSegment]) -> Result<(), AppError> {
    if segments.is_empty() || segments.len() > MAX_SEGMENT_BATCH {
        return Err(bad("segments", format!("send 1 to {MAX_SEGMENT_BATCH} segments")));
    }
    segments.iter().enumerate().try_for_each(|(i, s)| s.check(i))?;
    // A client id names one segment: a second one in the same batch would be
    // dropped by the store's idempotent insert and its text silently lost.
    let mut seen = std::collections::HashSet::new();
    match segments.iter().position(|s| !seen.insert(s.client_id.as_str())) {
        Some(i) => Err(bad(&format!("segments[{i}].client_id"), "this client_id appears twice in the batch")),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub id: i64,
    pub client_id: String,
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// "mm:ss" (or "h:mm:ss") of an offset.
pub fn format_offset(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub id: i64,
    /// The candidate segment it answers.
    pub after_segment_id: i64,
    pub follow_ups: Vec<String>,
    /// Competency keys with evidence so far, and without.
    pub covered: Vec<String>,
    pub uncovered: Vec<String>,
    pub red_flags: Vec<String>,
    pub tier: String,
    pub degraded: bool,
    pub created_at: i64,
}

/// A cited moment of the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    pub segment_id: i64,
    pub start_ms: i64,
    pub quote: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    StrongNo,
    No,
    Yes,
    StrongYes,
}

impl Recommendation {
    pub fn label(self) -> &'static str {
        match self {
            Recommendation::StrongNo => "Strong no",
            Recommendation::No => "No",
            Recommendation::Yes => "Yes",
            Recommendation::StrongYes => "Strong yes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompetencyScore {
    pub key: String,
    pub name: String,
    /// 1..=4; None when the transcript holds no evidence for it.
    pub level: Option<u8>,
    pub rationale: String,
    pub citations: Vec<Citation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scorecard {
    pub scores: Vec<CompetencyScore>,
    /// The AI's recommendation; the hiring decision is the interviewer's.
    pub recommendation: Recommendation,
    pub red_flags: Vec<String>,
    /// Notes on what the guardrails changed (a capped recommendation, a
    /// removed rationale).
    pub guardrail_notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerShare {
    pub speaker: Speaker,
    pub words: u64,
    pub ms: i64,
    /// Share of all words, 0..=100.
    pub percent: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionCoverage {
    pub question: String,
    /// The segment where it was asked, when it was.
    pub asked_at: Option<Citation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub start_ms: i64,
    pub end_ms: i64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insights {
    pub talk_ratio: Vec<SpeakerShare>,
    pub question_coverage: Vec<QuestionCoverage>,
    /// Competency keys with no evidence in the transcript.
    pub no_evidence: Vec<String>,
    /// Candidate answers, in words.
    pub answers: u32,
    pub answer_words_mean: u32,
    pub answer_words_median: u32,
    pub answer_words_max: u32,
    pub topics: Vec<Topic>,
    pub duration_ms: i64,
}

/// One AI-made result with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub tier: String,
    pub degraded: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryResult {
    pub text: String,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorecardResult {
    pub scorecard: Scorecard,
    pub provenance: Provenance,
}

/// The interviewer's own decision, separate from the AI's recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision: Recommendation,
    pub note: String,
    pub by: String,
    pub at: i64,
}

/// An interview with everything ready so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterviewDetail {
    pub interview: InterviewView,
    pub summary: Option<SummaryResult>,
    pub scorecard: Option<ScorecardResult>,
    pub insights: Option<Insights>,
    pub report_ready: bool,
    /// The post-interview workflow's jobs: (key, state).
    pub workflow: Vec<(String, String)>,
}

/// One piece of a suggestion as it streams: the `suggestion_token` event
/// on an interview's live stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionToken {
    /// The candidate's answer the suggestion follows.
    pub after_segment_id: i64,
    pub text: String,
}

/// What the live screen shows: the interview and how its post-interview
/// work is going, without the report. The report's types are not decoded on
/// the live screen, so their code stays out of its wasm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveDetail {
    pub interview: InterviewView,
    pub report_ready: bool,
    /// The post-interview workflow's jobs: (key, state).
    pub workflow: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub interview_id: String,
    pub segment: Segment,
    pub score: f64,
    /// The segments just before and after, for context.
    pub before: Option<Segment>,
    pub after: Option<Segment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AskAnswer {
    pub answer: String,
    pub citations: Vec<Citation>,
    pub tier: String,
    pub degraded: bool,
}

/// The candidate's view of their room: nothing about anyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    pub title: String,
    pub role: String,
    pub candidate_name: String,
    pub mode: Mode,
    pub state: InterviewState,
    pub consent_notice: String,
    pub consent_accepted_at: Option<i64>,
    /// The interviewer paused the interview.
    #[serde(default)]
    pub paused: bool,
    /// The AI's questions and the candidate's own answers.
    pub segments: Vec<Segment>,
}

// ---- server functions: thin wrappers over the InterviewService -------------
// The middleware's table already checked the caller's role; the service then
// checks access to the particular interview (or the candidate's token).

#[cfg(feature = "ssr")]
fn service() -> Result<std::sync::Arc<dyn crate::services::InterviewService>, AppError> {
    crate::services::interview_service()
}

#[leptos::server(endpoint = "rubric_templates", output = crate::wire::Json)]
pub async fn rubric_templates() -> Result<Vec<RubricTemplate>, AppError> {
    crate::services::require_principal()?;
    Ok(service()?.templates())
}

#[leptos::server(endpoint = "interviews_list", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn list_interviews(text: Option<String>) -> Result<Vec<InterviewView>, AppError> {
    let who = crate::services::require_principal()?;
    service()?.list(&who, text).await
}

#[leptos::server(endpoint = "interview_create", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn create_interview(new: NewInterview) -> Result<CreatedInterview, AppError> {
    let who = crate::services::require_principal()?;
    service()?.create(&who, new).await
}

#[leptos::server(endpoint = "interview_detail", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn load_interview(id: String) -> Result<InterviewDetail, AppError> {
    let who = crate::services::require_principal()?;
    service()?.detail(&who, &id).await
}

#[leptos::server(endpoint = "interview_live", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn load_live(id: String) -> Result<LiveDetail, AppError> {
    let who = crate::services::require_principal()?;
    service()?.live_detail(&who, &id).await
}

#[leptos::server(endpoint = "interview_transcript", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn interview_transcript(id: String) -> Result<Vec<Segment>, AppError> {
    let who = crate::services::require_principal()?;
    service()?.transcript(&who, &id).await
}

#[leptos::server(endpoint = "interview_suggestions", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn interview_suggestions(id: String) -> Result<Vec<Suggestion>, AppError> {
    let who = crate::services::require_principal()?;
    service()?.suggestions(&who, &id).await
}

#[leptos::server(endpoint = "interview_append", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn append_segments(id: String, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError> {
    let who = crate::services::require_principal()?;
    service()?.append(&who, &id, segments).await
}

#[leptos::server(endpoint = "interview_start", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn start_interview(id: String) -> Result<InterviewView, AppError> {
    let who = crate::services::require_principal()?;
    service()?.start(&who, &id).await
}

#[leptos::server(endpoint = "interview_pause", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn pause_interview(id: String, paused: bool) -> Result<InterviewView, AppError> {
    let who = crate::services::require_principal()?;
    service()?.pause(&who, &id, paused).await
}

#[leptos::server(endpoint = "interview_link_revoke", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn revoke_candidate_link(id: String) -> Result<(), AppError> {
    let who = crate::services::require_principal()?;
    service()?.revoke_link(&who, &id).await
}

#[leptos::server(endpoint = "interview_end", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn end_interview(id: String) -> Result<InterviewView, AppError> {
    let who = crate::services::require_principal()?;
    service()?.end(&who, &id).await
}

#[leptos::server(endpoint = "interview_decide", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn decide_interview(id: String, decision: Recommendation, note: String) -> Result<(), AppError> {
    let who = crate::services::require_principal()?;
    service()?.decide(&who, &id, decision, note).await
}

#[leptos::server(endpoint = "interview_link", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn new_candidate_link(id: String) -> Result<CandidateLink, AppError> {
    let who = crate::services::require_principal()?;
    service()?.new_link(&who, &id).await
}

#[leptos::server(endpoint = "interview_search", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn search_moments(id: Option<String>, q: String) -> Result<Vec<SearchHit>, AppError> {
    let who = crate::services::require_principal()?;
    service()?.search(&who, id.as_deref(), &q).await
}

#[leptos::server(endpoint = "interview_ask", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn ask_interview(id: String, question: String) -> Result<AskAnswer, AppError> {
    let who = crate::services::require_principal()?;
    service()?.ask(&who, &id, &question).await
}

#[leptos::server(endpoint = "room_get", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn load_room(token: String) -> Result<RoomView, AppError> {
    service()?.room(&token).await
}

#[leptos::server(endpoint = "room_consent", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn room_consent(token: String) -> Result<RoomView, AppError> {
    service()?.room_consent(&token).await
}

#[leptos::server(endpoint = "room_append", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn room_append(token: String, segments: Vec<NewSegment>) -> Result<Vec<Segment>, AppError> {
    service()?.room_append(&token, segments).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str) -> NewSegment {
        NewSegment { client_id: "c1".into(), speaker: Speaker::Candidate, text: text.into(), start_ms: 0, end_ms: 10 }
    }

    /// The `suggestion_token` event is part of the documented SSE API.
    #[test]
    fn a_suggestion_token_keeps_its_wire_shape() {
        let t = SuggestionToken { after_segment_id: 7, text: "Why".into() };
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"after_segment_id":7,"text":"Why"}"#);
        let back: SuggestionToken = serde_json::from_str(r#"{"text":" Kafka","after_segment_id":8}"#).unwrap();
        assert_eq!(back.text, " Kafka");
    }

    #[test]
    fn segments_are_checked_before_storage() {
        assert!(seg("hello").check(0).is_ok());
        let long = "x".repeat(MAX_SEGMENT_CHARS + 1);
        match seg(&long).check(3) {
            Err(AppError::Invalid { field, message }) => {
                assert_eq!(field, "segments[3].text");
                assert!(message.contains("10000"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(seg("  ").check(0).is_err());
        let backwards = NewSegment { start_ms: 10, end_ms: 5, ..seg("x") };
        assert!(backwards.check(0).is_err());
        assert!(check_segments(&[]).is_err());
    }

    fn field_of(r: Result<(), AppError>) -> String {
        match r {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_batch_names_each_segment_once_and_holds_no_nul() {
        let twice = [seg("A"), NewSegment { client_id: "c2".into(), ..seg("B") }, seg("C")];
        assert_eq!(field_of(check_segments(&twice)), "segments[2].client_id", "the second c1 would be lost");
        assert_eq!(field_of(check_segments(&[seg("a\0b")])), "segments[0].text");
        let nul_id = NewSegment { client_id: "c\0".into(), ..seg("x") };
        assert_eq!(field_of(check_segments(&[nul_id])), "segments[0].client_id");
        assert!(check_segments(&[seg("A"), NewSegment { client_id: "c2".into(), ..seg("B") }]).is_ok());
        assert_eq!(field_of(crate::jobs::search_text("q", Some("x\0")).map(|_| ())), "q");
    }

    #[test]
    fn offsets_format_as_clock_time() {
        assert_eq!(format_offset(65_000), "1:05");
        assert_eq!(format_offset(3_725_000), "1:02:05");
    }

    #[test]
    fn plans_must_name_rubric_competencies() {
        let rubric = Rubric {
            competencies: vec![Competency {
                key: "design".into(),
                name: "Design".into(),
                description: "d".into(),
                levels: ["1".into(), "2".into(), "3".into(), "4".into()],
            }],
        };
        assert!(check_rubric(&rubric).is_ok());
        let plan = vec![PlannedQuestion { text: "q".into(), competency: Some("nope".into()) }];
        assert!(check_plan(&plan, Some(&rubric)).is_err());
    }
}
