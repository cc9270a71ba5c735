//! Job handlers. A new kind is one file implementing `Handler`, registered in
//! `Registry::standard`.

pub mod email_send;
mod fail;
mod http_request;
mod noop;
mod sleep;

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_trait::async_trait;

/// How a run ended badly. Permanent errors skip the remaining retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    pub message: String,
    pub permanent: bool,
}

impl HandlerError {
    pub fn retry(message: impl Into<String>) -> Self {
        HandlerError { message: message.into(), permanent: false }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        HandlerError { message: message.into(), permanent: true }
    }
}

/// What a handler gets to work with.
pub struct JobContext {
    pub id: i64,
    pub attempt: i32,
    pub payload: serde_json::Value,
}

#[async_trait]
pub trait Handler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;

    /// Checks a payload at enqueue time, so bad jobs are refused with 422
    /// instead of failing later.
    fn validate(&self, _payload: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    /// Kinds only the server itself enqueues (MeetMind's interview steps).
    /// The REST API refuses them whatever the caller's scopes, so a
    /// `jobs:write` token cannot re-run an interview's scorecard or re-send
    /// its report.
    fn internal(&self) -> bool {
        false
    }

    /// The default run timeout of this kind; a job may set its own.
    fn timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError>;
}

#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
}

impl Registry {
    /// Every built-in kind.
    pub fn standard() -> Registry {
        let mut r = Registry::default();
        r.register(noop::Noop);
        r.register(sleep::Sleep);
        r.register(fail::Fail);
        r.register(http_request::HttpRequest::new());
        r
    }

    /// Every built-in kind, with email delivery as configured.
    pub fn with_email(email: &email_send::EmailConfig) -> Result<Registry, String> {
        let mut r = Registry::standard();
        r.register(email_send::EmailSend::new(email)?);
        Ok(r)
    }

    pub fn register(&mut self, handler: impl Handler) {
        self.handlers.insert(handler.kind(), Arc::new(handler));
    }

    pub fn is_internal(&self, kind: &str) -> bool {
        self.handlers.get(kind).is_some_and(|h| h.internal())
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(kind).cloned()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }
}
