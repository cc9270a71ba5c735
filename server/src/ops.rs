//! Operational endpoints: liveness, readiness and metrics.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use serde_json::json;

use crate::http::AppState;

/// Liveness: the process answers. Never touches the database, so a slow
/// database does not get a healthy node restarted.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    Json(json!({
        "status": "ok",
        "node": &*state.node_id,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// Readiness: the database answers and every embedded migration is applied.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = backend_name(&state);
    match tokio::time::timeout(std::time::Duration::from_secs(3), state.store.readiness()).await {
        Ok(Ok(r)) if r.pending_migrations.is_empty() => (
            StatusCode::OK,
            Json(json!({"status": "ready", "database": "ok", "backend": backend, "migrations": "applied"})),
        ),
        Ok(Ok(r)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "database": "ok", "backend": backend,
                        "migrations": "pending", "pending": r.pending_migrations})),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready", "database": "unreachable", "backend": backend})),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "database": "timeout", "backend": backend})),
        ),
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = state.metrics.render(backend_name(&state), state.store.pool_stats());
    body.push_str(&state.engine.stats.render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

fn backend_name(state: &AppState) -> &'static str {
    match state.store.backend() {
        crate::config::Backend::Sqlite => "sqlite",
        crate::config::Backend::Postgres => "postgres",
    }
}
