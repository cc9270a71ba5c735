//! Moment search: ranked keyword search over the transcript segments of an interview.
//!
//! One document is one segment's text. Documents are tokenized (lowercase, split on anything that is not
//! alphanumeric, stop words dropped), stemmed with a light hand-written English stemmer, and stored in an
//! inverted index. Queries are ranked with BM25 (k1 = 1.2, b = 0.75).
//!
//! Queries are typed by people, so two kinds of expansion help when a query term is not in the index:
//! - typos: vocabulary terms within Damerau-Levenshtein (optimal string alignment) distance 1 (terms of >= 4
//!   chars) or 2 (>= 8 chars) match at a penalty of 0.7 / 0.5;
//! - search-as-you-type: the last query term (>= 3 chars) also matches vocabulary terms it is a prefix of,
//!   at a penalty of 0.8.
//!
//! Expansions are only tried for terms absent from the vocabulary, so an exact term is never out-ranked by
//! its typo'd neighbours. Per document, a query term contributes its single best variant (not the sum of
//! all variants), so a vague term cannot outweigh a precise one just by matching many neighbours.
//!
//! Pure standard library; no input can make it panic.

use std::collections::{HashMap, HashSet};

/// BM25 term-frequency saturation.
const K1: f64 = 1.2;
/// BM25 document-length normalisation.
const B: f64 = 0.75;
/// Score multiplier for a vocabulary term one edit away from the query term.
const PENALTY_DISTANCE_1: f64 = 0.7;
/// Score multiplier for a vocabulary term two edits away from the query term.
const PENALTY_DISTANCE_2: f64 = 0.5;
/// Score multiplier for a vocabulary term the last query term is a prefix of.
const PENALTY_PREFIX: f64 = 0.8;
/// Shorter terms have too many one-edit neighbours for typo matching to be useful.
const MIN_LEN_DISTANCE_1: usize = 4;
const MIN_LEN_DISTANCE_2: usize = 8;
/// "ka" would match half the vocabulary; three characters are the least that narrows anything down.
const MIN_LEN_PREFIX: usize = 3;
/// Edit distance is quadratic in the word length and no real word is this long, so longer terms only
/// match exactly (this keeps pathological input, e.g. a 100 KB "word", cheap).
const MAX_LEN_FUZZY: usize = 64;

/// An inverted index over transcript segments, ranked with BM25.
pub struct Index {
    /// term -> (document position, term frequency), in ascending document order.
    postings: HashMap<String, Vec<(usize, u32)>>,
    /// Every indexed term with its length in chars, sorted, for typo and prefix expansion.
    vocabulary: Vec<(String, usize)>,
    /// Number of (kept) terms in each document.
    doc_lens: Vec<u32>,
    /// Mean of `doc_lens`; 1.0 when no document has any term (avoids dividing by zero).
    avg_len: f64,
}

impl Index {
    /// Builds the index over the texts, in order; results refer to positions in this slice.
    pub fn build<S: AsRef<str>>(texts: &[S]) -> Index {
        let mut postings: HashMap<String, Vec<(usize, u32)>> = HashMap::new();
        let mut doc_lens = Vec::with_capacity(texts.len());
        let mut counts: HashMap<String, u32> = HashMap::new();
        for (doc, text) in texts.iter().enumerate() {
            let doc_terms = terms(text.as_ref());
            doc_lens.push(u32::try_from(doc_terms.len()).unwrap_or(u32::MAX));
            counts.clear();
            for term in doc_terms {
                let count = counts.entry(term).or_insert(0);
                *count = count.saturating_add(1);
            }
            // Documents are visited in order, so every posting list stays sorted by position.
            for (term, tf) in counts.drain() {
                postings.entry(term).or_default().push((doc, tf));
            }
        }
        let mut vocabulary: Vec<(String, usize)> =
            postings.keys().map(|term| (term.clone(), term.chars().count())).collect();
        vocabulary.sort_unstable();
        let total: f64 = doc_lens.iter().map(|&len| f64::from(len)).sum();
        let avg_len = if total > 0.0 { total / doc_lens.len() as f64 } else { 1.0 };
        Index { postings, vocabulary, doc_lens, avg_len }
    }

    /// The best `limit` documents for the query, best first: (position, score > 0).
    /// Ties broken by position ascending. An empty or all-stop-word query returns nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<(usize, f64)> {
        let query = query_terms(query);
        if query.is_empty() || limit == 0 || self.is_empty() {
            return Vec::new();
        }
        let mut scores = vec![0.0_f64; self.len()];
        // Best variant score of the current query term per document, reset after each term via `touched`.
        let mut best = vec![0.0_f64; self.len()];
        let mut touched: Vec<usize> = Vec::new();
        for term in &query {
            for (variant, weight) in self.variants(term) {
                let Some(postings) = self.postings.get(variant) else { continue };
                let idf = self.idf(postings.len());
                for &(doc, tf) in postings {
                    let score = weight * self.bm25(idf, tf, doc);
                    if best[doc] == 0.0 {
                        touched.push(doc);
                    }
                    if score > best[doc] {
                        best[doc] = score;
                    }
                }
            }
            for doc in touched.drain(..) {
                scores[doc] += best[doc];
                best[doc] = 0.0;
            }
        }
        let mut ranked: Vec<(usize, f64)> = scores.into_iter().enumerate().filter(|&(_, score)| score > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked
    }

    /// Number of indexed documents (including ones without any searchable term).
    pub fn len(&self) -> usize {
        self.doc_lens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_lens.is_empty()
    }

    /// The vocabulary terms a query term stands for, with their score multipliers: the term itself if it
    /// is indexed, otherwise its typo neighbours and (for the last term) its completions.
    fn variants<'a>(&'a self, term: &'a QueryTerm) -> Vec<(&'a str, f64)> {
        if self.postings.contains_key(&term.text) {
            return vec![(term.text.as_str(), 1.0)];
        }
        self.vocabulary
            .iter()
            .filter_map(|(candidate, candidate_len)| {
                term.variant_weight(candidate, *candidate_len).map(|weight| (candidate.as_str(), weight))
            })
            .collect()
    }

    /// Inverse document frequency in the non-negative form ln(1 + (N - df + 0.5) / (df + 0.5)), so that even
    /// a term present in every document still adds a little instead of subtracting.
    fn idf(&self, df: usize) -> f64 {
        let n = self.len() as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn bm25(&self, idf: f64, tf: u32, doc: usize) -> f64 {
        let tf = f64::from(tf);
        let len = f64::from(self.doc_lens[doc]);
        idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / self.avg_len))
    }
}

/// Lowercased, stop-word-free, stemmed terms of a text (what the index stores).
pub fn terms(text: &str) -> Vec<String> {
    word_spans(text).filter_map(|(start, end)| term_of(&text[start..end])).collect()
}

/// Light Porter-style English stemmer: it only has to map the inflections of a word to one key, the same way
/// for queries and documents, not to produce dictionary words ("migration" -> "migrat", "queueing" -> "queu").
pub fn stem(word: &str) -> String {
    let mut w = word.to_lowercase();
    strip_plural(&mut w);
    strip_suffix(&mut w);
    // "query"/"queries" and "deploy"/"deployed" must meet: a final y becomes i, like the -ies/-ied rules.
    if w.ends_with('y') && char_len(&w) >= 3 {
        w.pop();
        w.push('i');
    }
    // A final e is dropped so "scale", "scaled", "scaling" (and "queue", "queueing") share one stem.
    if w.ends_with('e') && char_len(&w) >= 4 {
        w.pop();
    }
    w
}

/// Positions of the query's terms in `text` as (byte start, byte end) of the matching words, for highlighting.
///
/// Mirrors `Index::search` for this one text: a query term present in the text highlights only its exact
/// matches; otherwise its typo neighbours (and, for the last term, its completions) are highlighted.
pub fn highlights(text: &str, query: &str) -> Vec<(usize, usize)> {
    let query = query_terms(query);
    if query.is_empty() {
        return Vec::new();
    }
    let words: Vec<((usize, usize), String)> = word_spans(text)
        .filter_map(|(start, end)| term_of(&text[start..end]).map(|term| ((start, end), term)))
        .collect();
    let present: HashSet<&str> = words.iter().map(|(_, term)| term.as_str()).collect();
    let mut marked = vec![false; words.len()];
    for term in &query {
        let exact = present.contains(term.text.as_str());
        for (mark, (_, word)) in marked.iter_mut().zip(&words) {
            let matches = if exact { *word == term.text } else { term.variant_weight(word, char_len(word)).is_some() };
            *mark |= matches;
        }
    }
    words.iter().zip(marked).filter(|(_, mark)| *mark).map(|((span, _), _)| *span).collect()
}

/// A query term, ready for matching against vocabulary terms.
struct QueryTerm {
    text: String,
    chars: Vec<char>,
    /// Whether this is the query's last term, which may still be being typed.
    prefix: bool,
}

impl QueryTerm {
    /// The multiplier for a vocabulary term that is not this term but may stand for it: the best of the typo
    /// and prefix penalties that apply, or None if the candidate is unrelated.
    fn variant_weight(&self, candidate: &str, candidate_len: usize) -> Option<f64> {
        let len = self.chars.len();
        let mut weight: Option<f64> = None;
        if self.prefix && len >= MIN_LEN_PREFIX && candidate.starts_with(&self.text) && candidate != self.text {
            weight = Some(PENALTY_PREFIX);
        }
        let max_distance = match len {
            l if l > MAX_LEN_FUZZY || candidate_len > MAX_LEN_FUZZY => 0,
            l if l >= MIN_LEN_DISTANCE_2 => 2,
            l if l >= MIN_LEN_DISTANCE_1 => 1,
            _ => 0,
        };
        // Cheap length check first: most of the vocabulary is ruled out without computing a distance.
        if max_distance > 0 && len.abs_diff(candidate_len) <= max_distance {
            let candidate: Vec<char> = candidate.chars().collect();
            let penalty = match osa_distance(&self.chars, &candidate, max_distance) {
                Some(1) => Some(PENALTY_DISTANCE_1),
                Some(2) => Some(PENALTY_DISTANCE_2),
                _ => None, // 0 is the exact term itself, handled by the caller
            };
            if let Some(penalty) = penalty {
                weight = Some(weight.map_or(penalty, |w| w.max(penalty)));
            }
        }
        weight
    }
}

/// The query's distinct terms in order; the last term typed is flagged for prefix matching.
fn query_terms(query: &str) -> Vec<QueryTerm> {
    let all = terms(query);
    let last = all.last().cloned();
    let mut seen = HashSet::new();
    all.into_iter()
        .filter(|term| seen.insert(term.clone()))
        .map(|text| QueryTerm { prefix: Some(&text) == last.as_ref(), chars: text.chars().collect(), text })
        .collect()
}

/// Byte spans of the words of `text`: maximal runs of alphanumeric chars (any script, digits kept).
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let start = loop {
            let (i, c) = chars.next()?;
            if c.is_alphanumeric() {
                break i;
            }
        };
        let mut end = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                end = i;
                break;
            }
            chars.next();
        }
        Some((start, end))
    })
}

/// The indexed term for one word, or None for a stop word.
fn term_of(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    if is_stop_word(&lower) {
        return None;
    }
    Some(stem(&lower))
}

/// Words too common in conversation to say anything about a moment, plus the fragments that splitting on
/// apostrophes leaves behind ("it's", "don't", "we'll", "I'm", "you've", "they're", "I'd"). Sorted, for
/// binary search.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "been", "but", "by", "d", "did", "do", "does", "for", "from",
    "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "is", "it", "its", "just", "like", "ll", "m",
    "me", "my", "not", "of", "ok", "okay", "on", "or", "our", "re", "really", "s", "she", "so", "t", "that", "the",
    "their", "them", "then", "there", "they", "this", "to", "uh", "um", "us", "ve", "very", "was", "we", "were",
    "what", "when", "where", "which", "who", "with", "yeah", "you", "your",
];

fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

fn has_vowel(s: &str) -> bool {
    s.chars().any(is_vowel)
}

/// Plural endings: -ies -> -i, -es after a sibilant ("boxes", "classes", "matches"), otherwise -s (but not -ss,
/// nor the -us/-is of singulars like "status" and "analysis"). Stems keep >= 3 chars so "bus" and "gas" survive.
fn strip_plural(w: &mut String) {
    let sibilant_es = w.ends_with("es") && ["s", "x", "z", "ch", "sh"].iter().any(|s| w[..w.len() - 2].ends_with(s));
    if (w.ends_with("ies") || sibilant_es) && char_len(w) >= 5 {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") && char_len(w) >= 4 {
        w.truncate(w.len() - 1);
    }
}

/// Derivational and inflectional suffixes; at most one is removed (the first listed that the word ends with),
/// and only if what remains has a vowel and at least `min_stem` chars, so "string" and "thing" stay whole.
fn strip_suffix(w: &mut String) {
    // (suffix, replacement, minimum stem length in chars, undouble a final double consonant)
    const RULES: &[(&str, &str, usize, bool)] = &[
        ("ations", "ate", 3, false),
        ("ation", "ate", 3, false),
        ("ment", "", 4, false),
        ("ness", "", 4, false),
        ("ing", "", 3, true),
        ("ied", "i", 2, false),
        ("ed", "", 3, true),
        ("ly", "", 4, false),
        ("ers", "", 3, true),
        ("er", "", 3, true),
    ];
    let Some(&(suffix, replacement, min_stem, undouble)) = RULES.iter().find(|rule| w.ends_with(rule.0)) else {
        return;
    };
    // The suffix is ASCII, so cutting it off lands on a char boundary.
    let stem = &w[..w.len() - suffix.len()];
    if char_len(stem) < min_stem || !has_vowel(stem) {
        return;
    }
    // "-ly" after a vowel is part of the word ("family", "anomaly"), not an adverb ending.
    if suffix == "ly" && stem.ends_with(is_vowel) {
        return;
    }
    w.truncate(stem.len());
    w.push_str(replacement);
    if undouble {
        undouble_consonant(w);
    }
}

/// "running" -> "runn" -> "run"; but "install", "pass" and "buzz" keep their doubled letter.
fn undouble_consonant(w: &mut String) {
    let mut last = w.chars().rev();
    if let (Some(a), Some(b)) = (last.next(), last.next()) {
        if a == b && a.is_ascii_alphabetic() && !is_vowel(a) && !matches!(a, 'l' | 's' | 'z') {
            w.pop();
        }
    }
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), or None if it exceeds `max`.
fn osa_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // Three rolling rows: the transposition case looks two rows back.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
            row_min = row_min.min(d);
        }
        // Distances never decrease further down, so a row entirely over the limit settles it.
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    Some(previous[b.len()]).filter(|&d| d <= max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A backend engineer's interview, one segment per entry.
    const TRANSCRIPT: &[&str] = &[
        "Thanks for joining us today. Can you start by telling me a bit about your background?",
        "Sure. I've been a backend engineer for about six years, mostly writing services in Go and Rust for a \
         payments company.",
        "Our biggest project last year was moving the event pipeline onto Kafka. The old homegrown queue kept \
         dropping messages, so we replaced it with Kafka topics partitioned by merchant, and the consumers got \
         much simpler.",
        "Consumer lag was the main metric we watched; we alerted when any partition fell more than thirty \
         seconds behind.",
        "The hardest part was the Postgres migrations. We had to migrate a two billion row ledger table without \
         downtime, so we ran the migration as online backfills in small batches and dual-wrote for a week.",
        "Adding columns was fine, but rebuilding indexes locked the table, so those ran in a maintenance window.",
        "On-call was rough at first. I remember one incident at three in the morning where payment retries \
         stormed the database and we had to shed load.",
        "After that incident we wrote a proper postmortem, added circuit breakers, and made the runbooks much \
         clearer for whoever gets paged.",
        "I also spend a lot of time mentoring. I run a weekly session with two junior engineers where we review \
         their pull requests together.",
        "Mentoring taught me to explain tradeoffs instead of just handing out answers, which honestly made me a \
         better reviewer.",
        "For caching we put Redis in front of the Postgres read replicas, with short expirations so balances \
         never looked stale.",
        "If I joined your team I would want to understand how you handle deploys and rollbacks before touching \
         anything critical.",
        "Do you have any questions for us?",
    ];
    const KAFKA: usize = 2;
    const MIGRATION: usize = 4;
    const INCIDENT: usize = 6;
    const POSTMORTEM: usize = 7;
    const MENTORING: usize = 8;
    const CACHING: usize = 10;

    fn top(index: &Index, query: &str) -> Option<usize> {
        index.search(query, 10).first().map(|&(doc, _)| doc)
    }

    #[test]
    fn stemming_equivalences() {
        let same = |words: &[&str]| {
            let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
            assert!(stems.windows(2).all(|p| p[0] == p[1]), "{words:?} stem to {stems:?}");
        };
        same(&["migrations", "migrating", "migrated", "migration", "migrate", "migrates"]);
        same(&["Kafka", "kafka", "KAFKA"]);
        same(&["queues", "queue", "queueing", "queuing", "queued"]);
        same(&["running", "run", "runs"]);
        same(&["scaled", "scaling", "scale", "scales"]);
        same(&["query", "queries", "queried"]);
        same(&["deploy", "deployed", "deploying", "deploys", "deployment", "deployments"]);
        same(&["incident", "incidents"]);
        same(&["consumer", "consumers", "consume", "consuming"]);
        same(&["box", "boxes"]);
        same(&["class", "classes"]);
        same(&["match", "matches"]);
        same(&["bus", "buses"]);
        same(&["use", "uses"]);
        same(&["mentor", "mentoring", "mentored", "mentors"]);
        same(&["quick", "quickly"]);
        same(&["dark", "darkness"]);
        same(&["family", "families"]);
        // Words that must not be mangled.
        assert_eq!(stem("string"), "string");
        assert_eq!(stem("thing"), "thing");
        assert_eq!(stem("status"), "status");
        assert_eq!(stem("pass"), "pass");
        assert_eq!(stem("bus"), "bus");
        assert_eq!(stem("installing"), "install");
        // Unrelated words stay apart.
        assert_ne!(stem("kafka"), stem("postgres"));
        assert_ne!(stem("migration"), stem("mentoring"));
    }

    #[test]
    fn stop_words_are_sorted() {
        assert!(STOP_WORDS.windows(2).all(|p| p[0] < p[1]));
    }

    #[test]
    fn terms_lowercase_split_drop_stop_words_and_stem() {
        assert_eq!(terms("We moved to Kafka's topics in 2023!"), vec!["mov", "kafka", "topic", "2023"]);
        assert_eq!(terms("e-mail/on-call"), vec!["e", "mail", "call"]);
        assert!(terms("the and of to it was um uh yeah").is_empty());
        assert!(terms("").is_empty());
        assert!(terms("  ,.;!?  ").is_empty());
    }

    #[test]
    fn finds_the_moment_in_a_transcript() {
        let index = Index::build(TRANSCRIPT);
        assert_eq!(index.len(), TRANSCRIPT.len());
        assert_eq!(top(&index, "when did they talk about kafka"), Some(KAFKA));
        assert_eq!(top(&index, "postgres migration"), Some(MIGRATION));
        assert_eq!(top(&index, "Postgres Migrations"), Some(MIGRATION));
        assert_eq!(top(&index, "the incident at three in the morning"), Some(INCIDENT));
        assert_eq!(top(&index, "mentored junior engineers"), Some(MENTORING));
        // Both segments mentioning Postgres are found, the one about migrations first.
        let postgres: Vec<usize> = index.search("postgres migrating", 10).iter().map(|&(doc, _)| doc).collect();
        assert_eq!(postgres, vec![MIGRATION, CACHING]);
    }

    #[test]
    fn tolerates_typos() {
        let index = Index::build(TRANSCRIPT);
        assert_eq!(top(&index, "kafak"), Some(KAFKA));
        assert_eq!(top(&index, "when did they talk about kafak"), Some(KAFKA));
        assert_eq!(top(&index, "postgrse migrations"), Some(MIGRATION));
        let postgres: Vec<usize> = index.search("postgrse", 10).iter().map(|&(doc, _)| doc).collect();
        assert_eq!(postgres.len(), 2);
        assert!(postgres.contains(&MIGRATION) && postgres.contains(&CACHING));
        // Distance 2 for long words: "psotmrotem" -> "postmortem" (two transpositions).
        assert_eq!(top(&index, "psotmrotem"), Some(POSTMORTEM));
        // ...but not for shorter ones: "kfaak" is two edits from "kafka".
        assert!(index.search("kfaak", 10).is_empty());
        // A typo costs score: the exact term scores higher than its misspelling.
        let exact = index.search("kafka", 1)[0].1;
        let typo = index.search("kafak", 1)[0].1;
        assert!((typo - exact * PENALTY_DISTANCE_1).abs() < 1e-9, "exact {exact}, typo {typo}");
        // Terms under 4 chars are not fuzzy-matched: "lug" must not find "lag".
        assert!(index.search("lug", 10).is_empty());
    }

    #[test]
    fn exact_terms_beat_typo_neighbours() {
        let index = Index::build(&["the topic was retention", "a tropic climate", "retention of a tropic"]);
        // "topic" is indexed, so its neighbour "tropic" does not match at all.
        let hits: Vec<usize> = index.search("topic", 10).iter().map(|&(doc, _)| doc).collect();
        assert_eq!(hits, vec![0]);
    }

    #[test]
    fn prefix_matches_the_last_term() {
        let index = Index::build(TRANSCRIPT);
        assert_eq!(top(&index, "kaf"), Some(KAFKA));
        assert_eq!(top(&index, "when did they talk about kaf"), Some(KAFKA));
        assert_eq!(top(&index, "postgres migr"), Some(MIGRATION));
        // Only the last term is completed; a two-letter prefix is too vague.
        assert_eq!(index.search("kaf consumer", 10), index.search("consumer", 10));
        assert!(index.search("ka", 10).is_empty());
        let exact = index.search("kafka", 1)[0].1;
        let prefix = index.search("kaf", 1)[0].1;
        assert!((prefix - exact * PENALTY_PREFIX).abs() < 1e-9);
    }

    #[test]
    fn stop_word_and_degenerate_queries_return_nothing() {
        let index = Index::build(TRANSCRIPT);
        assert!(index.search("", 10).is_empty());
        assert!(index.search("   ", 10).is_empty());
        assert!(index.search("what did they do with it", 10).is_empty());
        assert!(index.search("?!", 10).is_empty());
        assert!(index.search("kafka", 0).is_empty());
        assert!(index.search("zzzzqqqq", 10).is_empty());
    }

    #[test]
    fn results_are_positive_sorted_and_limited() {
        let index = Index::build(TRANSCRIPT);
        let results = index.search("kafka postgres incident mentoring", 3);
        assert_eq!(results.len(), 3);
        assert!(results.iter().all(|&(_, score)| score > 0.0));
        assert!(results.windows(2).all(|p| p[0].1 >= p[1].1));
        // Identical documents tie and come back in position order.
        let twins = Index::build(&["kafka lag", "postgres", "kafka lag", "kafka lag"]);
        let hits: Vec<usize> = twins.search("kafka", 10).iter().map(|&(doc, _)| doc).collect();
        assert_eq!(hits, vec![0, 2, 3]);
    }

    #[test]
    fn bm25_repetition_outranks_a_passing_mention() {
        let index = Index::build(&[
            "we talked about backpressure at length: backpressure in the consumers, backpressure in the api",
            "the roadmap covered hiring, budgets, backpressure, tooling, dashboards, oncall rotations, alerting \
             and documentation for the platform group",
            "hiring and budgets",
            "tooling and dashboards",
        ]);
        let results = index.search("backpressure", 10);
        assert_eq!(results.iter().map(|&(doc, _)| doc).collect::<Vec<_>>(), vec![0, 1]);
        assert!(results[0].1 > results[1].1);
    }

    #[test]
    fn bm25_rare_term_outweighs_common_term() {
        // "service" is in every document, "outage" in one; document 5 says "service" three times.
        let docs = [
            "service owners and dashboards",
            "the service team hired two people",
            "service level objectives were set",
            "an outage hit the service in march",
            "service boundaries were redrawn",
            "service after service after service",
            "service reviews happen weekly",
        ];
        let index = Index::build(&docs);
        assert_eq!(top(&index, "service outage"), Some(3));
        let outage = index.search("outage", 1)[0].1;
        let service = index.search("service", 1)[0].1;
        assert!(outage > 2.0 * service, "outage {outage}, service {service}");
    }

    #[test]
    fn highlights_mark_matching_words() {
        let text = "We moved to Kafka; Kafka's consumers were the easy part.";
        let spans = highlights(text, "kafka consumer");
        let words: Vec<&str> = spans.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(words, vec!["Kafka", "Kafka", "consumers"]);
        // Typo and prefix, as in search.
        assert_eq!(highlights(text, "kafak").len(), 2);
        assert_eq!(highlights(text, "consum").iter().map(|&(s, e)| &text[s..e]).collect::<Vec<_>>(), ["consumers"]);
        assert!(highlights(text, "the were").is_empty());
        assert!(highlights("", "kafka").is_empty());
        let unicode = "Ünïcödé straße: Kafka 東京 🚀 kafka";
        for (s, e) in highlights(unicode, "KAFKA straße") {
            assert!(unicode.is_char_boundary(s) && unicode.is_char_boundary(e));
            assert!(["Kafka", "kafka", "straße"].contains(&&unicode[s..e]));
        }
        assert_eq!(highlights(unicode, "KAFKA straße").len(), 3);
    }

    #[test]
    fn no_panics_on_odd_input() {
        let long_word = "a".repeat(100_000);
        let long_mixed = "é".repeat(5_000) + "ing";
        let texts = [
            "",
            "🚀🚀🚀",
            "Ünïcödé straße 東京 ÉCOLE Ⅻ ǅ İstanbul",
            long_word.as_str(),
            long_mixed.as_str(),
            "'''---...",
            "s t d ll re ve m",
        ];
        let index = Index::build(&texts);
        assert_eq!(index.len(), texts.len());
        for query in texts.iter().copied().chain(["aaaa", "ééé", "straẞe", "東京", "istanbul", "x"]) {
            let _ = index.search(query, 5);
            let _ = highlights(query, query);
            for word in query.split_whitespace() {
                let _ = stem(word);
            }
        }
        assert_eq!(top(&index, "東京"), Some(2));
        assert_eq!(top(&index, &long_word), Some(3));
        let empty = Index::build::<&str>(&[]);
        assert!(empty.is_empty());
        assert!(empty.search("kafka", 10).is_empty());
        let blank = Index::build(&["", "the of"]);
        assert!(!blank.is_empty());
        assert!(blank.search("kafka", 10).is_empty());
        for word in ["", "s", "ies", "ing", "ed", "ly", "es", "sses", "ations", "yyy", "ěing", "ǅed", "İies"] {
            let _ = stem(word);
        }
    }

    #[test]
    fn osa_distance_counts_edits() {
        let d = |a: &str, b: &str| {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            osa_distance(&a, &b, 3)
        };
        assert_eq!(d("kafka", "kafka"), Some(0));
        assert_eq!(d("kafak", "kafka"), Some(1));
        assert_eq!(d("postgrs", "postgr"), Some(1));
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(d("ca", "abc"), Some(3)); // OSA, unlike full Damerau-Levenshtein, gives 3 here
        assert_eq!(d("", "abc"), Some(3));
        assert_eq!(d("abcdef", "uvwxyz"), None);
    }

    /// Deterministic pseudo-random numbers (Knuth's MMIX LCG), so the benchmark corpus is the same every run.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// About 1,500 segments of 20–60 words over a vocabulary of a few thousand words, like a 2-hour interview.
    fn synthetic_transcript() -> Vec<String> {
        const COMMON: &[&str] = &[
            "the",
            "and",
            "we",
            "i",
            "so",
            "that",
            "it",
            "was",
            "to",
            "of",
            "in",
            "you",
            "they",
            "um",
            "yeah",
            "like",
            "really",
            "just",
            "about",
            "when",
            "team",
            "service",
            "system",
            "data",
            "kafka",
            "postgres",
            "migration",
            "incident",
            "deploy",
            "queue",
            "consumer",
            "latency",
            "customer",
            "project",
            "code",
            "review",
            "mentoring",
            "database",
            "cache",
            "rollback",
            "outage",
            "metrics",
            "alerting",
            "design",
            "tradeoffs",
            "scaling",
            "running",
            "migrated",
            "queues",
            "engineers",
            "on-call",
            "pager",
            "partitions",
        ];
        const SYLLABLES: &[&str] = &[
            "ka", "ro", "mi", "sen", "tal", "por", "vi", "de", "lun", "ga", "ter", "sho", "bri", "nak", "el", "tor",
            "qua", "fen", "do", "ris",
        ];
        let mut rng = Lcg(0x5eed_1234);
        let rare: Vec<String> = (0..3_000)
            .map(|_| (0..2 + rng.below(3)).map(|_| SYLLABLES[rng.below(SYLLABLES.len())]).collect())
            .collect();
        (0..1_500)
            .map(|_| {
                let words = 20 + rng.below(41);
                let mut segment = Vec::with_capacity(words);
                for _ in 0..words {
                    let word = if rng.below(10) < 5 {
                        COMMON[rng.below(COMMON.len())]
                    } else {
                        // The minimum of two uniform picks skews towards the front: a few rare words recur often.
                        rare[rng.below(rare.len()).min(rng.below(rare.len()))].as_str()
                    };
                    segment.push(word);
                }
                segment.join(" ")
            })
            .collect()
    }

    #[test]
    fn search_over_a_two_hour_interview_is_fast() {
        let transcript = synthetic_transcript();
        let started = Instant::now();
        let index = Index::build(&transcript);
        let build = started.elapsed();
        assert_eq!(index.len(), 1_500);
        // Exact terms, typos (vocabulary scans) and a prefix (another scan).
        for query in ["when did they talk about kafka migrations", "kafak postgrse incidnet", "mentoring qua"] {
            let mut fastest = Duration::MAX;
            let mut hits = 0;
            for _ in 0..5 {
                let started = Instant::now();
                hits = index.search(query, 20).len();
                fastest = fastest.min(started.elapsed());
            }
            println!("search {query:?}: {hits} hits, fastest of 5 {fastest:?} (build {build:?})");
            assert!(hits > 0, "{query:?} found nothing");
            // An unoptimised test build on a busy machine; release figures
            // are in BENCHMARKS.md.
            assert!(fastest < Duration::from_millis(150), "{query:?} took {fastest:?}");
        }
    }
}
