//! The fallback engine against the provider simulator: failover with the
//! breaker sparing a dead primary, the offline tier when all are down, retry
//! hints that fit the deadline (and those that do not), and daily quotas.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use meetmind::{
    clock::SystemClock,
    llm::{
        breaker::BreakerConfig,
        offline::Purpose,
        provider::{HttpProvider, Provider},
        retry::Backoff,
        router::{Router, RouterConfig},
        wire::{Message, Prompt, Role},
    },
};
use serde_json::json;

fn router(base: &str, config: RouterConfig) -> Arc<Router> {
    let http = reqwest::Client::new();
    let providers: Vec<Arc<dyn Provider>> = vec![
        Arc::new(HttpProvider::gemini(http.clone(), &format!("{base}/gemini"), "k", "gemini-2.0-flash")),
        Arc::new(HttpProvider::openai_compatible(
            "groq",
            http,
            &format!("{base}/groq/v1"),
            "k",
            "llama-3.1-8b-instant",
        )),
    ];
    Router::new(providers, config, Arc::new(SystemClock))
}

fn fast() -> RouterConfig {
    RouterConfig {
        breaker: BreakerConfig { min_calls: 10, cooldown_ms: 500, ..BreakerConfig::default() },
        backoff: Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20), max_attempts: 3 },
        ..RouterConfig::default()
    }
}

fn prompt() -> Prompt {
    Prompt {
        system: None,
        messages: vec![Message { role: Role::User, text: "Tell me about ownership".into() }],
        temperature: 0.2,
        max_tokens: 64,
    }
}

async fn fault(base: &str, provider: &str, f: serde_json::Value) {
    reqwest::Client::new().put(format!("{base}/_sim/faults/{provider}")).json(&f).send().await.unwrap();
}

async fn requests(base: &str, provider: &str) -> u64 {
    let v: serde_json::Value = reqwest::get(format!("{base}/_sim/stats")).await.unwrap().json().await.unwrap();
    v["requests"][provider].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_primary_is_spared_by_its_breaker_and_every_call_is_answered() {
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    r.spawn_prober();
    let mut transitions = r.subscribe_transitions();
    fault(&base, "gemini", json!({"error_rate": 1.0, "error_status": 503})).await;
    let started = Instant::now();
    for i in 0..1000 {
        let a = r.complete(&Purpose::Generic, &prompt(), Duration::from_secs(8)).await;
        assert_eq!(a.tier, "groq", "call {i}: {a:?}");
        assert!(!a.degraded);
    }
    let elapsed = started.elapsed();
    let primary = requests(&base, "gemini").await;
    // Until it opened: min_calls calls with up to 3 attempts each; then only
    // the background probes, one per cooldown at most.
    let probes = elapsed.as_millis() as u64 / 500 + 2;
    assert!(primary <= 30 + probes, "primary saw {primary} requests in {elapsed:?}");
    let first = transitions.try_recv().expect("the opening was announced");
    assert_eq!((first.provider.as_str(), first.from, first.to), ("gemini", "closed", "open"));
    let health = r.health();
    // A background probe may be in flight at this instant.
    assert!(["open", "half_open"].contains(&health[0].breaker.as_str()), "{:?}", health[0]);
    assert!(health[0].last_error.as_deref().unwrap().contains("503"));
    assert_eq!(health[1].breaker, "closed");
}

#[tokio::test]
async fn with_every_tier_down_the_offline_tier_answers() {
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    fault(&base, "gemini", json!({"error_rate": 1.0, "error_status": 500})).await;
    fault(&base, "groq", json!({"error_rate": 1.0, "error_status": 502})).await;
    let purpose =
        Purpose::FollowUps { answer: "I refactored the billing service".into(), uncovered: vec!["ownership".into()] };
    let a = r.complete(&purpose, &prompt(), Duration::from_secs(8)).await;
    assert_eq!(a.tier, "offline");
    assert!(a.degraded);
    assert!(a.text.contains("ownership"));
    assert!(a.attempts.iter().any(|t| t.tier == "gemini") && a.attempts.iter().any(|t| t.tier == "groq"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_hints_are_honoured_when_they_fit_and_daily_quotas_move_on() {
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    // 2 s hint: the retry comes after about 2 s and succeeds on the primary.
    fault(&base, "gemini", json!({"rate_limit_secs": 2})).await;
    let healer = {
        let base = base.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            fault(&base, "gemini", json!({})).await;
        })
    };
    let t0 = Instant::now();
    let a = r.complete(&Purpose::Generic, &prompt(), Duration::from_secs(8)).await;
    healer.await.unwrap();
    let took = t0.elapsed();
    assert_eq!(a.tier, "gemini", "{a:?}");
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_millis(5000), "{took:?}");

    // 60 s hint: does not fit the 8 s deadline, so the next tier answers at once.
    fault(&base, "gemini", json!({"rate_limit_secs": 60})).await;
    let t0 = Instant::now();
    let a = r.complete(&Purpose::Generic, &prompt(), Duration::from_secs(8)).await;
    assert_eq!(a.tier, "groq");
    // Waiting out the hint would take the whole 8 s deadline.
    assert!(t0.elapsed() < Duration::from_millis(2500));

    // A per-day quota: one request, no retry, next tier.
    fault(&base, "gemini", json!({"quota_exhausted": true})).await;
    let before = requests(&base, "gemini").await;
    let a = r.complete(&Purpose::Generic, &prompt(), Duration::from_secs(8)).await;
    assert_eq!(a.tier, "groq");
    assert_eq!(requests(&base, "gemini").await - before, 1);
    assert!(a.attempts[0].error.as_deref().unwrap().contains("quota"));
}

async fn collect(
    r: &Router,
    limits: meetmind::llm::router::StreamLimits,
) -> (Vec<meetmind::llm::router::StreamEvent>, meetmind::llm::router::Answer) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let answer = r.stream(&Purpose::Generic, &prompt(), limits, &tx).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (events, answer)
}

/// 8 s in all, 300 ms for the first token and between tokens.
fn quick_stream_limits() -> meetmind::llm::router::StreamLimits {
    meetmind::llm::router::StreamLimits {
        deadline: Duration::from_secs(8),
        ttft: Duration::from_millis(300),
        stall: Duration::from_millis(300),
    }
}

#[tokio::test]
async fn streams_fall_over_before_the_first_token_and_are_interrupted_after_it() {
    use meetmind::llm::router::StreamEvent;
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    let limits = quick_stream_limits();

    let (events, a) = collect(&r, limits).await;
    assert_eq!(a.tier, "gemini");
    assert!(matches!(events.last(), Some(StreamEvent::Done { tier, degraded: false }) if tier == "gemini"));
    assert!(events.iter().filter(|e| matches!(e, StreamEvent::Token(_))).count() > 5);

    // Cut before any token: retried on its tier (the budget allows one),
    // then the next tier streams instead.
    fault(&base, "gemini", json!({"cut_after_tokens": 0})).await;
    let (events, a) = collect(&r, limits).await;
    assert_eq!(a.tier, "groq", "{events:?}");
    assert!(matches!(events.last(), Some(StreamEvent::Done { tier, .. }) if tier == "groq"));

    // No first token in time (a hang): the next tier at once, no retry
    // (the wait for a first token is spent).
    fault(&base, "gemini", json!({"hang": true})).await;
    let before = requests(&base, "gemini").await;
    let t0 = Instant::now();
    let (_, a) = collect(&r, limits).await;
    assert_eq!(a.tier, "groq");
    assert_eq!(requests(&base, "gemini").await - before, 1, "{:?}", a.attempts);
    // 300 ms without a first token; a hang would last the 8 s deadline.
    assert!(t0.elapsed() < Duration::from_millis(4000));

    // Cut after 3 tokens: those 3 stand, then an explicit interruption.
    fault(&base, "gemini", json!({})).await;
    fault(&base, "groq", json!({"cut_after_tokens": 3})).await;
    let r2 = {
        let http = reqwest::Client::new();
        let providers: Vec<Arc<dyn Provider>> =
            vec![Arc::new(HttpProvider::openai_compatible("groq", http, &format!("{base}/groq/v1"), "k", "m"))];
        Router::new(providers, fast(), Arc::new(SystemClock))
    };
    let (events, _) = collect(&r2, limits).await;
    let tokens = events.iter().filter(|e| matches!(e, StreamEvent::Token(_))).count();
    assert_eq!(tokens, 3, "{events:?}");
    assert!(matches!(events.last(), Some(StreamEvent::Interrupted { .. })), "{events:?}");

    // Everything down: the offline answer, degraded, and still a clean end.
    fault(&base, "groq", json!({"error_rate": 1.0})).await;
    let (events, a) = collect(&r2, limits).await;
    assert!(a.degraded);
    assert!(matches!(events.last(), Some(StreamEvent::Done { degraded: true, .. })));
}

/// A stream refused before its first token (a 429 with a short hint) is
/// tried again on the same tier, and answered there once the provider
/// recovers; a per-day quota moves on at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_retry_their_tier_before_falling_over() {
    use meetmind::llm::router::StreamEvent;
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    let limits = quick_stream_limits();
    fault(&base, "gemini", json!({"rate_limit_secs": 1.0})).await;
    let before = requests(&base, "gemini").await;
    // The provider recovers once it has refused the first attempt (the
    // retry comes a second later, when the hint says).
    let healer = {
        let base = base.clone();
        tokio::spawn(tokio::time::timeout(Duration::from_secs(8), async move {
            while requests(&base, "gemini").await == before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            fault(&base, "gemini", json!({})).await;
        }))
    };
    let t0 = Instant::now();
    let (events, a) = collect(&r, limits).await;
    let took = t0.elapsed();
    healer.await.unwrap().expect("gemini was asked");
    assert!(took >= Duration::from_millis(900), "the hint was honoured: {took:?}");
    assert_eq!(a.tier, "gemini", "{:?}", a.attempts);
    assert!(a.attempts[0].error.as_deref().is_some_and(|e| e.contains("429")), "{:?}", a.attempts);
    assert!(a.attempts.iter().all(|t| t.tier == "gemini"), "{:?}", a.attempts);
    assert!(requests(&base, "gemini").await - before >= 2);
    assert!(matches!(events.last(), Some(StreamEvent::Done { tier, degraded: false }) if tier == "gemini"));

    fault(&base, "gemini", json!({"quota_exhausted": true})).await;
    let before = requests(&base, "gemini").await;
    let (_, a) = collect(&r, limits).await;
    assert_eq!(a.tier, "groq");
    assert_eq!(requests(&base, "gemini").await - before, 1);
}

/// Keep-alive comments do not extend the wait for the first token, and a
/// stream still flowing at its deadline ends there, interrupted.
#[tokio::test]
async fn streams_keep_their_first_token_wait_and_their_deadline() {
    use meetmind::llm::router::{StreamEvent, StreamLimits};
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    let limits = quick_stream_limits();
    // Gemini keeps the line busy for a second before its first token.
    fault(&base, "gemini", json!({"token_delay_ms": 1000, "keepalive_ms": 100})).await;
    let t0 = Instant::now();
    let (events, a) = collect(&r, limits).await;
    assert_eq!(a.tier, "groq", "{events:?}");
    assert!(t0.elapsed() < Duration::from_millis(900), "{:?}", t0.elapsed());

    // A slow model: a token every 100 ms (well under the first-token and
    // stall limits), some 1.3 s in all, against a 600 ms budget.
    fault(&base, "gemini", json!({"token_delay_ms": 100})).await;
    let t0 = Instant::now();
    let slow = StreamLimits { deadline: Duration::from_millis(600), ttft: Duration::from_millis(400), ..limits };
    let (events, _) = collect(&r, slow).await;
    let took = t0.elapsed();
    let tokens = events.iter().filter(|e| matches!(e, StreamEvent::Token(_))).count();
    assert!(tokens >= 1, "{events:?}");
    assert!(matches!(events.last(), Some(StreamEvent::Interrupted { tier, .. }) if tier == "gemini"), "{events:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_provider_does_not_stall_the_others() {
    let base = common::provider_sim().await;
    let config = RouterConfig { bulkhead: 4, attempt_timeout: Duration::from_millis(300), ..fast() };
    let r = router(&base, config);
    fault(&base, "gemini", json!({"hang": true})).await;
    let t0 = Instant::now();
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move { r.complete(&Purpose::Generic, &prompt(), Duration::from_secs(8)).await })
        })
        .collect();
    // While the storm runs, the process's tasks stay bounded by the calls in flight.
    let alive_during = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    assert!(alive_during <= 100 + 20, "{alive_during} tasks alive");
    let mut slowest = Duration::ZERO;
    for c in calls {
        let a = c.await.unwrap();
        assert_eq!(a.tier, "groq", "{a:?}");
        slowest = slowest.max(Duration::from_millis(a.latency_ms));
    }
    // Each call spends at most one attempt timeout (300 ms) on the hanging
    // tier; queueing behind the bulkhead instead would take 100 / 4 × 300 ms.
    assert!(slowest < Duration::from_millis(2500), "slowest call took {slowest:?}");
    assert!(t0.elapsed() < Duration::from_secs(6));
    // The bulkhead bounded the hanging calls: at most 4 at a time reached it.
    let hung = requests(&base, "gemini").await;
    assert!(hung <= 4 * 3 + 10, "the hanging provider saw {hung} requests");
    // Abandoned calls do not linger as tasks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let alive_after = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    assert!(alive_after <= 20, "{alive_after} tasks still alive");
}

async fn calls_are_recorded_in(db: common::TestDb) -> common::TestDb {
    let base = common::provider_sim().await;
    let r = router(&base, fast());
    meetmind::llm::spawn_call_recorder(&r, db.store.clone());
    fault(&base, "gemini", json!({"quota_exhausted": true})).await;
    let purpose = Purpose::Summary { sentences: vec!["We shipped the migration.".into()] };
    let a = r.complete(&purpose, &prompt(), Duration::from_secs(8)).await;
    assert_eq!(a.tier, "groq");
    let mut rows = Vec::new();
    // The recorder writes in the background.
    for _ in 0..250 {
        rows = db.store.list_llm_calls(10).await.unwrap();
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.purpose.as_str(), row.tier.as_str(), row.degraded), ("summary", "groq", false));
    let attempts: serde_json::Value = serde_json::from_str(&row.attempts).unwrap();
    assert_eq!(attempts[0]["tier"], "gemini");
    assert!(attempts[0]["error"].as_str().unwrap().contains("quota"));
    assert_eq!(attempts[1]["tier"], "groq");
    assert!(attempts[1]["error"].is_null());
    db
}

#[tokio::test]
async fn every_call_is_recorded_on_sqlite() {
    let db = common::TestDb::sqlite().await.migrated().await;
    calls_are_recorded_in(db).await.finish().await;
}

#[tokio::test]
async fn every_call_is_recorded_on_postgres() {
    let Some(db) = common::TestDb::postgres().await else { return };
    calls_are_recorded_in(db.migrated().await).await.finish().await;
}
