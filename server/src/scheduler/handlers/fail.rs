//! `fail {rate, permanent}`: fails with probability `rate` (default 1). For
//! exercising retries and the dead-letter queue.

use async_trait::async_trait;
use rand::Rng as _;

use super::{Handler, HandlerError, JobContext};

pub struct Fail;

fn rate(payload: &serde_json::Value) -> Result<f64, String> {
    match payload.get("rate") {
        None => Ok(1.0),
        Some(v) => v.as_f64().filter(|r| (0.0..=1.0).contains(r)).ok_or_else(|| "rate must be a number from 0 to 1".into()),
    }
}

#[async_trait]
impl Handler for Fail {
    fn kind(&self) -> &'static str {
        "fail"
    }

    fn validate(&self, payload: &serde_json::Value) -> Result<(), String> {
        rate(payload).map(|_| ())
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError> {
        let rate = rate(&ctx.payload).map_err(HandlerError::permanent)?;
        if rand::rng().random::<f64>() < rate {
            let permanent = ctx.payload.get("permanent").and_then(|v| v.as_bool()).unwrap_or(false);
            let message = format!("injected failure on attempt {}", ctx.attempt);
            return Err(HandlerError { message, permanent });
        }
        Ok(())
    }
}
