//! Prometheus metrics: sockets connected, events emitted by name, HTTP requests by method,
//! route and status, HTTP connections. One registry per server instance (no global state),
//! rendered at `GET /metrics`.
//!
//! No label takes a client's string as it came: a method outside the standard ones is counted
//! as `OTHER`, a path no route matched as `unmatched`, so the body has a fixed number of
//! series however many odd requests arrive.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

/// Counts the sockets connected now, read at each scrape.
type SocketCount = Box<dyn Fn() -> i64 + Send + Sync>;

/// The server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    sockets: Gauge,
    socket_count: Mutex<Option<SocketCount>>,
    events: Family<EventLabels, Counter>,
    http: Family<HttpLabels, Counter>,
    connections: Gauge,
    refused: Counter,
    recoveries: Family<RecoveryLabels, Counter>,
    replayed: Counter,
    on_main_port: AtomicBool,
}

/// How a reconnecting socket's recovery ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecoveryLabels {
    result: &'static str,
}

/// The label of a request method: the standard ones as they are, anything else `OTHER`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("fila");
        let sockets = Gauge::default();
        let events = Family::<EventLabels, Counter>::default();
        let http = Family::<HttpLabels, Counter>::default();
        let connections = Gauge::default();
        let refused = Counter::default();
        registry.register(
            "sockets_connected",
            "Socket.IO sockets connected now",
            sockets.clone(),
        );
        registry.register(
            "events_emitted",
            "Events broadcast, by name",
            events.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests, by route and status",
            http.clone(),
        );
        registry.register(
            "http_connections_open",
            "HTTP connections open now (websockets included)",
            connections.clone(),
        );
        registry.register(
            "http_connections_refused",
            "Connections closed at once: over the cap and its reserve",
            refused.clone(),
        );
        let recoveries = Family::<RecoveryLabels, Counter>::default();
        registry.register(
            "socket_recoveries",
            "Reconnecting sockets that sent a recovery pid: recovered, or not (unknown or foreign pid, offset past retention)",
            recoveries.clone(),
        );
        let replayed = Counter::default();
        registry.register(
            "socket_recovery_replayed_events",
            "Events replayed from the log to recovered sockets",
            replayed.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            recoveries,
            replayed,
            sockets,
            socket_count: Mutex::new(None),
            events,
            http,
            connections,
            refused,
            on_main_port: AtomicBool::new(true),
        }
    }

    /// Reads `fila_sockets_connected` from the gateway's own table at each scrape, so it
    /// cannot drift from the sockets really connected.
    pub fn count_sockets_with(&self, count: impl Fn() -> i64 + Send + Sync + 'static) {
        *self
            .socket_count
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(count));
    }

    /// Whether `GET /metrics` answers on the main port (`--metrics-on-main-port`).
    pub fn on_main_port(&self) -> bool {
        self.on_main_port.load(Ordering::Relaxed)
    }

    pub fn set_on_main_port(&self, on: bool) {
        self.on_main_port.store(on, Ordering::Relaxed);
    }

    pub fn connection_opened(&self) {
        self.connections.inc();
    }

    pub fn connection_closed(&self) {
        self.connections.dec();
    }

    pub fn connection_refused(&self) {
        self.refused.inc();
    }

    /// A reconnecting socket asked to recover its session: `recovered` or not.
    pub fn socket_recovery(&self, recovered: bool) {
        let result = if recovered { "recovered" } else { "refused" };
        self.recoveries
            .get_or_create(&RecoveryLabels { result })
            .inc();
    }

    /// Events replayed to recovered sockets.
    pub fn events_replayed(&self, count: u64) {
        self.replayed.inc_by(count);
    }

    pub fn socket_connected(&self) {
        self.sockets.inc();
    }

    pub fn socket_disconnected(&self) {
        self.sockets.dec();
    }

    pub fn event_emitted(&self, event: &str) {
        self.events
            .get_or_create(&EventLabels {
                event: event.to_string(),
            })
            .inc();
    }

    /// Counts a request; `route` must be a matched route pattern or `unmatched`.
    pub fn http_request(&self, method: &axum::http::Method, route: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                method: method_label(method).to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        if let Some(count) = self
            .socket_count
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
        {
            self.sockets.set(count());
        }
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_methods_fold_into_one_series() {
        let metrics = Metrics::new();
        for i in 0..500 {
            let method = axum::http::Method::from_bytes(format!("X{i:0>900}").as_bytes()).unwrap();
            metrics.http_request(&method, "unmatched", 404);
        }
        let text = metrics.render();
        assert!(
            text.contains(r#"method="OTHER",route="unmatched",status="404"} 500"#),
            "{text}"
        );
        assert!(text.len() < 2_000, "{} bytes", text.len());
    }
}
