#![recursion_limit = "256"]
//! MeetMind's shared crate: domain types, pages and components, and server
//! functions. Compiled for the server (`ssr`) and for the browser (`hydrate`).

pub mod account;
pub mod admin;
pub mod auth;
pub mod dag;
pub mod dashboard;
pub mod interview_pages;
pub mod interviews;
pub mod job_pages;
pub mod jobs;
pub mod layout;
pub mod lazy_pages;
pub mod live_feed;
pub mod pages;
pub mod providers;
pub mod queue_pages;
pub mod rest;
#[cfg(feature = "ssr")]
pub mod services;
pub mod wire;
pub mod workflow_pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use account::{LoginPage, SetupPage};
use layout::Shell;
use lazy_pages::*;
use pages::NotFound;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The security-headers middleware chose this request's CSP nonce; the
    // hydration scripts must carry the same one.
    #[cfg(feature = "ssr")]
    if let Some(nonce) =
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<services::CspNonce>().cloned())
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                <meta name="theme-color" content="#3b5bdb"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <script src="/pwa.js" defer></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "MeetMind".to_string() } else { format!("{page} · MeetMind") }
        }/>
        <Router>
            <Shell>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Page::Dashboard/>
                    <Route path=path!("/jobs") view=Page::Jobs/>
                    <Route path=path!("/jobs/:id") view=Page::Job/>
                    <Route path=path!("/dlq") view=Page::Dlq/>
                    <Route path=path!("/queues") view=Page::Queues/>
                    <Route path=path!("/schedules") view=Page::Schedules/>
                    <Route path=path!("/workflows") view=Page::Workflows/>
                    <Route path=path!("/workflows/new") view=Page::WorkflowEditor/>
                    <Route path=path!("/workflows/:id") view=Page::Workflow/>
                    <Route path=path!("/interviews") view=Page::Interviews/>
                    <Route path=path!("/interviews/:id/live") view=Page::Live/>
                    <Route path=path!("/interviews/:id/report") view=Page::Report/>
                    <Route path=path!("/room/:token") view=Page::Room/>
                    <Route path=path!("/providers") view=Page::Providers/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                    <Route path=path!("/admin/users") view=Page::Users/>
                    <Route path=path!("/admin/tokens") view=Page::Tokens/>
                    <Route path=path!("/admin/audit") view=Page::Audit/>
                </Routes>
            </Shell>
        </Router>
    }
}
