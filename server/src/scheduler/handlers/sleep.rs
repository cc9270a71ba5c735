//! `sleep {ms}`: waits, then succeeds. For demos and lease tests.

use std::time::Duration;

use async_trait::async_trait;

use super::{Handler, HandlerError, JobContext};

pub struct Sleep;

const MAX_MS: u64 = 3_600_000;

fn millis(payload: &serde_json::Value) -> Result<u64, String> {
    match payload.get("ms") {
        None => Ok(100),
        Some(v) => v.as_u64().filter(|ms| *ms <= MAX_MS).ok_or_else(|| format!("ms must be 0 to {MAX_MS}")),
    }
}

#[async_trait]
impl Handler for Sleep {
    fn kind(&self) -> &'static str {
        "sleep"
    }

    fn validate(&self, payload: &serde_json::Value) -> Result<(), String> {
        millis(payload).map(|_| ())
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(MAX_MS + 1000)
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError> {
        let ms = millis(&ctx.payload).map_err(HandlerError::permanent)?;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }
}
