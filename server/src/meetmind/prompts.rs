//! The prompts MeetMind sends. Each states the guardrails, and each is
//! stored with the result it produced.

use app::interviews::{format_offset, Rubric, Segment};

use crate::llm::wire::{Message, Prompt, Role};

const GUARDRAILS: &str = "Judge only job-related behaviour shown in the transcript. Never consider or mention accent, \
fluency in a non-native language, grammar, age, gender, race, religion, nationality, disability, family status or any \
other protected trait.";

/// `[#id mm:ss speaker] text` lines: the ids are what citations must name.
pub fn transcript_lines(segments: &[Segment], max_chars: usize) -> String {
    let mut out = String::new();
    for s in segments {
        let line = format!("[#{} {} {}] {}\n", s.id, format_offset(s.start_ms), s.speaker.as_str(), s.text);
        if out.len() + line.len() > max_chars {
            out.push_str("[…transcript truncated…]\n");
            break;
        }
        out.push_str(&line);
    }
    out
}

fn rubric_lines(rubric: &Rubric) -> String {
    rubric
        .competencies
        .iter()
        .map(|c| {
            format!(
                "- {} ({}): {}\n  1: {}\n  2: {}\n  3: {}\n  4: {}\n",
                c.key, c.name, c.description, c.levels[0], c.levels[1], c.levels[2], c.levels[3]
            )
        })
        .collect()
}

fn prompt(system: String, user: String, max_tokens: u32) -> Prompt {
    Prompt { system: Some(system), messages: vec![Message { role: Role::User, text: user }], temperature: 0.2, max_tokens }
}

pub fn follow_ups(rubric: &Rubric, recent: &[Segment], answer: &str, uncovered: &[String]) -> Prompt {
    prompt(
        format!(
            "You assist a human interviewer in real time. After the candidate's latest answer, suggest 1 to 3 short \
             follow-up questions tied to that answer, preferring competencies without evidence yet. Reply with JSON \
             only: {{\"follow_ups\": [\"...\"], \"covered\": [\"competency_key\"], \"red_flags\": [\"...\"]}}. Red \
             flags only when clearly warranted (dishonesty, misconduct). {GUARDRAILS}"
        ),
        format!(
            "Rubric:\n{}\nCompetencies without evidence so far: {}\n\nRecent transcript:\n{}\nLatest answer: {answer}",
            rubric_lines(rubric),
            if uncovered.is_empty() { "none".into() } else { uncovered.join(", ") },
            transcript_lines(recent, 6_000)
        ),
        400,
    )
}

pub fn ai_follow_up(question: &str, answer: &str) -> Prompt {
    prompt(
        format!(
            "You are conducting a structured job interview. Ask exactly one brief, friendly follow-up question that \
             digs deeper into the candidate's answer (a concrete example, their own role, a trade-off or a result). \
             Reply with the question only. {GUARDRAILS}"
        ),
        format!("Question: {question}\nAnswer: {answer}"),
        120,
    )
}

pub fn summary(title: &str, segments: &[Segment]) -> Prompt {
    prompt(
        format!(
            "Summarise this job interview for the hiring team in 5 to 8 sentences: what the candidate did, strengths, \
             concerns, and notable moments with their [mm:ss] times. Be factual; do not recommend a decision. \
             {GUARDRAILS}"
        ),
        format!("Interview: {title}\n\n{}", transcript_lines(segments, 60_000)),
        700,
    )
}

pub fn scorecard(rubric: &Rubric, segments: &[Segment]) -> Prompt {
    prompt(
        format!(
            "Score the candidate against the rubric. For each competency give a level from 1 to 4 (or null when the \
             transcript holds no evidence), a rationale, and the ids of the transcript segments that support it \
             (the numbers after #). Then an overall recommendation: strong_no, no, yes or strong_yes, and any red \
             flags. A red flag caps the recommendation at no. Reply with JSON only: {{\"scores\": [{{\"key\": \"...\", \
             \"level\": 3, \"rationale\": \"...\", \"segment_ids\": [12]}}], \"recommendation\": \"yes\", \
             \"red_flags\": []}}. {GUARDRAILS}"
        ),
        format!("Rubric:\n{}\nTranscript:\n{}", rubric_lines(rubric), transcript_lines(segments, 60_000)),
        1_500,
    )
}

pub fn ask(question: &str, passages: &[Segment]) -> Prompt {
    prompt(
        "Answer the question about a job interview using only the passages given. Cite each passage you rely on \
         by its id as [#id]. If the passages do not answer it, say so."
            .to_string(),
        format!("Passages:\n{}\nQuestion: {question}", transcript_lines(passages, 12_000)),
        400,
    )
}

/// The whole prompt as stored with a result.
pub fn text(p: &Prompt) -> String {
    let mut out = p.system.clone().unwrap_or_default();
    for m in &p.messages {
        out.push_str("\n\n");
        out.push_str(&m.text);
    }
    out
}
