//! `http.request {url, method?, headers?, body?, timeout_ms?}`: calls a URL.
//! 5xx, 429 and network errors are retried; other 4xx are permanent.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{Handler, HandlerError, JobContext};

pub struct HttpRequest {
    client: reqwest::Client,
}

impl HttpRequest {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_default();
        HttpRequest { client }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    url: String,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

fn get() -> String {
    "GET".into()
}

fn spec(payload: &serde_json::Value) -> Result<Spec, String> {
    let spec: Spec = serde_json::from_value(payload.clone()).map_err(|e| e.to_string())?;
    let url = url::Url::parse(&spec.url).map_err(|e| format!("url: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("url: only http and https are allowed".into());
    }
    reqwest::Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| "method: not an HTTP method")?;
    if spec.timeout_ms.is_some_and(|t| t == 0 || t > 300_000) {
        return Err("timeout_ms must be 1 to 300000".into());
    }
    // Checked here, not at run time: a header reqwest cannot send would
    // otherwise fail every attempt and end in the dead-letter queue.
    for (name, value) in &spec.headers {
        reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("headers: {name:?} is not a valid header name"))?;
        reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| format!("headers.{name}: not a valid header value"))?;
    }
    Ok(spec)
}

#[async_trait]
impl Handler for HttpRequest {
    fn kind(&self) -> &'static str {
        "http.request"
    }

    fn validate(&self, payload: &serde_json::Value) -> Result<(), String> {
        spec(payload).map(|_| ())
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(310)
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError> {
        let spec = spec(&ctx.payload).map_err(HandlerError::permanent)?;
        let method = reqwest::Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
            .map_err(|e| HandlerError::permanent(e.to_string()))?;
        let mut req = self
            .client
            .request(method, &spec.url)
            .timeout(Duration::from_millis(spec.timeout_ms.unwrap_or(30_000)))
            .header("idempotency-key", format!("meetmind-job-{}", ctx.id));
        for (k, v) in &spec.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &spec.body {
            req = req.json(body);
        }
        match req.send().await {
            Ok(res) if res.status().is_success() => Ok(()),
            Ok(res) if res.status().is_server_error() || res.status().as_u16() == 429 => {
                Err(HandlerError::retry(format!("{} answered {}", spec.url, res.status())))
            }
            Ok(res) => Err(HandlerError::permanent(format!("{} answered {}", spec.url, res.status()))),
            Err(e) if e.is_timeout() => Err(HandlerError::retry(format!("{} timed out", spec.url))),
            // A request that cannot be built fails the same way every time.
            Err(e) if e.is_builder() => {
                Err(HandlerError::permanent(format!("request to {} cannot be built: {e}", spec.url)))
            }
            Err(e) => Err(HandlerError::retry(format!("request to {} failed: {e}", spec.url))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spec;
    use serde_json::json;

    #[test]
    fn headers_are_checked_when_the_job_is_submitted() {
        assert!(spec(&json!({"url": "http://127.0.0.1:9/x", "headers": {"x-trace": "abc"}})).is_ok());
        let bad_name = spec(&json!({"url": "http://127.0.0.1:9/x", "headers": {"bad header": "v"}})).err().unwrap();
        assert!(bad_name.starts_with("headers"), "{bad_name}");
        let bad_value = spec(&json!({"url": "http://127.0.0.1:9/x", "headers": {"x-a": "line\nbreak"}})).err().unwrap();
        assert!(bad_value.contains("headers.x-a"), "{bad_value}");
        assert!(spec(&json!({"url": "ftp://example.com/"})).is_err());
    }
}
