//! Operations endpoints (no token): liveness, readiness, metrics.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiJson, ErrorMessage, StorageFailure, error_body};
use crate::metrics::Metrics;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The answer of `/healthz` and `/readyz`: `{"status":"ok"}`, `{"status":"ready","database":"ok"}`
/// or `{"status":"unavailable","database":"unreachable"}` (with `"events":"stalled"` when the
/// event log is unreadable, `"storage":"full"` while writes fail for a storage fault).
#[derive(Debug, Serialize, ToSchema)]
pub struct Probe {
    /// `ok`, `ready` or `unavailable`.
    status: &'static str,
    /// `ok` or `unreachable` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    database: Option<&'static str>,
    /// `stalled` when this node cannot read the event log.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    events: Option<&'static str>,
    /// `full`, `read-only` or `failing` while writes fail for a storage fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    storage: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(get, operation_id = "getHealth", path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = Probe)))]
pub async fn healthz() -> impl IntoResponse {
    ApiJson(Probe {
        status: "ok",
        database: None,
        events: None,
        storage: None,
    })
}

/// The database answers, takes writes (no storage fault), and this node can read the event
/// log (so its sockets are not behind).
#[utoipa::path(get, operation_id = "getReadiness", path = "/readyz", tag = "operations", responses((status = 200, description = "Ready", body = Probe),
    (status = 503, description = "Database unreachable, writes failing for a full, read-only or failing disk, or the event log unreadable", body = Probe)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let unavailable = |events| Probe {
        status: "unavailable",
        database: Some("unreachable"),
        events,
        storage: None,
    };
    if let Some(fault) = state.store.storage_fault() {
        let faulty = Probe {
            status: "unavailable",
            database: Some("ok"),
            events: None,
            storage: Some(fault.name()),
        };
        return (StatusCode::SERVICE_UNAVAILABLE, ApiJson(faulty));
    }
    if !state.log_health.is_ok() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            ApiJson(unavailable(Some("stalled"))),
        );
    }
    if state.store.ping().await {
        let ready = Probe {
            status: "ready",
            database: Some("ok"),
            events: None,
            storage: None,
        };
        (StatusCode::OK, ApiJson(ready))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, ApiJson(unavailable(None)))
    }
}

/// Records in the store's health every request that failed for a storage fault (the answer
/// carries a [`StorageFailure`]): `/readyz` then answers 503 until a probe write succeeds.
pub async fn watch_storage(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if let Some(failure) = response.extensions().get::<StorageFailure>() {
        state.store.storage_failed(failure.fault, &failure.detail);
    }
    response
}

/// Prometheus text exposition (404 when `--metrics-on-main-port false` moved it to
/// `--metrics-listen` only).
#[utoipa::path(get, operation_id = "getMetrics", path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain"), (status = 404, description = "Served on another address")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if !state.metrics.on_main_port() {
        return error_body(
            StatusCode::NOT_FOUND,
            ErrorMessage::One("Cannot find this route".into()),
        );
    }
    render(&state.metrics)
}

fn render(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

/// The router of `--metrics-listen`: `GET /metrics` alone.
pub fn metrics_only(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(async move || render(&metrics)))
}
