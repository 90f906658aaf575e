//! What every request meets before the router and the Socket.IO gateway: CORS for browser
//! front ends served from other origins, and the gate of the Socket.IO endpoint.
//!
//! - **CORS** (`--cors-origin`, none by default): the listed origins, exactly, may call the
//!   API and the Socket.IO polling transport from a browser; a preflight is answered with the
//!   allowed methods and headers (`Authorization`, `Content-Type`, `Idempotency-Key`,
//!   `X-Request-Id`), and `X-Event-Seq`, `Retry-After` and `X-Request-Id` are exposed to the
//!   page. Bearer tokens travel in a header,
//!   so no credentials (cookies) are allowed.
//! - **Websocket origins**: when the list is set, a websocket upgrade whose `Origin` is neither
//!   listed nor this server's own (the embedded web app) is refused with 403. A client that
//!   sends no `Origin` (not a browser) is not concerned.
//! - **Handshakes while storage is out**: a new Engine.IO session (a request to `/socket.io/`
//!   without a `sid`) answers 503 with `Retry-After` while this node cannot read the event log.
//!   socket.io-client retries a failed handshake by itself; after a Socket.IO `connect_error`
//!   it would not.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::{ErrorMessage, RETRY_AFTER_SECS, error_body};
use crate::events::delivery::LogHealth;

use super::forwarded::ClientAddr;

/// The header that makes a POST idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header that carries the latest event `seq` of an answer.
pub const EVENT_SEQ: &str = "x-event-seq";
/// The header that marks the replayed answer of an idempotent POST.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Checks one `--cors-origin`: `scheme://host[:port]`, as a browser sends it in `Origin`.
pub fn parse_origin(origin: &str) -> Result<HeaderValue, String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("CORS origin {origin:?} must start with http:// or https://"))?;
    let valid_host = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid_host {
        return Err(format!(
            "CORS origin {origin:?} must be scheme://host[:port], without a path or a trailing slash"
        ));
    }
    HeaderValue::from_str(origin).map_err(|_| format!("CORS origin {origin:?} is not valid"))
}

/// The CORS layer for the origins (none: no CORS header is ever sent).
pub fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(IDEMPOTENCY_KEY),
            HeaderName::from_static(super::access::X_REQUEST_ID),
        ])
        .expose_headers([
            HeaderName::from_static(EVENT_SEQ),
            header::RETRY_AFTER,
            HeaderName::from_static(IDEMPOTENT_REPLAYED),
            HeaderName::from_static(super::access::X_REQUEST_ID),
        ])
        .max_age(Duration::from_secs(600))
}

/// What the Socket.IO gate needs.
#[derive(Clone)]
pub struct Gate {
    pub origins: Arc<Vec<HeaderValue>>,
    pub health: Arc<LogHealth>,
}

/// The gate of `/socket.io/`: websocket origins and handshakes while storage is out.
pub async fn socket_gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/socket.io/") {
        return next.run(request).await;
    }
    let headers = request.headers();
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade
        && !gate.origins.is_empty()
        && let Some(origin) = headers.get(header::ORIGIN)
        && !gate.origins.iter().any(|allowed| allowed == origin)
        && !same_origin(origin, reached_host(&request))
    {
        return error_body(
            StatusCode::FORBIDDEN,
            ErrorMessage::One("origin not allowed".into()),
        );
    }
    let handshake = !request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair.starts_with("sid="));
    if handshake && !gate.health.is_ok() {
        let mut response = error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorMessage::One("storage unavailable, try again shortly".into()),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
        return response;
    }
    next.run(request).await.into_response()
}

/// The host the client reached: a trusted proxy's `X-Forwarded-Host`, else `Host`.
fn reached_host(request: &Request) -> Option<&str> {
    match request.extensions().get::<ClientAddr>() {
        Some(client) => client.host.as_deref(),
        None => request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok()),
    }
}

/// Whether `Origin` names the host the request was sent to (the server's own web app).
fn same_origin(origin: &HeaderValue, host: Option<&str>) -> bool {
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else {
        return false;
    };
    origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_a_scheme_and_a_host() {
        assert!(parse_origin("https://clinica.example").is_ok());
        assert!(parse_origin("http://127.0.0.1:5173").is_ok());
        assert!(parse_origin("https://[::1]:8443").is_ok());
        assert!(parse_origin("clinica.example").is_err());
        assert!(parse_origin("https://clinica.example/").is_err());
        assert!(parse_origin("https://clinica.example/app").is_err());
        assert!(parse_origin("https://").is_err());
        assert!(parse_origin("*").is_err());
    }

    #[test]
    fn the_same_origin_is_the_host_the_request_was_sent_to() {
        let host = "127.0.0.1:3000";
        assert!(same_origin(
            &HeaderValue::from_static("http://127.0.0.1:3000"),
            Some(host)
        ));
        assert!(!same_origin(
            &HeaderValue::from_static("http://127.0.0.1:3001"),
            Some(host)
        ));
        assert!(!same_origin(
            &HeaderValue::from_static("http://127.0.0.1:3000"),
            None
        ));
    }
}
