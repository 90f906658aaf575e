//! The HTTP edge: one `router()` per resource, merged here with the operations endpoints, the
//! OpenAPI and AsyncAPI documents, the metrics middleware and the web app.

mod account;
mod appointments;
mod asyncapi;
mod auth;
mod csv_export;
mod doctors;
pub mod edge;
mod events;
pub mod forwarded;
mod history;
pub mod idempotency;
pub mod openapi;
mod ops;
mod paging;
mod patients;
mod procedures;
mod reports;
mod self_checkin;
mod status;
mod status_link;
mod users;
pub mod web;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ErrorMessage, error_body};
use crate::state::AppState;

pub use crate::auth::throttle::SELF_CHECKIN_BURST;
pub use ops::metrics_only;
pub use paging::Page;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The whole HTTP application.
pub fn router(state: AppState, web: web::Source<'_>) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(account::router())
        .merge(procedures::router())
        .merge(doctors::router())
        .merge(patients::router())
        .merge(appointments::router())
        .merge(status::router())
        .merge(status_link::router())
        .merge(self_checkin::router())
        .merge(events::router())
        .merge(history::router())
        .merge(reports::router())
        .merge(users::router())
        .merge(ops::router())
        .merge(asyncapi::router())
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            ops::watch_storage,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state);
    let web = web::router(web)
        .layer(middleware::from_fn(web_app))
        .layer(CompressionLayer::new());
    api.merge(openapi::router())
        .merge(web)
        .layer(middleware::map_response(security_headers))
        .layer(TraceLayer::new_for_http().on_failure(log_failure))
}

/// A 5xx answer, logged as an error, except 503 and 507: those are answers to a state (a
/// database unreachable, a storage fault) logged once when it starts, not once per request.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let expected = matches!(class, ServerErrorsFailureClass::StatusCode(status)
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::INSUFFICIENT_STORAGE);
    if !expected {
        tracing::error!(classification = %class, latency_ms = latency.as_millis(), "response failed");
    }
}

/// The web app's Content-Security-Policy: its own scripts, styles, images and sockets only
/// (the favicon is a `data:` SVG), never framed (the TV panel included).
pub const WEB_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Every answer: no MIME sniffing, no referrer sent out, no framing.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The web app's files with its CSP; source maps are not served (the build makes none).
async fn web_app(request: Request, next: Next) -> Response {
    if request.uri().path().ends_with(".map") {
        return error_body(
            StatusCode::NOT_FOUND,
            ErrorMessage::One("Cannot find this file".into()),
        );
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(WEB_CSP),
    );
    response
}

async fn api_not_found() -> Response {
    error_body(
        StatusCode::NOT_FOUND,
        ErrorMessage::One("Cannot find this route".into()),
    )
}

/// Counts requests by method, matched route and status.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().clone();
    let response = next.run(request).await;
    state
        .metrics
        .http_request(&method, &route, response.status().as_u16());
    response.into_response()
}
