//! The admin's job views: the live, filterable job list with bulk actions,
//! one job's detail (payload, attempts, timeline), and the dead-letter
//! queue grouped by kind and error. They call the REST API (`rest`) and
//! follow `/api/v1/events` for live changes.

use std::collections::{BTreeMap, BTreeSet};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::Deserialize;
use serde_json::json;

use crate::account::AdminOnly;
use crate::admin::format_ms;
use crate::auth::AppError;
use crate::jobs::{JobDetail, JobPage, JobState, JobView};
use crate::live_feed::{coalesced, listen, ConnectionBadge};
use crate::rest::{self, enc};

/// A `job` frame of the live feed.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LiveJob {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub state: String,
}

pub(crate) fn error_line(e: &AppError) -> AnyView {
    let text = match e {
        AppError::Invalid { field, message } => format!("{field}: {message}"),
        other => other.to_string(),
    };
    view! { <p class="form-error" role="alert">{text}</p> }.into_any()
}

pub(crate) fn confirm(message: &str) -> bool {
    window().confirm_with_message(message).unwrap_or(false)
}

fn state_badge(state: JobState) -> impl IntoView {
    view! { <span class=format!("badge job-{}", state.as_str()) data-state=state.as_str()>{state.as_str()}</span> }
}

fn short(text: &str, n: usize) -> String {
    let t: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        format!("{t}…")
    } else {
        t
    }
}

// ---- the job list ------------------------------------------------------------------

#[component]
pub fn JobsPage() -> impl IntoView {
    view! { <AdminOnly><JobList/></AdminOnly> }
}

#[component]
fn JobList() -> impl IntoView {
    // Filters start from the address (the dashboard links to a queue's jobs).
    let query = leptos_router::hooks::use_query_map();
    let initial = |k: &str| query.with_untracked(|q| q.get(k).unwrap_or_default());
    let state = RwSignal::new(initial("state"));
    let queue = RwSignal::new(initial("queue"));
    let kind = RwSignal::new(initial("kind"));
    let text = RwSignal::new(initial("q"));
    // Cursors of the pages after the first, so "Newer" can step back.
    let cursors = RwSignal::new(Vec::<i64>::new());
    let page = RwSignal::new(JobPage::default());
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let seq = StoredValue::new(0u64);
    let (connected, set_connected) = signal(false);

    let load = move || {
        // Also called when an answer arrives after the page has gone.
        if page.is_disposed() {
            return;
        }
        let mut url = "/api/v1/jobs?limit=50".to_string();
        for (k, v) in [("state", state), ("queue", queue), ("kind", kind), ("q", text)] {
            let v = v.get_untracked();
            if !v.trim().is_empty() {
                url.push_str(&format!("&{k}={}", enc(v.trim())));
            }
        }
        if let Some(c) = cursors.get_untracked().last() {
            url.push_str(&format!("&cursor={c}"));
        }
        seq.update_value(|s| *s += 1);
        let mine = seq.get_value();
        leptos::task::spawn_local(async move {
            let r = rest::get::<JobPage>(&url).await;
            // A slower, older answer must not replace a newer one.
            if seq.try_get_value() != Some(mine) {
                return;
            }
            match r {
                Ok(p) => {
                    page.set(p);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        (state.track(), queue.track(), kind.track(), text.track(), cursors.track());
        // A selection never outlives the rows it was made on.
        selected.set(BTreeSet::new());
        load();
    });
    Effect::new(move |_| {
        // A new job that belongs on this first page: reload it, at most
        // once a second however many arrive.
        let refresh = coalesced(std::time::Duration::from_secs(1), load);
        listen(
            "/api/v1/events".into(),
            &["job", "resync"],
            move |name, data| {
                if name != "job" {
                    load();
                    return;
                }
                let Ok(ev) = serde_json::from_str::<LiveJob>(&data) else { return };
                let Some(st) = JobState::parse(&ev.state) else { return };
                if ev.id == 0 {
                    return;
                }
                let known = page.with_untracked(|p| p.jobs.iter().any(|j| j.id == ev.id));
                if known {
                    page.update(|p| {
                        if let Some(j) = p.jobs.iter_mut().find(|j| j.id == ev.id) {
                            j.state = st;
                            if st == JobState::Running {
                                j.attempt += 1;
                            }
                        }
                    });
                    return;
                }
                let matches = |f: RwSignal<String>, v: &str| f.with_untracked(|f| f.trim().is_empty() || f.trim() == v);
                if cursors.with_untracked(Vec::is_empty)
                    && matches(state, &ev.state)
                    && matches(queue, &ev.queue)
                    && matches(kind, &ev.kind)
                {
                    refresh();
                }
            },
            set_connected,
        );
    });

    let bulk = move |action: &'static str| {
        let ids: Vec<i64> = selected.get_untracked().into_iter().collect();
        if ids.is_empty() || !confirm(&format!("{action} {} selected job(s)?", ids.len())) {
            return;
        }
        leptos::task::spawn_local(async move {
            let (mut ok, mut failed) = (0, Vec::new());
            for id in ids {
                match rest::send("POST", &format!("/api/v1/jobs/{id}/{}", action.to_lowercase()), None).await {
                    Ok(()) => ok += 1,
                    Err(e) => failed.push(format!("#{id}: {e}")),
                }
            }
            selected.set(BTreeSet::new());
            notice.set(Some(if failed.is_empty() {
                format!("{action}: {ok} job(s) done")
            } else {
                format!("{action}: {ok} done; {} refused ({})", failed.len(), failed.join("; "))
            }));
            load();
        });
    };

    view! {
        <Title text="Jobs"/>
        <section class="panel">
            <div class="row-between">
                <h1>"Jobs"</h1>
                <div class="controls">
                    <a href="/dlq">"Dead letters"</a>
                    <a href="/queues">"Queues"</a>
                    <a href="/schedules">"Cron"</a>
                    <ConnectionBadge connected=connected/>
                </div>
            </div>
            <form class="filters" on:submit=|ev| ev.prevent_default() role="search">
                <label>"State"
                    <select prop:value=move || state.get() on:change=move |ev| { cursors.set(Vec::new()); state.set(event_target_value(&ev)); }>
                        <option value="">"any"</option>
                        {JobState::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Queue" <input prop:value=move || queue.get() on:change=move |ev| { cursors.set(Vec::new()); queue.set(event_target_value(&ev)); }/></label>
                <label>"Kind" <input prop:value=move || kind.get() on:change=move |ev| { cursors.set(Vec::new()); kind.set(event_target_value(&ev)); }/></label>
                <label>"Search" <input type="search" placeholder="kind, payload or error" maxlength=crate::jobs::MAX_SEARCH_CHARS.to_string() prop:value=move || text.get()
                    on:input=move |ev| { cursors.set(Vec::new()); text.set(event_target_value(&ev)); }/></label>
            </form>
            {move || error.get().map(|e| error_line(&e))}
            {move || notice.get().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            <div class="controls bulk">
                <span data-testid="selected-count">{move || format!("{} selected", selected.get().len())}</span>
                <button class="secondary" disabled=move || selected.get().is_empty() on:click=move |_| bulk("Cancel")>"Cancel selected"</button>
                <button class="secondary" disabled=move || selected.get().is_empty() on:click=move |_| bulk("Retry")>"Retry selected"</button>
            </div>
            <div class="table-wrap">
                <table class="table" data-testid="jobs">
                    <thead><tr>
                        <th><input type="checkbox" aria-label="Select all on this page"
                            prop:checked=move || page.with(|p| !p.jobs.is_empty() && selected.with(|s| p.jobs.iter().all(|j| s.contains(&j.id))))
                            on:change=move |ev| {
                            let all = event_target_checked(&ev);
                            selected.set(if all { page.get_untracked().jobs.iter().map(|j| j.id).collect() } else { BTreeSet::new() });
                        }/></th>
                        <th>"Id"</th><th>"Kind"</th><th>"Queue"</th><th>"State"</th><th>"Attempts"</th><th>"Priority"</th><th>"Created"</th><th>"Last error"</th>
                    </tr></thead>
                    <tbody>
                        <For each=move || page.get().jobs key=|j| (j.id, j.state, j.attempt) let:j>
                            {
                                let id = j.id;
                                view! {
                                    <tr data-job=id data-state=j.state.as_str()>
                                        <td><input type="checkbox" aria-label=format!("Select job {id}")
                                            prop:checked=move || selected.with(|s| s.contains(&id))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                                            }/></td>
                                        <td><a href=format!("/jobs/{id}")>{format!("#{id}")}</a></td>
                                        <td>{j.kind.clone()}</td>
                                        <td>{j.queue.clone()}</td>
                                        <td>{state_badge(j.state)}</td>
                                        <td>{format!("{}/{}", j.attempt, j.max_attempts)}</td>
                                        <td>{j.priority}</td>
                                        <td class="muted">{format_ms(j.created_at_ms)}</td>
                                        <td class="muted">{j.last_error.as_deref().map(|e| short(e, 80)).unwrap_or_default()}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            {move || page.with(|p| p.jobs.is_empty()).then(|| view! { <p class="muted">"No jobs match."</p> })}
            <div class="controls pager">
                <button class="secondary" disabled=move || cursors.with(Vec::is_empty) on:click=move |_| cursors.update(|c| { c.pop(); })>"Newer"</button>
                <button class="secondary" disabled=move || page.with(|p| p.next_cursor.is_none())
                    on:click=move |_| if let Some(c) = page.get_untracked().next_cursor { cursors.update(|v| v.push(c)) }>"Older"</button>
            </div>
        </section>
    }
}

// ---- one job -------------------------------------------------------------------------

#[component]
pub fn JobPage() -> impl IntoView {
    view! { <AdminOnly><JobDetailView/></AdminOnly> }
}

#[component]
fn JobDetailView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = RwSignal::new(None::<Result<JobDetail, AppError>>);
    let action_error = RwSignal::new(None::<AppError>);
    let (connected, set_connected) = signal(false);
    let load = move || {
        if detail.is_disposed() {
            return;
        }
        let id = id();
        leptos::task::spawn_local(async move {
            detail.set(Some(rest::get::<JobDetail>(&format!("/api/v1/jobs/{}", enc(&id))).await));
        });
    };
    Effect::new(move |_| load());
    Effect::new(move |_| {
        listen(
            "/api/v1/events".into(),
            &["job", "resync"],
            move |name, data| {
                let mine =
                    name != "job" || serde_json::from_str::<LiveJob>(&data).is_ok_and(|ev| ev.id.to_string() == id());
                if mine {
                    load();
                }
            },
            set_connected,
        );
    });
    let act = move |action: &'static str| {
        let Some(Ok(d)) = detail.get_untracked() else { return };
        if !confirm(&format!("{action} job #{}?", d.job.id)) {
            return;
        }
        leptos::task::spawn_local(async move {
            let url = format!("/api/v1/jobs/{}/{}", d.job.id, action.to_lowercase());
            action_error.set(rest::send("POST", &url, None).await.err());
            load();
        });
    };
    view! {
        <Title text="Job"/>
        <p><a href="/jobs">"← Jobs"</a></p>
        {move || match detail.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <section class="panel">{error_line(&e)}</section> }.into_any(),
            Some(Ok(d)) => {
                let j = d.job.clone();
                let cancellable = !j.state.is_final();
                let retryable = matches!(j.state, JobState::Dead | JobState::Cancelled | JobState::Retrying);
                let payload = serde_json::to_string_pretty(&j.payload).unwrap_or_default();
                view! {
                    <section class="panel" data-testid="job-detail">
                        <div class="row-between">
                            <h1>{format!("{} #{}", j.kind, j.id)}</h1>
                            <div class="controls">
                                <ConnectionBadge connected=connected/>
                                {state_badge(j.state)}
                                {cancellable.then(|| view! { <button class="danger" on:click=move |_| act("Cancel")>"Cancel"</button> })}
                                {retryable.then(|| view! { <button on:click=move |_| act("Retry")>"Retry"</button> })}
                            </div>
                        </div>
                        {move || action_error.get().map(|e| error_line(&e))}
                        <dl class="facts">
                            <dt>"Queue"</dt><dd>{j.queue.clone()}</dd>
                            <dt>"Priority"</dt><dd>{j.priority}</dd>
                            <dt>"Attempts"</dt><dd>{format!("{} of {}", j.attempt, j.max_attempts)}</dd>
                            <dt>"Due"</dt><dd>{format_ms(j.run_at_ms)}</dd>
                            <dt>"Created"</dt><dd>{format_ms(j.created_at_ms)}</dd>
                            <dt>"Finished"</dt><dd>{j.finished_at_ms.map(format_ms).unwrap_or_else(|| "—".into())}</dd>
                            <dt>"Node"</dt><dd>{j.lease_owner.clone().unwrap_or_else(|| "—".into())}</dd>
                            <dt>"Workflow"</dt><dd>{match j.workflow_id.clone() {
                                Some(w) => view! { <a href=format!("/workflows/{w}")>{w.clone()}</a> }.into_any(),
                                None => "—".into_any(),
                            }}</dd>
                            <dt>"Idempotency key"</dt><dd>{j.idempotency_key.clone().unwrap_or_else(|| "—".into())}</dd>
                        </dl>
                        {j.last_error.clone().map(|e| view! { <h2>"Last error"</h2><pre class="error-text">{e}</pre> })}
                        <h2>"Payload"</h2>
                        <pre data-testid="payload">{payload}</pre>
                        <h2>"Attempts"</h2>
                        <div class="table-wrap"><table class="table" data-testid="attempts">
                            <thead><tr><th>"#"</th><th>"Node"</th><th>"Started"</th><th>"Took"</th><th>"Outcome"</th><th>"Error"</th></tr></thead>
                            <tbody>
                                {d.attempts.iter().map(|a| view! {
                                    <tr>
                                        <td>{a.attempt}</td>
                                        <td>{a.node.clone()}</td>
                                        <td>{format_ms(a.started_at_ms)}</td>
                                        <td>{format!("{} ms", a.finished_at_ms - a.started_at_ms)}</td>
                                        <td>{a.outcome.clone()}</td>
                                        <td class="muted">{a.error.clone().unwrap_or_default()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        <h2>"Timeline"</h2>
                        <Timeline detail=d.clone()/>
                    </section>
                }
                .into_any()
            }
        }}
    }
}

/// What happened to a job, in order: created, due, each attempt, finished.
#[component]
fn Timeline(detail: JobDetail) -> impl IntoView {
    let j = &detail.job;
    let mut steps: Vec<(i64, String)> = vec![(j.created_at_ms, "created".into())];
    if j.run_at_ms > j.created_at_ms {
        steps.push((j.run_at_ms, "due".into()));
    }
    for a in &detail.attempts {
        steps.push((a.started_at_ms, format!("attempt {} started on {}", a.attempt, a.node)));
        let how = match &a.error {
            Some(e) => format!("attempt {} {}: {}", a.attempt, a.outcome, short(e, 120)),
            None => format!("attempt {} {}", a.attempt, a.outcome),
        };
        steps.push((a.finished_at_ms, how));
    }
    if let Some(f) = j.finished_at_ms {
        steps.push((f, format!("ended {}", j.state.as_str())));
    }
    steps.sort_by_key(|(t, _)| *t);
    let start = steps.first().map(|s| s.0).unwrap_or_default();
    view! {
        <ol class="timeline" data-testid="timeline">
            {steps.into_iter().map(|(t, what)| view! {
                <li><span class="muted">{format!("+{} ms", t - start)}</span>" "{what}</li>
            }).collect_view()}
        </ol>
    }
}

// ---- the dead-letter queue -----------------------------------------------------------

/// The part of an error that names its cause: the first line, at most 120
/// characters. Jobs are grouped by kind and this.
pub fn error_key(error: Option<&str>) -> String {
    let first = error.unwrap_or("").lines().next().unwrap_or("").trim();
    first.chars().take(120).collect()
}

#[derive(Debug, Clone, PartialEq)]
struct DeadGroup {
    kind: String,
    error: String,
    jobs: Vec<JobView>,
}

fn group_dead(jobs: Vec<JobView>) -> Vec<DeadGroup> {
    let mut groups: BTreeMap<(String, String), Vec<JobView>> = BTreeMap::new();
    for j in jobs {
        groups.entry((j.kind.clone(), error_key(j.last_error.as_deref()))).or_default().push(j);
    }
    let mut out: Vec<DeadGroup> =
        groups.into_iter().map(|((kind, error), jobs)| DeadGroup { kind, error, jobs }).collect();
    out.sort_by(|a, b| b.jobs.len().cmp(&a.jobs.len()).then(a.kind.cmp(&b.kind)));
    out
}

#[component]
pub fn DlqPage() -> impl IntoView {
    view! { <AdminOnly><DeadLetters/></AdminOnly> }
}

#[component]
fn DeadLetters() -> impl IntoView {
    let groups = RwSignal::new(Vec::<DeadGroup>::new());
    let total = RwSignal::new(0usize);
    let more = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let (connected, set_connected) = signal(false);
    let load = move || {
        leptos::task::spawn_local(async move {
            match rest::get::<JobPage>("/api/v1/dlq?limit=500").await {
                Ok(p) => {
                    total.set(p.jobs.len());
                    more.set(p.next_cursor.is_some());
                    groups.set(group_dead(p.jobs));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| load());
    Effect::new(move |_| {
        // Many jobs can die at once: reload at most once a second.
        let refresh = coalesced(std::time::Duration::from_secs(1), load);
        listen(
            "/api/v1/events".into(),
            &["job", "resync"],
            move |name, data| {
                let relevant = name != "job"
                    || serde_json::from_str::<LiveJob>(&data).is_ok_and(|ev| {
                        ev.state == "dead"
                            || groups.with_untracked(|g| g.iter().any(|g| g.jobs.iter().any(|j| j.id == ev.id)))
                    });
                if relevant {
                    refresh();
                }
            },
            set_connected,
        );
    });
    let run = move |url: String, body: Option<serde_json::Value>, done: String| {
        leptos::task::spawn_local(async move {
            match rest::post::<serde_json::Value>(&url, body).await {
                Ok(v) => {
                    let n = v.get("requeued").or_else(|| v.get("purged")).and_then(|n| n.as_u64());
                    notice.set(Some(match n {
                        Some(n) => format!("{done}: {n} job(s)"),
                        None => done,
                    }));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            load();
        });
    };
    view! {
        <Title text="Dead letters"/>
        <section class="panel">
            <div class="row-between">
                <h1>"Dead letters"</h1>
                <div class="controls">
                    <a href="/jobs">"All jobs"</a>
                    <ConnectionBadge connected=connected/>
                </div>
            </div>
            <p class="muted">{move || format!("{} dead job(s){}, grouped by kind and error", total.get(), if more.get() { " (the newest 500)" } else { "" })}</p>
            {move || error.get().map(|e| error_line(&e))}
            {move || notice.get().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            {move || groups.with(Vec::is_empty).then(|| view! { <p data-testid="dlq-empty">"The dead-letter queue is empty."</p> })}
            <For each=move || groups.get() key=|g| (g.kind.clone(), g.error.clone(), g.jobs.len()) let:g>
                {
                    // Exactly the jobs this group shows: a text filter could reach
                    // other dead jobs whose payload happens to contain the error.
                    let filter = json!({ "ids": g.jobs.iter().map(|j| j.id).collect::<Vec<_>>() });
                    let (f1, f2) = (filter.clone(), filter);
                    let count = g.jobs.len();
                    view! {
                        <div class="dlq-group" data-testid="dlq-group" data-kind=g.kind.clone()>
                            <div class="row-between">
                                <div>
                                    <strong>{g.kind.clone()}</strong>" "<span class="badge warn">{count}</span>" "
                                    <span class="muted">{if g.error.is_empty() { "(no error message)".to_string() } else { g.error.clone() }}</span>
                                </div>
                                <div class="controls">
                                    <button on:click=move |_| if confirm(&format!("Requeue every dead job matching this group ({count} shown)?")) {
                                        run("/api/v1/dlq/requeue".into(), Some(f1.clone()), "Requeued".into())
                                    }>"Requeue all matching"</button>
                                    <button class="danger" on:click=move |_| if confirm(&format!("Delete every dead job matching this group ({count} shown) for good?")) {
                                        run("/api/v1/dlq/purge".into(), Some(f2.clone()), "Purged".into())
                                    }>"Purge"</button>
                                </div>
                            </div>
                            <details>
                                <summary>"Inspect the jobs"</summary>
                                <div class="table-wrap"><table class="table">
                                    <thead><tr><th>"Id"</th><th>"Queue"</th><th>"Attempts"</th><th>"Died"</th><th></th></tr></thead>
                                    <tbody>
                                        {g.jobs.iter().map(|j| {
                                            let id = j.id;
                                            view! {
                                                <tr data-job=id>
                                                    <td><a href=format!("/jobs/{id}")>{format!("#{id}")}</a></td>
                                                    <td>{j.queue.clone()}</td>
                                                    <td>{format!("{}/{}", j.attempt, j.max_attempts)}</td>
                                                    <td class="muted">{j.finished_at_ms.map(format_ms).unwrap_or_default()}</td>
                                                    <td><button class="secondary" on:click=move |_| run(format!("/api/v1/dlq/{id}/requeue"), None, format!("Requeued #{id}"))>"Requeue"</button></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            </details>
                        </div>
                    }
                }
            </For>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dead(id: i64, kind: &str, error: &str) -> JobView {
        JobView {
            id,
            queue: "default".into(),
            kind: kind.into(),
            payload: serde_json::Value::Null,
            priority: 5,
            state: JobState::Dead,
            run_at_ms: 0,
            attempt: 4,
            max_attempts: 4,
            last_error: Some(error.into()),
            lease_owner: None,
            workflow_id: None,
            idempotency_key: None,
            created_at_ms: 0,
            finished_at_ms: None,
        }
    }

    #[test]
    fn dead_jobs_group_by_kind_and_the_first_line_of_the_error() {
        let groups = group_dead(vec![
            dead(1, "email", "smtp: 550 mailbox unavailable\nat line 3"),
            dead(2, "email", "smtp: 550 mailbox unavailable\nat line 9"),
            dead(3, "fail", "asked to fail"),
            dead(4, "email", "timeout"),
        ]);
        assert_eq!(groups.len(), 3);
        assert_eq!(
            (groups[0].kind.as_str(), groups[0].error.as_str(), groups[0].jobs.len()),
            ("email", "smtp: 550 mailbox unavailable", 2)
        );
        assert_eq!(error_key(Some(&"x".repeat(500))).chars().count(), 120);
        assert_eq!(error_key(None), "");
    }
}
