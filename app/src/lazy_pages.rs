//! Pages load lazily, in six groups. Built with `cargo leptos build
//! --split`, each group's code lands in wasm chunks of its own, fetched on
//! the first visit to one of its pages (the server-rendered page preloads
//! what its route needs). The main bundle keeps the shell, the router, the
//! sign-in pages and what they use. Without `--split` (tests, the server)
//! these are ordinary routes.
//!
//! Groups rather than one split point per page: the splitter makes a chunk
//! for every set of groups that share code, so the file count grows fast.
//! With one split point per page a page needed over a hundred requests and
//! took a second to hydrate on loopback; with ten groups, 55-101. With six,
//! a page loads the main module and 16-27 chunks. Which pages share a group
//! was measured (BENCHMARKS.md, "Site bundle").

use leptos::prelude::*;
use leptos_router::ChooseView;

use crate::admin::{AuditPage, TokensPage, UsersPage};
use crate::dashboard::Dashboard;
use crate::interview_pages::{InterviewsPage, LivePage, ReportPage, RoomPage};
use crate::job_pages::{DlqPage, JobPage, JobsPage};
use crate::providers::ProvidersPage;
use crate::queue_pages::{QueuesPage, SchedulesPage};
use crate::workflow_pages::{WorkflowEditorPage, WorkflowPage, WorkflowsPage};

/// Declares the pages, grouped by the wasm chunk group that holds them:
/// `group_fn, its_preload: [Page => Component, …]`. Each group becomes one
/// `#[lazy]` split point; `Page` is the router's view for every lazy route.
macro_rules! page_groups {
    ($($group:ident, $preload:ident: [$($page:ident => $view:ident),+ $(,)?])*) => {
        /// Every lazily loaded page.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Page {
            $($($page,)+)*
        }

        $(
            #[leptos::lazy]
            fn $group(page: Page) -> AnyView {
                match page {
                    $(Page::$page => view! { <$view/> }.into_any(),)+
                    // `choose` only sends a group its own pages.
                    #[allow(unreachable_patterns)]
                    _ => ().into_any(),
                }
            }
        )*

        /// One value type for all lazy routes, not a `Lazy<T>` per page: the
        /// router's code is built once per path shape instead of once per page.
        impl ChooseView for Page {
            async fn choose(self) -> AnyView {
                match self {
                    $($(Page::$page)|+ => $group(self).await,)*
                }
            }

            // The router hydrates a page synchronously once `preload` is
            // done, so the group's chunk must have arrived by then. Pages
            // load their own data.
            async fn preload(&self) {
                #[cfg(target_arch = "wasm32")]
                match self {
                    $($(Page::$page)|+ => $preload().await,)*
                }
            }
        }
    };
}

page_groups! {
    dashboard_view, __preload_dashboard_view: [Dashboard => Dashboard]
    admin_view, __preload_admin_view: [
        Jobs => JobsPage, Job => JobPage, Dlq => DlqPage, Queues => QueuesPage, Schedules => SchedulesPage,
        Workflows => WorkflowsPage, Workflow => WorkflowPage, WorkflowEditor => WorkflowEditorPage,
        Providers => ProvidersPage, Users => UsersPage, Tokens => TokensPage, Audit => AuditPage,
    ]
    interview_view, __preload_interview_view: [Interviews => InterviewsPage]
    live_view, __preload_live_view: [Live => LivePage]
    report_view, __preload_report_view: [Report => ReportPage]
    room_view, __preload_room_view: [Room => RoomPage]
}
