//! The responsive frame around every page: header, navigation, error boundary.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::account::{provide_current_user, AccountMenu};
use crate::auth::UserRole;

/// Navigation entries, in display order: (path, label, admins only).
/// One list feeds the header and tests.
pub const NAV: &[(&str, &str, bool)] = &[
    ("/", "Dashboard", true),
    ("/jobs", "Jobs", true),
    ("/dlq", "Dead letters", true),
    ("/queues", "Queues", true),
    ("/workflows", "Workflows", true),
    ("/schedules", "Cron", true),
    ("/interviews", "Interviews", false),
    ("/providers", "Providers", true),
    ("/admin/users", "Users", true),
    ("/admin/tokens", "Tokens", true),
    ("/admin/audit", "Audit", true),
];

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let (menu_open, set_menu_open) = signal(false);
    let close_menu = move |_| set_menu_open.set(false);
    let user = provide_current_user();
    // Admin links only for admins; the server refuses those pages to others anyway.
    let is_admin = move || user.0.get().and_then(|r| r.ok()).flatten().is_some_and(|me| me.role == UserRole::Admin);
    let signed_in = move || user.0.get().and_then(|r| r.ok()).flatten().is_some();

    view! {
        // `frontend` flips data-hydrated once the page, including a lazily
        // loaded route, has hydrated: the end-to-end tests wait for it.
        <div class="app" data-hydrated="false">
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
                    <Transition fallback=|| ()>
                        {move || {
                            let admin = is_admin();
                            let signed_in = signed_in();
                            NAV.iter()
                                .filter(move |(_, _, admin_only)| signed_in && (admin || !*admin_only))
                                .map(|(href, label, _)| {
                                    view! {
                                        <A href=*href exact=true on:click=close_menu>
                                            {*label}
                                        </A>
                                    }
                                })
                                .collect_view()
                        }}
                    </Transition>
                </nav>
                <AccountMenu/>
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
