//! The pure half of post-interview analysis: evidence per competency,
//! guardrails, the offline scorecard, parsing a model's scorecard, insights
//! and the report. No I/O, so every rule here is unit-tested directly.

use std::collections::HashSet;

use app::interviews::{
    format_offset, Citation, Competency, CompetencyScore, Insights, InterviewView, PlannedQuestion, QuestionCoverage,
    Recommendation, Rubric, Scorecard, Segment, Speaker, SpeakerShare, Topic,
};
use serde::Deserialize;

use super::search;

/// Stems of the words that describe a competency (name and description).
pub fn competency_keywords(c: &Competency) -> HashSet<String> {
    let text = format!("{} {} {}", c.name, c.key.replace('_', " "), c.description);
    search::terms(&text).into_iter().filter(|t| t.len() >= 3).collect()
}

/// Candidate segments that show evidence for a competency, strongest first:
/// (position in `segments`, distinct keywords matched). Two distinct keyword
/// matches are needed, so one passing word is not "evidence".
pub fn evidence(segments: &[Segment], c: &Competency) -> Vec<(usize, usize)> {
    let keywords = competency_keywords(c);
    let need = if keywords.len() < 4 { 1 } else { 2 };
    let mut found: Vec<(usize, usize)> = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.speaker == Speaker::Candidate)
        .filter_map(|(i, s)| {
            let terms: HashSet<String> = search::terms(&s.text).into_iter().collect();
            let hits = keywords.intersection(&terms).count();
            (hits >= need).then_some((i, hits))
        })
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    found
}

/// Competency keys with evidence so far, and those without.
pub fn coverage(segments: &[Segment], rubric: &Rubric) -> (Vec<String>, Vec<String>) {
    rubric.competencies.iter().fold((Vec::new(), Vec::new()), |(mut yes, mut no), c| {
        if evidence(segments, c).is_empty() {
            no.push(c.key.clone());
        } else {
            yes.push(c.key.clone());
        }
        (yes, no)
    })
}

/// Phrases in an answer that warrant a red flag, with what to flag. Kept
/// short and literal: red flags must be explainable to the candidate.
const RED_FLAG_PATTERNS: &[(&str, &str)] = &[
    ("i lied", "Says they lied"),
    ("falsified", "Mentions falsifying something"),
    ("covered it up", "Describes covering up a problem"),
    ("cover it up", "Describes covering up a problem"),
    ("not my problem", "Disowns a problem (\"not my problem\")"),
    ("took the credit", "Took credit for others' work"),
    ("took credit for", "Took credit for others' work"),
    ("customer data home", "Took customer data outside the company"),
    ("shared confidential", "Shared confidential information"),
    ("bring the source code", "Offers a former employer's source code"),
    ("blamed the junior", "Blamed a junior colleague"),
];

pub fn red_flags_in(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for (pattern, flag) in RED_FLAG_PATTERNS {
        if lower.contains(pattern) && !out.iter().any(|f| f == flag) {
            out.push((*flag).to_string());
        }
    }
    out
}

/// Words that must never ground a score: language fluency and accent, and
/// protected traits. Returns the first one found.
pub fn protected_reference(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    const SUBSTRINGS: &[&str] = &[
        "accent",
        "fluency",
        "fluent",
        "native speaker",
        "non-native",
        "pronunciation",
        "grammar",
        "gender",
        "pregnan",
        "religion",
        "religious",
        "ethnic",
        "nationality",
        "disabilit",
        "disabled",
        "marital",
        "married",
        "sexual orientation",
        "skin colo",
        "maternity",
        "age of the candidate",
        "too old",
        "too young",
    ];
    if let Some(hit) = SUBSTRINGS.iter().find(|w| lower.contains(*w)) {
        return Some(hit);
    }
    // Whole words only: "race condition" and "page" are not protected traits.
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    for (i, w) in words.iter().enumerate() {
        match *w {
            "age" => return Some("age"),
            "race" if words.get(i + 1) != Some(&"condition") && words.get(i + 1) != Some(&"conditions") => {
                return Some("race")
            }
            _ => {}
        }
    }
    None
}

pub fn recommendation_from_levels(levels: &[u8]) -> Recommendation {
    if levels.is_empty() {
        return Recommendation::No;
    }
    let mean = levels.iter().map(|l| f64::from(*l)).sum::<f64>() / levels.len() as f64;
    match mean {
        m if m >= 3.5 => Recommendation::StrongYes,
        m if m >= 2.5 => Recommendation::Yes,
        m if m >= 1.75 => Recommendation::No,
        _ => Recommendation::StrongNo,
    }
}

/// Applied to every scorecard, whoever wrote it: rationales that lean on a
/// protected trait lose their score, such red flags are dropped, and any
/// remaining red flag caps the recommendation at "no".
pub fn apply_guardrails(card: &mut Scorecard) {
    for s in &mut card.scores {
        if let Some(term) = protected_reference(&s.rationale) {
            card.guardrail_notes.push(format!(
                "{}: the rationale referred to {term:?}, which must not be scored; the score was removed",
                s.name
            ));
            s.level = None;
            s.rationale = "Removed by the guardrail: the rationale referred to a trait that must not be scored.".into();
            s.citations.clear();
        }
    }
    let before = card.red_flags.len();
    card.red_flags.retain(|f| protected_reference(f).is_none());
    if card.red_flags.len() < before {
        card.guardrail_notes.push("red flags that referred to protected traits were dropped".into());
    }
    let levels: Vec<u8> = card.scores.iter().filter_map(|s| s.level).collect();
    let computed = recommendation_from_levels(&levels);
    // A model may not recommend above what its own scores support by more than one step.
    if card.recommendation > computed && (card.recommendation as u8) > (computed as u8) + 1 {
        card.recommendation = computed;
    }
    if !card.red_flags.is_empty() && card.recommendation > Recommendation::No {
        card.recommendation = Recommendation::No;
        card.guardrail_notes.push("a red flag capped the recommendation at \"No\"".into());
    }
}

pub fn citation(s: &Segment) -> Citation {
    let mut quote: String = s.text.chars().take(160).collect();
    if s.text.chars().count() > 160 {
        quote.push('…');
    }
    Citation { segment_id: s.id, start_ms: s.start_ms, quote }
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// A scorecard from evidence alone, for the offline tier: the level grows
/// with the number of evidencing answers, concrete numbers and depth.
pub fn offline_scorecard(segments: &[Segment], rubric: &Rubric) -> Scorecard {
    let mut red_flags: Vec<String> = Vec::new();
    for s in segments.iter().filter(|s| s.speaker == Speaker::Candidate) {
        for f in red_flags_in(&s.text) {
            if !red_flags.contains(&f) {
                red_flags.push(f);
            }
        }
    }
    let scores = rubric
        .competencies
        .iter()
        .map(|c| {
            let ev = evidence(segments, c);
            if ev.is_empty() {
                return CompetencyScore {
                    key: c.key.clone(),
                    name: c.name.clone(),
                    level: None,
                    rationale: "No evidence in the transcript; not scored.".into(),
                    citations: Vec::new(),
                };
            }
            let top: Vec<&Segment> = ev.iter().take(3).map(|(i, _)| &segments[*i]).collect();
            let mut level = 1u8;
            if ev.len() >= 2 {
                level += 1;
            }
            if top.iter().any(|s| s.text.chars().any(|ch| ch.is_ascii_digit())) {
                level += 1;
            }
            if top.iter().any(|s| words(&s.text) >= 60) {
                level += 1;
            }
            let level = level.min(4);
            let first = top[0];
            let rationale = format!(
                "{} answer(s) show evidence, e.g. at {}: \"{}\". Level {} — {}",
                ev.len(),
                format_offset(first.start_ms),
                citation(first).quote,
                level,
                c.levels[usize::from(level) - 1]
            );
            CompetencyScore {
                key: c.key.clone(),
                name: c.name.clone(),
                level: Some(level),
                rationale,
                citations: top.iter().map(|s| citation(s)).collect(),
            }
        })
        .collect::<Vec<_>>();
    let levels: Vec<u8> = scores.iter().filter_map(|s| s.level).collect();
    let mut card = Scorecard {
        scores,
        recommendation: recommendation_from_levels(&levels),
        red_flags,
        guardrail_notes: Vec::new(),
    };
    apply_guardrails(&mut card);
    card
}

/// The first JSON object in a model's reply (models like to wrap it in prose
/// or code fences).
pub fn json_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (end > start).then(|| &text[start..=end])
}

#[derive(Deserialize)]
struct ModelScore {
    key: String,
    level: Option<u8>,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    segment_ids: Vec<i64>,
}

#[derive(Deserialize)]
struct ModelCard {
    scores: Vec<ModelScore>,
    recommendation: Option<Recommendation>,
    #[serde(default)]
    red_flags: Vec<String>,
}

/// A model's scorecard, checked: unknown competencies are ignored, citations
/// must name real segments, a level without a real citation is not kept,
/// and competencies the model skipped fall back to the evidence-based score.
pub fn parse_scorecard(reply: &str, segments: &[Segment], rubric: &Rubric) -> Option<Scorecard> {
    let model: ModelCard = serde_json::from_str(json_object(reply)?).ok()?;
    let fallback = offline_scorecard(segments, rubric);
    let mut guardrail_notes = Vec::new();
    let scores = rubric
        .competencies
        .iter()
        .zip(fallback.scores)
        .map(|(c, offline)| {
            let Some(m) = model.scores.iter().find(|m| m.key == c.key) else {
                return offline;
            };
            let citations: Vec<Citation> =
                m.segment_ids.iter().filter_map(|id| segments.iter().find(|s| s.id == *id)).map(citation).collect();
            let level = m.level.filter(|l| (1..=4).contains(l));
            if level.is_some() && citations.is_empty() {
                guardrail_notes.push(format!("{}: the model cited no real segment, so its score was not kept", c.name));
                return CompetencyScore { level: None, rationale: "No valid citation; not scored.".into(), ..offline };
            }
            CompetencyScore {
                key: c.key.clone(),
                name: c.name.clone(),
                level,
                rationale: m.rationale.chars().take(2000).collect(),
                citations,
            }
        })
        .collect::<Vec<_>>();
    let levels: Vec<u8> = scores.iter().filter_map(|s| s.level).collect();
    let mut card = Scorecard {
        recommendation: model.recommendation.unwrap_or_else(|| recommendation_from_levels(&levels)),
        scores,
        red_flags: model.red_flags.into_iter().take(10).map(|f| f.chars().take(300).collect()).collect(),
        guardrail_notes,
    };
    apply_guardrails(&mut card);
    Some(card)
}

fn overlap(a: &str, b: &str) -> f64 {
    let x: HashSet<String> = search::terms(a).into_iter().collect();
    let y: HashSet<String> = search::terms(b).into_iter().collect();
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    x.intersection(&y).count() as f64 / x.len().min(y.len()) as f64
}

/// The asking segment of a planned question, if it was asked.
fn asked(plan_q: &PlannedQuestion, segments: &[Segment]) -> Option<usize> {
    segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.speaker != Speaker::Candidate)
        .map(|(i, s)| (i, overlap(&plan_q.text, &s.text)))
        .filter(|(_, o)| *o >= 0.5)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
}

pub fn insights(segments: &[Segment], rubric: &Rubric, plan: &[PlannedQuestion]) -> Insights {
    let total_words: usize = segments.iter().map(|s| words(&s.text)).sum();
    let talk_ratio = [Speaker::Interviewer, Speaker::Candidate, Speaker::Ai]
        .into_iter()
        .filter_map(|speaker| {
            let mine: Vec<&Segment> = segments.iter().filter(|s| s.speaker == speaker).collect();
            if mine.is_empty() {
                return None;
            }
            let w: usize = mine.iter().map(|s| words(&s.text)).sum();
            Some(SpeakerShare {
                speaker,
                words: w as u64,
                ms: mine.iter().map(|s| s.end_ms - s.start_ms).sum(),
                percent: if total_words == 0 { 0 } else { ((w * 100 + total_words / 2) / total_words) as u8 },
            })
        })
        .collect();
    let question_coverage = plan
        .iter()
        .map(|q| QuestionCoverage {
            question: q.text.clone(),
            asked_at: asked(q, segments).map(|i| citation(&segments[i])),
        })
        .collect();
    let (_, no_evidence) = coverage(segments, rubric);
    let mut lengths: Vec<u32> =
        segments.iter().filter(|s| s.speaker == Speaker::Candidate).map(|s| words(&s.text) as u32).collect();
    lengths.sort_unstable();
    let answers = lengths.len() as u32;
    let answer_words_mean = if lengths.is_empty() { 0 } else { lengths.iter().sum::<u32>() / answers };
    let answer_words_median = lengths.get(lengths.len() / 2).copied().unwrap_or(0);
    let answer_words_max = lengths.last().copied().unwrap_or(0);

    // A topic starts at each question; it is named after the competency of
    // the planned question it matches, else after the question's opening.
    let end = segments.iter().map(|s| s.end_ms).max().unwrap_or(0);
    let starts: Vec<(usize, String)> = segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.speaker != Speaker::Candidate && s.text.contains('?'))
        .map(|(i, s)| {
            let planned = plan
                .iter()
                .filter(|q| overlap(&q.text, &s.text) >= 0.5)
                .find_map(|q| q.competency.as_ref())
                .and_then(|k| rubric.competencies.iter().find(|c| &c.key == k))
                .map(|c| c.name.clone());
            let label = planned.unwrap_or_else(|| {
                let w: Vec<&str> = s.text.split_whitespace().take(6).collect();
                format!("{}…", w.join(" "))
            });
            (i, label)
        })
        .collect();
    let mut topics: Vec<Topic> = Vec::new();
    for (n, (i, label)) in starts.iter().enumerate() {
        let start_ms = segments[*i].start_ms;
        let end_ms = starts.get(n + 1).map(|(j, _)| segments[*j].start_ms).unwrap_or(end);
        match topics.last_mut() {
            // Follow-ups on the same topic extend it.
            Some(t) if &t.label == label => t.end_ms = end_ms,
            _ => topics.push(Topic { start_ms, end_ms, label: label.clone() }),
        }
    }
    let duration_ms = end - segments.iter().map(|s| s.start_ms).min().unwrap_or(0);
    Insights {
        talk_ratio,
        question_coverage,
        no_evidence,
        answers,
        answer_words_mean,
        answer_words_median,
        answer_words_max,
        topics,
        duration_ms,
    }
}

/// The report's content, rendered twice (Markdown and HTML).
pub struct ReportInput<'a> {
    pub interview: &'a InterviewView,
    pub summary: Option<&'a str>,
    pub scorecard: Option<&'a Scorecard>,
    pub insights: Option<&'a Insights>,
    /// Each AI part's tier, and whether it was degraded (offline).
    pub provenance: Vec<(String, String, bool)>,
    pub base_url: &'a str,
}

impl ReportInput<'_> {
    fn moment(&self, c: &Citation) -> String {
        format!("{}/interviews/{}/live#seg-{}", self.base_url, self.interview.id, c.segment_id)
    }
}

pub fn report_markdown(r: &ReportInput) -> String {
    let iv = r.interview;
    let mut md = format!("# Interview report: {}\n\n", iv.title);
    md += &format!("- Candidate: {}\n- Role: {}\n- Mode: {}\n\n", iv.candidate_name, iv.role, iv.mode.as_str());
    md += "## Summary\n\n";
    md += r.summary.unwrap_or("(not available)");
    md += "\n\n## Scorecard\n\n";
    if let Some(card) = r.scorecard {
        md += &format!(
            "AI recommendation: **{}** (the hiring decision is the interviewer's, recorded separately)\n\n",
            card.recommendation.label()
        );
        for s in &card.scores {
            let level = s.level.map(|l| format!("{l}/4")).unwrap_or_else(|| "not scored".into());
            md += &format!("### {} — {}\n\n{}\n\n", s.name, level, s.rationale);
            for c in &s.citations {
                md += &format!("- [{}]({}) \"{}\"\n", format_offset(c.start_ms), r.moment(c), c.quote);
            }
            md += "\n";
        }
        if !card.red_flags.is_empty() {
            md += "**Red flags:**\n\n";
            for f in &card.red_flags {
                md += &format!("- {f}\n");
            }
            md += "\n";
        }
        for n in &card.guardrail_notes {
            md += &format!("> Guardrail: {n}\n");
        }
    } else {
        md += "(not available)\n";
    }
    md += "\n## Insights\n\n";
    if let Some(i) = r.insights {
        for t in &i.talk_ratio {
            md += &format!("- {} spoke {}% of the words\n", t.speaker.as_str(), t.percent);
        }
        md += &format!(
            "- {} answers; words per answer: mean {}, median {}, longest {}\n",
            i.answers, i.answer_words_mean, i.answer_words_median, i.answer_words_max
        );
        if !i.no_evidence.is_empty() {
            md += &format!("- No evidence for: {}\n", i.no_evidence.join(", "));
        }
        md += "\n### Question plan\n\n";
        for q in &i.question_coverage {
            match &q.asked_at {
                Some(c) => md += &format!("- [x] {} ([{}]({}))\n", q.question, format_offset(c.start_ms), r.moment(c)),
                None => md += &format!("- [ ] {}\n", q.question),
            }
        }
        md += "\n### Topics\n\n";
        for t in &i.topics {
            md += &format!("- {}–{} {}\n", format_offset(t.start_ms), format_offset(t.end_ms), t.label);
        }
    } else {
        md += "(not available)\n";
    }
    md += "\n---\n";
    for (part, tier, degraded) in &r.provenance {
        md += &format!("{part}: {tier}{}. ", if *degraded { " (offline, degraded)" } else { "" });
    }
    md += "\n";
    md
}

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Print-friendly HTML; every value from the interview is escaped.
pub fn report_html(r: &ReportInput) -> String {
    let iv = r.interview;
    let e = escape;
    let mut h = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    h += &format!("<title>Interview report: {}</title>", e(&iv.title));
    h += "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}\
          .lvl{font-weight:600}blockquote{color:#555;margin:.3rem 0 .3rem 1rem}\
          @media print{a{color:inherit;text-decoration:none}}</style></head><body>";
    h += &format!("<h1>Interview report: {}</h1>", e(&iv.title));
    h += &format!("<p>Candidate: {}<br>Role: {}<br>Mode: {}</p>", e(&iv.candidate_name), e(&iv.role), iv.mode.as_str());
    h += &format!("<h2>Summary</h2><p>{}</p>", e(r.summary.unwrap_or("(not available)")));
    h += "<h2>Scorecard</h2>";
    if let Some(card) = r.scorecard {
        h += &format!(
            "<p>AI recommendation: <strong>{}</strong> (the hiring decision is the interviewer's)</p>",
            card.recommendation.label()
        );
        for s in &card.scores {
            let level = s.level.map(|l| format!("{l}/4")).unwrap_or_else(|| "not scored".into());
            h += &format!("<h3>{} <span class=\"lvl\">{}</span></h3><p>{}</p><ul>", e(&s.name), level, e(&s.rationale));
            for c in &s.citations {
                h += &format!(
                    "<li><a href=\"{}\">{}</a> <blockquote>{}</blockquote></li>",
                    e(&r.moment(c)),
                    format_offset(c.start_ms),
                    e(&c.quote)
                );
            }
            h += "</ul>";
        }
        if !card.red_flags.is_empty() {
            h += "<h3>Red flags</h3><ul>";
            for f in &card.red_flags {
                h += &format!("<li>{}</li>", e(f));
            }
            h += "</ul>";
        }
        for n in &card.guardrail_notes {
            h += &format!("<p><em>Guardrail: {}</em></p>", e(n));
        }
    }
    if let Some(i) = r.insights {
        h += "<h2>Insights</h2><ul>";
        for t in &i.talk_ratio {
            h += &format!("<li>{} spoke {}% of the words</li>", t.speaker.as_str(), t.percent);
        }
        h += &format!(
            "<li>{} answers; words per answer: mean {}, median {}, longest {}</li></ul>",
            i.answers, i.answer_words_mean, i.answer_words_median, i.answer_words_max
        );
        h += "<h3>Question plan</h3><ul>";
        for q in &i.question_coverage {
            match &q.asked_at {
                Some(c) => {
                    h += &format!(
                        "<li>✔ {} (<a href=\"{}\">{}</a>)</li>",
                        e(&q.question),
                        e(&r.moment(c)),
                        format_offset(c.start_ms)
                    )
                }
                None => h += &format!("<li>✘ {}</li>", e(&q.question)),
            }
        }
        h += "</ul><h3>Topics</h3><ul>";
        for t in &i.topics {
            h += &format!("<li>{}–{} {}</li>", format_offset(t.start_ms), format_offset(t.end_ms), e(&t.label));
        }
        h += "</ul>";
    }
    h += "<hr><p><small>";
    for (part, tier, degraded) in &r.provenance {
        h += &format!("{}: {}{}. ", e(part), e(tier), if *degraded { " (offline, degraded)" } else { "" });
    }
    h += "</small></p></body></html>";
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: i64, speaker: Speaker, text: &str, start: i64) -> Segment {
        Segment { id, client_id: format!("c{id}"), speaker, text: text.into(), start_ms: start, end_ms: start + 5_000 }
    }

    fn rubric() -> Rubric {
        let c = |key: &str, name: &str, description: &str| Competency {
            key: key.into(),
            name: name.into(),
            description: description.into(),
            levels: ["weak".into(), "some".into(), "good".into(), "great".into()],
        };
        Rubric {
            competencies: vec![
                c("operations", "Operations", "Handles incidents, on-call, monitoring, alerts and postmortems"),
                c("design", "System design", "Designs scalable systems: partitions, queues, databases, trade-offs"),
                c("sales", "Negotiation", "Negotiates contracts, pricing and renewals with customers"),
            ],
        }
    }

    fn transcript() -> Vec<Segment> {
        vec![
            seg(1, Speaker::Interviewer, "Tell me about an incident you handled on call?", 0),
            seg(2, Speaker::Candidate, "At 2 a.m. an alert fired; the incident was a retry storm. I led the postmortem and we added monitoring and alerts so on-call saw it in 3 minutes.", 6_000),
            seg(3, Speaker::Interviewer, "How would you design the event pipeline?", 20_000),
            seg(4, Speaker::Candidate, "I would partition the queue by customer and keep databases behind idempotent consumers; the trade-offs are ordering and cost.", 26_000),
            seg(5, Speaker::Candidate, "We moved to 64 partitions and the queue lag fell from minutes to seconds, which scaled the design to 40 million events a day.", 32_000),
        ]
    }

    #[test]
    fn evidence_and_coverage_follow_the_rubric_keywords() {
        let (covered, uncovered) = coverage(&transcript(), &rubric());
        assert_eq!(covered, vec!["operations", "design"]);
        assert_eq!(uncovered, vec!["sales"]);
        let ev = evidence(&transcript(), &rubric().competencies[1]);
        assert!(ev.iter().all(|(i, _)| transcript()[*i].speaker == Speaker::Candidate));
        assert_eq!(ev.len(), 2);
    }

    #[test]
    fn offline_scorecards_cite_real_segments_and_skip_what_has_no_evidence() {
        let segs = transcript();
        let card = offline_scorecard(&segs, &rubric());
        let ids: Vec<i64> = segs.iter().map(|s| s.id).collect();
        for s in &card.scores {
            assert!(s.citations.iter().all(|c| ids.contains(&c.segment_id)), "{s:?}");
            assert_eq!(s.level.is_some(), !s.citations.is_empty());
        }
        assert_eq!(card.scores[2].level, None);
        assert_eq!(card.scores[1].level, Some(3), "two answers, with numbers");
    }

    #[test]
    fn guardrails_remove_protected_rationales_and_red_flags_cap_the_recommendation() {
        assert_eq!(protected_reference("Strong despite a heavy accent"), Some("accent"));
        assert_eq!(protected_reference("Found a race condition in the cache"), None);
        assert_eq!(protected_reference("Fixed the page cache"), None);
        assert_eq!(protected_reference("Their age suggests"), Some("age"));
        let mut card = Scorecard {
            scores: vec![CompetencyScore {
                key: "design".into(),
                name: "System design".into(),
                level: Some(4),
                rationale: "Great, although not a native speaker".into(),
                citations: vec![],
            }],
            recommendation: Recommendation::StrongYes,
            red_flags: vec!["Took credit for others' work".into(), "Her pregnancy".into()],
            guardrail_notes: vec![],
        };
        apply_guardrails(&mut card);
        assert_eq!(card.scores[0].level, None);
        assert_eq!(card.red_flags, vec!["Took credit for others' work"]);
        assert_eq!(card.recommendation, Recommendation::No);
        assert!(card.guardrail_notes.len() >= 2);
    }

    #[test]
    fn a_models_scorecard_keeps_only_real_citations() {
        let segs = transcript();
        let reply = r#"Here you go: ```json
            {"scores": [
              {"key": "design", "level": 4, "rationale": "Partitioned the queue", "segment_ids": [5, 999]},
              {"key": "operations", "level": 3, "rationale": "Ran the postmortem", "segment_ids": [999]},
              {"key": "made_up", "level": 4, "rationale": "x", "segment_ids": [2]}
            ], "recommendation": "strong_yes", "red_flags": []}```"#;
        let card = parse_scorecard(reply, &segs, &rubric()).unwrap();
        assert_eq!(card.scores.len(), 3);
        assert_eq!(card.scores[1].level, Some(4));
        assert_eq!(card.scores[1].citations.iter().map(|c| c.segment_id).collect::<Vec<_>>(), vec![5]);
        assert_eq!(card.scores[0].level, None, "cited only a segment that does not exist");
        assert!(parse_scorecard("no json here", &segs, &rubric()).is_none());
    }

    #[test]
    fn insights_measure_talk_coverage_answers_and_topics() {
        let plan = vec![
            PlannedQuestion {
                text: "Tell me about an incident you handled on call.".into(),
                competency: Some("operations".into()),
            },
            PlannedQuestion { text: "How do you negotiate a renewal?".into(), competency: Some("sales".into()) },
        ];
        let i = insights(&transcript(), &rubric(), &plan);
        let candidate = i.talk_ratio.iter().find(|t| t.speaker == Speaker::Candidate).unwrap();
        assert!(candidate.percent > 70, "{candidate:?}");
        assert_eq!(i.question_coverage[0].asked_at.as_ref().map(|c| c.segment_id), Some(1));
        assert!(i.question_coverage[1].asked_at.is_none());
        assert_eq!(i.no_evidence, vec!["sales"]);
        assert_eq!(i.answers, 3);
        assert_eq!(i.topics.len(), 2);
        assert_eq!(i.topics[0].label, "Operations");
        assert_eq!(i.topics[1].start_ms, 20_000);
    }

    #[test]
    fn reports_escape_and_link_to_moments() {
        let iv = InterviewView {
            id: "iv1".into(),
            title: "<script>x</script>".into(),
            role: "Backend".into(),
            candidate_name: "Ada".into(),
            candidate_email: "ada@example.com".into(),
            owner_id: "u".into(),
            shared_with: vec![],
            mode: app::interviews::Mode::Assist,
            state: app::interviews::InterviewState::Completed,
            rubric: rubric(),
            plan: vec![],
            duration_min: 45,
            consent_notice: String::new(),
            consent_accepted_at: None,
            candidate_link_expires_at: 0,
            scheduled_at: 0,
            started_at: None,
            ended_at: None,
            created_at: 0,
            workflow_id: None,
            decision: None,
            paused_at: None,
        };
        let card = offline_scorecard(&transcript(), &rubric());
        let input = ReportInput {
            interview: &iv,
            summary: Some("Solid."),
            scorecard: Some(&card),
            insights: None,
            provenance: vec![("summary".into(), "offline".into(), true)],
            base_url: "http://mm.test",
        };
        let html = report_html(&input);
        assert!(!html.contains("<script>x"));
        assert!(html.contains("http://mm.test/interviews/iv1/live#seg-"));
        let md = report_markdown(&input);
        assert!(md.contains("(offline, degraded)") && md.contains("#seg-"));
    }
}
