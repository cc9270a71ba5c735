//! The offline tier: deterministic, local, always last. It never fails, and
//! everything it returns is marked degraded by the router.

use std::collections::HashMap;

/// What the caller wants, in terms the offline tier can answer without a
/// model. MeetMind builds these; other callers use `Generic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Follow-up questions after an answer, steering to rubric areas that
    /// have no evidence yet.
    FollowUps {
        answer: String,
        uncovered: Vec<String>,
    },
    /// A short summary of a transcript.
    Summary {
        sentences: Vec<String>,
    },
    /// Lines that support a competency, found by keywords.
    Evidence {
        keywords: Vec<String>,
        segments: Vec<String>,
    },
    Generic,
}

impl Purpose {
    /// The name call records carry.
    pub fn label(&self) -> &'static str {
        match self {
            Purpose::FollowUps { .. } => "follow_ups",
            Purpose::Summary { .. } => "summary",
            Purpose::Evidence { .. } => "evidence",
            Purpose::Generic => "generic",
        }
    }
}

const BANK: &[&str] = &[
    "Can you walk me through a specific example of that, step by step?",
    "What was the hardest trade-off you made there, and why?",
    "What would you do differently if you did it again?",
    "How did you measure whether it worked?",
    "Who else was involved, and how did you work with them?",
];

pub fn answer(purpose: &Purpose) -> String {
    match purpose {
        Purpose::FollowUps { answer, uncovered } => {
            let mut qs: Vec<String> = uncovered
                .iter()
                .take(2)
                .map(|area| format!("Could you tell me about a time you showed {area}?"))
                .collect();
            // A stable pick from the bank, keyed by the answer's length.
            let pick = BANK[answer.len() % BANK.len()];
            qs.push(pick.to_string());
            qs.truncate(3);
            qs.join("\n")
        }
        Purpose::Summary { sentences } => extractive_summary(sentences, 3).join(" "),
        Purpose::Evidence { keywords, segments } => {
            let kw: Vec<String> = keywords.iter().map(|k| k.to_lowercase()).collect();
            segments
                .iter()
                .filter(|s| {
                    let l = s.to_lowercase();
                    kw.iter().any(|k| l.contains(k))
                })
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        }
        Purpose::Generic => "The AI service is unavailable right now; this is an offline placeholder.".into(),
    }
}

/// The `n` sentences whose words are most frequent across the text, in
/// their original order.
pub fn extractive_summary(sentences: &[String], n: usize) -> Vec<String> {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 3).map(str::to_lowercase).collect()
    };
    let mut freq: HashMap<String, usize> = HashMap::new();
    for s in sentences {
        for w in words(s) {
            *freq.entry(w).or_default() += 1;
        }
    }
    let mut scored: Vec<(usize, f64)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let w = words(s);
            let score = if w.is_empty() { 0.0 } else { w.iter().map(|x| freq[x] as f64).sum::<f64>() / w.len() as f64 };
            (i, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep: Vec<usize> = scored.into_iter().take(n).map(|(i, _)| i).collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| sentences[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_steer_to_uncovered_areas_and_are_deterministic() {
        let p = Purpose::FollowUps {
            answer: "We shipped it".into(),
            uncovered: vec!["ownership".into(), "communication".into()],
        };
        let a = answer(&p);
        assert_eq!(a, answer(&p));
        assert!(a.contains("ownership") && a.contains("communication"));
        assert_eq!(a.lines().count(), 3);
    }

    #[test]
    fn summaries_are_extractive_and_evidence_is_by_keyword() {
        let s: Vec<String> = [
            "I led the database migration.",
            "The weather was nice.",
            "The migration cut database costs by half.",
            "We tested the migration on a copy of the database.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let sum = extractive_summary(&s, 2);
        assert_eq!(sum.len(), 2);
        assert!(!sum.contains(&"The weather was nice.".to_string()));
        let ev = answer(&Purpose::Evidence { keywords: vec!["Costs".into()], segments: s.clone() });
        assert_eq!(ev, "The migration cut database costs by half.");
    }
}
