//! Top-level pages. Pages whose capability has not landed say so plainly
//! rather than showing invented data.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn NotBuiltYet(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=title/>
        <section class="panel">
            <h1>{title}</h1>
            <p class="muted">"Not built yet."</p>
            <p>{what}</p>
        </section>
    }
}

#[component]
pub fn Jobs() -> impl IntoView {
    view! {
        <NotBuiltYet
            title="Jobs"
            what="A filterable, live list of jobs with their attempts, and the dead-letter queue."
        />
    }
}

#[component]
pub fn Workflows() -> impl IntoView {
    view! {
        <NotBuiltYet
            title="Workflows"
            what="DAG workflows with live progress, and the visual DAG editor."
        />
    }
}

/// The fallback route. On the server it also sets the HTTP status to 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="panel">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p><a href="/">"Go to the dashboard"</a></p>
        </section>
    }
}
