//! The admin dashboard: counts per state and queue and throughput, live from
//! `/api/v1/events` (the node computes them once a second for everyone),
//! and the provider breakers.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::Deserialize;

use crate::account::AdminOnly;
use crate::jobs::StarvationEvent;
use crate::live_feed::{every, listen, ConnectionBadge};
use crate::providers::load_provider_health;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct Stats {
    #[serde(default)]
    states: BTreeMap<String, i64>,
    #[serde(default)]
    queues: BTreeMap<String, BTreeMap<String, i64>>,
    #[serde(default)]
    completed_per_s: u64,
    #[serde(default)]
    failed_per_s: u64,
    /// Per queue, over the last minute: due to claimed, in ms.
    #[serde(default)]
    waits: BTreeMap<String, Wait>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct Wait {
    p50: i64,
    p95: i64,
    p99: i64,
    n: u64,
}

/// Seconds of throughput the chart keeps.
const WINDOW: usize = 120;
const STATES: &[&str] = &["available", "scheduled", "running", "retrying", "blocked", "succeeded", "dead", "cancelled"];

#[component]
pub fn Dashboard() -> impl IntoView {
    view! { <AdminOnly><DashboardLive/></AdminOnly> }
}

#[component]
fn DashboardLive() -> impl IntoView {
    let (stats, set_stats) = signal(Stats::default());
    let (history, set_history) = signal::<Vec<(u64, u64)>>(Vec::new());
    let (connected, set_connected) = signal(false);
    Effect::new(move |_| {
        listen(
            // The aggregates only: a busy node's job frames would be wasted here.
            "/api/v1/events?types=stats".into(),
            &["stats", "resync"],
            move |name, data| {
                if name != "stats" {
                    return;
                }
                if let Ok(s) = serde_json::from_str::<Stats>(&data) {
                    set_history.update(|h| {
                        h.push((s.completed_per_s, s.failed_per_s));
                        if h.len() > WINDOW {
                            h.remove(0);
                        }
                    });
                    set_stats.set(s);
                }
            },
            set_connected,
        );
    });
    let providers = Resource::new(|| (), |_| load_provider_health());
    let starving = RwSignal::new(Vec::<StarvationEvent>::new());
    Effect::new(move |_| {
        let load = move || {
            leptos::task::spawn_local(async move {
                if let Ok(list) = crate::rest::get::<Vec<StarvationEvent>>("/api/v1/starvation?limit=10").await {
                    starving.set(list);
                }
            });
        };
        load();
        // Starvation events are rare; a slow poll is enough.
        every(std::time::Duration::from_secs(10), load);
    });
    view! {
        <Title text="Dashboard"/>
        <section class="panel">
            <div class="row-between">
                <h1>"Dashboard"</h1>
                <ConnectionBadge connected=connected/>
            </div>
            <div class="tiles" data-testid="state-counts">
                {STATES.iter().map(|st| view! {
                    <div class="tile" data-state=*st>
                        <span class="count">{move || stats.get().states.get(*st).copied().unwrap_or(0)}</span>
                        <span class="muted">{*st}</span>
                    </div>
                }).collect_view()}
            </div>
        </section>
        <section class="panel">
            <h2>"Throughput (jobs per second, last two minutes)"</h2>
            <Throughput history=history/>
        </section>
        <section class="panel">
            <h2>"Queues"</h2>
            <div class="table-wrap">
            <table class="table" data-testid="queue-counts">
                <thead><tr><th>"Queue"</th>{STATES.iter().map(|s| view! { <th>{*s}</th> }).collect_view()}<th>"Wait p50 / p95 / p99"</th></tr></thead>
                <tbody>
                    {move || {
                        let s = stats.get();
                        s.queues.into_iter().map(|(q, counts)| {
                            let wait = s.waits.get(&q).map(|w| format!("{} / {} / {} ms", w.p50, w.p95, w.p99)).unwrap_or_else(|| "—".into());
                            view! {
                                <tr data-queue=q.clone()>
                                    <td><a href=format!("/jobs?queue={q}")>{q.clone()}</a></td>
                                    {STATES.iter().map(|s| view! { <td>{counts.get(*s).copied().unwrap_or(0)}</td> }).collect_view()}
                                    <td data-testid="wait">{wait}</td>
                                </tr>
                            }
                        }).collect_view()
                    }}
                </tbody>
            </table>
            </div>
            <p class="muted">"Waits are from due to claimed, across every node, over the last minute (the newest 20,000 per queue when busier)."</p>
        </section>
        <section class="panel">
            <h2>"Recent starvation events"</h2>
            {move || starving.with(Vec::is_empty).then(|| view! { <p class="muted">"None: every queue is being served."</p> })}
            <ul data-testid="starvation">
                {move || starving.get().into_iter().map(|e| view! {
                    <li>
                        {crate::admin::format_ms(e.at_ms)}" · "{e.queue.clone()}" · "
                        <a href=format!("/jobs/{}", e.job_id)>{format!("#{}", e.job_id)}</a>
                        {format!(" waited {} s ({}), priority {} → {}", e.waited_ms / 1000, e.cause, e.priority_before, e.priority_after)}
                    </li>
                }).collect_view()}
            </ul>
        </section>
        <section class="panel">
            <h2><a href="/providers">"Providers"</a></h2>
            <Transition fallback=|| ()>
                {move || providers.get().and_then(|r| r.ok()).map(|list| view! {
                    <p data-testid="breakers">
                        {list.into_iter().map(|p| view! { <span class="badge">{format!("{}: {}", p.name, p.breaker)}</span> }).collect_view()}
                    </p>
                })}
            </Transition>
        </section>
    }
}

/// Completed (accent) and failed (red) per second as two polylines.
#[component]
fn Throughput(history: ReadSignal<Vec<(u64, u64)>>) -> impl IntoView {
    let points = move |pick: fn(&(u64, u64)) -> u64| {
        let h = history.get();
        let max = h.iter().map(|p| p.0.max(p.1)).max().unwrap_or(1).max(1) as f64;
        h.iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", i as f64 * 400.0 / WINDOW as f64, 100.0 - pick(p) as f64 / max * 95.0))
            .collect::<Vec<_>>()
            .join(" ")
    };
    view! {
        <svg class="chart" viewBox="0 0 400 100" role="img" aria-label="Throughput" data-testid="throughput">
            <polyline fill="none" stroke="#3b5bdb" stroke-width="2" points=move || points(|p| p.0)/>
            <polyline fill="none" stroke="#c92a2a" stroke-width="2" points=move || points(|p| p.1)/>
        </svg>
        <p class="muted">{move || {
            let s = history.get().last().copied().unwrap_or_default();
            format!("now: {} completed/s, {} failed/s", s.0, s.1)
        }}</p>
    }
}
