//! The access log and the request id: one line per request, at `info` under the target
//! `fila::access`, with the method, the matched route (never the raw path: a query string can
//! carry a patient's name), the status (499 when the client left before the answer), the
//! duration to the response's head, the client's address (behind a trusted proxy, the one it
//! forwarded) and the request's id.
//!
//! The id is the request's `X-Request-Id` when it is sane (1 to 64 letters, digits, `-`, `_`,
//! `.`), so a proxy's id carries through; else a new one. It is answered in `X-Request-Id`,
//! in every error body's `requestId`, and carried by the request's span (with the account id,
//! once the token is checked), so every log line of the request can be found by it.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::http::{Extensions, HeaderValue, Request};
use axum::response::Response;
use rand::RngCore;
use tracing::Instrument;

/// The request id's header, read and answered.
pub const X_REQUEST_ID: &str = "x-request-id";

tokio::task_local! {
    /// The id of the request being answered.
    static REQUEST_ID: Arc<str>;
}

/// The id of the request this task is answering, if any (error bodies carry it).
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.to_string()).ok()
}

/// What the layers inside learn of a request, for its access line.
#[derive(Debug, Default)]
struct Noted {
    client: OnceLock<IpAddr>,
    route: OnceLock<String>,
    account_id: OnceLock<i64>,
}

/// The request's resolved client (`http::forwarded`).
pub fn note_client(extensions: &Extensions, ip: IpAddr) {
    if let Some(noted) = extensions.get::<Arc<Noted>>() {
        let _ = noted.client.set(ip);
    }
}

/// The route template that matched the request.
pub fn note_route(extensions: &Extensions, route: &str) {
    if let Some(noted) = extensions.get::<Arc<Noted>>() {
        let _ = noted.route.set(route.to_string());
    }
}

/// The account whose token the request carries: on its span and its access line.
pub fn note_account(extensions: &Extensions, account_id: i64) {
    tracing::Span::current().record("account_id", account_id);
    if let Some(noted) = extensions.get::<Arc<Noted>>() {
        let _ = noted.account_id.set(account_id);
    }
}

/// A request id as a client or proxy may send it.
fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 64 random bits in hex.
fn new_id() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The status logged for a request whose client went away before its answer (nginx's
/// "client closed request").
pub const CLIENT_CLOSED: u16 = 499;

/// A request being answered: writes its access line once, with its status, or with
/// [`CLIENT_CLOSED`] when it is dropped unanswered (the connection closed under it).
struct Line {
    started: Instant,
    id: Arc<str>,
    method: &'static str,
    socket_io: bool,
    peer: IpAddr,
    noted: Arc<Noted>,
    span: tracing::Span,
    status: Option<u16>,
}

impl Drop for Line {
    fn drop(&mut self) {
        let route = match self.noted.route.get() {
            Some(route) => route.as_str(),
            None if self.socket_io => "/socket.io/",
            None => "unmatched",
        };
        let client = self.noted.client.get().copied().unwrap_or(self.peer);
        let duration_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        self.span.in_scope(|| {
            tracing::info!(
                target: "fila::access",
                method = %self.method,
                route = %route,
                status = self.status.unwrap_or(CLIENT_CLOSED),
                duration_ms,
                client = %client,
                request_id = %self.id,
                account_id = self.noted.account_id.get().copied(),
                "request"
            );
        });
    }
}

/// Answers `request` with `respond` inside its span and request id, then writes its access
/// line. `peer` is the TCP peer, the client when no layer resolved another.
pub async fn record<B, F, Fut>(mut request: Request<B>, peer: SocketAddr, respond: F) -> Response
where
    F: FnOnce(Request<B>) -> Fut,
    Fut: Future<Output = Response>,
{
    let id: Arc<str> = match request
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        Some(id) if sane(id) => id.into(),
        _ => new_id().into(),
    };
    let noted = Arc::new(Noted::default());
    request.extensions_mut().insert(noted.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        account_id = tracing::field::Empty
    );
    let mut line = Line {
        started: Instant::now(),
        id: id.clone(),
        method: crate::metrics::method_label(request.method()),
        socket_io: request.uri().path().starts_with("/socket.io/"),
        peer: peer.ip(),
        noted,
        span: span.clone(),
        status: None,
    };
    let mut response = REQUEST_ID
        .scope(id.clone(), respond(request))
        .instrument(span)
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    line.status = Some(response.status().as_u16());
    drop(line);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        for kept in ["a", "4f9c2a7e1b3d5f60", "req-1.2_3", &"x".repeat(64)] {
            assert!(sane(kept), "{kept}");
        }
        for refused in [
            "",
            "a b",
            "a\"b",
            "ação",
            "id\n",
            &"x".repeat(65),
            "<script>",
        ] {
            assert!(!sane(refused), "{refused}");
        }
        let made = new_id();
        assert!(sane(&made) && made.len() == 16, "{made}");
    }
}
