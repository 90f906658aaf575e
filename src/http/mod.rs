//! The HTTP edge: one `router()` per resource, merged here with the operations endpoints, the
//! OpenAPI and AsyncAPI documents, the metrics middleware and the web app.

pub mod access;
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

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tower_http::compression::CompressionLayer;

use crate::error::{DbErrorKind, ErrorMessage, error_body};
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
    let documents = openapi::router().route_layer(middleware::from_fn(note_route));
    api.merge(documents)
        .merge(web)
        .layer(middleware::map_response(security_headers))
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
    access::note_route(request.extensions(), "web");
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

/// The matched route template, or `unmatched`.
fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string())
}

/// Tells the access log which route matched.
async fn note_route(request: Request, next: Next) -> Response {
    access::note_route(request.extensions(), &route_of(&request));
    next.run(request).await
}

/// Counts requests by method, matched route and status, their duration, and the database
/// errors behind their answers.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = route_of(&request);
    access::note_route(request.extensions(), &route);
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    if let Some(DbErrorKind(kind)) = response.extensions().get::<DbErrorKind>() {
        state.metrics.db_error(kind);
    }
    state.metrics.http_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response.into_response()
}
