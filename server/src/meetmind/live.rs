//! While an interview runs: after each candidate answer (debounced, so a
//! burst of segments makes one generation), assist mode streams suggestions
//! and AI-led mode takes its next turn. Both go through the fallback engine
//! and both survive every tier being down: a failed AI call never breaks an
//! interview.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use app::interviews::{PlannedQuestion, Rubric, Segment, Speaker, Suggestion};
use serde::Deserialize;
use tokio::sync::Notify;
use tracing::{debug, warn};

use super::{analysis, hub::Audience, prompts, service::MeetMind};
use crate::{
    llm::{offline::Purpose, router::StreamEvent},
    store::{InterviewRow, SuggestionRow},
};

/// Interviews with a generation pending, each with the signal that restarts
/// its quiet period.
#[derive(Default)]
pub struct LiveState {
    pending: Mutex<HashMap<String, Arc<Notify>>>,
    /// One generation at a time per interview.
    running: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    me: Mutex<Option<Weak<MeetMind>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveState {
    /// Lets spawned tasks reach the service; set once when it is shared.
    pub fn bind(&self, me: &Arc<MeetMind>) {
        *lock(&self.me) = Some(Arc::downgrade(me));
    }

    /// A candidate spoke: (re)start the quiet period; when it passes, generate.
    pub fn kick(&self, _mm: &MeetMind, interview_id: &str) {
        let mut pending = lock(&self.pending);
        if let Some(n) = pending.get(interview_id) {
            n.notify_one();
            return;
        }
        let Some(mm) = lock(&self.me).as_ref().and_then(Weak::upgrade) else {
            debug!("live suggestions are not bound to a running service");
            return;
        };
        let notify = Arc::new(Notify::new());
        pending.insert(interview_id.to_string(), notify.clone());
        let id = interview_id.to_string();
        tokio::spawn(async move {
            let quiet = mm.config.debounce;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(quiet) => break,
                    _ = notify.notified() => continue,
                }
            }
            lock(&mm.live.pending).remove(&id);
            mm.live.one_at_a_time(&id, turn(&mm, &id)).await;
        });
    }

    /// Runs `work` once no other turn of the interview runs, then forgets the
    /// interview's gate if no turn holds or awaits it, so the map only ever
    /// holds interviews with a turn in flight.
    async fn one_at_a_time<F: std::future::Future>(&self, id: &str, work: F) -> F::Output {
        let gate = lock(&self.running).entry(id.to_string()).or_default().clone();
        let out = {
            let _one = gate.lock().await;
            work.await
        };
        let mut running = lock(&self.running);
        // Ours plus the map's: nobody else cloned it while we ran.
        if Arc::strong_count(&gate) == 2 {
            running.remove(id);
        }
        out
    }

    #[cfg(test)]
    fn gates(&self) -> usize {
        lock(&self.running).len()
    }
}

/// One turn after the candidate spoke.
async fn turn(mm: &MeetMind, id: &str) {
    let row = match mm.store.get_interview(id).await {
        // Paused: the turn waits for resume, which kicks again.
        Ok(Some(r)) if r.state == "live" && r.paused_at.is_none() => r,
        Ok(_) => return,
        Err(e) => return warn!(error = %e, "live: cannot load the interview"),
    };
    let segments = match mm.segments(id).await {
        Ok(s) => s,
        Err(e) => return warn!(error = %e, "live: cannot load the transcript"),
    };
    if row.mode == "ai_led" {
        ai_turn(mm, &row, &segments).await;
    } else {
        suggest(mm, &row, &segments).await;
    }
}

#[derive(Deserialize, Default)]
struct ModelSuggestion {
    #[serde(default)]
    follow_ups: Vec<String>,
    #[serde(default)]
    covered: Vec<String>,
    #[serde(default)]
    red_flags: Vec<String>,
}

/// Follow-ups from a reply: JSON when the model kept to it, else one
/// question per line (the offline tier answers that way).
fn parse_suggestion(text: &str) -> ModelSuggestion {
    if let Some(m) = analysis::json_object(text).and_then(|j| serde_json::from_str::<ModelSuggestion>(j).ok()) {
        return m;
    }
    let follow_ups = text
        .lines()
        .map(|l| l.trim().trim_start_matches(|c: char| c == '-' || c == '*' || c == '.' || c.is_ascii_digit()).trim())
        .filter(|l| l.len() > 3)
        .map(str::to_string)
        .collect();
    ModelSuggestion { follow_ups, ..ModelSuggestion::default() }
}

pub fn suggestion_from_row(r: &SuggestionRow) -> Option<Suggestion> {
    let body: serde_json::Value = serde_json::from_str(&r.body).ok()?;
    let list = |k: &str| -> Vec<String> {
        body[k]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    Some(Suggestion {
        id: r.id,
        after_segment_id: r.after_segment_id,
        follow_ups: list("follow_ups"),
        covered: list("covered"),
        uncovered: list("uncovered"),
        red_flags: list("red_flags"),
        tier: r.tier.clone(),
        degraded: r.degraded,
        created_at: r.created_at,
    })
}

fn rubric_of(row: &InterviewRow) -> Rubric {
    serde_json::from_str(&row.rubric).unwrap_or_default()
}

/// Assist mode: follow-ups, rubric coverage and red flags, streamed to the
/// interview's channel as they are generated.
pub async fn suggest(mm: &MeetMind, row: &InterviewRow, segments: &[Segment]) -> Option<Suggestion> {
    let answer = segments.iter().rev().find(|s| s.speaker == Speaker::Candidate)?;
    let rubric = rubric_of(row);
    let (mut covered, _) = analysis::coverage(segments, &rubric);
    let uncovered_names = |covered: &[String]| -> Vec<String> {
        rubric.competencies.iter().filter(|c| !covered.contains(&c.key)).map(|c| c.name.to_lowercase()).collect()
    };
    let recent: Vec<Segment> = segments.iter().rev().take(8).rev().cloned().collect();
    let prompt = prompts::follow_ups(&rubric, &recent, &answer.text, &uncovered_names(&covered));
    let purpose = Purpose::FollowUps { answer: answer.text.clone(), uncovered: uncovered_names(&covered) };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<StreamEvent>(64);
    let id = row.id.clone();
    let after = answer.id;
    let hub = mm.hub.clone();
    let forward = tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            match ev {
                StreamEvent::Token(t) => hub.publish(
                    &id,
                    Audience::Staff,
                    "suggestion_token",
                    app::interviews::SuggestionToken { after_segment_id: after, text: t },
                ),
                StreamEvent::Interrupted { tier, reason } => hub.publish(
                    &id,
                    Audience::Staff,
                    "suggestion_interrupted",
                    serde_json::json!({ "after_segment_id": after, "tier": tier, "reason": reason }),
                ),
                StreamEvent::Done { .. } => {}
            }
        }
    });
    let limits = crate::llm::router::StreamLimits {
        deadline: mm.config.suggest_budget,
        ..crate::llm::router::StreamLimits::default()
    };
    let reply = mm.llm.stream(&purpose, &prompt, limits, &tx).await;
    drop(tx);
    let _ = forward.await;

    let model = parse_suggestion(&reply.text);
    for k in model.covered {
        if rubric.competencies.iter().any(|c| c.key == k) && !covered.contains(&k) {
            covered.push(k);
        }
    }
    let uncovered: Vec<String> =
        rubric.competencies.iter().filter(|c| !covered.contains(&c.key)).map(|c| c.key.clone()).collect();
    let mut red_flags: Vec<String> = model.red_flags.into_iter().take(5).collect();
    red_flags.extend(analysis::red_flags_in(&answer.text));
    red_flags.retain(|f| analysis::protected_reference(f).is_none());
    red_flags.dedup();
    let mut follow_ups: Vec<String> =
        model.follow_ups.into_iter().take(3).map(|f| f.chars().take(400).collect()).collect();
    if follow_ups.is_empty() {
        // An interrupted or empty stream still leaves the interviewer something to ask.
        follow_ups = parse_suggestion(&crate::llm::offline::answer(&purpose)).follow_ups;
    }
    let degraded = reply.degraded || reply.text.is_empty();
    let body = serde_json::json!({
        "follow_ups": follow_ups, "covered": covered, "uncovered": uncovered, "red_flags": red_flags,
    });
    let row_out = SuggestionRow {
        id: 0,
        interview_id: row.id.clone(),
        after_segment_id: after,
        body: body.to_string(),
        tier: reply.tier.clone(),
        degraded,
        created_at: mm.now(),
    };
    let id = match mm.store.insert_suggestion(&row_out).await {
        Ok(id) => id,
        Err(e) => {
            warn!(error = %e, "live: could not store a suggestion");
            0
        }
    };
    let s = suggestion_from_row(&SuggestionRow { id, ..row_out })?;
    mm.hub.publish(&row.id, Audience::Staff, "suggestion", &s);
    Some(s)
}

/// The next move of the AI interviewer, decided without a model so the
/// interview can never get stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    FollowUp {
        question: usize,
    },
    Ask {
        question: usize,
    },
    Close,
    /// The candidate has not answered yet.
    Wait,
}

/// Words below which an answer earns one follow-up.
const SHORT_ANSWER_WORDS: usize = 25;
/// The AI closes when less than this remains.
const CLOSING_MARGIN_MS: i64 = 60_000;

/// AI segments carry their step in the client id (`ai-q3`, `ai-f3`,
/// `ai-close`), which also makes a repeated turn harmless.
pub fn next_step(plan: &[PlannedQuestion], segments: &[Segment], elapsed_ms: i64, duration_ms: i64) -> Step {
    let last_ai = segments.iter().rposition(|s| s.speaker == Speaker::Ai);
    let Some(ai) = last_ai else { return Step::Ask { question: 0 } };
    let tag = segments[ai].client_id.as_str();
    if tag == "ai-close" {
        return Step::Wait;
    }
    let answer_words: usize = segments[ai + 1..]
        .iter()
        .filter(|s| s.speaker == Speaker::Candidate)
        .map(|s| s.text.split_whitespace().count())
        .sum();
    if answer_words == 0 {
        return Step::Wait;
    }
    let current = tag
        .strip_prefix("ai-q")
        .or_else(|| tag.strip_prefix("ai-f"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    if elapsed_ms >= duration_ms - CLOSING_MARGIN_MS {
        return Step::Close;
    }
    let followed_up = segments.iter().any(|s| s.client_id == format!("ai-f{current}"));
    if tag.starts_with("ai-q") && answer_words < SHORT_ANSWER_WORDS && !followed_up {
        return Step::FollowUp { question: current };
    }
    if current + 1 < plan.len() {
        Step::Ask { question: current + 1 }
    } else {
        Step::Close
    }
}

/// Starts an AI-led interview: a greeting and the first planned question.
pub async fn open_ai_led(mm: &MeetMind, row: &InterviewRow) {
    let plan: Vec<PlannedQuestion> = serde_json::from_str(&row.plan).unwrap_or_default();
    let Some(first) = plan.first() else { return };
    let text = format!(
        "Hello {}, thank you for joining. I'm the AI interviewer for the {} role; I'll ask {} questions and the \
         hiring team will review your answers. Let's begin: {}",
        row.candidate_name,
        row.role,
        plan.len(),
        first.text
    );
    if let Err(e) = mm.append_ai(row, "ai-q0".into(), text).await {
        warn!(error = %e, "AI-led: could not open the interview");
    }
}

async fn ai_turn(mm: &MeetMind, row: &InterviewRow, segments: &[Segment]) {
    let plan: Vec<PlannedQuestion> = serde_json::from_str(&row.plan).unwrap_or_default();
    // Paused time does not count against the interview's duration.
    let elapsed = mm.now() - row.started_at.unwrap_or(row.created_at) - row.paused_ms;
    let step = next_step(&plan, segments, elapsed, i64::from(row.duration_min) * 60_000);
    let (client_id, text) = match step {
        Step::Wait => return,
        Step::Ask { question } => {
            let Some(q) = plan.get(question) else { return };
            (format!("ai-q{question}"), format!("Thank you. Next question: {}", q.text))
        }
        Step::FollowUp { question } => {
            let asked = plan.get(question).map(|q| q.text.as_str()).unwrap_or_default();
            let answer: String = segments
                .iter()
                .rev()
                .take_while(|s| s.speaker == Speaker::Candidate)
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let purpose = Purpose::FollowUps { answer: answer.clone(), uncovered: Vec::new() };
            let reply =
                mm.llm.complete(&purpose, &prompts::ai_follow_up(asked, &answer), mm.config.suggest_budget).await;
            // The offline tier answers with a few lines; one question is enough.
            let q =
                reply.text.lines().map(str::trim).find(|l| l.len() > 3).unwrap_or("Could you give a concrete example?");
            (format!("ai-f{question}"), q.chars().take(600).collect())
        }
        Step::Close => (
            "ai-close".into(),
            "That's all my questions. Thank you for your time; the hiring team will be in touch about next steps."
                .into(),
        ),
    };
    let closing = client_id == "ai-close";
    // Paused (or ended) while the model was thinking: the turn is dropped,
    // and resuming takes it again.
    if !matches!(mm.store.get_interview(&row.id).await, Ok(Some(r)) if r.state == "live" && r.paused_at.is_none()) {
        return;
    }
    if let Err(e) = mm.append_ai(row, client_id, text).await {
        warn!(error = %e, "AI-led: could not add the AI's turn");
        return;
    }
    if closing {
        if let Err(e) = mm.end_by_id(&row.id).await {
            warn!(error = %e, "AI-led: could not end the interview");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(client: &str, speaker: Speaker, text: &str) -> Segment {
        Segment { id: 0, client_id: client.into(), speaker, text: text.into(), start_ms: 0, end_ms: 0 }
    }

    fn plan(n: usize) -> Vec<PlannedQuestion> {
        (0..n).map(|i| PlannedQuestion { text: format!("Question {i}?"), competency: None }).collect()
    }

    #[tokio::test]
    async fn turns_of_one_interview_take_turns_and_the_gate_is_forgotten_after_the_last() {
        let live = Arc::new(LiveState::default());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let live = live.clone();
            async move {
                live.one_at_a_time("iv", async move {
                    let _ = started_tx.send(());
                    let _ = finish_rx.await;
                    "first"
                })
                .await
            }
        });
        started_rx.await.unwrap();
        let second = tokio::spawn({
            let live = live.clone();
            async move { live.one_at_a_time("iv", async { "second" }).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second turn waits for the first");
        assert_eq!(live.gates(), 1, "a turn is in flight");
        assert_eq!(live.one_at_a_time("other", async { 7 }).await, 7, "another interview does not wait");
        finish_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), "first");
        assert_eq!(second.await.unwrap(), "second");
        assert_eq!(live.gates(), 0, "no turn in flight, no gate kept");
    }

    #[test]
    fn the_ai_interviewer_follows_the_plan_follows_up_once_and_closes() {
        let long = "word ".repeat(40);
        assert_eq!(next_step(&plan(3), &[], 0, 600_000), Step::Ask { question: 0 });
        let mut t = vec![seg("ai-q0", Speaker::Ai, "Question 0?")];
        assert_eq!(next_step(&plan(3), &t, 0, 600_000), Step::Wait);
        t.push(seg("c1", Speaker::Candidate, "Short answer."));
        assert_eq!(next_step(&plan(3), &t, 0, 600_000), Step::FollowUp { question: 0 });
        t.push(seg("ai-f0", Speaker::Ai, "Example?"));
        t.push(seg("c2", Speaker::Candidate, "Still short."));
        assert_eq!(next_step(&plan(3), &t, 0, 600_000), Step::Ask { question: 1 }, "one follow-up per question");
        t.push(seg("ai-q1", Speaker::Ai, "Question 1?"));
        t.push(seg("c3", Speaker::Candidate, &long));
        assert_eq!(next_step(&plan(3), &t, 0, 600_000), Step::Ask { question: 2 });
        t.push(seg("ai-q2", Speaker::Ai, "Question 2?"));
        t.push(seg("c4", Speaker::Candidate, &long));
        assert_eq!(next_step(&plan(3), &t, 0, 600_000), Step::Close, "plan done");
        // Out of time: close even with questions left.
        let t = vec![seg("ai-q0", Speaker::Ai, "Q"), seg("c1", Speaker::Candidate, &long)];
        assert_eq!(next_step(&plan(3), &t, 590_000, 600_000), Step::Close);
        let closed = vec![seg("ai-close", Speaker::Ai, "Bye"), seg("c9", Speaker::Candidate, "Thanks")];
        assert_eq!(next_step(&plan(3), &closed, 0, 600_000), Step::Wait);
    }

    #[test]
    fn suggestions_parse_json_or_lines() {
        let j = parse_suggestion(
            "```json\n{\"follow_ups\": [\"Why Kafka?\"], \"covered\": [\"design\"], \"red_flags\": []}\n```",
        );
        assert_eq!(j.follow_ups, vec!["Why Kafka?"]);
        assert_eq!(j.covered, vec!["design"]);
        let l = parse_suggestion("1. What did you measure?\n- Who else was involved?\n");
        assert_eq!(l.follow_ups, vec!["What did you measure?", "Who else was involved?"]);
    }
}
