//! MeetMind: interviews, their live transcript, AI suggestions while they
//! run, the AI-led mode, and the post-interview workflow (summary,
//! scorecard, insights, report, email) that runs on our own scheduler.

pub mod analysis;
pub mod demo;
pub mod demo_script;
pub mod hub;
pub mod jobs;
pub mod live;
pub mod prompts;
pub mod search;
pub mod service;
pub mod templates;

use std::time::Duration;

pub use service::MeetMind;

#[derive(Debug, Clone, PartialEq)]
pub struct MeetMindConfig {
    /// Where people reach the app, for links in reports and emails.
    pub public_url: String,
    pub candidate_link_ttl_ms: i64,
    /// Ended interviews older than this are purged.
    pub retention_ms: i64,
    /// A burst of segments within this window causes one suggestion.
    pub debounce: Duration,
    /// The live-suggestion budget: the whole fallback chain within this.
    pub suggest_budget: Duration,
}

/// The documented defaults: the config keys' own, read with no file, no
/// environment and no flags, so they are written down in one place.
impl Default for MeetMindConfig {
    fn default() -> Self {
        crate::config::Config::load(&crate::config::Layers::default())
            .map(|c| c.meetmind)
            .unwrap_or_else(|e| unreachable!("the built-in defaults are valid: {e}"))
    }
}

/// Removes an interview's data: its pending workflow jobs are cancelled
/// (they would only fail without the data), then the store deletes it and
/// scrubs the jobs' payloads. Shared by the admin's delete and the purge.
pub(crate) async fn erase(
    store: &dyn crate::store::Store,
    id: &str,
    workflow: Option<&str>,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    if let Some(w) = workflow {
        store.cancel_workflow(w, now).await?;
    }
    store.delete_interview(id).await?;
    Ok(())
}

/// The queue the post-interview workflow runs on.
pub const QUEUE: &str = "meetmind";
