//! `email.send {to, subject, text}`: sends through SMTP when `SMTP_URL` is
//! set, otherwise writes the message as an .eml file into the outbox folder.
//! `EMAIL_FAILURE_RATE` (0..1) injects failures, for retry demos.

use std::path::PathBuf;

use async_trait::async_trait;
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart},
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use rand::Rng as _;
use serde::Deserialize;

use super::{Handler, HandlerError, JobContext};

#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub smtp_url: Option<String>,
    pub outbox: PathBuf,
    pub from: String,
    pub failure_rate: f64,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

pub struct EmailSend {
    transport: Transport,
    from: Mailbox,
    failure_rate: f64,
}

impl EmailSend {
    pub fn new(config: &EmailConfig) -> Result<EmailSend, String> {
        let from: Mailbox = config.from.parse().map_err(|e| format!("email_from: {e}"))?;
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("SMTP_URL: {e}"))?.build(),
            ),
            None => {
                std::fs::create_dir_all(&config.outbox)
                    .map_err(|e| format!("outbox {}: {e}", config.outbox.display()))?;
                Transport::File(AsyncFileTransport::new(&config.outbox))
            }
        };
        Ok(EmailSend { transport, from, failure_rate: config.failure_rate })
    }
}

impl EmailSend {
    /// Sends one message, plain text with an optional HTML alternative. The
    /// Message-ID derives from the job, so a receiving system can drop the
    /// duplicate of a retried send.
    pub async fn deliver(
        &self,
        to: Mailbox,
        subject: String,
        text: String,
        html: Option<String>,
        job_id: i64,
    ) -> Result<(), HandlerError> {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<meetmind-job-{job_id}@meetmind>")));
        let message = match html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
            None => builder.header(ContentType::TEXT_PLAIN).body(text),
        }
        .map_err(|e| HandlerError::permanent(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    HandlerError::permanent(format!("SMTP refused the message: {e}"))
                } else {
                    HandlerError::retry(format!("SMTP: {e}"))
                }
            }),
            Transport::File(t) => {
                t.send(message).await.map(|_| ()).map_err(|e| HandlerError::retry(format!("outbox: {e}")))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    to: String,
    subject: String,
    text: String,
}

fn spec(payload: &serde_json::Value) -> Result<(Spec, Mailbox), String> {
    let spec: Spec = serde_json::from_value(payload.clone()).map_err(|e| e.to_string())?;
    let to: Mailbox = spec.to.parse().map_err(|e| format!("to: {e}"))?;
    if spec.subject.len() > 300 {
        return Err("subject: at most 300 bytes".into());
    }
    if spec.text.len() > 200_000 {
        return Err("text: at most 200,000 bytes".into());
    }
    Ok((spec, to))
}

#[async_trait]
impl Handler for EmailSend {
    fn kind(&self) -> &'static str {
        "email.send"
    }

    fn validate(&self, payload: &serde_json::Value) -> Result<(), String> {
        spec(payload).map(|_| ())
    }

    async fn run(&self, ctx: JobContext) -> Result<(), HandlerError> {
        let (spec, to) = spec(&ctx.payload).map_err(HandlerError::permanent)?;
        if self.failure_rate > 0.0 && rand::rng().random::<f64>() < self.failure_rate {
            return Err(HandlerError::retry("injected email failure (EMAIL_FAILURE_RATE)"));
        }
        self.deliver(to, spec.subject, spec.text, None, ctx.id).await
    }
}
