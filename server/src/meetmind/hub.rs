//! Per-interview live events (segments, suggestion tokens, suggestions, state
//! changes) on one in-process broadcast channel; each SSE stream filters
//! for its interview and audience. On PostgreSQL every event is also sent
//! with NOTIFY, and each node's relay republishes the other nodes' events, so
//! an interviewer's stream on one node sees what another node received.

use std::{sync::Arc, time::Duration};

use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tracing::warn;

use crate::store::Store;

pub const CHANNEL: &str = "meetmind_interviews";
/// NOTIFY payloads must stay under 8000 bytes; bigger events travel as a
/// `resync` that makes remote clients reload.
const MAX_NOTIFY_BYTES: usize = 7_500;

/// Who may see an event. Candidates never see suggestions or red flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Staff,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterviewEvent {
    #[serde(skip)]
    pub interview_id: String,
    #[serde(skip)]
    pub audience: Audience,
    /// The SSE event name: segment, suggestion_token, suggestion, state.
    #[serde(skip)]
    pub name: &'static str,
    pub data: serde_json::Value,
}

/// Event names are a closed set, so remote ones map back to static names.
const NAMES: &[&str] = &["segment", "suggestion_token", "suggestion_interrupted", "suggestion", "state", "resync"];

#[derive(Clone)]
pub struct InterviewHub {
    tx: broadcast::Sender<InterviewEvent>,
    /// The store to NOTIFY through and this node's name, when events cross nodes.
    relay: Option<(Arc<dyn Store>, String)>,
}

impl Default for InterviewHub {
    fn default() -> Self {
        InterviewHub { tx: broadcast::channel(4096).0, relay: None }
    }
}

impl InterviewHub {
    /// A hub that also tells other nodes, when the store can (PostgreSQL).
    pub fn new(store: Arc<dyn Store>, node: &str) -> Self {
        let relay = store.listen_pool().is_some().then(|| (store, node.to_string()));
        InterviewHub { tx: broadcast::channel(4096).0, relay }
    }

    pub fn publish(&self, interview_id: &str, audience: Audience, name: &'static str, data: impl Serialize) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        if let Some((store, node)) = &self.relay {
            let mut payload = serde_json::json!({
                "o": node, "i": interview_id, "a": audience == Audience::Staff, "n": name, "d": data,
            })
            .to_string();
            if payload.len() > MAX_NOTIFY_BYTES {
                payload = serde_json::json!({ "o": node, "i": interview_id, "a": audience == Audience::Staff, "n": "resync", "d": {} })
                    .to_string();
            }
            let store = store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.notify(CHANNEL, &payload).await {
                    warn!(error = %e, "could not relay an interview event to other nodes");
                }
            });
        }
        // No subscribers is normal: nobody has the screen open.
        let _ = self.tx.send(InterviewEvent { interview_id: interview_id.to_string(), audience, name, data });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<InterviewEvent> {
        self.tx.subscribe()
    }

    /// Republishes other nodes' events here until `stop`.
    pub async fn relay_remote(&self, mut stop: watch::Receiver<bool>) {
        let Some((store, me)) = &self.relay else { return };
        let Some(pool) = store.listen_pool() else { return };
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    warn!(error = %e, "interview relay: LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(&store.channel(CHANNEL)).await {
                warn!(error = %e, "interview relay: LISTEN failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            loop {
                tokio::select! {
                    _ = stop.changed() => if *stop.borrow() { return },
                    n = listener.recv() => match n {
                        Ok(n) => {
                            let Ok(v) = serde_json::from_str::<serde_json::Value>(n.payload()) else { continue };
                            if v["o"].as_str() == Some(me.as_str()) {
                                continue;
                            }
                            let (Some(id), Some(name)) = (v["i"].as_str(), NAMES.iter().find(|x| v["n"].as_str() == Some(**x))) else {
                                continue;
                            };
                            let audience = if v["a"].as_bool() == Some(true) { Audience::Staff } else { Audience::Everyone };
                            let _ = self.tx.send(InterviewEvent { interview_id: id.to_string(), audience, name, data: v["d"].clone() });
                        }
                        Err(e) => {
                            warn!(error = %e, "interview relay: connection lost; reconnecting");
                            break;
                        }
                    },
                }
            }
        }
    }
}
