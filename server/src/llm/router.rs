//! The tiered fallback: try each provider in order; within a tier retry
//! retryable errors with backoff while the deadline and the retry budget
//! allow; skip tiers whose breaker is open or whose bulkhead is full; end
//! with the offline tier, so a call always gets an answer.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use rand::Rng as _;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::{
    breaker::{Admission, Breaker, BreakerConfig},
    budget::RetryBudget,
    offline::{self, Purpose},
    provider::Provider,
    provider::StreamFailure,
    retry::{Backoff, Failure, Next},
    wire::Prompt,
};
use crate::clock::SharedClock;

#[derive(Debug, Clone)]
pub struct RouterConfig {
    pub breaker: BreakerConfig,
    pub backoff: Backoff,
    /// Concurrent calls per provider.
    pub bulkhead: usize,
    /// Retries may add at most this share of calls over `budget_window_ms`.
    pub retry_ratio: f64,
    pub budget_window_ms: i64,
    /// Real calls may be the half-open probes (otherwise a background task probes).
    pub real_calls_probe: bool,
    /// One attempt may take at most this, so a hanging provider leaves time
    /// for the tiers after it.
    pub attempt_timeout: Duration,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            breaker: BreakerConfig::default(),
            backoff: Backoff::default(),
            bulkhead: 32,
            retry_ratio: 0.2,
            budget_window_ms: 10_000,
            real_calls_probe: false,
            attempt_timeout: Duration::from_secs(3),
        }
    }
}

/// One try against one tier, for the call record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub tier: String,
    pub error: Option<String>,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub text: String,
    /// The provider that answered, or "offline".
    pub tier: String,
    pub degraded: bool,
    pub attempts: Vec<Attempt>,
    pub latency_ms: u64,
    pub tokens_out: Option<u64>,
}

/// Time limits of a streamed call.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub deadline: Duration,
    /// No first token within this: the tier failed.
    pub ttft: Duration,
    /// No next token within this: the stream stalled.
    pub stall: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits { deadline: Duration::from_secs(8), ttft: Duration::from_secs(3), stall: Duration::from_secs(3) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    Token(String),
    Done {
        tier: String,
        degraded: bool,
    },
    /// Cut after the first token; the text so far stands.
    Interrupted {
        tier: String,
        reason: String,
    },
}

/// Recent outcomes of one provider, for health reporting.
#[derive(Debug, Default)]
struct Health {
    /// (at ms, latency ms, ok)
    recent: VecDeque<(i64, u64, bool)>,
    last_error: Option<String>,
}

pub use app::providers::ProviderHealth;

struct Tier {
    provider: Arc<dyn Provider>,
    breaker: Mutex<Breaker>,
    budget: Mutex<RetryBudget>,
    bulkhead: Arc<Semaphore>,
    health: Mutex<Health>,
}

pub struct Router {
    tiers: Vec<Tier>,
    config: RouterConfig,
    clock: SharedClock,
    /// Where call records go (the server writes them to the store).
    recorder: Mutex<Option<tokio::sync::mpsc::UnboundedSender<CallRecord>>>,
    /// Breaker transitions, for live views.
    transitions: tokio::sync::broadcast::Sender<BreakerEvent>,
}

/// A breaker changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerEvent {
    pub provider: String,
    pub from: &'static str,
    pub to: &'static str,
    pub at_ms: i64,
}

/// One call, as recorded: what for, who answered, every attempt, how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    pub at_ms: i64,
    pub purpose: &'static str,
    pub tier: String,
    pub degraded: bool,
    pub latency_ms: u64,
    pub tokens_out: Option<u64>,
    pub attempts: Vec<Attempt>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Router {
    pub fn new(providers: Vec<Arc<dyn Provider>>, config: RouterConfig, clock: SharedClock) -> Arc<Router> {
        let tiers = providers
            .into_iter()
            .map(|p| Tier {
                provider: p,
                breaker: Mutex::new(Breaker::new(config.breaker.clone())),
                budget: Mutex::new(RetryBudget::new(config.retry_ratio, config.budget_window_ms, 1)),
                bulkhead: Arc::new(Semaphore::new(config.bulkhead)),
                health: Mutex::new(Health::default()),
            })
            .collect();
        let (transitions, _) = tokio::sync::broadcast::channel(256);
        Arc::new(Router { tiers, config, clock, recorder: Mutex::new(None), transitions })
    }

    /// Breaker transitions as they happen.
    pub fn subscribe_transitions(&self) -> tokio::sync::broadcast::Receiver<BreakerEvent> {
        self.transitions.subscribe()
    }

    fn announce(&self, provider: &str, t: super::breaker::Transition) {
        tracing::warn!(provider, from = t.from, to = t.to, "breaker transition");
        let _ =
            self.transitions.send(BreakerEvent { provider: provider.to_string(), from: t.from, to: t.to, at_ms: t.at });
    }

    /// Sends a record of every call to `tx`.
    pub fn record_calls_to(&self, tx: tokio::sync::mpsc::UnboundedSender<CallRecord>) {
        *lock(&self.recorder) = Some(tx);
    }

    fn finish(&self, purpose: &Purpose, answer: Answer) -> Answer {
        if let Some(tx) = lock(&self.recorder).as_ref() {
            let _ = tx.send(CallRecord {
                at_ms: self.clock.now_ms(),
                purpose: purpose.label(),
                tier: answer.tier.clone(),
                degraded: answer.degraded,
                latency_ms: answer.latency_ms,
                tokens_out: answer.tokens_out,
                attempts: answer.attempts.clone(),
            });
        }
        answer
    }

    fn note(&self, tier: &Tier, latency_ms: u64, ok: bool, error: Option<String>) {
        let now = self.clock.now_ms();
        let mut h = lock(&tier.health);
        h.recent.push_back((now, latency_ms, ok));
        while h.recent.len() > 500 || h.recent.front().is_some_and(|(t, _, _)| now - t > 300_000) {
            h.recent.pop_front();
        }
        if error.is_some() {
            h.last_error = error;
        }
    }

    fn admit(&self, tier: &Tier) -> Admission {
        let now = self.clock.now_ms();
        let mut b = lock(&tier.breaker);
        // By default no user call pays for probing: an open breaker whose
        // cooldown is over waits for the background prober.
        if !self.config.real_calls_probe && matches!(b.state(), super::breaker::State::Open { .. }) {
            return Admission::Refused;
        }
        let (a, t) = b.admit(now);
        drop(b);
        if let Some(t) = t {
            self.announce(tier.provider.name(), t);
        }
        a
    }

    fn record(&self, tier: &Tier, admission: Admission, ok: bool) {
        let now = self.clock.now_ms();
        let t = lock(&tier.breaker).record(now, admission, ok);
        if let Some(t) = t {
            self.announce(tier.provider.name(), t);
        }
    }

    /// What follows failed attempt `attempt` on `tier` with `remaining` to
    /// spend: a wait before retrying it (never for a probe, and only within
    /// the retry budget), the next tier, or the end (our own bad request).
    fn after_failure(
        &self,
        tier: &Tier,
        admission: Admission,
        failure: &Failure,
        attempt: u32,
        remaining: Duration,
        attempts: &mut Vec<Attempt>,
    ) -> Next {
        let unit: f64 = rand::rng().random();
        match self.config.backoff.next(failure, attempt, remaining, unit) {
            Next::RetryAfter(wait) if !admission.is_probe() => {
                if lock(&tier.budget).try_retry(self.clock.now_ms()) {
                    return Next::RetryAfter(wait);
                }
                let tier = tier.provider.name().to_string();
                attempts.push(Attempt { tier, error: Some("retry budget spent".into()), latency_ms: 0 });
                Next::NextTier
            }
            Next::RetryAfter(_) => Next::NextTier,
            next => next,
        }
    }

    /// Admits a call to `tier`, or `None` when its breaker refuses it.
    fn admitted<'r>(&'r self, tier: &'r Tier) -> Option<Admitted<'r>> {
        let admission = self.admit(tier);
        (admission != Admission::Refused).then_some(Admitted { router: self, tier, admission, reported: false })
    }

    /// One call through the tiers within `deadline`; never fails.
    pub async fn complete(&self, purpose: &Purpose, prompt: &Prompt, deadline: Duration) -> Answer {
        let started = Instant::now();
        let mut attempts = Vec::new();
        'tiers: for tier in &self.tiers {
            let name = tier.provider.name().to_string();
            let Some(mut admitted) = self.admitted(tier) else {
                attempts.push(Attempt { tier: name, error: Some("skipped: breaker open".into()), latency_ms: 0 });
                continue;
            };
            let admission = admitted.admission;
            let remaining = deadline.saturating_sub(started.elapsed()).min(self.config.attempt_timeout);
            let permit = match tokio::time::timeout(remaining, tier.bulkhead.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => {
                    attempts.push(Attempt { tier: name, error: Some("skipped: bulkhead full".into()), latency_ms: 0 });
                    continue;
                }
            };
            lock(&tier.budget).call(self.clock.now_ms());
            let mut attempt = 1;
            loop {
                let remaining = deadline.saturating_sub(started.elapsed());
                if remaining.is_zero() {
                    break 'tiers;
                }
                let t0 = Instant::now();
                let result = tier.provider.complete(prompt, remaining.min(self.config.attempt_timeout)).await;
                let latency_ms = t0.elapsed().as_millis() as u64;
                match result {
                    Ok(reply) => {
                        admitted.report(true);
                        self.note(tier, latency_ms, true, None);
                        attempts.push(Attempt { tier: name.clone(), error: None, latency_ms });
                        drop(permit);
                        return self.finish(
                            purpose,
                            Answer {
                                text: reply.text,
                                tier: name,
                                degraded: false,
                                attempts,
                                latency_ms: started.elapsed().as_millis() as u64,
                                tokens_out: reply.tokens_out,
                            },
                        );
                    }
                    Err(failure) => {
                        admitted.report(!failure.blames_provider());
                        let error = describe(&failure);
                        self.note(tier, latency_ms, false, Some(error.clone()));
                        attempts.push(Attempt { tier: name.clone(), error: Some(error), latency_ms });
                        let remaining = deadline.saturating_sub(started.elapsed());
                        match self.after_failure(tier, admission, &failure, attempt, remaining, &mut attempts) {
                            Next::RetryAfter(wait) => {
                                tokio::time::sleep(wait).await;
                                attempt += 1;
                            }
                            Next::Fail => break 'tiers,
                            Next::NextTier => continue 'tiers,
                        }
                    }
                }
            }
        }
        self.finish(
            purpose,
            Answer {
                text: offline::answer(purpose),
                tier: "offline".into(),
                degraded: true,
                attempts,
                latency_ms: started.elapsed().as_millis() as u64,
                tokens_out: None,
            },
        )
    }

    /// A streamed call: tokens go to `tx` as they come. A stream that fails
    /// before its first token is retried on its tier like a call (a 429 or a
    /// 5xx, with backoff or the server's hint, within the retry budget),
    /// except when no first token came in time: that wait is spent, so the
    /// next tier is tried at once. One cut after its first token ends with
    /// `Interrupted`. All tiers down: the offline answer, degraded.
    pub async fn stream(
        &self,
        purpose: &Purpose,
        prompt: &Prompt,
        limits: StreamLimits,
        tx: &tokio::sync::mpsc::Sender<StreamEvent>,
    ) -> Answer {
        let started = Instant::now();
        let mut attempts = Vec::new();
        'tiers: for tier in &self.tiers {
            let name = tier.provider.name().to_string();
            let remaining = limits.deadline.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                break;
            }
            let Some(mut admitted) = self.admitted(tier) else {
                attempts.push(Attempt { tier: name, error: Some("skipped: breaker open".into()), latency_ms: 0 });
                continue;
            };
            let admission = admitted.admission;
            let slot_wait = remaining.min(self.config.attempt_timeout);
            let Ok(Ok(_permit)) = tokio::time::timeout(slot_wait, tier.bulkhead.clone().acquire_owned()).await else {
                attempts.push(Attempt { tier: name, error: Some("skipped: bulkhead full".into()), latency_ms: 0 });
                continue;
            };
            lock(&tier.budget).call(self.clock.now_ms());
            let mut attempt = 1;
            loop {
                // What is left once a slot was had: the wait for it counts.
                let remaining = limits.deadline.saturating_sub(started.elapsed());
                if remaining.is_zero() {
                    break 'tiers;
                }
                let t0 = Instant::now();
                let result = self.stream_once(tier, prompt, limits, remaining, tx).await;
                let latency_ms = t0.elapsed().as_millis() as u64;
                let sf = match result {
                    Ok(reply) => {
                        admitted.report(true);
                        self.note(tier, latency_ms, true, None);
                        attempts.push(Attempt { tier: name.clone(), error: None, latency_ms });
                        let _ = tx.send(StreamEvent::Done { tier: name.clone(), degraded: false }).await;
                        return self.finish(
                            purpose,
                            Answer {
                                text: reply.text,
                                tier: name,
                                degraded: false,
                                attempts,
                                latency_ms: started.elapsed().as_millis() as u64,
                                tokens_out: reply.tokens_out,
                            },
                        );
                    }
                    Err(sf) => sf,
                };
                admitted.report(!sf.failure.blames_provider());
                let error = describe(&sf.failure);
                self.note(tier, latency_ms, false, Some(error.clone()));
                attempts.push(Attempt { tier: name.clone(), error: Some(error.clone()), latency_ms });
                if sf.tokens_sent > 0 {
                    // Words already reached the user: no silent switch of voice.
                    let _ = tx.send(StreamEvent::Interrupted { tier: name.clone(), reason: error }).await;
                    return self.finish(
                        purpose,
                        Answer {
                            text: String::new(),
                            tier: name,
                            degraded: false,
                            attempts,
                            latency_ms: started.elapsed().as_millis() as u64,
                            tokens_out: Some(sf.tokens_sent as u64),
                        },
                    );
                }
                if sf.failure == Failure::Timeout {
                    continue 'tiers;
                }
                if tx.is_closed() {
                    break 'tiers;
                }
                // A retry may wait only out of what is left beyond one more
                // first-token wait, so a retry that hangs still leaves the
                // next tier a chance within the (short) budget.
                let spare = limits.deadline.saturating_sub(started.elapsed()).saturating_sub(limits.ttft);
                match self.after_failure(tier, admission, &sf.failure, attempt, spare, &mut attempts) {
                    Next::RetryAfter(wait) => {
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    Next::Fail => break 'tiers,
                    Next::NextTier => continue 'tiers,
                }
            }
        }
        let text = offline::answer(purpose);
        let _ = tx.send(StreamEvent::Token(text.clone())).await;
        let _ = tx.send(StreamEvent::Done { tier: "offline".into(), degraded: true }).await;
        self.finish(
            purpose,
            Answer {
                text,
                tier: "offline".into(),
                degraded: true,
                attempts,
                latency_ms: started.elapsed().as_millis() as u64,
                tokens_out: None,
            },
        )
    }

    /// One streamed attempt on `tier`, ended by `remaining` whatever the
    /// tokens do: a slow stream must not hold the interview's next
    /// suggestion behind it.
    async fn stream_once(
        &self,
        tier: &Tier,
        prompt: &Prompt,
        limits: StreamLimits,
        remaining: Duration,
        tx: &tokio::sync::mpsc::Sender<StreamEvent>,
    ) -> Result<super::wire::Reply, StreamFailure> {
        let (tok_tx, mut tok_rx) = tokio::sync::mpsc::channel::<String>(64);
        let forwarded = AtomicUsize::new(0);
        let forward = async {
            while let Some(t) = tok_rx.recv().await {
                if tx.send(StreamEvent::Token(t)).await.is_err() {
                    break;
                }
                forwarded.fetch_add(1, Ordering::Relaxed);
            }
        };
        let ttft = limits.ttft.min(remaining);
        let call = async {
            let r = tier.provider.stream(prompt, ttft, limits.stall, &tok_tx).await;
            drop(tok_tx);
            r
        };
        let whole = async { tokio::join!(call, forward).0 };
        let result = tokio::time::timeout(remaining, whole).await;
        // What reached the caller, whatever the provider reports: a retry
        // after any token would send words twice.
        let sent = forwarded.load(Ordering::Relaxed);
        match result {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(sf)) => Err(StreamFailure { tokens_sent: sf.tokens_sent.max(sent), ..sf }),
            Err(_) => Err(StreamFailure { failure: Failure::Timeout, tokens_sent: sent }),
        }
    }

    /// Background probing: a tiny request to each provider whose breaker has
    /// cooled down, so user calls never pay for probing a dead provider.
    pub async fn probe_due(&self) {
        let tiny = Prompt {
            system: None,
            messages: vec![super::wire::Message { role: super::wire::Role::User, text: "ping".into() }],
            temperature: 0.0,
            max_tokens: 1,
        };
        for tier in &self.tiers {
            let due = matches!(lock(&tier.breaker).state(), super::breaker::State::Open { until } if self.clock.now_ms() >= until);
            if !due {
                continue;
            }
            let (a, t) = lock(&tier.breaker).admit(self.clock.now_ms());
            if let Some(t) = t {
                self.announce(tier.provider.name(), t);
            }
            if !a.is_probe() {
                continue;
            }
            let ok = tier.provider.complete(&tiny, Duration::from_secs(5)).await.is_ok();
            self.record(tier, a, ok);
        }
    }

    /// Runs `probe_due` every half second until the router is dropped.
    pub fn spawn_prober(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let Some(router) = weak.upgrade() else { return };
                router.probe_due().await;
            }
        });
    }

    pub fn health(&self) -> Vec<ProviderHealth> {
        let now = self.clock.now_ms();
        self.tiers
            .iter()
            .map(|t| {
                let h = lock(&t.health);
                let mut lat: Vec<u64> = h.recent.iter().map(|r| r.1).collect();
                lat.sort_unstable();
                let pct = |p: f64| {
                    (!lat.is_empty()).then(|| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1])
                };
                let fails = h.recent.iter().filter(|r| !r.2).count();
                let _ = now;
                ProviderHealth {
                    name: t.provider.name().to_string(),
                    breaker: lock(&t.breaker).state().name().to_string(),
                    error_rate: if h.recent.is_empty() { 0.0 } else { fails as f64 / h.recent.len() as f64 },
                    p50_ms: pct(0.5),
                    p95_ms: pct(0.95),
                    calls: h.recent.len(),
                    last_error: h.last_error.clone(),
                }
            })
            .collect()
    }

    /// Operator override: Some(true) forces open, Some(false) closed, None automatic.
    pub fn force(&self, provider: &str, open: Option<bool>) -> bool {
        match self.tiers.iter().find(|t| t.provider.name() == provider) {
            Some(t) => {
                let tr = lock(&t.breaker).force(self.clock.now_ms(), open);
                if let Some(tr) = tr {
                    self.announce(t.provider.name(), tr);
                }
                true
            }
            None => false,
        }
    }
}

fn describe(f: &Failure) -> String {
    match f {
        Failure::Status { code, quota_exhausted: true, .. } => format!("{code}: quota exhausted"),
        Failure::Status { code, model_not_found: true, .. } => format!("{code}: model not found"),
        Failure::Status { code, retry_after: Some(h), .. } => format!("{code}: retry after {} ms", h.as_millis()),
        Failure::Status { code, .. } => format!("HTTP {code}"),
        Failure::Timeout => "timeout".into(),
        Failure::Connect => "connection failed".into(),
        Failure::Empty => "empty response".into(),
        Failure::Cut => "response cut".into(),
    }
}

impl app::services::LlmService for Router {
    fn health(&self) -> Vec<ProviderHealth> {
        Router::health(self)
    }

    fn force(&self, provider: &str, open: Option<bool>) -> bool {
        Router::force(self, provider, open)
    }
}

/// A call the breaker admitted. Its outcome is reported (`report`); a call
/// that never reached the provider (no free slot, no time left, its caller
/// gone) gives its admission back when dropped, so a half-open probe's place
/// is never held for ever.
struct Admitted<'r> {
    router: &'r Router,
    tier: &'r Tier,
    admission: Admission,
    reported: bool,
}

impl Admitted<'_> {
    fn report(&mut self, ok: bool) {
        self.reported = true;
        self.router.record(self.tier, self.admission, ok);
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.reported {
            lock(&self.tier.breaker).release(self.admission);
        }
    }
}
