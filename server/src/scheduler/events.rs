//! The event hub: every job state change is published here. Subscribers (the
//! dispatcher's timers, and SSE streams later) read a broadcast channel, so a
//! slow subscriber lags and is told so instead of blocking publishers.
//! On PostgreSQL, events also travel to other nodes through NOTIFY.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The NOTIFY channel that carries events between nodes.
pub const CHANNEL: &str = "meetmind_jobs";
/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const MAX_NOTIFY_BYTES: usize = 7_500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEvent {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub state: String,
    /// When the job is due, for scheduled and retrying jobs; for running
    /// jobs, when it was due (its wait is `at - run_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<i64>,
    pub at: i64,
    /// The node that made the change.
    pub node: String,
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<JobEvent>,
}

impl EventHub {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        EventHub { tx }
    }

    pub fn publish(&self, event: JobEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.tx.subscribe()
    }
}

/// Events as they travel over NOTIFY: grouped by state, queue, kind and
/// node, with only the ids (and due times) listed, so a batch of thousands
/// of state changes costs a handful of notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct WireGroup {
    s: String,
    q: String,
    k: String,
    n: String,
    at: i64,
    ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    r: Vec<i64>,
}

/// Packs events into NOTIFY payloads under PostgreSQL's size limit.
pub fn notify_payloads(events: &[JobEvent]) -> Vec<String> {
    let mut groups: Vec<WireGroup> = Vec::new();
    // Approximate size of each group's id lists, to keep each under the limit.
    let mut sizes: Vec<usize> = Vec::new();
    let digits = |v: i64| v.unsigned_abs().checked_ilog10().unwrap_or(0) as usize + 2;
    for e in events {
        let key = |g: &WireGroup| g.s == e.state && g.q == e.queue && g.k == e.kind && g.n == e.node;
        let timed = e.run_at.is_some();
        let grows = digits(e.id) + e.run_at.map_or(0, digits);
        let open = |i: usize| sizes[i] + grows < MAX_NOTIFY_BYTES - 600;
        let idx = match (0..groups.len()).find(|&i| key(&groups[i]) && groups[i].r.is_empty() != timed && open(i)) {
            Some(i) => i,
            None => {
                groups.push(WireGroup {
                    s: e.state.clone(),
                    q: e.queue.clone(),
                    k: e.kind.clone(),
                    n: e.node.clone(),
                    at: e.at,
                    ids: Vec::new(),
                    r: Vec::new(),
                });
                sizes.push(0);
                groups.len() - 1
            }
        };
        sizes[idx] += grows;
        groups[idx].ids.push(e.id);
        if let Some(r) = e.run_at {
            groups[idx].r.push(r);
        }
    }
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2;
    for g in groups {
        let Ok(text) = serde_json::to_string(&g) else { continue };
        if size + text.len() + 1 > MAX_NOTIFY_BYTES && !current.is_empty() {
            out.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 2;
        }
        size += text.len() + 1;
        current.push(text);
    }
    if !current.is_empty() {
        out.push(format!("[{}]", current.join(",")));
    }
    out
}

/// Unpacks a NOTIFY payload; garbage yields nothing.
pub fn decode_payload(payload: &str) -> Vec<JobEvent> {
    let Ok(groups) = serde_json::from_str::<Vec<WireGroup>>(payload) else { return Vec::new() };
    groups
        .into_iter()
        .flat_map(|g| {
            let timed = !g.r.is_empty();
            let WireGroup { s, q, k, n, at, ids, r } = g;
            ids.into_iter().enumerate().map(move |(i, id)| JobEvent {
                id,
                queue: q.clone(),
                kind: k.clone(),
                state: s.clone(),
                run_at: if timed { r.get(i).copied() } else { None },
                at,
                node: n.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_under_the_notify_limit_and_lose_nothing() {
        let events: Vec<JobEvent> = (0..5000)
            .map(|i| JobEvent {
                id: 1_000_000_000 + i,
                queue: if i % 3 == 0 { "mail".into() } else { "default".into() },
                kind: "noop".into(),
                state: if i % 7 == 0 { "retrying".into() } else { "succeeded".into() },
                run_at: (i % 7 == 0).then_some(1_800_000_000_000 + i),
                at: 1,
                node: "n1".into(),
            })
            .collect();
        let payloads = notify_payloads(&events);
        assert!(payloads.len() > 1 && payloads.len() < 15, "{} payloads", payloads.len());
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() < 8000);
            back.extend(decode_payload(p));
        }
        let key = |e: &JobEvent| e.id;
        let mut want = events.clone();
        want.sort_by_key(key);
        back.sort_by_key(key);
        assert_eq!(back, want);
        assert!(decode_payload("not json").is_empty());
    }
}
