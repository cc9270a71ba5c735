//! The LLM fallback engine: provider clients, the tiered router with its
//! breakers, budgets and bulkheads, the offline tier, and the simulator.
//! The pure parts (breaker, budget, retry, wire, offline) do no I/O.

pub mod breaker;
pub mod budget;
pub mod cli;
pub mod offline;
pub mod provider;
pub mod retry;
pub mod router;
pub mod sim;
pub mod wire;

use std::{sync::Arc, time::Duration};

/// One configured provider tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub name: String,
    pub base_url: String,
    /// None: the provider is skipped.
    pub key: Option<String>,
    pub model: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// In fallback order; offline is always last.
    pub tiers: Vec<ProviderConfig>,
    /// The overall budget of one call.
    pub deadline: Duration,
    pub attempt_timeout: Duration,
    pub ttft: Duration,
    pub stall: Duration,
    pub breaker_failure_rate: f64,
    pub breaker_min_calls: usize,
    pub breaker_cooldown: Duration,
    pub real_calls_probe: bool,
}

impl LlmConfig {
    pub fn router_config(&self) -> router::RouterConfig {
        router::RouterConfig {
            breaker: breaker::BreakerConfig {
                failure_rate: self.breaker_failure_rate,
                min_calls: self.breaker_min_calls,
                cooldown_ms: self.breaker_cooldown.as_millis() as i64,
                ..breaker::BreakerConfig::default()
            },
            attempt_timeout: self.attempt_timeout,
            real_calls_probe: self.real_calls_probe,
            ..router::RouterConfig::default()
        }
    }

    pub fn stream_limits(&self) -> router::StreamLimits {
        router::StreamLimits { deadline: self.deadline, ttft: self.ttft, stall: self.stall }
    }
}

/// The providers that have keys, in tier order.
pub fn providers(config: &LlmConfig) -> Vec<Arc<dyn provider::Provider>> {
    let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap_or_default();
    let mut out: Vec<Arc<dyn provider::Provider>> = Vec::new();
    for t in &config.tiers {
        let Some(key) = &t.key else {
            tracing::info!(provider = %t.name, "no API key: this tier is skipped");
            continue;
        };
        out.push(if t.name == "gemini" {
            Arc::new(provider::HttpProvider::gemini(http.clone(), &t.base_url, key, &t.model))
        } else {
            Arc::new(provider::HttpProvider::openai_compatible(&t.name, http.clone(), &t.base_url, key, &t.model))
        });
    }
    if out.is_empty() {
        tracing::info!("no LLM provider configured: every AI answer comes from the offline tier (degraded)");
    }
    out
}

/// The router for a configuration, with its background prober running.
pub fn build_router(config: &LlmConfig, clock: crate::clock::SharedClock) -> Arc<router::Router> {
    let r = router::Router::new(providers(config), config.router_config(), clock);
    if !config.real_calls_probe {
        r.spawn_prober();
    }
    r
}

/// Writes every call record to the store, in batches, off the call path.
pub fn spawn_call_recorder(router: &router::Router, store: Arc<dyn crate::store::Store>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<router::CallRecord>();
    router.record_calls_to(tx);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(r) = rx.try_recv() {
                batch.push(r);
                if batch.len() >= 500 {
                    break;
                }
            }
            let rows: Vec<crate::store::LlmCallRow> = batch
                .into_iter()
                .map(|r| crate::store::LlmCallRow {
                    id: 0,
                    at: r.at_ms,
                    purpose: r.purpose.to_string(),
                    tier: r.tier,
                    degraded: r.degraded,
                    latency_ms: r.latency_ms as i64,
                    tokens_out: r.tokens_out.map(|t| t as i64),
                    attempts: serde_json::to_string(&r.attempts).unwrap_or_else(|_| "[]".into()),
                })
                .collect();
            if let Err(e) = store.insert_llm_calls(&rows).await {
                tracing::warn!(error = %e, lost = rows.len(), "could not record LLM calls");
            }
        }
    });
}
