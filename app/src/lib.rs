//! MeetMind's shared crate: domain types, pages and components, and server
//! functions. Compiled for the server (`ssr`) and for the browser (`hydrate`).

pub mod dag;
pub mod layout;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use layout::Shell;
use pages::{Dashboard, Interviews, Jobs, NotFound, Providers, Workflows};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
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
        <Stylesheet id="leptos" href="/pkg/meetmind.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "MeetMind".to_string() } else { format!("{page} · MeetMind") }
        }/>
        <Router>
            <Shell>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Dashboard/>
                    <Route path=path!("/jobs") view=Jobs/>
                    <Route path=path!("/workflows") view=Workflows/>
                    <Route path=path!("/interviews") view=Interviews/>
                    <Route path=path!("/providers") view=Providers/>
                </Routes>
            </Shell>
        </Router>
    }
}
