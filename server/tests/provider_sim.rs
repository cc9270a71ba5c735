//! The provider simulator speaks each provider's wire format, and every fault
//! it injects is parsed and classified as the engine will see it.

use std::time::Duration;

use meetmind::llm::{
    retry::{ErrorClass, Failure},
    wire::{self, Message, Prompt, Role, StreamLine},
};
use serde_json::json;

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, meetmind::llm::sim::router()).await.unwrap() });
    base
}

fn prompt() -> Prompt {
    Prompt {
        system: Some("Interviewer".into()),
        messages: vec![Message { role: Role::User, text: "I led the migration to Postgres".into() }],
        temperature: 0.2,
        max_tokens: 128,
    }
}

async fn fault(base: &str, provider: &str, faults: serde_json::Value) {
    let r = reqwest::Client::new().put(format!("{base}/_sim/faults/{provider}")).json(&faults).send().await.unwrap();
    assert_eq!(r.status(), 204);
}

async fn gemini(base: &str, stream: bool) -> reqwest::Response {
    let action = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
    reqwest::Client::new()
        .post(format!("{base}/gemini/v1beta/models/gemini-2.0-flash:{action}"))
        .header("x-goog-api-key", "test")
        .json(&wire::gemini_request(&prompt()))
        .send()
        .await
        .unwrap()
}

async fn groq(base: &str, stream: bool) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/groq/v1/chat/completions"))
        .bearer_auth("test")
        .json(&wire::openai_request("llama-3.1-8b-instant", &prompt(), stream))
        .send()
        .await
        .unwrap()
}

async fn failure_of(r: reqwest::Response, gemini_format: bool) -> Failure {
    let status = r.status().as_u16();
    let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = r.text().await.unwrap();
    if gemini_format {
        wire::gemini_error(status, retry_after.as_deref(), &body)
    } else {
        wire::openai_error(status, retry_after.as_deref(), &body)
    }
}

#[tokio::test]
async fn healthy_answers_parse_in_both_formats_and_streams_complete() {
    let base = start().await;
    let r = gemini(&base, false).await;
    assert_eq!(r.status(), 200);
    let reply = wire::gemini_reply(&r.text().await.unwrap()).unwrap();
    assert!(reply.text.contains("Postgres") && reply.tokens_out.unwrap() > 0, "{reply:?}");
    let reply = wire::openai_reply(&groq(&base, false).await.text().await.unwrap()).unwrap();
    assert!(reply.text.contains("groq simulated"));

    let body = groq(&base, true).await.text().await.unwrap();
    let lines: Vec<StreamLine> =
        body.lines().map(wire::openai_stream_line).filter(|l| *l != StreamLine::Skip).collect();
    assert_eq!(lines.last(), Some(&StreamLine::Done));
    let text: String =
        lines.iter().filter_map(|l| if let StreamLine::Token(t) = l { Some(t.as_str()) } else { None }).collect();
    assert!(text.contains("Postgres"));
    let body = gemini(&base, true).await.text().await.unwrap();
    let tokens = body.lines().map(wire::gemini_stream_line).filter(|l| matches!(l, StreamLine::Token(_))).count();
    assert!(tokens > 5);

    let stats: serde_json::Value = reqwest::get(format!("{base}/_sim/stats")).await.unwrap().json().await.unwrap();
    assert_eq!(stats["requests"]["gemini"], 2);
    assert_eq!(stats["requests"]["groq"], 2);
}

#[tokio::test]
async fn injected_faults_are_classified() {
    let base = start().await;
    fault(&base, "gemini", json!({"error_rate": 1.0, "error_status": 503})).await;
    assert_eq!(failure_of(gemini(&base, false).await, true).await.class(), ErrorClass::Retry);
    fault(&base, "gemini", json!({"rate_limit_secs": 2})).await;
    let f = failure_of(gemini(&base, false).await, true).await;
    assert_eq!((f.class(), f.retry_after()), (ErrorClass::Retry, Some(Duration::from_secs(2))));
    fault(&base, "gemini", json!({"quota_exhausted": true})).await;
    assert_eq!(failure_of(gemini(&base, false).await, true).await.class(), ErrorClass::NextTier, "per-day quota");
    fault(&base, "gemini", json!({"empty": true})).await;
    assert_eq!(wire::gemini_reply(&gemini(&base, false).await.text().await.unwrap()), Err(Failure::Empty));

    fault(&base, "groq", json!({"rate_limit_secs": 60})).await;
    let f = failure_of(groq(&base, false).await, false).await;
    assert_eq!(f.retry_after(), Some(Duration::from_secs(60)));
    fault(&base, "openrouter", json!({"quota_exhausted": true})).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/openrouter/v1/chat/completions"))
        .json(&wire::openai_request("m", &prompt(), false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 402, "OpenRouter: out of credits");
    assert_eq!(failure_of(r, false).await.class(), ErrorClass::NextTier);

    // A stream cut after 3 tokens: the body ends in an error, without [DONE].
    fault(&base, "groq", json!({"cut_after_tokens": 3})).await;
    let r = groq(&base, true).await;
    let body = r.text().await;
    match body {
        Err(_) => {}
        Ok(text) => {
            assert!(!text.contains("[DONE]"), "{text}");
            let tokens =
                text.lines().map(wire::openai_stream_line).filter(|l| matches!(l, StreamLine::Token(_))).count();
            assert_eq!(tokens, 3);
        }
    }

    // A hang: the client's own timeout fires.
    fault(&base, "groq", json!({"hang": true})).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/groq/v1/chat/completions"))
        .timeout(Duration::from_millis(200))
        .json(&wire::openai_request("m", &prompt(), false))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    let ok = reqwest::Client::new().post(format!("{base}/_sim/reset")).send().await.unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(groq(&base, false).await.status(), 200, "reset heals everything");
}
