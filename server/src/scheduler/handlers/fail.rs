//! `fail {rate, permanent, until_ms, message}`: fails with probability
//! `rate` (default 1); with `until_ms`, only until that moment (Unix ms),
//! like an outage that ends, so a dead job can be requeued and then succeed;
//! with `message`, with that error (the dead-letter page groups by it). For
//! exercising retries and the dead-letter queue.

use async_trait::async_trait;
use rand::Rng as _;

use super::{Handler, HandlerError, JobContext};

pub struct Fail;

fn rate(payload: &serde_json::Value) -> Result<f64, String> {
    match payload.get("rate") {
        None => Ok(1.0),
        Some(v) => {
            v.as_f64().filter(|r| (0.0..=1.0).contains(r)).ok_or_else(|| "rate must be a number from 0 to 1".into())
        }
    }
}

const MAX_MESSAGE_CHARS: usize = 500;

fn message(payload: &serde_json::Value) -> Result<Option<&str>, String> {
    match payload.get("message") {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .filter(|m| !m.trim().is_empty() && m.chars().count() <= MAX_MESSAGE_CHARS)
            .map(Some)
            .ok_or_else(|| format!("message must be text of 1 to {MAX_MESSAGE_CHARS} characters")),
    }
}

#[async_trait]
impl Handler for Fail {
    fn kind(&self) -> &'static str {
        "fail"
    }

    fn validate(&self, payload: &serde_json::Value) -> Result<(), String> {
        rate(payload)?;
        if let Some(v) = payload.get("until_ms") {
            if !v.is_i64() {
                return Err("until_ms must be a time in Unix milliseconds".into());
            }
        }
        message(payload).map(|_| ())
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError> {
        let rate = rate(&ctx.payload).map_err(HandlerError::permanent)?;
        // The outage this simulates is over: the wall clock is the point here.
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let over = ctx.payload.get("until_ms").and_then(|v| v.as_i64()).is_some_and(|until| now >= until);
        if !over && rand::rng().random::<f64>() < rate {
            let permanent = ctx.payload.get("permanent").and_then(|v| v.as_bool()).unwrap_or(false);
            let message = match message(&ctx.payload).map_err(HandlerError::permanent)? {
                Some(m) => m.to_string(),
                None => format!("injected failure on attempt {}", ctx.attempt),
            };
            return Err(HandlerError { message, permanent });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(payload: serde_json::Value) -> JobContext {
        JobContext { id: 1, attempt: 1, payload }
    }

    #[tokio::test]
    async fn fails_until_the_outage_is_over() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let e = Fail.run(ctx(serde_json::json!({ "until_ms": now + 60_000, "permanent": true }))).await.unwrap_err();
        assert!(e.permanent);
        assert!(Fail.run(ctx(serde_json::json!({ "until_ms": now - 1 }))).await.is_ok());
        assert!(Fail.validate(&serde_json::json!({ "until_ms": "soon" })).is_err());
        assert!(Fail.run(ctx(serde_json::json!({}))).await.is_err(), "no until: always fails");
    }

    #[tokio::test]
    async fn fails_with_the_message_given() {
        let e = Fail.run(ctx(serde_json::json!({ "message": "card declined" }))).await.unwrap_err();
        assert_eq!(e.message, "card declined");
        let e = Fail.run(ctx(serde_json::json!({}))).await.unwrap_err();
        assert_eq!(e.message, "injected failure on attempt 1");
        for bad in [serde_json::json!(5), serde_json::json!(" "), serde_json::json!("x".repeat(501))] {
            assert!(Fail.validate(&serde_json::json!({ "message": bad })).is_err(), "{bad}");
        }
    }
}
