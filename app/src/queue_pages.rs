//! Queue settings (edited inline) and cron schedules (with the next fire
//! times previewed as the user types). Both call the REST API.

use leptos::prelude::*;
use leptos_meta::Title;
use serde_json::{json, Value};

use crate::account::AdminOnly;
use crate::admin::format_ms;
use crate::auth::AppError;
use crate::job_pages::{confirm, error_line};
use crate::jobs::{CronPreview, QueueStats, ScheduleView};
use crate::rest::{self, enc};

// ---- queues --------------------------------------------------------------------------

/// The PATCH body for what the row's inputs say; blank means "the default".
pub fn queue_patch(concurrency: &str, max_attempts: &str, delays: &str, starvation_s: &str) -> Result<Value, AppError> {
    let concurrency: i32 = concurrency
        .trim()
        .parse()
        .map_err(|_| AppError::invalid("concurrency", "a whole number (0 means no limit)"))?;
    let max_attempts: Option<i32> = match max_attempts.trim() {
        "" => None,
        v => {
            Some(v.parse().map_err(|_| AppError::invalid("max_attempts", "a whole number, or blank for the default"))?)
        }
    };
    let delays: Option<Vec<i64>> = match delays.trim() {
        "" => None,
        v => Some(v.split(',').map(|d| d.trim().parse::<i64>()).collect::<Result<_, _>>().map_err(|_| {
            AppError::invalid("retry_delays_ms", "milliseconds separated by commas, e.g. 1000, 5000, 25000")
        })?),
    };
    let starvation: Option<i64> =
        match starvation_s.trim() {
            "" => None,
            v => Some(v.parse::<f64>().ok().filter(|s| *s > 0.0).map(|s| (s * 1000.0) as i64).ok_or_else(|| {
                AppError::invalid("starvation_after_ms", "seconds above 0, or blank for the default")
            })?),
        };
    Ok(json!({
        "concurrency": concurrency,
        "max_attempts": max_attempts,
        "retry_delays_ms": delays,
        "starvation_after_ms": starvation,
    }))
}

#[component]
pub fn QueuesPage() -> impl IntoView {
    view! { <AdminOnly><Queues/></AdminOnly> }
}

#[component]
fn Queues() -> impl IntoView {
    let queues = RwSignal::new(Vec::<QueueStats>::new());
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match rest::get::<Vec<QueueStats>>("/api/v1/queues").await {
                Ok(q) => {
                    queues.set(q);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| load());
    view! {
        <Title text="Queues"/>
        <section class="panel">
            <div class="row-between">
                <h1>"Queues"</h1>
                <a href="/jobs">"Jobs"</a>
            </div>
            <p class="muted">"Blank fields use the defaults: retries at 1 s, 5 s and 25 s with jitter, 4 attempts, starvation aging after 30 s."</p>
            {move || error.get().map(|e| error_line(&e))}
            {move || notice.get().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            <div class="table-wrap">
                <table class="table" data-testid="queues">
                    <thead><tr>
                        <th>"Queue"</th><th>"Waiting / running / dead"</th><th>"Concurrency"</th><th>"Max attempts"</th>
                        <th>"Retry delays (ms)"</th><th>"Starvation after (s)"</th><th></th>
                    </tr></thead>
                    <tbody>
                        <For each=move || queues.get() key=|q| format!("{q:?}") let:q>
                            <QueueRow q=q reload=load notice=notice/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn QueueRow(
    q: QueueStats,
    reload: impl Fn() + Copy + Send + Sync + 'static,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let name = q.queue.name.clone();
    let concurrency = RwSignal::new(q.queue.concurrency.to_string());
    let max_attempts = RwSignal::new(q.queue.max_attempts.map(|m| m.to_string()).unwrap_or_default());
    let delays = RwSignal::new(
        q.queue
            .retry_delays_ms
            .as_ref()
            .map(|d| d.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
    );
    let starvation =
        RwSignal::new(q.queue.starvation_after_ms.map(|ms| format!("{}", ms as f64 / 1000.0)).unwrap_or_default());
    let error = RwSignal::new(None::<AppError>);
    let paused = q.queue.paused;
    let count = |s: &str| q.counts.get(s).copied().unwrap_or(0);
    let waiting = count("available") + count("scheduled") + count("retrying");
    let (running, dead) = (count("running"), count("dead"));
    let save_name = name.clone();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = match queue_patch(
            &concurrency.get_untracked(),
            &max_attempts.get_untracked(),
            &delays.get_untracked(),
            &starvation.get_untracked(),
        ) {
            Ok(b) => b,
            Err(e) => return error.set(Some(e)),
        };
        let url = format!("/api/v1/queues/{}", enc(&save_name));
        let done = format!("{save_name}: saved");
        leptos::task::spawn_local(async move {
            match rest::patch::<Value>(&url, body).await {
                Ok(_) => {
                    error.set(None);
                    notice.set(Some(done));
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let toggle_name = name.clone();
    let toggle = move |_| {
        let action = if paused { "resume" } else { "pause" };
        let url = format!("/api/v1/queues/{}/{action}", enc(&toggle_name));
        leptos::task::spawn_local(async move {
            error.set(rest::send("POST", &url, None).await.err());
            reload();
        });
    };
    let form_id = format!("queue-{name}");
    view! {
        <tr data-queue=name.clone() data-paused=paused.to_string()>
            <td><strong>{name.clone()}</strong>{paused.then(|| view! { " " <span class="badge warn">"paused"</span> })}</td>
            <td>{format!("{waiting} / {running} / {dead}")}</td>
            <td><input form=form_id.clone() aria-label="Concurrency" inputmode="numeric" size="5" bind:value=concurrency/></td>
            <td><input form=form_id.clone() aria-label="Max attempts" inputmode="numeric" size="4" placeholder="4" bind:value=max_attempts/></td>
            <td><input form=form_id.clone() aria-label="Retry delays" size="16" placeholder="1000, 5000, 25000" bind:value=delays/></td>
            <td><input form=form_id.clone() aria-label="Starvation after" inputmode="decimal" size="5" placeholder="30" bind:value=starvation/></td>
            <td>
                <form id=form_id class="actions" on:submit=save>
                    <button type="submit">"Save"</button>
                    <button type="button" class="secondary" on:click=toggle>{if paused { "Resume" } else { "Pause" }}</button>
                </form>
                {move || error.get().map(|e| error_line(&e))}
            </td>
        </tr>
    }
}

// ---- cron schedules ------------------------------------------------------------------

#[component]
pub fn SchedulesPage() -> impl IntoView {
    view! { <AdminOnly><Schedules/></AdminOnly> }
}

#[component]
fn Schedules() -> impl IntoView {
    let list = RwSignal::new(Vec::<ScheduleView>::new());
    let error = RwSignal::new(None::<AppError>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match rest::get::<Vec<ScheduleView>>("/api/v1/schedules").await {
                Ok(l) => {
                    list.set(l);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| load());
    let act = move |url: String, method: &'static str| {
        leptos::task::spawn_local(async move {
            error.set(rest::send(method, &url, None).await.err());
            load();
        });
    };
    view! {
        <Title text="Cron schedules"/>
        <section class="panel">
            <h1>"Cron schedules"</h1>
            {move || error.get().map(|e| error_line(&e))}
            <div class="table-wrap">
                <table class="table" data-testid="schedules">
                    <thead><tr><th>"Name"</th><th>"When"</th><th>"Job"</th><th>"Next"</th><th>"Last"</th><th></th></tr></thead>
                    <tbody>
                        <For each=move || list.get() key=|s| format!("{s:?}") let:s>
                            {
                                let id = s.id.clone();
                                let (pid, did, name) = (id.clone(), id.clone(), s.name.clone());
                                let paused = s.paused;
                                view! {
                                    <tr data-schedule=s.name.clone()>
                                        <td>{s.name.clone()}{paused.then(|| view! { " " <span class="badge warn">"paused"</span> })}</td>
                                        <td><code>{s.cron.clone()}</code>" "<span class="muted">{s.timezone.clone()}</span></td>
                                        <td>{s.job.get("kind").and_then(Value::as_str).unwrap_or("?").to_string()}</td>
                                        <td>{if paused { "—".to_string() } else { format_ms(s.next_run_at_ms) }}</td>
                                        <td class="muted">{s.last_run_at_ms.map(format_ms).unwrap_or_else(|| "never".into())}</td>
                                        <td class="actions">
                                            <button class="secondary" on:click=move |_| act(format!("/api/v1/schedules/{}/{}", enc(&pid), if paused { "resume" } else { "pause" }), "POST")>
                                                {if paused { "Resume" } else { "Pause" }}
                                            </button>
                                            <button class="danger" on:click=move |_| if confirm(&format!("Delete the schedule {name:?}?")) {
                                                act(format!("/api/v1/schedules/{}", enc(&did)), "DELETE")
                                            }>"Delete"</button>
                                        </td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            {move || list.with(Vec::is_empty).then(|| view! { <p class="muted">"No schedules yet."</p> })}
        </section>
        <NewSchedule on_created=load/>
    }
}

#[component]
fn NewSchedule(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let cron = RwSignal::new("*/15 * * * *".to_string());
    let timezone = RwSignal::new("UTC".to_string());
    let kind = RwSignal::new("noop".to_string());
    let queue = RwSignal::new(String::new());
    let payload = RwSignal::new("{}".to_string());
    let preview = RwSignal::new(None::<Result<Vec<i64>, AppError>>);
    let error = RwSignal::new(None::<AppError>);
    let seq = StoredValue::new(0u64);
    // The next fire times, as the expression is typed.
    Effect::new(move |_| {
        let (c, tz) = (cron.get(), timezone.get());
        if c.trim().is_empty() {
            preview.set(None);
            return;
        }
        seq.update_value(|s| *s += 1);
        let mine = seq.get_value();
        let url = format!("/api/v1/schedules/preview?cron={}&timezone={}", enc(c.trim()), enc(tz.trim()));
        leptos::task::spawn_local(async move {
            let r = rest::get::<CronPreview>(&url).await.map(|p| p.next_ms);
            if seq.try_get_value() == Some(mine) {
                preview.set(Some(r));
            }
        });
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let payload: Value = match serde_json::from_str(&payload.get_untracked()) {
            Ok(v) => v,
            Err(e) => return error.set(Some(AppError::invalid("job.payload", format!("not valid JSON: {e}")))),
        };
        let mut job = json!({ "kind": kind.get_untracked().trim(), "payload": payload });
        if !queue.get_untracked().trim().is_empty() {
            job["queue"] = json!(queue.get_untracked().trim());
        }
        let body = json!({ "name": name.get_untracked().trim(), "cron": cron.get_untracked().trim(), "timezone": timezone.get_untracked().trim(), "job": job });
        leptos::task::spawn_local(async move {
            match rest::post::<Value>("/api/v1/schedules", Some(body)).await {
                Ok(_) => {
                    error.set(None);
                    name.set(String::new());
                    on_created();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="panel">
            <h2>"New schedule"</h2>
            <form class="form" on:submit=submit data-testid="new-schedule">
                <label>"Name" <input required bind:value=name/></label>
                <label>"Cron (5 fields, or 6 with seconds)" <input required bind:value=cron/></label>
                <label>"Time zone" <input bind:value=timezone placeholder="UTC or Europe/Paris"/></label>
                <div data-testid="cron-preview" aria-live="polite">
                    {move || match preview.get() {
                        None => ().into_any(),
                        Some(Err(e)) => error_line(&e),
                        Some(Ok(times)) => view! {
                            <p class="muted">"Next runs:"</p>
                            <ol>{times.into_iter().map(|t| view! { <li>{format_ms(t)}</li> }).collect_view()}</ol>
                        }.into_any(),
                    }}
                </div>
                <label>"Job kind" <input required bind:value=kind/></label>
                <label>"Queue (optional)" <input bind:value=queue placeholder="default"/></label>
                <label>"Payload (JSON)" <textarea rows="3" bind:value=payload></textarea></label>
                <button type="submit">"Create schedule"</button>
                {move || error.get().map(|e| error_line(&e))}
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_rows_become_patches_with_blank_meaning_default() {
        let p = queue_patch("4", "", "1000, 5000", "2.5").unwrap();
        assert_eq!(
            p,
            json!({"concurrency": 4, "max_attempts": null, "retry_delays_ms": [1000, 5000], "starvation_after_ms": 2500})
        );
        let e = queue_patch("x", "", "", "").unwrap_err();
        assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "concurrency"));
        let e = queue_patch("1", "", "1s", "").unwrap_err();
        assert!(matches!(e, AppError::Invalid { ref field, .. } if field == "retry_delays_ms"));
    }
}
