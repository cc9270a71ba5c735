//! Pages load lazily, in four groups. Built with `cargo leptos build
//! --split`, each group's code lands in wasm chunks of its own, fetched on
//! the first visit to one of its pages (the server-rendered page preloads
//! what its route needs). The main bundle keeps the shell, the router, the
//! sign-in pages and what they use. Without `--split` (tests, the server)
//! these are ordinary routes.
//!
//! Groups rather than one split point per page: with one per page the
//! splitter cut the shared code into ~400 chunks, and the dashboard's 124
//! requests took a second to hydrate on loopback. With four split points a
//! page loads the main module and at most eight chunks. Which pages share a
//! group was measured (BENCHMARKS.md): some cuts move shared code into the
//! main module, which every page loads.

use std::future::Future;

use leptos::prelude::*;
use leptos_router::LazyRoute;

use crate::admin::{AuditPage, TokensPage, UsersPage};
use crate::dashboard::Dashboard;
use crate::interview_pages::{InterviewsPage, LivePage, ReportPage, RoomPage};
use crate::job_pages::{DlqPage, JobPage, JobsPage};
use crate::providers::ProvidersPage;
use crate::queue_pages::{QueuesPage, SchedulesPage};
use crate::workflow_pages::{WorkflowEditorPage, WorkflowPage, WorkflowsPage};

/// The scheduler's and the administrators' pages (one chunk group).
#[derive(Clone, Copy)]
pub enum AdminPage {
    Jobs,
    Job,
    Dlq,
    Queues,
    Schedules,
    Workflows,
    WorkflowEditor,
    Workflow,
    Providers,
    Users,
    Tokens,
    Audit,
}

/// The interviewer's screens (one chunk group).
#[derive(Clone, Copy)]
pub enum InterviewPage {
    List,
    Live,
    Report,
}

/// The argument only gives every group the same shape.
#[leptos::lazy]
fn dashboard_view(_page: ()) -> AnyView {
    view! { <Dashboard/> }.into_any()
}

#[leptos::lazy]
fn admin_view(page: AdminPage) -> AnyView {
    match page {
        AdminPage::Jobs => view! { <JobsPage/> }.into_any(),
        AdminPage::Job => view! { <JobPage/> }.into_any(),
        AdminPage::Dlq => view! { <DlqPage/> }.into_any(),
        AdminPage::Queues => view! { <QueuesPage/> }.into_any(),
        AdminPage::Schedules => view! { <SchedulesPage/> }.into_any(),
        AdminPage::Workflows => view! { <WorkflowsPage/> }.into_any(),
        AdminPage::WorkflowEditor => view! { <WorkflowEditorPage/> }.into_any(),
        AdminPage::Workflow => view! { <WorkflowPage/> }.into_any(),
        AdminPage::Providers => view! { <ProvidersPage/> }.into_any(),
        AdminPage::Users => view! { <UsersPage/> }.into_any(),
        AdminPage::Tokens => view! { <TokensPage/> }.into_any(),
        AdminPage::Audit => view! { <AuditPage/> }.into_any(),
    }
}

#[leptos::lazy]
fn interview_view(page: InterviewPage) -> AnyView {
    match page {
        InterviewPage::List => view! { <InterviewsPage/> }.into_any(),
        InterviewPage::Live => view! { <LivePage/> }.into_any(),
        InterviewPage::Report => view! { <ReportPage/> }.into_any(),
    }
}

/// The candidate's room is a group of its own: candidates are outsiders on
/// any device, and alone it needs 59 KB on top of the main module instead
/// of the interviewer screens' 208 KB.
#[leptos::lazy]
fn room_view(_page: ()) -> AnyView {
    view! { <RoomPage/> }.into_any()
}

/// `Route => page` for one group's `loader` (and the `preload` function
/// `#[lazy]` made for it): a unit struct whose view is loaded lazily. Pages
/// load their own data, so `data()` has nothing to start.
macro_rules! lazy_routes {
    ($loader:ident, $preload:ident: $($route:ident => $page:expr),* $(,)?) => {$(
        pub struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> impl Future<Output = AnyView> {
                $loader($page)
            }

            // The router hydrates a page synchronously once `preload` is
            // done, so the chunk must have arrived by then.
            async fn preload() {
                #[cfg(target_arch = "wasm32")]
                $preload().await;
            }
        }
    )*};
}

lazy_routes! { dashboard_view, __preload_dashboard_view:
    DashboardRoute => (),
}

lazy_routes! { admin_view, __preload_admin_view:
    JobsRoute => AdminPage::Jobs,
    JobRoute => AdminPage::Job,
    DlqRoute => AdminPage::Dlq,
    QueuesRoute => AdminPage::Queues,
    SchedulesRoute => AdminPage::Schedules,
    WorkflowsRoute => AdminPage::Workflows,
    WorkflowEditorRoute => AdminPage::WorkflowEditor,
    WorkflowRoute => AdminPage::Workflow,
    ProvidersRoute => AdminPage::Providers,
    UsersRoute => AdminPage::Users,
    TokensRoute => AdminPage::Tokens,
    AuditRoute => AdminPage::Audit,
}

lazy_routes! { interview_view, __preload_interview_view:
    InterviewsRoute => InterviewPage::List,
    LiveRoute => InterviewPage::Live,
    ReportRoute => InterviewPage::Report,
}

lazy_routes! { room_view, __preload_room_view:
    RoomRoute => (),
}
