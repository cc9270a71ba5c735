//! The `Provider` trait and its HTTP clients: Gemini, and the OpenAI chat
//! completions format that OpenRouter, Groq, Ollama and others speak.
//! Clients only translate; retries, breakers and fallbacks are the router's.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::{
    retry::Failure,
    wire::{self, Prompt, Reply, StreamLine},
};

/// How a stream ended badly, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFailure {
    pub failure: Failure,
    /// Tokens already sent to the caller: after the first, there is no
    /// falling over to another tier, only an `interrupted` end.
    pub tokens_sent: usize,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &str;

    async fn complete(&self, prompt: &Prompt, timeout: Duration) -> Result<Reply, Failure>;

    /// Streams tokens into `tx`; fails when no first token arrives within
    /// `ttft` or the stream stalls longer than `stall` between tokens.
    async fn stream(
        &self,
        prompt: &Prompt,
        ttft: Duration,
        stall: Duration,
        tx: &mpsc::Sender<String>,
    ) -> Result<Reply, StreamFailure>;
}

fn transport(e: reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() {
        Failure::Connect
    } else {
        Failure::Cut
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Gemini,
    OpenAi,
}

/// One HTTP client type for both formats; the format picks URLs, headers
/// and parsers.
pub struct HttpProvider {
    name: String,
    format: Format,
    http: reqwest::Client,
    base: String,
    key: String,
    model: String,
}

impl HttpProvider {
    pub fn gemini(http: reqwest::Client, base: &str, key: &str, model: &str) -> Self {
        HttpProvider {
            name: "gemini".into(),
            format: Format::Gemini,
            http,
            base: base.trim_end_matches('/').into(),
            key: key.into(),
            model: model.into(),
        }
    }

    /// `name` is how it shows (openrouter, groq, ollama…); `base` ends in `/v1`.
    pub fn openai_compatible(name: &str, http: reqwest::Client, base: &str, key: &str, model: &str) -> Self {
        HttpProvider {
            name: name.into(),
            format: Format::OpenAi,
            http,
            base: base.trim_end_matches('/').into(),
            key: key.into(),
            model: model.into(),
        }
    }

    fn request(&self, prompt: &Prompt, stream: bool) -> reqwest::RequestBuilder {
        match self.format {
            Format::Gemini => {
                let action = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
                self.http
                    .post(format!("{}/v1beta/models/{}:{action}", self.base, self.model))
                    .header("x-goog-api-key", &self.key)
                    .json(&wire::gemini_request(prompt))
            }
            Format::OpenAi => {
                let mut r = self.http.post(format!("{}/chat/completions", self.base)).json(&wire::openai_request(
                    &self.model,
                    prompt,
                    stream,
                ));
                if !self.key.is_empty() {
                    r = r.bearer_auth(&self.key);
                }
                if self.name == "openrouter" {
                    r = r.header("HTTP-Referer", "https://github.com/meetmind").header("X-Title", "MeetMind");
                }
                r
            }
        }
    }

    async fn error_of(&self, res: reqwest::Response) -> Failure {
        let status = res.status().as_u16();
        let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        // Retry-After wins; Groq's rate-limit reset headers are the fallback
        // hint on a 429 only: they ride on every answer, and a 5xx with a
        // three-minute request-window reset must still be retried soon.
        let retry_after = header("retry-after").or_else(|| {
            if status != 429 {
                return None;
            }
            let reset = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
                .iter()
                .filter_map(|h| header(h).as_deref().and_then(wire::parse_reset))
                .max()?;
            Some(format!("{}", reset.as_secs_f64()))
        });
        let body = res.text().await.unwrap_or_default();
        match self.format {
            Format::Gemini => wire::gemini_error(status, retry_after.as_deref(), &body),
            Format::OpenAi => wire::openai_error(status, retry_after.as_deref(), &body),
        }
    }
}

#[async_trait]
impl Provider for HttpProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn complete(&self, prompt: &Prompt, timeout: Duration) -> Result<Reply, Failure> {
        let res = self.request(prompt, false).timeout(timeout).send().await.map_err(transport)?;
        if !res.status().is_success() {
            return Err(self.error_of(res).await);
        }
        let body = res.text().await.map_err(transport)?;
        match self.format {
            Format::Gemini => wire::gemini_reply(&body),
            Format::OpenAi => wire::openai_reply(&body),
        }
    }

    async fn stream(
        &self,
        prompt: &Prompt,
        ttft: Duration,
        stall: Duration,
        tx: &mpsc::Sender<String>,
    ) -> Result<Reply, StreamFailure> {
        let fail = |failure, tokens_sent| StreamFailure { failure, tokens_sent };
        // Everything before the first token shares one deadline: the request,
        // an error's body, keep-alive comments and empty deltas. Bytes that
        // carry no token do not restart it.
        let first_by = tokio::time::Instant::now() + ttft;
        let res = tokio::time::timeout_at(first_by, self.request(prompt, true).send())
            .await
            .map_err(|_| fail(Failure::Timeout, 0))?
            .map_err(|e| fail(transport(e), 0))?;
        if !res.status().is_success() {
            let failure = tokio::time::timeout_at(first_by, self.error_of(res)).await.unwrap_or(Failure::Timeout);
            return Err(fail(failure, 0));
        }
        let mut body = res.bytes_stream();
        let mut lines = wire::LineBuffer::default();
        let mut text = String::new();
        let mut sent = 0usize;
        let mut done = false;
        loop {
            let next = if sent == 0 {
                tokio::time::timeout_at(first_by, body.next()).await
            } else {
                tokio::time::timeout(stall, body.next()).await
            };
            let chunk = match next {
                Err(_) => return Err(fail(Failure::Timeout, sent)),
                Ok(None) => break,
                Ok(Some(Err(_))) => return Err(fail(Failure::Cut, sent)),
                Ok(Some(Ok(bytes))) => bytes,
            };
            for line in lines.push(&chunk) {
                let parsed = match self.format {
                    Format::Gemini => wire::gemini_stream_line(&line),
                    Format::OpenAi => wire::openai_stream_line(&line),
                };
                match parsed {
                    StreamLine::Token(t) => {
                        text.push_str(&t);
                        sent += 1;
                        if tx.send(t).await.is_err() {
                            // The caller went away: stop reading.
                            return Ok(Reply { text, tokens_in: None, tokens_out: Some(sent as u64) });
                        }
                    }
                    StreamLine::Done => done = true,
                    StreamLine::Error(f) => return Err(fail(f, sent)),
                    StreamLine::Skip => {}
                }
            }
            if done {
                break;
            }
        }
        // OpenAI-style streams end with [DONE]; Gemini's simply end.
        if sent == 0 {
            return Err(fail(Failure::Empty, 0));
        }
        if self.format == Format::OpenAi && !done {
            return Err(fail(Failure::Cut, sent));
        }
        Ok(Reply { text, tokens_in: None, tokens_out: Some(sent as u64) })
    }
}
