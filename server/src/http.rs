//! The axum application: operational routes, the Leptos app and static files.

use std::{path::Path, sync::Arc, time::Duration};

use app::{shell, App};
use axum::{extract::FromRef, http::StatusCode, middleware, routing::get, Router};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};

use crate::{
    api::{self, ApiState},
    auth::{self, Auth},
    config::Config,
    metrics::Metrics,
    ops,
    store::Store,
};

/// Largest request body accepted, except on the batch routes below.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Batch submissions (10,000 jobs) may be larger.
pub const MAX_BATCH_BODY_BYTES: usize = 32 * 1024 * 1024;

fn body_limit_for(path: &str) -> usize {
    if path == "/api/v1/jobs" || path == "/api/v1/workflows" {
        MAX_BATCH_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// Refuses a declared oversized body before any handler reads it; the
/// streaming limit below catches bodies that do not declare a length.
async fn body_limit(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = body_limit_for(req.uri().path());
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        let body = serde_json::json!({ "error": format!("request body over the {limit}-byte limit") });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
    }
    next.run(req).await
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub node_id: Arc<str>,
    pub auth: Arc<Auth>,
    pub engine: Arc<crate::scheduler::engine::Engine>,
    pub llm: Arc<crate::llm::router::Router>,
    pub meetmind: Arc<crate::meetmind::MeetMind>,
    pub dashboard: Arc<crate::dashboard::DashboardHub>,
}

/// Leptos settings derived from our configuration rather than cargo-leptos'
/// environment, so a binary started by hand finds its site.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("meetmind")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        // Hashed asset names when the build wrote them (cargo leptos build
        // does); a binary built by plain cargo serves the plain names.
        .hash_files(crate::pwa::hash_file().is_some())
        .env(Env::PROD)
        .build()
}

/// Warns early when the wasm bundle is missing: the pages would render but
/// never become interactive.
pub fn check_site(options: &LeptosOptions) {
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let wasm = pkg.join("meetmind.wasm");
    let found = wasm.exists()
        || std::fs::read_dir(&pkg).is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".wasm")));
    if !found {
        tracing::warn!(path = %wasm.display(), "site bundle not found; build it with `cargo leptos build` or set MEETMIND_SITE_ROOT");
    }
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let auth_service: Arc<dyn app::services::AuthService> = state.auth.clone();
    let llm_service: Arc<dyn app::services::LlmService> = state.llm.clone();
    let interview_service: Arc<dyn app::services::InterviewService> = state.meetmind.clone();
    let context = move || {
        leptos::prelude::provide_context(auth_service.clone());
        leptos::prelude::provide_context(llm_service.clone());
        leptos::prelude::provide_context(interview_service.clone());
    };
    let api = api::router(ApiState {
        auth: state.auth.clone(),
        engine: state.engine.clone(),
        llm: state.llm.clone(),
        meetmind: state.meetmind.clone(),
        dashboard: state.dashboard.clone(),
    });
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/sw.js", get(crate::pwa::service_worker))
        .route("/offline", get(crate::pwa::offline))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .leptos_routes_with_context(&state, routes, context, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone())
        .merge(api)
        // Enforcement in one place: every route, page and server function.
        .layer(middleware::from_fn_with_state(state.auth.clone(), auth::middleware::guard))
        .layer(RequestBodyLimitLayer::new(MAX_BATCH_BODY_BYTES))
        .layer(middleware::from_fn(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::track))
        .layer(TraceLayer::new_for_http())
}
