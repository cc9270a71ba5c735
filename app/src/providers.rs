//! The Providers page: each LLM provider's breaker, error rate and latency,
//! refreshed every two seconds, with an admin override for the breaker.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::{account::AdminOnly, auth::AppError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderHealth {
    pub name: String,
    /// closed, open, half_open, forced_open or forced_closed.
    pub breaker: String,
    pub error_rate: f64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub calls: usize,
    pub last_error: Option<String>,
}

#[server(endpoint = "providers_health", output = crate::wire::Json)]
pub async fn load_provider_health() -> Result<Vec<ProviderHealth>, AppError> {
    crate::services::require_admin()?;
    Ok(crate::services::llm_service()?.health())
}

#[server(endpoint = "providers_force", output = crate::wire::Json, input = crate::wire::Json)]
pub async fn force_breaker(name: String, state: String) -> Result<(), AppError> {
    let who = crate::services::require_admin()?;
    let open = match state.as_str() {
        "open" => Some(true),
        "closed" => Some(false),
        "auto" => None,
        _ => return Err(AppError::invalid("state", "one of open, closed, auto")),
    };
    if crate::services::llm_service()?.force(&name, open) {
        crate::services::auth_service()?.note_admin_action(&who, "provider.breaker", &name, &state).await;
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[component]
pub fn ProvidersPage() -> impl IntoView {
    view! { <AdminOnly><ProvidersAdmin/></AdminOnly> }
}

#[component]
fn ProvidersAdmin() -> impl IntoView {
    let (tick, set_tick) = signal(0u32);
    // Live: poll every 2 s in the browser (effects do not run on the server).
    Effect::new(move |_| {
        let handle = set_interval_with_handle(move || set_tick.update(|t| *t += 1), std::time::Duration::from_secs(2));
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let force = ServerAction::<ForceBreaker>::new();
    let health = Resource::new(move || (tick.get(), force.version().get()), |_| load_provider_health());

    view! {
        <Title text="Providers"/>
        <section class="panel">
            <h1>"Providers"</h1>
            <p class="muted">"Calls try each provider in order, then the offline tier, which always answers (marked degraded)."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || health.get().map(|r| match r {
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        {list.is_empty().then(|| view! {
                            <p class="notice" data-testid="no-providers">"No provider has an API key: every AI answer comes from the offline tier."</p>
                        })}
                        <div class="table-wrap"><table class="table" data-testid="providers">
                            <thead><tr><th>"Provider"</th><th>"Breaker"</th><th>"Error rate"</th><th>"p50"</th><th>"p95"</th><th>"Calls"</th><th>"Last error"</th><th></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|p| {
                                    let (n1, n2, n3) = (p.name.clone(), p.name.clone(), p.name.clone());
                                    view! {
                                        <tr data-provider=p.name.clone()>
                                            <td>{p.name.clone()}</td>
                                            <td data-testid="breaker">{p.breaker.clone()}</td>
                                            <td>{format!("{:.0}%", p.error_rate * 100.0)}</td>
                                            <td>{p.p50_ms.map(|v| format!("{v} ms")).unwrap_or_else(|| "–".into())}</td>
                                            <td>{p.p95_ms.map(|v| format!("{v} ms")).unwrap_or_else(|| "–".into())}</td>
                                            <td>{p.calls}</td>
                                            <td>{p.last_error.clone().unwrap_or_default()}</td>
                                            <td class="actions">
                                                <button class="small" on:click=move |_| { force.dispatch(ForceBreaker { name: n1.clone(), state: "open".into() }); }>"Force open"</button>
                                                <button class="small" on:click=move |_| { force.dispatch(ForceBreaker { name: n2.clone(), state: "closed".into() }); }>"Force closed"</button>
                                                <button class="small" on:click=move |_| { force.dispatch(ForceBreaker { name: n3.clone(), state: "auto".into() }); }>"Automatic"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                                <tr data-provider="offline">
                                    <td>"offline"</td><td>"always available"</td><td>"0%"</td><td>"–"</td><td>"–"</td><td>"–"</td><td></td><td></td>
                                </tr>
                            </tbody>
                        </table></div>
                    }.into_any(),
                })}
            </Transition>
            {move || match force.value().get() {
                Some(Err(e)) => Some(view! { <p class="form-error" role="alert">{e.to_string()}</p> }),
                _ => None,
            }}
        </section>
    }
}
