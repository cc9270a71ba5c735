//! The responsive frame around every page: header, navigation, error boundary.

use leptos::prelude::*;
use leptos_router::components::A;

/// Navigation entries, in display order. One list feeds the header and tests.
pub const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/jobs", "Jobs"),
    ("/workflows", "Workflows"),
    ("/interviews", "Interviews"),
    ("/providers", "Providers"),
];

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    // The menu toggle only works once the wasm has hydrated, which makes it a
    // cheap, honest hydration check for the end-to-end tests as well.
    let (menu_open, set_menu_open) = signal(false);
    let close_menu = move |_| set_menu_open.set(false);
    // Effects run only in the browser, so this flips once hydration is done.
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));

    view! {
        <div class="app" data-hydrated=move || hydrated.get().to_string()>
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    " MeetMind"
                </a>
                <button
                    class="menu-toggle"
                    aria-label="Toggle navigation"
                    aria-controls="main-nav"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| set_menu_open.update(|open| *open = !*open)
                >
                    "☰"
                </button>
                <nav id="main-nav" class="nav" class:open=menu_open aria-label="Main">
                    {NAV
                        .iter()
                        .map(|(href, label)| {
                            view! {
                                <A href=*href exact=true on:click=close_menu>
                                    {*label}
                                </A>
                            }
                        })
                        .collect_view()}
                </nav>
            </header>
            <main class="content">
                <ErrorBoundary fallback=|errors| {
                    view! {
                        <section class="panel error-panel" role="alert">
                            <h1>"Something went wrong"</h1>
                            <ul>
                                {move || {
                                    errors
                                        .get()
                                        .into_iter()
                                        .map(|(_, e)| view! { <li>{e.to_string()}</li> })
                                        .collect_view()
                                }}
                            </ul>
                            <p><a href="/">"Back to the dashboard"</a></p>
                        </section>
                    }
                }>{children()}</ErrorBoundary>
            </main>
        </div>
    }
}
