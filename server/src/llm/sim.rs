//! `meetmind sim-providers`: a provider simulator for tests, demos and chaos
//! drills. It speaks Gemini's `generateContent` (under `/gemini`) and the
//! OpenAI chat completions API (under `/openrouter`, `/groq`, `/openai`),
//! plain and streamed, and injects the faults a control API sets:
//! `PUT /_sim/faults/{provider}`, `GET /_sim/stats`, `POST /_sim/reset`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const PROVIDERS: &[&str] = &["gemini", "openrouter", "groq", "openai"];

/// Faults for one provider. Every field defaults to "healthy".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of requests (0..1) answered with `error_status`.
    pub error_rate: f64,
    pub error_status: u16,
    /// Answer 429 with this retry hint (seconds).
    pub rate_limit_secs: Option<f64>,
    /// Answer 429 with a per-day quota exhausted.
    pub quota_exhausted: bool,
    /// Added before answering.
    pub latency_ms: u64,
    /// Never answer.
    pub hang: bool,
    /// Streams stop (connection closed) after this many tokens.
    pub cut_after_tokens: Option<usize>,
    /// Streams wait this long before each token (a slow model).
    pub token_delay_ms: u64,
    /// While a stream waits for its first token, a keep-alive comment
    /// every this many ms (as OpenRouter sends `: OPENROUTER PROCESSING`).
    pub keepalive_ms: u64,
    /// Answer 200 with no content.
    pub empty: bool,
}

#[derive(Default)]
struct Sim {
    faults: HashMap<String, Faults>,
    requests: HashMap<String, u64>,
}

type Shared = Arc<Mutex<Sim>>;

pub fn router() -> Router {
    let state: Shared = Arc::new(Mutex::new(Sim::default()));
    Router::new()
        .route("/gemini/v1beta/models/{call}", post(gemini))
        .route("/{provider}/v1/chat/completions", post(openai))
        .route("/_sim/faults/{provider}", put(set_faults))
        .route("/_sim/stats", get(stats))
        .route("/_sim/reset", post(reset))
        .with_state(state)
}

pub async fn serve(addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("provider simulator on http://{addr}: base URLs http://{addr}/gemini, http://{addr}/openrouter/v1, http://{addr}/groq/v1");
    axum::serve(listener, router()).await
}

async fn set_faults(State(s): State<Shared>, Path(provider): Path<String>, Json(f): Json<Faults>) -> Response {
    if !PROVIDERS.contains(&provider.as_str()) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": format!("unknown provider {provider}")}))).into_response();
    }
    s.lock().unwrap_or_else(|p| p.into_inner()).faults.insert(provider, f);
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(s): State<Shared>) -> Json<Value> {
    let sim = s.lock().unwrap_or_else(|p| p.into_inner());
    Json(json!({ "requests": sim.requests }))
}

async fn reset(State(s): State<Shared>) -> StatusCode {
    *s.lock().unwrap_or_else(|p| p.into_inner()) = Sim::default();
    StatusCode::NO_CONTENT
}

/// Counts the request and returns the provider's faults.
fn arrive(s: &Shared, provider: &str) -> Faults {
    let mut sim = s.lock().unwrap_or_else(|p| p.into_inner());
    *sim.requests.entry(provider.to_string()).or_insert(0) += 1;
    sim.faults.get(provider).cloned().unwrap_or_default()
}

fn answer_for(prompt: &str, provider: &str) -> String {
    // The last words said; the prompts' fence tags (`</answer>`) are not words.
    let words: Vec<&str> = prompt.split_whitespace().filter(|w| !(w.starts_with('<') && w.ends_with('>'))).collect();
    let topic = words[words.len().saturating_sub(6)..].join(" ");
    format!("Could you walk me through a concrete example of {topic}? ({provider} simulated)")
}

/// The fault to answer with before any content, if one applies.
enum Early {
    Status(u16),
    RateLimited(f64),
    Quota,
}

async fn before_answer(f: &Faults) -> Option<Early> {
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if f.hang {
        std::future::pending::<()>().await;
    }
    if f.quota_exhausted {
        return Some(Early::Quota);
    }
    if let Some(secs) = f.rate_limit_secs {
        return Some(Early::RateLimited(secs));
    }
    if f.error_rate > 0.0 && rand::rng().random::<f64>() < f.error_rate {
        return Some(Early::Status(if f.error_status == 0 { 503 } else { f.error_status }));
    }
    None
}

fn sse(events: Vec<String>, f: &Faults, done: Option<&'static str>) -> Response {
    let n = events.len();
    let (take, finished) = match f.cut_after_tokens {
        Some(k) if k < n => (k, false),
        _ => (n, true),
    };
    // Each chunk with the wait before it: a little pacing, like a real model
    // (it also lets the head and the first tokens reach the client before a
    // cut), or the slow model's delay, filled with keep-alives before the
    // first token when asked.
    let short = Duration::from_millis(2);
    let pace = Duration::from_millis(f.token_delay_ms).max(short);
    let mut chunks: Vec<(Duration, Result<String, std::io::Error>)> = Vec::new();
    let mut first_wait = pace;
    if f.keepalive_ms > 0 && f.token_delay_ms >= f.keepalive_ms {
        // The wait for the first token, spent in keep-alives.
        let every = Duration::from_millis(f.keepalive_ms);
        for _ in 0..f.token_delay_ms / f.keepalive_ms {
            chunks.push((every, Ok(": OPENROUTER PROCESSING\n\n".to_string())));
        }
        first_wait = short;
    }
    for (i, e) in events.into_iter().take(take).enumerate() {
        chunks.push((if i == 0 { first_wait } else { pace }, Ok(format!("data: {e}\n\n"))));
    }
    if finished {
        if let Some(d) = done {
            chunks.push((short, Ok(format!("data: {d}\n\n"))));
        }
    } else {
        // Ends the body with an error: the client sees the connection cut.
        chunks.push((short, Err(std::io::Error::other("stream cut by the simulator"))));
    }
    use futures_util::StreamExt as _;
    let stream = futures_util::stream::iter(chunks).then(|(wait, c)| async move {
        tokio::time::sleep(wait).await;
        c
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}

async fn gemini(State(s): State<Shared>, Path(call): Path<String>, Json(body): Json<Value>) -> Response {
    let f = arrive(&s, "gemini");
    let (_model, action) = call.split_once(':').unwrap_or((call.as_str(), ""));
    match before_answer(&f).await {
        Some(Early::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return (
                status,
                Json(json!({"error": {"code": code, "message": "simulated failure", "status": "UNAVAILABLE"}})),
            )
                .into_response();
        }
        Some(Early::RateLimited(secs)) => {
            return (StatusCode::TOO_MANY_REQUESTS, Json(json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}]}}))).into_response();
        }
        Some(Early::Quota) => {
            return (StatusCode::TOO_MANY_REQUESTS, Json(json!({"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}}))).into_response();
        }
        None => {}
    }
    let prompt =
        body["contents"].as_array().and_then(|c| c.last()).and_then(|m| m["parts"][0]["text"].as_str()).unwrap_or("");
    let text = if f.empty { String::new() } else { answer_for(prompt, "gemini") };
    let candidate = |t: &str| json!({"candidates": [{"content": {"role": "model", "parts": [{"text": t}]}}], "usageMetadata": {"promptTokenCount": prompt.split_whitespace().count(), "candidatesTokenCount": t.split_whitespace().count()}});
    if action.starts_with("streamGenerateContent") {
        let events = text.split_inclusive(' ').map(|w| candidate(w).to_string()).collect();
        return sse(events, &f, None);
    }
    if f.empty {
        return Json(json!({"candidates": []})).into_response();
    }
    Json(candidate(&text)).into_response()
}

async fn openai(State(s): State<Shared>, Path(provider): Path<String>, Json(body): Json<Value>) -> Response {
    if !PROVIDERS.contains(&provider.as_str()) || provider == "gemini" {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"message": "unknown provider", "code": "not_found"}})))
            .into_response();
    }
    let f = arrive(&s, &provider);
    match before_answer(&f).await {
        Some(Early::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return (
                status,
                Json(json!({"error": {"message": "simulated failure", "type": "server_error", "code": code}})),
            )
                .into_response();
        }
        Some(Early::RateLimited(secs)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", format!("{secs}")), ("x-ratelimit-remaining-requests", "0".to_string())],
                Json(json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})),
            )
                .into_response();
        }
        Some(Early::Quota) => {
            let (status, code) = if provider == "openrouter" { (402, "402") } else { (429, "insufficient_quota") };
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
                Json(json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": code}})),
            )
                .into_response();
        }
        None => {}
    }
    let prompt = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("");
    let text = if f.empty { String::new() } else { answer_for(prompt, &provider) };
    if body["stream"].as_bool() == Some(true) {
        let mut events: Vec<String> = Vec::new();
        if provider == "openrouter" {
            events.push(json!({"choices": [{"delta": {"role": "assistant", "content": ""}}]}).to_string());
        }
        events.extend(
            text.split_inclusive(' ').map(|w| json!({"choices": [{"index": 0, "delta": {"content": w}}]}).to_string()),
        );
        return sse(events, &f, Some("[DONE]"));
    }
    Json(json!({
        "id": "sim", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt.split_whitespace().count(), "completion_tokens": text.split_whitespace().count()}
    }))
    .into_response()
}
