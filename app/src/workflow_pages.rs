//! Workflows: the list with progress bars and saved templates, one
//! workflow's DAG drawn live, and the DAG editor, which checks the graph with
//! the same `app::dag` code the server runs before anything is sent.

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::{json, Value};

use crate::account::AdminOnly;
use crate::admin::format_ms;
use crate::auth::AppError;
use crate::dag::{
    layers, validate, DagError, EdgePolicy, JobSpec, SubmittedWorkflow, WorkflowDetail, WorkflowPage, WorkflowSpec,
    WorkflowTemplate,
};
use crate::job_pages::{confirm, error_line, LiveJob};
use crate::live_feed::{coalesced, listen, ConnectionBadge};
use crate::rest::{self, enc};

/// Colours of the progress bar, in drawing order.
const BAR: &[&str] = &["succeeded", "running", "retrying", "dead", "upstream_failed", "cancelled"];

fn progress(counts: &std::collections::BTreeMap<String, i64>, total: i32) -> impl IntoView {
    // SVG widths, not inline styles: the CSP forbids style attributes.
    let total = total.max(1) as f64;
    let done = counts.get("succeeded").copied().unwrap_or(0);
    let mut x = 0.0;
    let segments: Vec<_> = BAR
        .iter()
        .filter_map(|s| {
            let n = counts.get(*s).copied().unwrap_or(0);
            (n > 0).then(|| {
                let w = n as f64 / total * 100.0;
                let seg = view! { <rect class=format!("seg job-{s}") x=format!("{x:.2}") y="0" width=format!("{w:.2}") height="8" data-count=n data-state=*s></rect> };
                x += w;
                seg
            })
        })
        .collect();
    view! {
        <svg class="progress" viewBox="0 0 100 8" preserveAspectRatio="none" role="progressbar" aria-valuemin="0" aria-valuemax=total aria-valuenow=done>
            {segments}
        </svg>
    }
}

// ---- the list --------------------------------------------------------------------------

#[component]
pub fn WorkflowsPage() -> impl IntoView {
    view! { <AdminOnly><WorkflowList/></AdminOnly> }
}

#[component]
fn WorkflowList() -> impl IntoView {
    let page = RwSignal::new(WorkflowPage::default());
    // The cursors of the pages before this one, comma-separated (a cursor is
    // `ms:id`). One String, not a Vec<String> signal: that new signal type
    // moved 41 KB of shared code into the main wasm module every page loads.
    let cursors = RwSignal::new(String::new());
    let templates = RwSignal::new(Vec::<WorkflowTemplate>::new());
    let error = RwSignal::new(None::<AppError>);
    let (connected, set_connected) = signal(false);
    let navigate = use_navigate();
    let load = move || {
        if cursors.is_disposed() {
            return;
        }
        let mut url = "/api/v1/workflows?limit=25".to_string();
        if let Some(c) = cursors.with_untracked(|s| s.rsplit(',').next().filter(|c| !c.is_empty()).map(str::to_string))
        {
            url.push_str(&format!("&cursor={}", enc(&c)));
        }
        leptos::task::spawn_local(async move {
            match rest::get::<WorkflowPage>(&url).await {
                Ok(p) => page.set(p),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    // Templates change only here, not with job events.
    let load_templates = move || {
        leptos::task::spawn_local(async move {
            if let Ok(t) = rest::get::<Vec<WorkflowTemplate>>("/api/v1/workflow-templates").await {
                templates.set(t);
            }
        });
    };
    Effect::new(move |_| load_templates());
    Effect::new(move |_| {
        cursors.track();
        load();
    });
    Effect::new(move |_| {
        let refresh = coalesced(std::time::Duration::from_secs(1), load);
        listen("/api/v1/events".into(), &["job", "resync"], move |_, _| refresh(), set_connected);
    });
    let run_template = move |id: String| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match rest::post::<SubmittedWorkflow>(&format!("/api/v1/workflow-templates/{}/run", enc(&id)), None).await {
                Ok(s) if !page.is_disposed() => navigate(&format!("/workflows/{}", s.id), Default::default()),
                Ok(_) => {}
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete_template = move |id: String, name: String| {
        if !confirm(&format!("Delete the template {name:?}?")) {
            return;
        }
        leptos::task::spawn_local(async move {
            error.set(rest::send("DELETE", &format!("/api/v1/workflow-templates/{}", enc(&id)), None).await.err());
            load_templates();
        });
    };
    view! {
        <Title text="Workflows"/>
        <section class="panel">
            <div class="row-between">
                <h1>"Workflows"</h1>
                <div class="controls">
                    <a class="button" href="/workflows/new" data-testid="new-workflow">"New workflow"</a>
                    <ConnectionBadge connected=connected/>
                </div>
            </div>
            {move || error.get().map(|e| error_line(&e))}
            <div class="table-wrap">
                <table class="table" data-testid="workflows">
                    <thead><tr><th>"Name"</th><th>"State"</th><th>"Progress"</th><th>"Created"</th></tr></thead>
                    <tbody>
                        <For each=move || page.get().workflows key=|w| format!("{w:?}") let:w>
                            <tr data-workflow=w.id.clone()>
                                <td><a href=format!("/workflows/{}", w.id)>{w.name.clone()}</a></td>
                                <td><span class=format!("badge wf-{}", w.state)>{w.state.clone()}</span></td>
                                <td>
                                    {progress(&w.counts, w.total)}
                                    <span class="muted">{format!("{}/{}", w.counts.get("succeeded").copied().unwrap_or(0), w.total)}</span>
                                </td>
                                <td class="muted">{format_ms(w.created_at_ms)}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </div>
            {move || page.with(|p| p.workflows.is_empty()).then(|| view! { <p class="muted">"No workflows yet."</p> })}
            <div class="controls pager">
                <button class="secondary" disabled=move || cursors.with(String::is_empty) on:click=move |_| cursors.update(|s| match s.rfind(',') { Some(i) => s.truncate(i), None => s.clear() })>"Newer"</button>
                <button class="secondary" disabled=move || page.with(|p| p.next_cursor.is_none())
                    on:click=move |_| if let Some(c) = page.get_untracked().next_cursor { cursors.update(|s| { if !s.is_empty() { s.push(',') } s.push_str(&c) }) }>"Older"</button>
            </div>
        </section>
        <section class="panel">
            <h2>"Saved templates"</h2>
            {move || templates.with(Vec::is_empty).then(|| view! { <p class="muted">"Save a workflow from the editor to run it again here."</p> })}
            <ul class="templates" data-testid="templates">
                <For each=move || templates.get() key=|t| (t.id.clone(), t.updated_at_ms) let:t>
                    {
                        let (rid, did, name) = (t.id.clone(), t.id.clone(), t.name.clone());
                        let run_template = run_template.clone();
                        view! {
                            <li data-template=t.name.clone()>
                                <strong>{t.name.clone()}</strong>" "<span class="muted">{format!("{} jobs", t.spec.jobs.len())}</span>" "
                                <button on:click=move |_| run_template(rid.clone())>"Run"</button>" "
                                <a href=format!("/workflows/new?template={}", enc(&t.id))>"Edit"</a>" "
                                <button class="secondary" on:click=move |_| delete_template(did.clone(), name.clone())>"Delete"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}

// ---- drawing a DAG ---------------------------------------------------------------------

const NODE_W: f64 = 140.0;
const NODE_H: f64 = 44.0;
const GAP_X: f64 = 60.0;
const GAP_Y: f64 = 24.0;

/// Left-to-right layered positions (top-left corners) and the canvas size.
fn place(keys: &[String], edges: &[(String, String)]) -> (Vec<(f64, f64)>, f64, f64) {
    let layer = layers(keys, edges);
    let mut rows: HashMap<usize, usize> = HashMap::new();
    let pos: Vec<(f64, f64)> = layer
        .iter()
        .map(|&l| {
            let row = rows.entry(l).or_default();
            let p = (10.0 + l as f64 * (NODE_W + GAP_X), 10.0 + *row as f64 * (NODE_H + GAP_Y));
            *row += 1;
            p
        })
        .collect();
    let w = pos.iter().map(|p| p.0).fold(0.0, f64::max) + NODE_W + 20.0;
    let h = pos.iter().map(|p| p.1).fold(0.0, f64::max) + NODE_H + 20.0;
    (pos, w.max(300.0), h.max(80.0))
}

fn edge_path(from: (f64, f64), to: (f64, f64)) -> String {
    let (x1, y1) = (from.0 + NODE_W, from.1 + NODE_H / 2.0);
    let (x2, y2) = (to.0, to.1 + NODE_H / 2.0);
    let mid = (x1 + x2) / 2.0;
    format!("M{x1:.0},{y1:.0} C{mid:.0},{y1:.0} {mid:.0},{y2:.0} {x2:.0},{y2:.0}")
}

fn arrow_defs() -> impl IntoView {
    view! {
        <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M0,0 L10,5 L0,10 z" fill="currentColor"></path>
            </marker>
        </defs>
    }
}

// ---- one workflow ----------------------------------------------------------------------

#[component]
pub fn WorkflowPage() -> impl IntoView {
    view! { <AdminOnly><WorkflowView/></AdminOnly> }
}

#[component]
fn WorkflowView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = RwSignal::new(None::<Result<WorkflowDetail, AppError>>);
    let action_error = RwSignal::new(None::<AppError>);
    let (connected, set_connected) = signal(false);
    let navigate = use_navigate();
    let open_job = move |href: &str| navigate(href, Default::default());
    let load = move || {
        if detail.is_disposed() {
            return;
        }
        let id = id();
        leptos::task::spawn_local(async move {
            detail.set(Some(rest::get::<WorkflowDetail>(&format!("/api/v1/workflows/{}", enc(&id))).await));
        });
    };
    Effect::new(move |_| load());
    Effect::new(move |_| {
        let wf = id();
        listen(
            format!("/api/v1/events?workflow={}", enc(&wf)),
            &["job", "resync"],
            move |name, data| {
                let Some(ev) = (name == "job").then(|| serde_json::from_str::<LiveJob>(&data).ok()).flatten() else {
                    return load();
                };
                // Recolour the node at once; the summary follows from a reload
                // when the last job ends.
                let mut all_done = false;
                detail.update(|d| {
                    if let Some(Ok(d)) = d {
                        if let Some(n) = d.nodes.iter_mut().find(|n| n.job_id == ev.id) {
                            n.state = ev.state.clone();
                        }
                        all_done = d.nodes.iter().all(|n| {
                            matches!(n.state.as_str(), "succeeded" | "dead" | "cancelled" | "upstream_failed")
                        });
                    }
                });
                if all_done {
                    load();
                }
            },
            set_connected,
        );
    });
    let act = move |action: &'static str| {
        if !confirm(&format!("{action} this workflow?")) {
            return;
        }
        let url = format!("/api/v1/workflows/{}/{}", enc(&id()), action.to_lowercase());
        leptos::task::spawn_local(async move {
            action_error.set(rest::post::<Value>(&url, None).await.err());
            load();
        });
    };
    view! {
        <Title text="Workflow"/>
        <p><a href="/workflows">"← Workflows"</a></p>
        {move || match detail.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <section class="panel">{error_line(&e)}</section> }.into_any(),
            Some(Ok(d)) => {
                let keys: Vec<String> = d.nodes.iter().map(|n| n.key.clone()).collect();
                let pairs: Vec<(String, String)> = d.edges.iter().map(|e| (e.parent.clone(), e.child.clone())).collect();
                let (pos, w, h) = place(&keys, &pairs);
                let at: HashMap<String, (f64, f64)> = keys.iter().cloned().zip(pos.iter().copied()).collect();
                let s = d.summary.clone();
                let running = s.state == "running";
                view! {
                    <section class="panel" data-testid="workflow-view">
                        <div class="row-between">
                            <h1>{s.name.clone()}</h1>
                            <div class="controls">
                                <ConnectionBadge connected=connected/>
                                <span class=format!("badge wf-{}", s.state) data-testid="workflow-state">{s.state.clone()}</span>
                                {running.then(|| view! { <button class="danger" on:click=move |_| act("Cancel")>"Cancel"</button> })}
                                {(!running).then(|| view! { <button class="secondary" on:click=move |_| act("Retry")>"Retry failed"</button> })}
                            </div>
                        </div>
                        {move || action_error.get().map(|e| error_line(&e))}
                        {progress(&s.counts, s.total)}
                        <div class="dag-wrap">
                            <svg class="dag" viewBox=format!("0 0 {w:.0} {h:.0}") width=format!("{w:.0}") height=format!("{h:.0}") role="img" aria-label="Workflow graph">
                                {arrow_defs()}
                                {d.edges.iter().filter_map(|e| {
                                    let (from, to) = (at.get(&e.parent)?, at.get(&e.child)?);
                                    Some(view! { <path class=format!("edge edge-{}", e.policy) d=edge_path(*from, *to) marker-end="url(#arrow)"></path> })
                                }).collect_view()}
                                {d.nodes.iter().zip(pos.iter()).map(|(n, (x, y))| {
                                    // A focusable group that opens the job (an SVG <a> would be
                                    // created in the HTML namespace when rendered client-side).
                                    let href = format!("/jobs/{}", n.job_id);
                                    let (go, go_key) = (open_job.clone(), open_job.clone());
                                    let (h1, h2) = (href.clone(), href);
                                    view! {
                                        <g class="wf-node" role="link" tabindex="0" aria-label=format!("Open job {} ({})", n.key, n.state)
                                            data-node=n.key.clone() data-state=n.state.clone()
                                            on:click=move |_| go(&h1)
                                            on:keydown=move |ev| if ev.key() == "Enter" { go_key(&h2) }>
                                            <rect class=format!("node job-{}", n.state) x=*x y=*y width=NODE_W height=NODE_H rx="6"></rect>
                                            <text x=x + 8.0 y=y + 18.0 class="node-key">{n.key.clone()}</text>
                                            <text x=x + 8.0 y=y + 34.0 class="node-sub">{format!("{} · {}", n.kind, n.state)}</text>
                                        </g>
                                    }
                                }).collect_view()}
                            </svg>
                        </div>
                        <p class="muted">"Solid edges fail the child when the parent fails; dashed edges let it run anyway. Click a job to open it."</p>
                    </section>
                }
                .into_any()
            }
        }}
    }
}

// ---- the DAG editor --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub struct EdNode {
    pub key: String,
    pub kind: String,
    /// JSON text, checked as the user types.
    pub payload: String,
    pub queue: String,
    pub priority: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdEdge {
    pub parent: String,
    pub child: String,
    pub policy: EdgePolicy,
}

/// The spec the editor's nodes and edges describe. Payloads and priorities
/// that do not parse are errors naming the job's field, like the server's.
pub fn build_spec(name: &str, nodes: &[EdNode], edges: &[EdEdge]) -> Result<WorkflowSpec, AppError> {
    let mut jobs = Vec::with_capacity(nodes.len());
    for (i, n) in nodes.iter().enumerate() {
        let payload: Value = match n.payload.trim() {
            "" => Value::Null,
            t => serde_json::from_str(t).map_err(|e| {
                AppError::invalid(
                    &format!("jobs[{i}].payload"),
                    format!("job {:?}: the payload is not valid JSON ({e})", n.key),
                )
            })?,
        };
        let priority = match n.priority.trim() {
            "" => None,
            p => Some(p.parse::<i16>().map_err(|_| {
                AppError::invalid(
                    &format!("jobs[{i}].priority"),
                    format!("job {:?}: priority must be a number from 0 to 9", n.key),
                )
            })?),
        };
        let mine: Vec<&EdEdge> = edges.iter().filter(|e| e.child == n.key).collect();
        jobs.push(JobSpec {
            key: n.key.clone(),
            kind: n.kind.trim().to_string(),
            payload,
            queue: Some(n.queue.trim().to_string()).filter(|q| !q.is_empty()),
            priority,
            depends_on: mine.iter().map(|e| e.parent.clone()).collect(),
            on_parent_failure: EdgePolicy::Fail,
            edge_policies: mine
                .iter()
                .filter(|e| e.policy == EdgePolicy::Continue)
                .map(|e| (e.parent.clone(), e.policy))
                .collect(),
        });
    }
    Ok(WorkflowSpec { name: name.trim().to_string(), jobs })
}

/// The editor's view of a spec (for import and templates).
pub fn from_spec(spec: &WorkflowSpec) -> (Vec<EdNode>, Vec<EdEdge>) {
    let nodes = spec
        .jobs
        .iter()
        .map(|j| EdNode {
            key: j.key.clone(),
            kind: j.kind.clone(),
            payload: if j.payload.is_null() { String::new() } else { j.payload.to_string() },
            queue: j.queue.clone().unwrap_or_default(),
            priority: j.priority.map(|p| p.to_string()).unwrap_or_default(),
        })
        .collect();
    let edges = spec
        .jobs
        .iter()
        .flat_map(|j| {
            j.depends_on.iter().map(move |p| EdEdge {
                parent: p.clone(),
                child: j.key.clone(),
                policy: j.policy_for(p),
            })
        })
        .collect();
    (nodes, edges)
}

/// The (parent, child) edges on a reported cycle. The path follows
/// `depends_on`: in `a → c → b → a`, a waits on c, so c→a is an edge.
pub fn cycle_edges(path: &[String]) -> BTreeSet<(String, String)> {
    path.windows(2).map(|w| (w[1].clone(), w[0].clone())).collect()
}

/// What the editor shows about the current graph: the first problem, and
/// the cycle's edges to draw in red.
fn check(name: &str, nodes: &[EdNode], edges: &[EdEdge]) -> Result<WorkflowSpec, (String, BTreeSet<(String, String)>)> {
    let spec = build_spec(name, nodes, edges).map_err(|e| (e.to_string(), BTreeSet::new()))?;
    match validate(&spec) {
        Ok(_) => Ok(spec),
        Err(DagError::Cycle(path)) => Err((DagError::Cycle(path.clone()).to_string(), cycle_edges(&path))),
        Err(e) => Err((e.to_string(), BTreeSet::new())),
    }
}

const KINDS: &[&str] = &["noop", "sleep", "fail", "http.request", "email.send"];

#[component]
pub fn WorkflowEditorPage() -> impl IntoView {
    view! { <AdminOnly><DagEditor/></AdminOnly> }
}

#[component]
fn DagEditor() -> impl IntoView {
    let name = RwSignal::new("New workflow".to_string());
    let nodes = RwSignal::new(Vec::<EdNode>::new());
    let edges = RwSignal::new(Vec::<EdEdge>::new());
    let dragging = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let json_text = RwSignal::new(String::new());
    let import_preview = RwSignal::new(None::<Result<WorkflowSpec, String>>);
    let templates = RwSignal::new(Vec::<WorkflowTemplate>::new());
    let navigate = use_navigate();
    let query = use_query_map();

    let checked = Memo::new(move |_| nodes.with(|n| edges.with(|e| check(&name.get(), n, e))));
    let load_spec = move |spec: &WorkflowSpec| {
        let (n, e) = from_spec(spec);
        name.set(spec.name.clone());
        nodes.set(n);
        edges.set(e);
    };
    Effect::new(move |_| {
        let wanted = query.read().get("template");
        leptos::task::spawn_local(async move {
            if let Ok(list) = rest::get::<Vec<WorkflowTemplate>>("/api/v1/workflow-templates").await {
                if let Some(t) = wanted.and_then(|id| list.iter().find(|t| t.id == id).cloned()) {
                    load_spec(&t.spec);
                }
                templates.set(list);
            }
        });
    });

    let add_node = move |_| {
        nodes.update(|n| {
            let mut i = n.len() + 1;
            while n.iter().any(|x| x.key == format!("n{i}")) {
                i += 1;
            }
            n.push(EdNode {
                key: format!("n{i}"),
                kind: "noop".into(),
                payload: "{}".into(),
                queue: String::new(),
                priority: String::new(),
            });
        });
    };
    let connect = move |parent: String, child: String| {
        if parent == child {
            return notice.set(Some("A job cannot depend on itself.".into()));
        }
        edges.update(|e| {
            if !e.iter().any(|x| x.parent == parent && x.child == child) {
                e.push(EdEdge { parent, child, policy: EdgePolicy::Fail });
            }
        });
    };
    // False when refused: two jobs with one key would merge for good.
    let rename = move |old: String, new: String| -> bool {
        let new = new.trim().to_string();
        if new == old {
            return true;
        }
        if new.is_empty() || nodes.with_untracked(|n| n.iter().any(|x| x.key == new)) {
            notice.set(Some(format!("A job needs a key of its own; {new:?} is empty or taken.")));
            return false;
        }
        nodes.update(|n| {
            if let Some(x) = n.iter_mut().find(|x| x.key == old) {
                x.key = new.clone();
            }
        });
        edges.update(|e| {
            for x in e.iter_mut() {
                if x.parent == old {
                    x.parent = new.clone();
                }
                if x.child == old {
                    x.child = new.clone();
                }
            }
        });
        true
    };

    let set_field = move |key: String, f: fn(&mut EdNode, String), v: String| {
        nodes.update(|n| {
            if let Some(x) = n.iter_mut().find(|x| x.key == key) {
                f(x, v);
            }
        });
    };
    let remove_node = move |key: String| {
        nodes.update(|n| n.retain(|x| x.key != key));
        edges.update(|e| e.retain(|x| x.parent != key && x.child != key));
    };

    let submit_nav = navigate.clone();
    let submit = move |_| {
        let Ok(spec) = checked.get_untracked() else { return };
        let navigate = submit_nav.clone();
        leptos::task::spawn_local(async move {
            match rest::post::<SubmittedWorkflow>("/api/v1/workflows", Some(json!(spec))).await {
                // Only if the user is still here.
                Ok(s) if !nodes.is_disposed() => navigate(&format!("/workflows/{}", s.id), Default::default()),
                Ok(_) => {}
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let save_template = move |_| {
        let Ok(spec) = checked.get_untracked() else { return };
        let body = json!({ "name": spec.name.clone(), "spec": spec });
        leptos::task::spawn_local(async move {
            match rest::post::<WorkflowTemplate>("/api/v1/workflow-templates", Some(body)).await {
                Ok(t) => {
                    notice.set(Some(format!("Saved as the template {:?}.", t.name)));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let export = move |_| match build_spec(&name.get_untracked(), &nodes.get_untracked(), &edges.get_untracked()) {
        Ok(spec) => json_text.set(serde_json::to_string_pretty(&spec).unwrap_or_default()),
        Err(e) => error.set(Some(e)),
    };
    let preview = move |_| {
        import_preview.set(Some(
            serde_json::from_str::<WorkflowSpec>(&json_text.get_untracked())
                .map_err(|e| format!("not a workflow: {e}")),
        ));
    };

    view! {
        <Title text="New workflow"/>
        <p><a href="/workflows">"← Workflows"</a></p>
        <section class="panel">
            <div class="row-between">
                <h1>"New workflow"</h1>
                <div class="controls">
                    <button on:click=add_node data-testid="add-node">"Add job"</button>
                    <button class="secondary" on:click=save_template disabled=move || checked.with(|c| c.is_err())>"Save as template"</button>
                    <button on:click=submit data-testid="submit-workflow" disabled=move || checked.with(|c| c.is_err())>"Submit"</button>
                </div>
            </div>
            <label class="inline">"Name " <input bind:value=name aria-label="Workflow name"/></label>
            <div aria-live="polite">
                {move || match checked.get() {
                    Ok(spec) => view! { <p class="ok" data-testid="dag-ok">{format!("Valid: {} jobs, ready to submit.", spec.jobs.len())}</p> }.into_any(),
                    Err((msg, _)) => view! { <p class="form-error" data-testid="dag-error" role="alert">{msg}</p> }.into_any(),
                }}
            </div>
            {move || error.get().map(|e| error_line(&e))}
            {move || notice.get().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            <p class="muted">
                {move || match dragging.get() {
                    Some(from) => format!("Connecting from {from}: release on the job that should wait for it."),
                    None => "Drag from a job's right handle to another job to make the second wait for the first.".to_string(),
                }}
            </p>
            <div class="dag-wrap">
                {move || {
                    let ns = nodes.get();
                    let es = edges.get();
                    let bad = checked.with(|c| c.as_ref().err().map(|e| e.1.clone()).unwrap_or_default());
                    let keys: Vec<String> = ns.iter().map(|n| n.key.clone()).collect();
                    let pairs: Vec<(String, String)> = es.iter().map(|e| (e.parent.clone(), e.child.clone())).collect();
                    let (pos, w, h) = place(&keys, &pairs);
                    let at: HashMap<String, (f64, f64)> = keys.iter().cloned().zip(pos.iter().copied()).collect();
                    let on_cycle: BTreeSet<String> = bad.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
                    view! {
                        <svg class="dag editor" viewBox=format!("0 0 {w:.0} {h:.0}") width=format!("{w:.0}") height=format!("{h:.0}")
                            data-testid="dag-canvas" on:pointerup=move |_| dragging.set(None) on:pointerleave=move |_| dragging.set(None)>
                            {arrow_defs()}
                            {es.iter().filter_map(|e| {
                                let (from, to) = (at.get(&e.parent)?, at.get(&e.child)?);
                                let red = bad.contains(&(e.parent.clone(), e.child.clone()));
                                Some(view! {
                                    <path class=format!("edge edge-{}{}", e.policy, if red { " cycle" } else { "" })
                                        data-edge=format!("{}->{}", e.parent, e.child) d=edge_path(*from, *to) marker-end="url(#arrow)"></path>
                                })
                            }).collect_view()}
                            {ns.iter().zip(pos.iter()).map(|(n, (x, y))| {
                                let (k1, k2) = (n.key.clone(), n.key.clone());
                                let cycle = on_cycle.contains(&n.key);
                                view! {
                                    <g data-node=n.key.clone() class=move || format!("ed-node{}{}", if cycle { " cycle" } else { "" },
                                            if dragging.get().is_some() { " target" } else { "" })
                                        on:pointerup=move |ev| {
                                            ev.stop_propagation();
                                            if let Some(from) = dragging.get_untracked() {
                                                connect(from, k1.clone());
                                            }
                                            dragging.set(None);
                                        }>
                                        <rect class="node" x=*x y=*y width=NODE_W height=NODE_H rx="6"></rect>
                                        <text x=x + 8.0 y=y + 18.0 class="node-key">{n.key.clone()}</text>
                                        <text x=x + 8.0 y=y + 34.0 class="node-sub">{n.kind.clone()}</text>
                                        <circle class="handle" data-handle=n.key.clone() cx=x + NODE_W cy=y + NODE_H / 2.0 r="8"
                                            on:pointerdown=move |ev| {
                                                ev.prevent_default();
                                                ev.stop_propagation();
                                                dragging.set(Some(k2.clone()));
                                            }></circle>
                                    </g>
                                }
                            }).collect_view()}
                        </svg>
                    }
                }}
            </div>
        </section>
        <div class="editor-grid">
            <section class="panel">
                <h2>"Jobs"</h2>
                <datalist id="job-kinds">{KINDS.iter().map(|k| view! { <option value=*k></option> }).collect_view()}</datalist>
                <For each=move || nodes.get() key=|n| format!("{n:?}") let:n>
                    {
                        let (a, b, c, d, e, f) = (n.key.clone(), n.key.clone(), n.key.clone(), n.key.clone(), n.key.clone(), n.key.clone());
                        let payload_ok = n.payload.trim().is_empty() || serde_json::from_str::<Value>(&n.payload).is_ok();
                        view! {
                            <fieldset class="ed-job" data-job-key=n.key.clone()>
                                <legend>{n.key.clone()}</legend>
                                <label>"Key" <input prop:value=n.key.clone() on:change=move |ev| {
                                    if !rename(a.clone(), event_target_value(&ev)) {
                                        // Put the old key back in the field.
                                        event_target::<leptos::web_sys::HtmlInputElement>(&ev).set_value(&a);
                                    }
                                }/></label>
                                <label>"Kind" <input list="job-kinds" prop:value=n.kind.clone() on:change=move |ev| set_field(b.clone(), |x, v| x.kind = v, event_target_value(&ev))/></label>
                                <label>"Queue" <input placeholder="default" prop:value=n.queue.clone() on:change=move |ev| set_field(c.clone(), |x, v| x.queue = v, event_target_value(&ev))/></label>
                                <label>"Priority" <input inputmode="numeric" placeholder="5" size="3" prop:value=n.priority.clone() on:change=move |ev| set_field(d.clone(), |x, v| x.priority = v, event_target_value(&ev))/></label>
                                <label>"Payload (JSON)"
                                    <textarea rows="2" class:invalid=!payload_ok prop:value=n.payload.clone()
                                        on:change=move |ev| set_field(e.clone(), |x, v| x.payload = v, event_target_value(&ev))></textarea>
                                </label>
                                <button class="secondary" on:click=move |_| remove_node(f.clone())>"Remove job"</button>
                            </fieldset>
                        }
                    }
                </For>
            </section>
            <section class="panel">
                <h2>"Dependencies"</h2>
                <EdgeForm nodes=nodes on_add=connect/>
                <ul class="edges" data-testid="edges">
                    <For each=move || edges.get() key=|e| (e.parent.clone(), e.child.clone(), e.policy) let:e>
                        {
                            let (p1, c1, p2, c2) = (e.parent.clone(), e.child.clone(), e.parent.clone(), e.child.clone());
                            view! {
                                <li data-edge=format!("{}->{}", e.parent, e.child)>
                                    {format!("{} → {}", e.parent, e.child)}" "
                                    <select aria-label=format!("If {} fails", e.parent) on:change=move |ev| {
                                        let policy = if event_target_value(&ev) == "continue" { EdgePolicy::Continue } else { EdgePolicy::Fail };
                                        edges.update(|all| {
                                            if let Some(x) = all.iter_mut().find(|x| x.parent == p1 && x.child == c1) {
                                                x.policy = policy;
                                            }
                                        });
                                    }>
                                        <option value="fail" selected=e.policy == EdgePolicy::Fail>"if it fails: skip (upstream_failed)"</option>
                                        <option value="continue" selected=e.policy == EdgePolicy::Continue>"if it fails: run anyway"</option>
                                    </select>" "
                                    <button class="secondary" aria-label=format!("Remove {} → {}", e.parent, e.child)
                                        on:click=move |_| edges.update(|all| all.retain(|x| !(x.parent == p2 && x.child == c2)))>"Remove"</button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </section>
            <section class="panel">
                <h2>"JSON"</h2>
                <div class="controls">
                    <button class="secondary" on:click=export>"Export"</button>
                    <button class="secondary" on:click=preview>"Preview import"</button>
                    <select aria-label="Start from a template" on:change=move |ev| {
                        let id = event_target_value(&ev);
                        if let Some(t) = templates.get_untracked().into_iter().find(|t| t.id == id) {
                            load_spec(&t.spec);
                        }
                    }>
                        <option value="">"Start from a template…"</option>
                        <For each=move || templates.get() key=|t| t.id.clone() let:t>
                            <option value=t.id.clone()>{t.name.clone()}</option>
                        </For>
                    </select>
                </div>
                <textarea rows="12" class="json" data-testid="dag-json" aria-label="Workflow JSON" bind:value=json_text></textarea>
                {move || import_preview.get().map(|p| match p {
                    Err(e) => view! { <p class="form-error">{e}</p> }.into_any(),
                    Ok(spec) => {
                        let verdict = match validate(&spec) {
                            Ok(_) => "valid".to_string(),
                            Err(e) => e.to_string(),
                        };
                        let edges_n: usize = spec.jobs.iter().map(|j| j.depends_on.len()).sum();
                        let s2 = spec.clone();
                        view! {
                            <div class="notice" data-testid="import-preview">
                                <p>{format!("{:?}: {} jobs, {} dependencies — {verdict}", spec.name, spec.jobs.len(), edges_n)}</p>
                                <button on:click=move |_| { load_spec(&s2); import_preview.set(None); }>"Load into the editor"</button>
                            </div>
                        }.into_any()
                    }
                })}
            </section>
        </div>
    }
}

/// The keyboard way to add a dependency.
#[component]
fn EdgeForm(
    nodes: RwSignal<Vec<EdNode>>,
    on_add: impl Fn(String, String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let parent = RwSignal::new(String::new());
    let child = RwSignal::new(String::new());
    let options = move || {
        nodes.get().into_iter().map(|n| view! { <option value=n.key.clone()>{n.key.clone()}</option> }).collect_view()
    };
    view! {
        <form class="controls" on:submit=move |ev| {
            ev.prevent_default();
            let (p, c) = (parent.get_untracked(), child.get_untracked());
            if !p.is_empty() && !c.is_empty() {
                on_add(p, c);
            }
        }>
            <select aria-label="Parent job" bind:value=parent><option value="">"parent…"</option>{options}</select>
            "→"
            <select aria-label="Job that waits" bind:value=child><option value="">"waits…"</option>{options}</select>
            <button type="submit" class="secondary">"Add dependency"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str) -> EdNode {
        EdNode {
            key: key.into(),
            kind: "noop".into(),
            payload: "{}".into(),
            queue: String::new(),
            priority: String::new(),
        }
    }

    fn edge(p: &str, c: &str) -> EdEdge {
        EdEdge { parent: p.into(), child: c.into(), policy: EdgePolicy::Fail }
    }

    #[test]
    fn the_editor_finds_a_cycle_with_the_servers_code_and_marks_its_edges() {
        let nodes: Vec<EdNode> = ["a", "b", "c", "d"].map(node).to_vec();
        let mut edges = vec![edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")];
        let spec = check("diamond", &nodes, &edges).unwrap();
        assert_eq!(spec.jobs[3].depends_on, vec!["b", "c"]);
        edges.push(edge("d", "a"));
        let (msg, red) = check("diamond", &nodes, &edges).unwrap_err();
        assert!(msg.starts_with("cycle: "), "{msg}");
        assert!(red.contains(&("d".to_string(), "a".to_string())), "{red:?}");
        assert_eq!(red.len(), 3, "{red:?}");
    }

    #[test]
    fn payloads_and_policies_round_trip_through_the_spec() {
        let mut nodes = vec![node("a"), node("b")];
        let mut e = edge("a", "b");
        e.policy = EdgePolicy::Continue;
        let spec = build_spec("w", &nodes, &[e.clone()]).unwrap();
        assert_eq!(spec.jobs[1].policy_for("a"), EdgePolicy::Continue);
        let (n2, e2) = from_spec(&spec);
        assert_eq!(e2, vec![e]);
        assert_eq!(n2[0].key, "a");
        nodes[1].payload = "{oops".into();
        let err = build_spec("w", &nodes, &[]).unwrap_err();
        assert!(matches!(err, AppError::Invalid { ref field, .. } if field == "jobs[1].payload"), "{err:?}");
    }
}
