//! The providers' wire formats, as pure functions: request bodies, replies,
//! error bodies (classified into `Failure`), and stream lines. Written from
//! the documented formats of Gemini's `generateContent` and the OpenAI chat
//! completions API that OpenRouter, Groq and Ollama speak.

use std::time::Duration;

use serde_json::{json, Value};

use super::retry::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub temperature: f32,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub text: String,
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
}

/// One parsed line of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamLine {
    Token(String),
    Done,
    /// An error reported inside the stream after it began.
    Error(Failure),
    /// Comments, keep-alives, empty deltas.
    Skip,
}

/// "2s", "1.5s" or "30" (seconds) into a duration. A hint too long for a
/// `Duration` ("1e30s") is the longest one: it never fits a deadline.
pub fn parse_delay(text: &str) -> Option<Duration> {
    let t = text.trim().trim_end_matches('s');
    t.parse::<f64>().ok().filter(|s| !s.is_nan() && *s >= 0.0).map(seconds)
}

/// Seconds into a duration, saturating instead of panicking.
fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
}

/// Go-style durations as Groq's `x-ratelimit-reset-*` headers send them:
/// "2m59.56s", "7.66s", "120ms", "1h2m".
pub fn parse_reset(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    let mut num = String::new();
    let mut chars = t.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let value: f64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += value * unit;
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    any.then(|| seconds(total))
}

/// A stream's bytes into complete lines, without their line ends. Lines are
/// cut at `\n` in the bytes before decoding, so a character split across two
/// network chunks is decoded whole, not as two replacement characters.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        let mut start = 0;
        while let Some(i) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = &self.pending[start..start + i];
            lines.push(String::from_utf8_lossy(line).trim_end().to_string());
            start += i + 1;
        }
        self.pending.drain(..start);
        lines
    }
}

// ---- Gemini ---------------------------------------------------------------

pub fn gemini_request(p: &Prompt) -> Value {
    let contents: Vec<Value> = p
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "model",
            };
            json!({"role": role, "parts": [{"text": m.text}]})
        })
        .collect();
    let mut body = json!({
        "contents": contents,
        "generationConfig": {"temperature": p.temperature, "maxOutputTokens": p.max_tokens},
    });
    if let Some(s) = &p.system {
        body["systemInstruction"] = json!({"parts": [{"text": s}]});
    }
    body
}

fn gemini_text(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .map(|parts| parts.iter().filter_map(|p| p["text"].as_str()).collect::<String>())
        .unwrap_or_default()
}

pub fn gemini_reply(body: &str) -> Result<Reply, Failure> {
    let v: Value = serde_json::from_str(body).map_err(|_| Failure::Empty)?;
    let text = gemini_text(&v);
    if text.trim().is_empty() {
        return Err(Failure::Empty);
    }
    Ok(Reply {
        text,
        tokens_in: v["usageMetadata"]["promptTokenCount"].as_u64(),
        tokens_out: v["usageMetadata"]["candidatesTokenCount"].as_u64(),
    })
}

/// `{"error": {code, message, status, details: [...]}}`: a RetryInfo detail
/// carries the retry hint; a QuotaFailure naming a per-day quota means the
/// day's quota is gone.
pub fn gemini_error(status: u16, retry_after_header: Option<&str>, body: &str) -> Failure {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let details = v["error"]["details"].as_array().cloned().unwrap_or_default();
    let mut retry_after = retry_after_header.and_then(parse_delay);
    let mut quota_exhausted = false;
    for d in &details {
        let ty = d["@type"].as_str().unwrap_or("");
        if ty.ends_with("google.rpc.RetryInfo") {
            retry_after = d["retryDelay"].as_str().and_then(parse_delay).or(retry_after);
        }
        if ty.ends_with("google.rpc.QuotaFailure") {
            let per_day = d["violations"].as_array().is_some_and(|vs| {
                vs.iter().any(|x| {
                    let id = x["quotaId"].as_str().unwrap_or("").to_ascii_lowercase();
                    id.contains("perday") || id.contains("per_day")
                })
            });
            quota_exhausted |= per_day;
        }
    }
    let model_not_found = status == 404;
    // Gemini answers a bad or revoked API key with 400 API_KEY_INVALID, and
    // a region or project it does not serve with FAILED_PRECONDITION: the
    // request was fine, this provider will not take it from us.
    let reason_is = |r: &str| details.iter().any(|d| d["reason"].as_str() == Some(r));
    let key_refused = reason_is("API_KEY_INVALID")
        || matches!(
            v["error"]["status"].as_str(),
            Some("UNAUTHENTICATED" | "PERMISSION_DENIED" | "FAILED_PRECONDITION")
        );
    Failure::Status { code: status, quota_exhausted, model_not_found, key_refused, retry_after }
}

/// A line of `:streamGenerateContent?alt=sse`.
pub fn gemini_stream_line(line: &str) -> StreamLine {
    let Some(data) = line.strip_prefix("data:").map(str::trim) else { return StreamLine::Skip };
    let Ok(v) = serde_json::from_str::<Value>(data) else { return StreamLine::Skip };
    if v.get("error").is_some() {
        let code = v["error"]["code"].as_u64().unwrap_or(500) as u16;
        return StreamLine::Error(gemini_error(code, None, data));
    }
    let text = gemini_text(&v);
    if text.is_empty() {
        StreamLine::Skip
    } else {
        StreamLine::Token(text)
    }
}

// ---- OpenAI-compatible (OpenRouter, Groq, Ollama, …) ----------------------

pub fn openai_request(model: &str, p: &Prompt, stream: bool) -> Value {
    let mut messages = Vec::new();
    if let Some(s) = &p.system {
        messages.push(json!({"role": "system", "content": s}));
    }
    for m in &p.messages {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        messages.push(json!({"role": role, "content": m.text}));
    }
    json!({
        "model": model,
        "messages": messages,
        "temperature": p.temperature,
        "max_tokens": p.max_tokens,
        "stream": stream,
    })
}

pub fn openai_reply(body: &str) -> Result<Reply, Failure> {
    let v: Value = serde_json::from_str(body).map_err(|_| Failure::Empty)?;
    let text = v["choices"][0]["message"]["content"].as_str().unwrap_or("").to_string();
    if text.trim().is_empty() {
        return Err(Failure::Empty);
    }
    Ok(Reply {
        text,
        tokens_in: v["usage"]["prompt_tokens"].as_u64(),
        tokens_out: v["usage"]["completion_tokens"].as_u64(),
    })
}

/// `{"error": {message, type, code}}` with `retry-after` on 429 (Groq) and
/// 402 for exhausted credits (OpenRouter).
pub fn openai_error(status: u16, retry_after_header: Option<&str>, body: &str) -> Failure {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let e = &v["error"];
    let code = e["code"]
        .as_str()
        .map(str::to_string)
        .or_else(|| e["code"].as_u64().map(|c| c.to_string()))
        .unwrap_or_default();
    let ty = e["type"].as_str().unwrap_or("");
    let message = e["message"].as_str().unwrap_or("").to_ascii_lowercase();
    let quota_exhausted = code == "insufficient_quota"
        || ty == "insufficient_quota"
        || (status == 429 && (message.contains("per day") || message.contains("daily")));
    // OpenRouter answers a model id it does not know with 400 "… is not a valid model ID".
    let model_not_found = code == "model_not_found"
        || (status == 404 && message.contains("model"))
        || (status == 400 && message.contains("not a valid model"));
    Failure::Status {
        code: status,
        quota_exhausted,
        model_not_found,
        key_refused: false,
        retry_after: retry_after_header.and_then(parse_delay),
    }
}

/// A line of an OpenAI-style SSE stream: `data: {...}`, `data: [DONE]`,
/// `: keep-alive` comments, and (OpenRouter) errors inside the stream.
pub fn openai_stream_line(line: &str) -> StreamLine {
    if line.starts_with(':') || line.trim().is_empty() {
        return StreamLine::Skip;
    }
    let Some(data) = line.strip_prefix("data:").map(str::trim) else { return StreamLine::Skip };
    if data == "[DONE]" {
        return StreamLine::Done;
    }
    let Ok(v) = serde_json::from_str::<Value>(data) else { return StreamLine::Skip };
    if v.get("error").is_some() {
        let code = v["error"]["code"].as_u64().unwrap_or(502) as u16;
        return StreamLine::Error(openai_error(code, None, data));
    }
    match v["choices"][0]["delta"]["content"].as_str() {
        Some(t) if !t.is_empty() => StreamLine::Token(t.to_string()),
        _ => StreamLine::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::retry::ErrorClass;

    fn prompt() -> Prompt {
        Prompt {
            system: Some("You are an interviewer.".into()),
            messages: vec![Message { role: Role::User, text: "Hello".into() }],
            temperature: 0.2,
            max_tokens: 256,
        }
    }

    #[test]
    fn gemini_request_and_reply_shapes() {
        let body = gemini_request(&prompt());
        assert_eq!(body["contents"][0]["role"], "user");
        assert_eq!(body["contents"][0]["parts"][0]["text"], "Hello");
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "You are an interviewer.");
        assert_eq!(body["generationConfig"]["maxOutputTokens"], 256);
        let reply = gemini_reply(
            r#"{"candidates":[{"content":{"parts":[{"text":"Tell me "},{"text":"more."}],"role":"model"},"finishReason":"STOP"}],
                "usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":3}}"#,
        )
        .unwrap();
        assert_eq!(reply, Reply { text: "Tell me more.".into(), tokens_in: Some(12), tokens_out: Some(3) });
        assert_eq!(gemini_reply(r#"{"candidates":[]}"#), Err(Failure::Empty), "an empty 200 is a failure");
    }

    #[test]
    fn gemini_errors_carry_retry_info_and_daily_quota() {
        let short = r#"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel"}]},
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2s"}]}}"#;
        let f = gemini_error(429, None, short);
        assert_eq!(f.class(), ErrorClass::Retry);
        assert_eq!(f.retry_after(), Some(Duration::from_secs(2)));
        let daily = r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]}}"#;
        assert_eq!(gemini_error(429, None, daily).class(), ErrorClass::NextTier);
        assert_eq!(
            gemini_error(400, None, r#"{"error":{"code":400,"status":"INVALID_ARGUMENT"}}"#).class(),
            ErrorClass::Fatal
        );
        assert_eq!(gemini_error(503, None, "not json").class(), ErrorClass::Retry);
        assert_eq!(gemini_error(404, None, "{}").class(), ErrorClass::NextTier, "model not found");
    }

    #[test]
    fn openai_compatible_shapes_and_errors() {
        let body = openai_request("llama-3.1-8b-instant", &prompt(), true);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["content"], "Hello");
        assert_eq!(body["stream"], true);
        let reply = openai_reply(
            r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Why?"},"finish_reason":"stop"}],
                "usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
        )
        .unwrap();
        assert_eq!((reply.text.as_str(), reply.tokens_out), ("Why?", Some(2)));
        assert_eq!(openai_reply(r#"{"choices":[{"message":{"content":""}}]}"#), Err(Failure::Empty));

        let groq = openai_error(
            429,
            Some("7"),
            r#"{"error":{"message":"Rate limit reached for model","type":"tokens","code":"rate_limit_exceeded"}}"#,
        );
        assert_eq!((groq.class(), groq.retry_after()), (ErrorClass::Retry, Some(Duration::from_secs(7))));
        let credits = openai_error(402, None, r#"{"error":{"code":402,"message":"Insufficient credits"}}"#);
        assert_eq!(credits.class(), ErrorClass::NextTier);
        let quota = openai_error(
            429,
            None,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        );
        assert_eq!(quota.class(), ErrorClass::NextTier);
        let missing =
            openai_error(404, None, r#"{"error":{"message":"The model `x` does not exist","code":"model_not_found"}}"#);
        assert_eq!(missing.class(), ErrorClass::NextTier);
    }

    #[test]
    fn stream_lines() {
        assert_eq!(openai_stream_line(": OPENROUTER PROCESSING"), StreamLine::Skip);
        assert_eq!(
            openai_stream_line(r#"data: {"choices":[{"delta":{"content":"Hi"}}]}"#),
            StreamLine::Token("Hi".into())
        );
        assert_eq!(openai_stream_line(r#"data: {"choices":[{"delta":{}}]}"#), StreamLine::Skip);
        assert_eq!(openai_stream_line("data: [DONE]"), StreamLine::Done);
        let mid = openai_stream_line(
            r#"data: {"error":{"code":502,"message":"Provider disconnected"},"choices":[{"delta":{"content":""},"finish_reason":"error"}]}"#,
        );
        assert!(matches!(mid, StreamLine::Error(ref f) if f.class() == ErrorClass::Retry), "{mid:?}");
        assert_eq!(
            gemini_stream_line(r#"data: {"candidates":[{"content":{"parts":[{"text":"Go"}]}}]}"#),
            StreamLine::Token("Go".into())
        );
        assert_eq!(gemini_stream_line(""), StreamLine::Skip);
        assert_eq!(parse_delay("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_delay("soon"), None);
        assert_eq!(parse_reset("2m59.5s"), Some(Duration::from_millis(179_500)));
        assert_eq!(parse_reset("120ms"), Some(Duration::from_millis(120)));
        assert_eq!(parse_reset("1h2m"), Some(Duration::from_secs(3720)));
        assert_eq!(parse_reset("7"), None);
        // Absurd hints saturate (they never fit a deadline) instead of panicking.
        assert_eq!(parse_delay("1e30s"), Some(Duration::MAX));
        assert_eq!(parse_delay("-1"), None);
        assert_eq!(parse_delay("inf"), Some(Duration::MAX));
        assert_eq!(parse_reset("99999999999999999999h"), Some(Duration::MAX));
    }

    #[test]
    fn stream_lines_survive_characters_split_across_chunks() {
        let text = "data: {\"t\":\"café 東京\"}\r\n\ndata: [DONE]\n";
        let bytes = text.as_bytes();
        // Every split point, including inside the two- and three-byte characters.
        for cut in 1..bytes.len() {
            let mut lines = LineBuffer::default();
            let mut got = lines.push(&bytes[..cut]);
            got.extend(lines.push(&bytes[cut..]));
            assert_eq!(got, ["data: {\"t\":\"café 東京\"}", "", "data: [DONE]"], "cut at {cut}");
        }
    }

    #[test]
    fn a_revoked_gemini_key_and_an_unknown_openrouter_model_move_to_the_next_tier() {
        use super::super::retry::ErrorClass;
        let bad_key = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}"#;
        assert_eq!(gemini_error(400, None, bad_key).class(), ErrorClass::NextTier);
        let region = r#"{"error": {"code": 400, "message": "User location is not supported for the API use.", "status": "FAILED_PRECONDITION"}}"#;
        assert_eq!(gemini_error(400, None, region).class(), ErrorClass::NextTier);
        let ours =
            r#"{"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}"#;
        assert_eq!(gemini_error(400, None, ours).class(), ErrorClass::Fatal, "our own bad request stays fatal");
        let model = r#"{"error": {"message": "acme/none is not a valid model ID", "code": 400}}"#;
        assert_eq!(openai_error(400, None, model).class(), ErrorClass::NextTier);
        let hint = r#"{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1e30s"}]}}"#;
        assert_eq!(gemini_error(429, Some("1e20"), hint).retry_after(), Some(Duration::MAX));
    }
}
