//! Operations endpoints (no token): liveness, readiness, metrics.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::error::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> impl IntoResponse {
    ApiJson(json!({"status": "ok"}))
}

/// The database answers and this node can read the event log (so its sockets are not behind).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready"), (status = 503, description = "Database unreachable, or the event log unreadable")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if !state.log_health.is_ok() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            ApiJson(
                json!({"status": "unavailable", "database": "unreachable", "events": "stalled"}),
            ),
        );
    }
    if state.store.ping().await {
        (
            StatusCode::OK,
            ApiJson(json!({"status": "ready", "database": "ok"})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            ApiJson(json!({"status": "unavailable", "database": "unreachable"})),
        )
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
