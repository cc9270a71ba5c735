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
    /// When the job is due, for scheduled and retrying jobs.
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

/// Packs events into NOTIFY payloads (JSON arrays) under the size limit.
pub fn notify_payloads(events: &[JobEvent]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2;
    for e in events {
        let Ok(s) = serde_json::to_string(e) else { continue };
        if size + s.len() + 1 > MAX_NOTIFY_BYTES && !current.is_empty() {
            out.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 2;
        }
        size += s.len() + 1;
        current.push(s);
    }
    if !current.is_empty() {
        out.push(format!("[{}]", current.join(",")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_under_the_notify_limit_and_lose_nothing() {
        let events: Vec<JobEvent> = (0..500)
            .map(|i| JobEvent {
                id: i,
                queue: "default".into(),
                kind: "noop".into(),
                state: "available".into(),
                run_at: None,
                at: 1,
                node: "n1".into(),
            })
            .collect();
        let payloads = notify_payloads(&events);
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() < 8000);
            back.extend(serde_json::from_str::<Vec<JobEvent>>(p).unwrap());
        }
        assert_eq!(back, events);
    }
}
