//! The interview screens: the list with the "new interview" form, the live
//! interviewer screen, the candidate's room and the report. They call the
//! server functions in `interviews` and listen to the interview's SSE stream.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::admin::format_ms;
use crate::auth::AppError;
use crate::interviews::*;
use crate::live_feed::{every, listen, ConnectionBadge};

fn error_line(e: &AppError) -> AnyView {
    view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any()
}

/// The last error, if any: one element, hidden while there is none (cheaper
/// in wasm than a view built per error; BENCHMARKS.md, "Site bundle").
#[component]
fn ErrorLine(error: ReadSignal<Option<AppError>>) -> impl IntoView {
    view! {
        <p class="form-error" role="alert" hidden=move || error.with(Option::is_none)>
            {move || error.with(|e| e.as_ref().map(ToString::to_string).unwrap_or_default())}
        </p>
    }
}

/// Unix ms in the browser (0 on the server, where nothing is timed).
fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// A `datetime-local` value in the browser's time zone, as Unix ms.
#[allow(unused_variables)]
fn local_time_ms(value: &str) -> Option<i64> {
    if value.trim().is_empty() {
        return None;
    }
    #[cfg(feature = "hydrate")]
    {
        let t = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value)).get_time();
        (!t.is_nan()).then_some(t as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

fn client_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        format!("c{}-{}", js_sys::Date::now() as i64, (js_sys::Math::random() * 1e9) as u64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

// ---- the list ----------------------------------------------------------------

#[component]
pub fn InterviewsPage() -> impl IntoView {
    let (query, set_query) = signal(String::new());
    let (created, set_created) = signal::<Option<CreatedInterview>>(None);
    let list =
        Resource::new(move || (query.get(), created.get().map(|c| c.interview.id)), |(q, _)| list_interviews(Some(q)));
    view! {
        <Title text="Interviews"/>
        <section class="panel">
            <div class="row-between">
                <h1>"Interviews"</h1>
                <input
                    type="search"
                    placeholder="Search title, role or candidate"
                    aria-label="Search interviews"
                    maxlength=crate::jobs::MAX_SEARCH_CHARS.to_string()
                    on:input=move |ev| set_query.set(event_target_value(&ev))
                />
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().map(|r| match r {
                    Err(e) => error_line(&e),
                    Ok(items) if items.is_empty() => view! {
                        <p class="muted">"No interviews yet. Create one below, or run " <code>"make demo"</code> "."</p>
                    }.into_any(),
                    Ok(items) => view! {
                        <div class="table-wrap"><table class="table" data-testid="interviews">
                            <thead><tr><th>"Interview"</th><th>"Candidate"</th><th>"Mode"</th><th>"State"</th><th>"Scheduled"</th><th></th></tr></thead>
                            <tbody>
                                {items.into_iter().map(|iv| {
                                    let live = format!("/interviews/{}/live", iv.id);
                                    let report = format!("/interviews/{}/report", iv.id);
                                    let done = iv.state == InterviewState::Completed;
                                    view! {
                                        <tr data-id=iv.id.clone()>
                                            <td><a href=live>{iv.title.clone()}</a><br/><span class="muted">{iv.role.clone()}</span></td>
                                            <td>{iv.candidate_name.clone()}</td>
                                            <td>{iv.mode.as_str()}</td>
                                            <td><span class=format!("badge state-{}", iv.state.as_str())>{iv.state.as_str()}</span></td>
                                            <td>{format_ms(iv.scheduled_at)}</td>
                                            <td>{done.then(|| view! { <a href=report>"Report"</a> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
        </section>
        <NewInterviewForm on_created=set_created/>
        {move || created.get().map(|c| {
            let live = format!("/interviews/{}/live", c.interview.id);
            view! {
                <section class="panel" data-testid="created">
                    <h2>"Created: " {c.interview.title.clone()}</h2>
                    <p>"The candidate's room link (shown once; a new one can be issued later):"</p>
                    <p><code data-testid="room-link">{c.link.candidate_path.clone()}</code></p>
                    <p><a href=live>"Open the interviewer screen"</a></p>
                </section>
            }
        })}
    }
}

#[component]
fn NewInterviewForm(on_created: WriteSignal<Option<CreatedInterview>>) -> impl IntoView {
    let templates = Resource::new(|| (), |_| rubric_templates());
    let (error, set_error) = signal::<Option<AppError>>(None);
    let (busy, set_busy) = signal(false);
    let title = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let mode = RwSignal::new("assist".to_string());
    let template = RwSignal::new("backend_engineer".to_string());
    let duration = RwSignal::new("45".to_string());
    let plan = RwSignal::new(String::new());
    let when = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let new = NewInterview {
            title: title.get_untracked(),
            role: role.get_untracked(),
            candidate_name: name.get_untracked(),
            candidate_email: email.get_untracked(),
            mode: Mode::parse(&mode.get_untracked()).unwrap_or_default(),
            template: Some(template.get_untracked()),
            rubric: None,
            // One question per line; none keeps the template's plan.
            plan: {
                let lines: Vec<PlannedQuestion> = plan
                    .get_untracked()
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| PlannedQuestion { text: l.to_string(), competency: None })
                    .collect();
                (!lines.is_empty()).then_some(lines)
            },
            scheduled_at: local_time_ms(&when.get_untracked()),
            duration_min: duration.get_untracked().parse().unwrap_or(45),
            shared_with: Vec::new(),
            consent_notice: None,
            owner_email: None,
        };
        set_busy.set(true);
        leptos::task::spawn_local(async move {
            match create_interview(new).await {
                Ok(c) => {
                    set_error.set(None);
                    on_created.set(Some(c));
                }
                Err(e) => set_error.set(Some(e)),
            }
            set_busy.set(false);
        });
    };
    view! {
        <section class="panel">
            <h2>"New interview"</h2>
            <form class="form" data-testid="new-interview" on:submit=submit>
                <label>"Title" <input required bind:value=title/></label>
                <label>"Role" <input required bind:value=role/></label>
                <label>"Candidate name" <input required bind:value=name/></label>
                <label>"Candidate email" <input type="email" required bind:value=email/></label>
                <label>"Mode"
                    <select bind:value=mode>
                        <option value="assist">"Assist: I interview, the AI suggests"</option>
                        <option value="ai_led">"AI-led: the AI interviews"</option>
                    </select>
                </label>
                <label>"Rubric and question plan"
                    <select bind:value=template>
                        <Transition fallback=|| ()>
                            {move || templates.get().and_then(|r| r.ok()).map(|ts| ts.into_iter().map(|t| view! {
                                <option value=t.key.clone()>{format!("{} ({} competencies, {} questions)", t.name, t.rubric.competencies.len(), t.plan.len())}</option>
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <label>"Minutes" <input type="number" min="5" max="240" bind:value=duration/></label>
                <label>"Scheduled for (empty: now)" <input type="datetime-local" bind:value=when/></label>
                <label>"Question plan (one per line; empty keeps the template's)"
                    <textarea bind:value=plan placeholder="Tell me about your current role."></textarea>
                </label>
                <button type="submit" disabled=busy>"Create interview"</button>
                {move || error.get().map(|e| error_line(&e))}
            </form>
        </section>
    }
}

/// The transcript moment an address names: a report's citation opens the
/// live screen at `#seg-N`.
fn cited_segment(hash: &str) -> Option<i64> {
    hash.strip_prefix("#seg-").and_then(|n| n.parse().ok())
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The moment last highlighted on the live screen. The transcript is
    /// drawn again as lines arrive, and the new row takes the highlight from
    /// here. Kept out of the reactive graph: measured, a signal read by each
    /// row and a keyed `<For>` each grew the main wasm module by 41 KB
    /// (BENCHMARKS.md, "Site bundle").
    static FLASHED: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// Scrolls to a transcript moment and highlights it, and only it.
fn scroll_to_segment(id: i64) {
    #[cfg(feature = "hydrate")]
    {
        let before = FLASHED.with(|f| f.replace(Some(id)));
        if let Some(old) =
            before.filter(|old| *old != id).and_then(|old| document().get_element_by_id(&format!("seg-{old}")))
        {
            let _ = old.class_list().remove_1("flash");
        }
        if let Some(el) = document().get_element_by_id(&format!("seg-{id}")) {
            el.scroll_into_view();
            let _ = el.class_list().add_1("flash");
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// A transcript row's classes: its speaker, and `flash` if it is the
/// highlighted moment.
fn segment_class(s: &Segment) -> String {
    #[cfg(feature = "hydrate")]
    if FLASHED.with(|f| f.get()) == Some(s.id) {
        return format!("seg speaker-{} flash", s.speaker.as_str());
    }
    format!("seg speaker-{}", s.speaker.as_str())
}

#[allow(unused_variables)]
fn store_pending(key: &str, pending: &[NewSegment]) {
    #[cfg(feature = "hydrate")]
    if let Ok(Some(s)) = window().local_storage() {
        let _ = s.set_item(key, &serde_json::to_string(pending).unwrap_or_default());
    }
}

#[allow(unused_variables)]
fn load_pending(key: &str) -> Vec<NewSegment> {
    #[cfg(feature = "hydrate")]
    if let Ok(Some(s)) = window().local_storage() {
        if let Ok(Some(v)) = s.get_item(key) {
            return serde_json::from_str(&v).unwrap_or_default();
        }
    }
    Vec::new()
}

// ---- the interviewer screen --------------------------------------------------------

#[component]
pub fn LivePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, load_live);
    view! {
        <Title text="Interview"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <section class="panel">{error_line(&e)}</section> }.into_any(),
                Ok(d) => view! { <LiveScreen detail=d/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn LiveScreen(detail: LiveDetail) -> impl IntoView {
    // A moment highlighted on an earlier visit is not this visit's.
    #[cfg(feature = "hydrate")]
    FLASHED.with(|f| f.set(None));
    let id = detail.interview.id.clone();
    let rubric = detail.interview.rubric.clone();
    let (state, set_state) = signal(detail.interview.state);
    let (paused, set_paused) = signal(detail.interview.paused_at.is_some());
    let (started_at, set_started_at) = signal(detail.interview.started_at);
    let (workflow, set_workflow) = signal(detail.workflow.clone());
    // The router's view of the address (`#seg-N` from a report's citation).
    let hash = leptos_router::hooks::use_location().hash;
    let (segments, set_segments) = signal::<Vec<Segment>>(Vec::new());
    let (suggestions, set_suggestions) = signal::<Vec<Suggestion>>(Vec::new());
    let (streaming, set_streaming) = signal(String::new());
    let (connected, set_connected) = signal(false);
    let (error, set_error) = signal::<Option<AppError>>(None);
    let pending_key = format!("mm-pending-{id}");
    let (pending, set_pending) = signal::<Vec<NewSegment>>(Vec::new());
    let (offline, set_offline) = signal(false);
    let (flushing, set_flushing) = signal(false);
    let (report_ready, set_report_ready) = signal(detail.report_ready);

    // Initial data, then the live stream.
    let load_id = id.clone();
    let pk = pending_key.clone();
    Effect::new(move |_| {
        let id = load_id.clone();
        set_pending.set(load_pending(&pk));
        leptos::task::spawn_local(async move {
            if let Ok(t) = interview_transcript(id.clone()).await {
                set_segments.set(t);
                // The transcript loads after the page, so the browser found
                // no element to scroll to: once it is drawn, go there and
                // highlight it. (Done on the element, not with a signal each
                // row reads: that moved 41 KB into the main wasm module.)
                if let Some(sid) = cited_segment(&hash.get_untracked()) {
                    set_timeout(move || scroll_to_segment(sid), std::time::Duration::ZERO);
                }
            }
            if let Ok(s) = interview_suggestions(id.clone()).await {
                set_suggestions.set(s);
            }
        });
    });
    let refresh_id = id.clone();
    let refresh = move || {
        let id = refresh_id.clone();
        leptos::task::spawn_local(async move {
            if let Ok(d) = load_live(id).await {
                set_state.set(d.interview.state);
                set_paused.set(d.interview.paused_at.is_some());
                set_started_at.set(d.interview.started_at);
                set_workflow.set(d.workflow);
                set_report_ready.set(d.report_ready);
            }
        });
    };
    let stream_id = id.clone();
    let on_refresh = refresh.clone();
    let reload_source = id.clone();
    Effect::new(move |_| {
        let refresh = on_refresh.clone();
        let reload_id = reload_source.clone();
        listen(
            format!("/api/v1/interviews/{stream_id}/events"),
            &["segment", "suggestion_token", "suggestion", "state", "workflow", "resync"],
            move |name, data| match name {
                "segment" => {
                    if let Ok(s) = serde_json::from_str::<Segment>(&data) {
                        set_segments.update(|v| {
                            if !v.iter().any(|x| x.id == s.id) {
                                v.push(s);
                                v.sort_by_key(|x| (x.start_ms, x.id));
                            }
                        });
                    }
                }
                "suggestion_token" => {
                    if let Ok(t) = serde_json::from_str::<SuggestionToken>(&data) {
                        set_streaming.update(|s| s.push_str(&t.text));
                    }
                }
                "suggestion" => {
                    if let Ok(s) = serde_json::from_str::<Suggestion>(&data) {
                        set_streaming.set(String::new());
                        set_suggestions.update(|v| {
                            if !v.iter().any(|x| x.id == s.id) {
                                v.insert(0, s);
                            }
                        });
                    }
                }
                "open" | "resync" => {
                    refresh();
                    let id = reload_id.clone();
                    leptos::task::spawn_local(async move {
                        // Drawn again only when it changed, so a reconnect
                        // keeps the highlighted moment and the scroll place.
                        if let Ok(t) = interview_transcript(id.clone()).await {
                            if segments.with_untracked(|s| *s != t) {
                                set_segments.set(t);
                            }
                        }
                        if let Ok(s) = interview_suggestions(id).await {
                            set_suggestions.set(s);
                        }
                    });
                }
                _ => refresh(),
            },
            set_connected,
        );
    });

    // What the interviewer types waits in localStorage until the server has it.
    let flush_id = id.clone();
    let fk = pending_key.clone();
    let flush = move || {
        let id = flush_id.clone();
        let key = fk.clone();
        if flushing.get_untracked() {
            return;
        }
        set_flushing.set(true);
        leptos::task::spawn_local(async move {
            loop {
                let Some(next) = pending.get_untracked().first().cloned() else { break };
                match append_segments(id.clone(), vec![next.clone()]).await {
                    Ok(stored) => {
                        set_offline.set(false);
                        set_segments.update(|v| {
                            for s in stored {
                                if !v.iter().any(|x| x.id == s.id) {
                                    v.push(s);
                                }
                            }
                            v.sort_by_key(|x| (x.start_ms, x.id));
                        });
                        set_pending.update(|p| p.retain(|x| x.client_id != next.client_id));
                        store_pending(&key, &pending.get_untracked());
                    }
                    Err(AppError::Invalid { field, message }) if field.starts_with("segments") || field == "state" => {
                        // Refused for good (too long, not live): drop it and say why.
                        set_error.set(Some(AppError::Invalid { field, message }));
                        set_pending.update(|p| p.retain(|x| x.client_id != next.client_id));
                        store_pending(&key, &pending.get_untracked());
                    }
                    Err(e) => {
                        // The network, the server or the session is away: keep it queued.
                        set_offline.set(true);
                        if !matches!(e, AppError::Server(_)) {
                            set_error.set(Some(e));
                        }
                        break;
                    }
                }
            }
            set_flushing.set(false);
        });
    };
    let retry = flush.clone();
    Effect::new(move |_| {
        let retry = retry.clone();
        every(std::time::Duration::from_secs(2), move || {
            if !pending.get_untracked().is_empty() {
                retry();
            }
        });
    });

    let (speaker, set_speaker) = signal(Speaker::Candidate);
    let text = RwSignal::new(String::new());
    let sk = pending_key.clone();
    let send_flush = flush.clone();
    let send = move || {
        let t = text.get_untracked();
        if t.trim().is_empty() {
            return;
        }
        let offset = (now_ms() - started_at.get_untracked().unwrap_or_else(now_ms)).max(0);
        let words = t.split_whitespace().count() as i64;
        let seg = NewSegment {
            client_id: client_id(),
            speaker: speaker.get_untracked(),
            text: t,
            start_ms: offset,
            end_ms: offset + words * 350,
        };
        set_pending.update(|p| p.push(seg));
        store_pending(&sk, &pending.get_untracked());
        text.set(String::new());
        send_flush();
    };
    let send_key = send.clone();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.alt_key() && ev.key() == "1" {
            ev.prevent_default();
            set_speaker.set(Speaker::Interviewer);
        } else if ev.alt_key() && ev.key() == "2" {
            ev.prevent_default();
            set_speaker.set(Speaker::Candidate);
        } else if ev.key() == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            send_key();
        }
    };

    let control_id = id.clone();
    let control_refresh = refresh.clone();
    let control = move |start: bool| {
        let id = control_id.clone();
        let refresh = control_refresh.clone();
        leptos::task::spawn_local(async move {
            let r = if start { start_interview(id).await } else { end_interview(id).await };
            match r {
                Ok(v) => {
                    set_state.set(v.state);
                    set_started_at.set(v.started_at);
                    set_error.set(None);
                }
                Err(e) => set_error.set(Some(e)),
            }
            refresh();
        });
    };
    let pause_id = id.clone();
    let pause_toggle = move || {
        let id = pause_id.clone();
        let want = !paused.get_untracked();
        leptos::task::spawn_local(async move {
            match pause_interview(id, want).await {
                Ok(v) => {
                    set_paused.set(v.paused_at.is_some());
                    set_error.set(None);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    // The candidate's room link: issue a new one (the old one stops working)
    // or end it now, e.g. once the candidate has left.
    let (room_link, set_room_link) = signal::<Option<String>>(None);
    let link_id = id.clone();
    let link_action = move |revoke: bool| {
        let id = link_id.clone();
        leptos::task::spawn_local(async move {
            let r = if revoke {
                revoke_candidate_link(id).await.map(|_| "revoked: the room now refuses the link".to_string())
            } else {
                new_candidate_link(id).await.map(|l| l.candidate_path)
            };
            match r {
                Ok(text) => {
                    set_room_link.set(Some(text));
                    set_error.set(None);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    let new_link_click = link_action.clone();
    let revoke_click = link_action.clone();
    let start_click = control.clone();
    let end_click = control.clone();
    let ask_click = move |s: String| {
        text.set(s);
        set_speaker.set(Speaker::Interviewer);
    };
    let names =
        StoredValue::new(rubric.competencies.iter().map(|c| (c.key.clone(), c.name.clone())).collect::<Vec<_>>());
    // Competency keys as their names, for the coverage lines.
    let names_of = move |keys: &[String]| {
        names.with_value(|names| {
            keys.iter()
                .map(|key| names.iter().find(|(k, _)| k == key).map_or(key.as_str(), |(_, n)| n.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    // Text from the latest suggestion, empty before the first.
    let latest = move |f: &dyn Fn(&Suggestion) -> String| suggestions.with(|v| v.first().map(f).unwrap_or_default());
    let report_link = format!("/interviews/{id}/report");

    view! {
        <section class="panel live-head">
            <div class="row-between">
                <div>
                    <h1>{detail.interview.title.clone()}</h1>
                    <p class="muted">{format!("{} · {} · {}", detail.interview.candidate_name, detail.interview.role, detail.interview.mode.as_str())}</p>
                </div>
                <div class="controls">
                    <ConnectionBadge connected=connected/>
                    <span class=move || format!("badge state-{}", state.get().as_str()) data-testid="state">{move || state.get().as_str()}</span>
                    <button hidden=move || state.get() != InterviewState::Scheduled on:click=move |_| start_click(true)>"Start"</button>
                    <span class="badge state-paused" data-testid="paused" title="No suggestions while paused"
                        hidden=move || !(state.get() == InterviewState::Live && paused.get())>"paused"</span>
                    <button class="secondary" data-testid="pause" hidden=move || state.get() != InterviewState::Live
                        aria-pressed=move || paused.get().to_string() on:click=move |_| pause_toggle()>
                        {move || if paused.get() { "Resume" } else { "Pause" }}
                    </button>
                    <button class="danger" hidden=move || state.get() != InterviewState::Live on:click=move |_| {
                        if window().confirm_with_message("End the interview? The summary, scorecard and report are made next.").unwrap_or(false) {
                            end_click(false);
                        }
                    }>"End interview"</button>
                </div>
            </div>
            <ErrorLine error=error/>
            <details class="room-link" hidden=move || !matches!(state.get(), InterviewState::Scheduled | InterviewState::Live)>
                <summary>"Candidate's room link"</summary>
                <div class="controls">
                    <button class="secondary" data-testid="new-link" on:click=move |_| new_link_click(false)>"New link"</button>
                    <button class="secondary" data-testid="revoke-link" on:click=move |_| {
                        if window().confirm_with_message("End the candidate's link now? They can no longer join with it.").unwrap_or(false) {
                            revoke_click(true);
                        }
                    }>"End link"</button>
                </div>
                <p hidden=move || room_link.with(Option::is_none)>
                    <code data-testid="room-link">{move || room_link.get().unwrap_or_default()}</code>
                </p>
            </details>
            <div class="workflow" data-testid="workflow" hidden=move || workflow.with(Vec::is_empty)>
                <strong>"After the interview: "</strong>
                {move || workflow.get().into_iter().map(|(k, s)| view! { <span class=format!("badge job-{s}") data-key=k.clone()>{format!("{k}: {s}")}</span> }).collect_view()}
                <a href=report_link data-testid="report-link" hidden=move || !report_ready.get()>"Open the report"</a>
            </div>
        </section>
        <div class="live-grid">
            <section class="panel transcript" aria-label="Transcript">
                <h2>"Transcript"</h2>
                <ol class="segments" data-testid="transcript">
                    {move || segments.get().into_iter().map(|s| view! {
                        <li id=format!("seg-{}", s.id) class=segment_class(&s) data-client-id=s.client_id.clone()>
                            <span class="time">{format_offset(s.start_ms)}</span>
                            <span class="speaker">{s.speaker.as_str()}</span>
                            <span class="text">{s.text.clone()}</span>
                        </li>
                    }).collect_view()}
                </ol>
                <p class="muted" data-testid="queued" hidden=move || pending.with(Vec::is_empty)>
                    {move || if offline.get() {
                        format!("offline, {} segments queued", pending.with(Vec::len))
                    } else {
                        format!("sending {} segments…", pending.with(Vec::len))
                    }}
                </p>
                <div class="composer">
                    <div class="speaker-switch" role="radiogroup" aria-label="Speaker (Alt+1, Alt+2)">
                        <button class:active=move || speaker.get() == Speaker::Interviewer on:click=move |_| set_speaker.set(Speaker::Interviewer)>"Interviewer (Alt+1)"</button>
                        <button class:active=move || speaker.get() == Speaker::Candidate on:click=move |_| set_speaker.set(Speaker::Candidate)>"Candidate (Alt+2)"</button>
                    </div>
                    <textarea
                        data-testid="say"
                        aria-label="What was said (Enter sends)"
                        placeholder="What was said… (Enter sends, Shift+Enter for a new line)"
                        bind:value=text
                        on:keydown=on_keydown
                    ></textarea>
                    <div class="controls">
                        <button on:click=move |_| send()>"Add"</button>
                        <MicButton target=text/>
                    </div>
                </div>
            </section>
            <section class="panel suggestions" aria-label="Suggestions">
                <h2>"Suggested follow-ups"</h2>
                <p class="streaming" data-testid="streaming" hidden=move || streaming.with(String::is_empty)>{move || streaming.get()}</p>
                <ul class="suggestion-list">
                    {move || suggestions.get().into_iter().take(5).map(|s| {
                        let ask = ask_click.clone();
                        view! {
                            <li data-testid="suggestion">
                                <span class="badge">{s.tier.clone()}</span>
                                {s.degraded.then(|| view! { <span class="badge warn">"degraded"</span> })}
                                <ul>
                                    {s.follow_ups.into_iter().map(|f| {
                                        let ask = ask.clone();
                                        let f2 = f.clone();
                                        let f3 = f.clone();
                                        view! { <li>{f.clone()} " "
                                            <button class="small" on:click=move |_| copy_text(&f3)>"Copy"</button> " "
                                            <button class="small" on:click=move |_| ask(f2.clone())>"Ask this"</button></li> }
                                    }).collect_view()}
                                </ul>
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <h3>"Rubric coverage"</h3>
                // The latest suggestion's view of the rubric.
                <p data-testid="covered" hidden=move || suggestions.with(Vec::is_empty)>
                    "Evidence: " {move || latest(&|s| names_of(&s.covered))}
                </p>
                <p class="muted" data-testid="uncovered" hidden=move || suggestions.with(Vec::is_empty)>
                    "No evidence yet: " {move || latest(&|s| names_of(&s.uncovered))}
                </p>
                <p class="form-error" data-testid="red-flags" hidden=move || latest(&|s| s.red_flags.join("; ")).is_empty()>
                    "Red flags: " {move || latest(&|s| s.red_flags.join("; "))}
                </p>
                <MomentSearch id=id.clone()/>
            </section>
        </div>
    }
}

#[component]
fn MomentSearch(id: String) -> impl IntoView {
    let (q, set_q) = signal(String::new());
    let search_id = id.clone();
    let hits = Resource::new(
        move || q.get(),
        move |q| {
            let id = search_id.clone();
            async move {
                if q.trim().len() < 2 {
                    Ok(Vec::new())
                } else {
                    search_moments(Some(id), q).await
                }
            }
        },
    );
    let question = RwSignal::new(String::new());
    let (answer, set_answer) = signal::<Option<Result<AskAnswer, AppError>>>(None);
    let ask = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = id.clone();
        let qn = question.get_untracked();
        leptos::task::spawn_local(async move { set_answer.set(Some(ask_interview(id, qn).await)) });
    };
    view! {
        <h3>"Moments"</h3>
        <input type="search" data-testid="moment-search" placeholder="Search the transcript" aria-label="Search the transcript"
            on:input=move |ev| set_q.set(event_target_value(&ev))/>
        <Transition fallback=|| ()>
            {move || hits.get().map(|r| match r {
                Err(e) => error_line(&e),
                Ok(hits) => view! {
                    <ul class="hits" data-testid="hits">
                        {hits.into_iter().take(8).map(|h| {
                            let sid = h.segment.id;
                            view! { <li><button class="link" on:click=move |_| scroll_to_segment(sid)>{format_offset(h.segment.start_ms)}</button> " " {h.segment.text.chars().take(140).collect::<String>()}</li> }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })}
        </Transition>
        <form class="form inline" on:submit=ask>
            <input placeholder="Ask: when did they talk about Kafka?" aria-label="Ask about the interview" bind:value=question/>
            <button type="submit">"Ask"</button>
        </form>
        {move || answer.get().map(|r| match r {
            Err(e) => error_line(&e),
            Ok(a) => view! {
                <div class="answer" data-testid="answer">
                    <p>{a.answer.clone()}</p>
                    <p class="muted">{format!("{}{}", a.tier, if a.degraded { " · degraded" } else { "" })}</p>
                    <p>{a.citations.into_iter().map(|c| {
                        let sid = c.segment_id;
                        view! { <button class="link" on:click=move |_| scroll_to_segment(sid)>{format_offset(c.start_ms)}</button> " " }
                    }).collect_view()}</p>
                </div>
            }.into_any(),
        })}
    }
}

// ---- the candidate's room ----------------------------------------------------------

#[component]
pub fn RoomPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let room = Resource::new(token, load_room);
    view! {
        <Title text="Your interview"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || room.get().map(|r| match r {
                Err(AppError::Invalid { message, .. }) => view! {
                    <section class="panel" data-testid="room-refused"><h1>"This link does not open an interview"</h1><p>{message}</p></section>
                }.into_any(),
                Err(e) => view! { <section class="panel" data-testid="room-refused">{error_line(&e)}</section> }.into_any(),
                Ok(view) => view! { <Room token=token() initial=view/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Room(token: String, initial: RoomView) -> impl IntoView {
    let (consented, set_consented) = signal(initial.consent_accepted_at.is_some());
    let (segments, set_segments) = signal(initial.segments.clone());
    let (error, set_error) = signal::<Option<AppError>>(None);
    let (connected, set_connected) = signal(false);
    let (sound, set_sound) = signal(false);
    let (paused, set_paused) = signal(initial.paused);
    let stream_token = token.clone();
    Effect::new(move |_| {
        if !consented.get() {
            return;
        }
        let reload_token = stream_token.clone();
        listen(
            format!("/api/v1/room/{stream_token}/events"),
            &["segment", "state", "resync"],
            move |name, data| {
                if name == "open" || name == "resync" || name == "state" {
                    let t = reload_token.clone();
                    leptos::task::spawn_local(async move {
                        match load_room(t).await {
                            Ok(v) => {
                                set_paused.set(v.paused);
                                set_segments.set(v.segments);
                            }
                            // A revoked or expired link says so at once.
                            Err(e @ AppError::Invalid { .. }) => set_error.set(Some(e)),
                            Err(_) => {}
                        }
                    });
                    return;
                }
                if let Ok(s) = serde_json::from_str::<Segment>(&data) {
                    let speak = s.speaker == Speaker::Ai;
                    let text = s.text.clone();
                    set_segments.update(|v| {
                        if !v.iter().any(|x| x.id == s.id) {
                            v.push(s);
                        }
                    });
                    if speak && sound.get_untracked() {
                        say(&text);
                    }
                }
            },
            set_connected,
        );
    });
    let consent_token = token.clone();
    let accept = move |_| {
        let t = consent_token.clone();
        leptos::task::spawn_local(async move {
            match room_consent(t).await {
                Ok(v) => {
                    set_segments.set(v.segments);
                    set_consented.set(true);
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    let answer = RwSignal::new(String::new());
    let started = now_ms();
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = token.clone();
        let text = answer.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        let offset = (now_ms() - started).max(0);
        let seg = NewSegment {
            client_id: client_id(),
            speaker: Speaker::Candidate,
            text,
            start_ms: offset,
            end_ms: offset + 1000,
        };
        leptos::task::spawn_local(async move {
            match room_append(t, vec![seg]).await {
                Ok(stored) => {
                    answer.set(String::new());
                    set_segments.update(|v| {
                        for s in stored {
                            if !v.iter().any(|x| x.id == s.id) {
                                v.push(s);
                            }
                        }
                    });
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="panel room">
            <h1>{initial.title.clone()}</h1>
            <p class="muted">{format!("{} · {}", initial.candidate_name, initial.role)}</p>
            {move || error.get().map(|e| error_line(&e))}
            {move || if !consented.get() {
                view! {
                    <div class="consent" data-testid="consent">
                        <h2>"Before we start"</h2>
                        <p>{initial.consent_notice.clone()}</p>
                        <button on:click=accept.clone()>"I agree, start"</button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <div>
                        <p class="row-between">
                            <span class="badge">{move || if connected.get() { "connected" } else { "connecting…" }}</span>
                            <label><input type="checkbox" on:change=move |ev| set_sound.set(event_target_checked(&ev))/> " Read questions aloud"</label>
                        </p>
                        {move || paused.get().then(|| view! {
                            <p class="notice" data-testid="room-paused">"The interviewer paused the interview. You can keep writing; it continues shortly."</p>
                        })}
                        <ol class="segments" data-testid="room-transcript">
                            {move || segments.get().into_iter().map(|s| view! {
                                <li class=format!("seg speaker-{}", s.speaker.as_str())>
                                    <span class="speaker">{if s.speaker == Speaker::Ai { "Interviewer (AI)" } else { "You" }}</span>
                                    <span class="text">{s.text.clone()}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                        <form class="form" on:submit=send.clone()>
                            <textarea data-testid="answer-box" aria-label="Your answer" bind:value=answer></textarea>
                            <div class="controls">
                                <button type="submit">"Send answer"</button>
                                <MicButton target=answer/>
                            </div>
                        </form>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[allow(unused_variables)]
fn say(text: &str) {
    #[cfg(feature = "hydrate")]
    if let (Ok(synth), Ok(u)) = (window().speech_synthesis(), web_sys::SpeechSynthesisUtterance::new_with_text(text)) {
        synth.speak(&u);
    }
}

// ---- the report ----------------------------------------------------------------

#[component]
pub fn ReportPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, load_interview);
    view! {
        <Title text="Interview report"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <section class="panel">{error_line(&e)}</section> }.into_any(),
                Ok(d) => view! { <Report detail=d/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Report(detail: InterviewDetail) -> impl IntoView {
    let iv = detail.interview.clone();
    let id = iv.id.clone();
    let moment = move |sid: i64| format!("/interviews/{}/live#seg-{sid}", iv.id);
    let decision = RwSignal::new("yes".to_string());
    let note = RwSignal::new(String::new());
    let (saved, set_saved) = signal::<Option<Result<(), AppError>>>(None);
    let decide_id = id.clone();
    let decide = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = match decision.get_untracked().as_str() {
            "strong_no" => Recommendation::StrongNo,
            "no" => Recommendation::No,
            "strong_yes" => Recommendation::StrongYes,
            _ => Recommendation::Yes,
        };
        let id = decide_id.clone();
        let n = note.get_untracked();
        leptos::task::spawn_local(async move { set_saved.set(Some(decide_interview(id, d, n).await)) });
    };
    view! {
        <section class="panel">
            <h1>"Report: " {detail.interview.title.clone()}</h1>
            <p class="muted">{format!("{} · {}", detail.interview.candidate_name, detail.interview.role)}</p>
            <p>
                <a href=format!("/api/v1/interviews/{id}/report?format=md") download="report.md">"Export Markdown"</a>
                " · "
                <a href=format!("/api/v1/interviews/{id}/report") target="_blank">"Print-friendly HTML"</a>
            </p>
        </section>
        <section class="panel">
            <h2>"Summary"</h2>
            {match detail.summary.clone() {
                Some(s) => view! { <p data-testid="summary">{s.text}</p><p class="muted">{format!("{}{}", s.provenance.tier, if s.provenance.degraded { " · degraded" } else { "" })}</p> }.into_any(),
                None => view! { <p class="muted">"Not ready yet."</p> }.into_any(),
            }}
        </section>
        <section class="panel" data-testid="scorecard">
            <h2>"Scorecard"</h2>
            {match detail.scorecard.clone() {
                None => view! { <p class="muted">"Not ready yet."</p> }.into_any(),
                Some(card) => {
                    let moment = moment.clone();
                    view! {
                        <p>"AI recommendation: " <strong>{card.scorecard.recommendation.label()}</strong> " (your decision is recorded separately below)"</p>
                        {card.scorecard.scores.into_iter().map(|s| {
                            let moment = moment.clone();
                            view! {
                                <div class="score">
                                    <h3>{s.name.clone()} " " <span class="badge">{s.level.map(|l| format!("{l}/4")).unwrap_or_else(|| "not scored".into())}</span></h3>
                                    <p>{s.rationale.clone()}</p>
                                    <ul>{s.citations.into_iter().map(|c| view! {
                                        <li><a href=moment(c.segment_id) data-testid="citation">{format_offset(c.start_ms)}</a> " " <q>{c.quote}</q></li>
                                    }).collect_view()}</ul>
                                </div>
                            }
                        }).collect_view()}
                        {(!card.scorecard.red_flags.is_empty()).then(|| view! { <p class="form-error">"Red flags: " {card.scorecard.red_flags.join("; ")}</p> })}
                        {card.scorecard.guardrail_notes.into_iter().map(|n| view! { <p class="muted">"Guardrail: " {n}</p> }).collect_view()}
                    }.into_any()
                }
            }}
        </section>
        {detail.insights.clone().map(|i| view! {
            <section class="panel" data-testid="insights">
                <h2>"Insights"</h2>
                <TalkRatio shares=i.talk_ratio.clone()/>
                <p>{format!("{} answers; words per answer: mean {}, median {}, longest {}", i.answers, i.answer_words_mean, i.answer_words_median, i.answer_words_max)}</p>
                {(!i.no_evidence.is_empty()).then(|| view! { <p class="muted">"No evidence for: " {i.no_evidence.join(", ")}</p> })}
                <h3>"Topics"</h3>
                <TopicTimeline topics=i.topics.clone() duration=i.duration_ms/>
                <h3>"Question plan"</h3>
                <ul>{i.question_coverage.into_iter().map(|q| view! {
                    <li>{if q.asked_at.is_some() { "✔ " } else { "✘ " }} {q.question}</li>
                }).collect_view()}</ul>
            </section>
        })}
        <section class="panel">
            <h2>"Your decision"</h2>
            {detail.interview.decision.clone().map(|d| view! { <p data-testid="decision">{format!("Recorded: {} by {} — {}", d.decision.label(), d.by, d.note)}</p> })}
            <form class="form" on:submit=decide>
                <label>"Decision"
                    <select bind:value=decision>
                        <option value="strong_no">"Strong no"</option>
                        <option value="no">"No"</option>
                        <option value="yes">"Yes"</option>
                        <option value="strong_yes">"Strong yes"</option>
                    </select>
                </label>
                <label>"Note" <textarea bind:value=note></textarea></label>
                <button type="submit">"Record decision"</button>
                {move || saved.get().map(|r| match r {
                    Ok(()) => view! { <p data-testid="decision-saved">"Saved."</p> }.into_any(),
                    Err(e) => error_line(&e),
                })}
            </form>
        </section>
    }
}

/// Words per speaker as one stacked bar.
#[component]
fn TalkRatio(shares: Vec<SpeakerShare>) -> impl IntoView {
    let mut x = 0u32;
    let bars = shares
        .iter()
        .map(|s| {
            let w = u32::from(s.percent) * 4;
            let at = x;
            x += w;
            let fill = match s.speaker {
                Speaker::Candidate => "#3b5bdb",
                Speaker::Interviewer => "#94a3b8",
                Speaker::Ai => "#f59f00",
            };
            view! {
                <rect x=at y="0" width=w height="24" fill=fill><title>{format!("{}: {}%", s.speaker.as_str(), s.percent)}</title></rect>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox="0 0 400 24" role="img" aria-label="Talk ratio" data-testid="talk-ratio">{bars}</svg>
        <p class="muted">{shares.iter().map(|s| format!("{} {}%", s.speaker.as_str(), s.percent)).collect::<Vec<_>>().join(" · ")}</p>
    }
}

#[component]
fn TopicTimeline(topics: Vec<Topic>, duration: i64) -> impl IntoView {
    let total = duration.max(1) as f64;
    let start = topics.first().map(|t| t.start_ms).unwrap_or(0) as f64;
    view! {
        <svg class="chart" viewBox="0 0 400 30" role="img" aria-label="Topics over time">
            {topics.iter().enumerate().map(|(i, t)| {
                let x = ((t.start_ms as f64 - start) / total * 400.0).max(0.0);
                let w = ((t.end_ms - t.start_ms) as f64 / total * 400.0).max(1.0);
                let fill = ["#3b5bdb", "#2f9e44", "#f59f00", "#ae3ec9", "#1098ad", "#e8590c"][i % 6];
                view! { <rect x=x y="0" width=w height="30" fill=fill><title>{format!("{} {}–{}", t.label, format_offset(t.start_ms), format_offset(t.end_ms))}</title></rect> }
            }).collect_view()}
        </svg>
        <ul class="muted">{topics.into_iter().map(|t| view! { <li>{format!("{}–{} {}", format_offset(t.start_ms), format_offset(t.end_ms), t.label)}</li> }).collect_view()}</ul>
    }
}

// ---- browser speech and clipboard (hydrate only) ------------------------------------

/// Whether the browser offers speech recognition (Chromium: webkitSpeechRecognition).
fn speech_supported() -> bool {
    #[cfg(feature = "hydrate")]
    {
        let w: wasm_bindgen::JsValue = window().into();
        ["SpeechRecognition", "webkitSpeechRecognition"]
            .iter()
            .any(|k| js_sys::Reflect::get(&w, &(*k).into()).is_ok_and(|v| v.is_function()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Starts continuous recognition; each final phrase goes to `on_text`. Returns
/// the recognizer so the caller can stop it.
#[allow(unused_variables)]
fn start_speech(on_text: impl Fn(String) + 'static, on_end: impl Fn() + 'static) -> Option<send_wrapper_box::Handle> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsCast, JsValue};
        let w: JsValue = window().into();
        let ctor = ["SpeechRecognition", "webkitSpeechRecognition"]
            .iter()
            .filter_map(|k| js_sys::Reflect::get(&w, &(*k).into()).ok())
            .find(|v| v.is_function())?
            .dyn_into::<js_sys::Function>()
            .ok()?;
        let rec = js_sys::Reflect::construct(&ctor, &js_sys::Array::new()).ok()?;
        let _ = js_sys::Reflect::set(&rec, &"continuous".into(), &true.into());
        let _ = js_sys::Reflect::set(&rec, &"interimResults".into(), &false.into());
        let on_result = Closure::<dyn Fn(JsValue)>::new(move |ev: JsValue| {
            let results = js_sys::Reflect::get(&ev, &"results".into()).unwrap_or(JsValue::UNDEFINED);
            let from =
                js_sys::Reflect::get(&ev, &"resultIndex".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
            let len =
                js_sys::Reflect::get(&results, &"length".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
            for i in from..len {
                let r = js_sys::Reflect::get_u32(&results, i).unwrap_or(JsValue::UNDEFINED);
                let alt = js_sys::Reflect::get_u32(&r, 0).unwrap_or(JsValue::UNDEFINED);
                if let Some(t) = js_sys::Reflect::get(&alt, &"transcript".into()).ok().and_then(|v| v.as_string()) {
                    on_text(t.trim().to_string());
                }
            }
        });
        let on_stop = Closure::<dyn Fn()>::new(on_end);
        let _ = js_sys::Reflect::set(&rec, &"onresult".into(), on_result.as_ref().unchecked_ref());
        let _ = js_sys::Reflect::set(&rec, &"onend".into(), on_stop.as_ref().unchecked_ref());
        on_result.forget();
        on_stop.forget();
        let start = js_sys::Reflect::get(&rec, &"start".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
        start.call0(&rec).ok()?;
        Some(send_wrapper_box::Handle(send_wrapper::SendWrapper::new(rec)))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

mod send_wrapper_box {
    /// A browser object held in a signal (signals need Send; the browser is single-threaded).
    #[cfg(feature = "hydrate")]
    pub struct Handle(pub send_wrapper::SendWrapper<wasm_bindgen::JsValue>);
    #[cfg(not(feature = "hydrate"))]
    pub struct Handle;

    impl Handle {
        pub fn stop(&self) {
            #[cfg(feature = "hydrate")]
            {
                use wasm_bindgen::JsCast;
                if let Some(f) = js_sys::Reflect::get(&self.0, &"stop".into())
                    .ok()
                    .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                {
                    let _ = f.call0(&self.0);
                }
            }
        }
    }
}

#[allow(unused_variables)]
fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let w: wasm_bindgen::JsValue = window().into();
        let nav = js_sys::Reflect::get(&w, &"navigator".into()).unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
        if let Ok(clip) = js_sys::Reflect::get(&nav, &"clipboard".into()) {
            if let Some(f) = js_sys::Reflect::get(&clip, &"writeText".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            {
                let _ = f.call1(&clip, &text.into());
            }
        }
    }
}

/// A microphone button that appends what it hears to `target`, or a clear
/// notice where the browser has no speech recognition.
#[component]
fn MicButton(target: RwSignal<String>) -> impl IntoView {
    let (supported, set_supported) = signal(false);
    Effect::new(move |_| set_supported.set(speech_supported()));
    let (listening, set_listening) = signal(false);
    let handle = StoredValue::new(None::<send_wrapper_box::Handle>);
    // Leaving the page stops the microphone.
    on_cleanup(move || {
        handle.with_value(|h| {
            if let Some(h) = h {
                h.stop()
            }
        })
    });
    let toggle = move |_| {
        if listening.get_untracked() {
            handle.with_value(|h| {
                if let Some(h) = h {
                    h.stop()
                }
            });
            set_listening.set(false);
            return;
        }
        let started = start_speech(
            move |t| {
                target.update(|s| {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(&t);
                })
            },
            move || set_listening.set(false),
        );
        set_listening.set(started.is_some());
        handle.set_value(started);
    };
    view! {
        {move || if supported.get() {
            view! {
                <button type="button" data-testid="mic" aria-pressed=move || listening.get().to_string() on:click=toggle>
                    {move || if listening.get() { "■ Stop listening" } else { "🎤 Speak" }}
                </button>
            }.into_any()
        } else {
            view! { <span class="muted" data-testid="mic-unavailable">"Speech input is not available in this browser; type instead."</span> }.into_any()
        }}
    }
}
