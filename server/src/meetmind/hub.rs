//! Per-interview live events (segments, suggestion tokens, suggestions, state
//! changes) on one in-process broadcast channel; each SSE stream filters
//! for its interview and audience.

use serde::Serialize;
use tokio::sync::broadcast;

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

#[derive(Clone)]
pub struct InterviewHub {
    tx: broadcast::Sender<InterviewEvent>,
}

impl Default for InterviewHub {
    fn default() -> Self {
        InterviewHub::new(4096)
    }
}

impl InterviewHub {
    pub fn new(capacity: usize) -> Self {
        InterviewHub { tx: broadcast::channel(capacity).0 }
    }

    pub fn publish(&self, interview_id: &str, audience: Audience, name: &'static str, data: impl Serialize) {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        // No subscribers is normal: nobody has the screen open.
        let _ = self.tx.send(InterviewEvent { interview_id: interview_id.to_string(), audience, name, data });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<InterviewEvent> {
        self.tx.subscribe()
    }
}
