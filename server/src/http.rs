//! The axum application: operational routes, the Leptos app and static files.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use app::{shell, App};
use axum::{
    extract::{DefaultBodyLimit, FromRef},
    http::StatusCode,
    middleware,
    routing::get,
    Router,
};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{catch_panic::CatchPanicLayer, timeout::TimeoutLayer, trace::TraceLayer};

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

/// Holds each request to its path's body limit: a declared oversized body is
/// refused before any handler runs, and a body without a declared length
/// (chunked) is counted as it is read and cut off past the limit. Either way
/// the answer is 413 with a JSON error.
async fn body_limit(req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    use axum::body::HttpBody as _;
    let limit = body_limit_for(req.uri().path());
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return body_too_large(limit);
    }
    // A body whose exact length is known and within the limit (hyper holds
    // it to its Content-Length) needs no counting.
    let within = req.body().size_hint().upper().is_some_and(|n| n <= limit as u64);
    let over = Arc::new(AtomicBool::new(false));
    let req = if within { req } else { req.map(|body| limited_body(body, limit, over.clone())) };
    let res = next.run(req).await;
    if over.load(Ordering::Relaxed) {
        // Whatever the handler made of the cut-off body, the answer is 413.
        return body_too_large(limit);
    }
    res
}

/// The body, failing once more than `limit` bytes have been read; `over`
/// records that it did.
fn limited_body(body: axum::body::Body, limit: usize, over: Arc<AtomicBool>) -> axum::body::Body {
    use futures_util::StreamExt as _;
    type Chunk = Result<axum::body::Bytes, axum::Error>;
    let mut seen: usize = 0;
    let counted = body.into_data_stream().map(move |chunk: Chunk| -> Chunk {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            over.store(true, Ordering::Relaxed);
            return Err(axum::Error::new(format!("request body over the {limit}-byte limit")));
        }
        Ok(chunk)
    });
    axum::body::Body::from_stream(counted)
}

/// A handler that panicked answers 500 with a JSON error, like any other
/// failure, instead of dropping the connection; the request's metrics still
/// close. No panic is expected on user input: this is the net under it.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a non-text panic");
    tracing::error!(panic = %what, "a request handler panicked");
    let body = serde_json::json!({ "error": "internal error; see the server log" });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

fn body_too_large(limit: usize) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({ "error": format!("request body over the {limit}-byte limit") });
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

/// The request span: method and a redacted path. The full URI would put
/// candidate room tokens (`/room/{token}`, `/api/v1/room/{token}/…`) and the
/// first-admin setup token (`/setup?token=…`) into the logs.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %redacted_path(req.uri().path()),
        version = ?req.version()
    )
}

/// A request path fit for logs: no query string, and the segment after
/// `room` (a candidate's room token) replaced by `{token}`.
pub fn redacted_path(path: &str) -> String {
    let path = path.split(|c: char| c == '?' || c == '#').next().unwrap_or("");
    let mut out = String::with_capacity(path.len());
    let mut after_room = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if after_room && !segment.is_empty() { "{token}" } else { segment });
        after_room = segment == "room";
    }
    out
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
    pub dashboard: Arc<crate::sse::DashboardHub>,
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
        || std::fs::read_dir(&pkg)
            .is_ok_and(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".wasm")));
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
    let app = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/sw.js", get(crate::pwa::service_worker))
        .route("/offline", get(crate::pwa::offline))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .leptos_routes_with_context(&state, routes, context, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state.clone())
        // The server functions' arguments; the REST API checks its own.
        .layer(middleware::from_fn(crate::server_fn_args::refuse_nul_arguments))
        .merge(api)
        // Enforcement in one place: every route, page and server function.
        .layer(middleware::from_fn_with_state(state.auth.clone(), auth::middleware::guard));
    outer_layers(app, state.metrics.clone())
}

/// What wraps every request outside access control: body limits, the
/// request timeout, the panic net, metrics and the request span. Its own
/// function so the tests put a route of theirs under the very same stack.
fn outer_layers(app: Router, metrics: Arc<Metrics>) -> Router {
    app
        // axum's own default (2 MB, applied inside `Json`) would refuse batch
        // bodies the per-path limit allows; `body_limit` is the one that holds.
        .layer(DefaultBodyLimit::max(MAX_BATCH_BODY_BYTES))
        .layer(middleware::from_fn(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(metrics, crate::metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_hide_room_tokens_and_query_strings() {
        let p = redacted_path("/api/v1/room/SECRET123/segments");
        assert!(!p.contains("SECRET123"), "{p}");
        assert_eq!(p, "/api/v1/room/{token}/segments");
        assert_eq!(redacted_path("/room/SECRET123"), "/room/{token}");
        assert_eq!(redacted_path("/setup?token=abc"), "/setup");
        assert_eq!(redacted_path("/jobs/42?state=failed"), "/jobs/42");
        assert_eq!(redacted_path("/api/v1/interviews/7/events"), "/api/v1/interviews/7/events");
        assert_eq!(redacted_path("/"), "/");
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_json() {
        use tower::ServiceExt as _;
        let app: Router = Router::new().route(
            "/boom",
            get(|| async {
                let boom = true;
                if boom {
                    panic!("boom");
                }
                "never"
            }),
        );
        // The stack `router()` uses, so dropping the panic net fails this.
        let app = outer_layers(app, Arc::new(Metrics::default()));
        let req = axum::http::Request::builder().uri("/boom").body(axum::body::Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(body["error"].as_str().is_some_and(|e| e.contains("internal error")), "{body}");
    }

    #[test]
    fn batch_routes_get_the_larger_limit() {
        assert_eq!(body_limit_for("/api/v1/jobs"), MAX_BATCH_BODY_BYTES);
        assert_eq!(body_limit_for("/api/v1/workflows"), MAX_BATCH_BODY_BYTES);
        assert_eq!(body_limit_for("/api/v1/users"), MAX_BODY_BYTES);
    }
}
