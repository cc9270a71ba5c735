//! `meetmind llm check` and `meetmind llm complete`: operator commands that
//! use the same configuration (keys, base URLs, models) as the server.

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    offline::Purpose,
    retry::ErrorClass,
    wire::{Message, Prompt, Role},
    LlmConfig,
};

fn prompt(text: &str, max_tokens: u32) -> Prompt {
    Prompt {
        system: None,
        messages: vec![Message { role: Role::User, text: text.into() }],
        temperature: 0.2,
        max_tokens,
    }
}

pub async fn check(config: &LlmConfig) -> ExitCode {
    for t in config.tiers.iter().filter(|t| t.key.is_none()) {
        println!("{:<11} skipped: no API key", t.name);
    }
    let providers = super::providers(config);
    let mut ok = !providers.is_empty();
    for p in providers {
        let t0 = Instant::now();
        let result = p.complete(&prompt("Reply with the word ok.", 5), Duration::from_secs(15)).await;
        let ms = t0.elapsed().as_millis();
        match result {
            Ok(_) => println!("{:<11} ok          {ms} ms", p.name()),
            Err(f) => {
                ok = false;
                let class = match f.class() {
                    ErrorClass::Retry => "retryable",
                    ErrorClass::NextTier => "next-tier",
                    ErrorClass::Fatal => "fatal",
                };
                println!("{:<11} failed      {ms} ms  {class}: {f:?}", p.name());
            }
        }
    }
    println!("{:<11} ok          (always available, degraded)", "offline");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub async fn complete(config: &LlmConfig, text: &str) -> ExitCode {
    let router = super::router::Router::new(
        super::providers(config),
        config.router_config(),
        Arc::new(crate::clock::SystemClock),
    );
    let answer = router.complete(&Purpose::Generic, &prompt(text, 512), config.deadline).await;
    println!("tier: {}{}", answer.tier, if answer.degraded { " (degraded)" } else { "" });
    for a in &answer.attempts {
        println!("  attempt {:<11} {:>5} ms  {}", a.tier, a.latency_ms, a.error.as_deref().unwrap_or("ok"));
    }
    println!("latency: {} ms", answer.latency_ms);
    println!();
    println!("{}", answer.text);
    ExitCode::SUCCESS
}
