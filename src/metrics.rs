//! Prometheus metrics: sockets connected, events emitted by name, HTTP requests by route and
//! status. One registry per server instance (no global state), rendered at `GET /metrics`.

use std::sync::Mutex;

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

/// The server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    sockets: Gauge,
    events: Family<EventLabels, Counter>,
    http: Family<HttpLabels, Counter>,
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
        Metrics {
            registry: Mutex::new(registry),
            sockets,
            events,
            http,
        }
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

    pub fn http_request(&self, method: &str, route: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
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
