//! Prometheus metrics, rendered at `GET /metrics` in the text format (0.0.4) that
//! `promtool check metrics` accepts. One registry per server instance (no global state).
//!
//! - HTTP: requests by method, matched route and status; their duration by method and route;
//!   connections open and refused.
//! - Database: errors by kind, the pools' connections (idle, in use, max), and the waits for a
//!   connection (the pool's, and SQLite's writer turn).
//! - Sockets: connected, by transport; connection state recoveries and the events replayed.
//! - Events: emitted by name; the delivery lag from commit to emit; the event log's rows this
//!   node has not emitted yet and the age of the oldest; when it last read the log.
//! - The process (`process_*`, from `/proc`) and `fila_build_info{version}`.
//!
//! No label takes a client's string as it came: a method outside the standard ones is counted
//! as `OTHER`, a path no route matched as `unmatched`, so the body has a fixed number of
//! series however many odd requests arrive.

mod exposition;
mod process;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use process::ProcessStats;

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

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// How a reconnecting socket's recovery ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecoveryLabels {
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;
type GaugeF64 = Gauge<f64, AtomicU64>;

/// The kinds of database error counted (see `crate::store::error_kind`), all shown from zero.
pub const DB_ERROR_KINDS: [&str; 9] = [
    "connection",
    "storage",
    "pool_timeout",
    "pool_closed",
    "busy",
    "constraint",
    "database",
    "decode",
    "other",
];

/// Seconds, from 5 ms to a minute: a request, a commit-to-emit lag, a wait for a connection.
const SECONDS_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn seconds_histogram() -> Histogram {
    Histogram::new(SECONDS_BUCKETS)
}

/// The sockets connected now, by transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketCounts {
    pub polling: i64,
    pub websocket: i64,
}

/// One connection pool as it is now.
#[derive(Debug, Clone, Copy)]
pub struct PoolState {
    /// `main` or `reports`.
    pub pool: &'static str,
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The waits for a database connection, by pool (`main`, `reports`, `writer`). The store
/// keeps one and times every wait into it; [`Metrics::show_wait_times`] exposes it.
#[derive(Debug, Clone)]
pub struct WaitTimes(Histograms<PoolLabels>);

impl Default for WaitTimes {
    fn default() -> Self {
        WaitTimes(Family::new_with_constructor(seconds_histogram))
    }
}

impl WaitTimes {
    pub fn observe(&self, pool: &'static str, waited: Duration) {
        self.0
            .get_or_create(&PoolLabels { pool })
            .observe(waited.as_secs_f64());
    }
}

/// Called before each scrape to bring the gauges read from elsewhere up to date.
type Watcher = Box<dyn Fn(&Metrics) + Send + Sync>;

/// The server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    watchers: Mutex<Vec<Watcher>>,
    sockets: Gauge,
    sockets_by_transport: Family<TransportLabels, Gauge>,
    events: Family<EventLabels, Counter>,
    http: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    connections: Gauge,
    refused: Counter,
    recoveries: Family<RecoveryLabels, Counter>,
    replayed: Counter,
    db_errors: Family<KindLabels, Counter>,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    delivery_lag: Histogram,
    unread_rows: Gauge,
    oldest_unread_age: GaugeF64,
    /// When the oldest row not emitted yet was committed (ms; 0: none).
    oldest_unread_at: AtomicI64,
    last_read: GaugeF64,
    on_main_port: AtomicBool,
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
        let metrics = Metrics {
            registry: Mutex::new(Registry::default()),
            watchers: Mutex::new(Vec::new()),
            sockets: Gauge::default(),
            sockets_by_transport: Family::default(),
            events: Family::default(),
            http: Family::default(),
            http_duration: Family::new_with_constructor(seconds_histogram),
            connections: Gauge::default(),
            refused: Counter::default(),
            recoveries: Family::default(),
            replayed: Counter::default(),
            db_errors: Family::default(),
            pool_connections: Family::default(),
            pool_max: Family::default(),
            delivery_lag: seconds_histogram(),
            unread_rows: Gauge::default(),
            oldest_unread_age: GaugeF64::default(),
            oldest_unread_at: AtomicI64::new(0),
            last_read: GaugeF64::default(),
            on_main_port: AtomicBool::new(true),
        };
        metrics.register_all();
        // Every series an alert may watch exists from the start, at zero.
        for transport in ["polling", "websocket"] {
            let _ = metrics
                .sockets_by_transport
                .get_or_create(&TransportLabels { transport });
        }
        for result in ["recovered", "refused"] {
            let _ = metrics.recoveries.get_or_create(&RecoveryLabels { result });
        }
        for kind in DB_ERROR_KINDS {
            let _ = metrics.db_errors.get_or_create(&KindLabels { kind });
        }
        for event in crate::events::ALLOWED {
            let _ = metrics.events.get_or_create(&EventLabels {
                event: event.to_string(),
            });
        }
        metrics
    }

    fn register_all(&self) {
        let mut top = self.lock_registry();
        top.register_collector(Box::new(process::ProcessCollector));
        let r = top.sub_registry_with_prefix("fila");
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("build_info", "The running version (always 1)", build);
        r.register(
            "sockets_connected",
            "Socket.IO sockets connected now",
            self.sockets.clone(),
        );
        r.register(
            "sockets_by_transport",
            "Socket.IO sockets connected now, by transport (polling or websocket)",
            self.sockets_by_transport.clone(),
        );
        r.register(
            "events_emitted",
            "Events broadcast, by name",
            self.events.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests, by route and status",
            self.http.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to the response's head), by method and route",
            self.http_duration.clone(),
        );
        r.register(
            "http_connections_open",
            "HTTP connections open now (websockets included)",
            self.connections.clone(),
        );
        r.register(
            "http_connections_refused",
            "Connections closed at once: over the cap and its reserve",
            self.refused.clone(),
        );
        r.register(
            "socket_recoveries",
            "Reconnecting sockets that sent a recovery pid: recovered, or not (unknown or foreign pid, offset past retention)",
            self.recoveries.clone(),
        );
        r.register(
            "socket_recovery_replayed_events",
            "Events replayed from the log to recovered sockets",
            self.replayed.clone(),
        );
        r.register(
            "db_errors",
            "Database errors met by requests, the socket handshake and the delivery, by kind",
            self.db_errors.clone(),
        );
        r.register(
            "db_pool_connections",
            "Connections of a database pool now, idle or in use",
            self.pool_connections.clone(),
        );
        r.register(
            "db_pool_max_connections",
            "The most connections a database pool opens",
            self.pool_max.clone(),
        );
        r.register(
            "event_delivery_lag_seconds",
            "From an event's commit to its emit to this node's sockets",
            self.delivery_lag.clone(),
        );
        r.register(
            "event_log_unread_rows",
            "Rows of the event log (of accounts with sockets here) this node has not emitted yet, at its last look",
            self.unread_rows.clone(),
        );
        r.register(
            "event_log_oldest_unread_age_seconds",
            "Age of the oldest event-log row this node has not emitted yet (0 when none)",
            self.oldest_unread_age.clone(),
        );
        r.register(
            "event_log_last_read_timestamp_seconds",
            "When this node last read the event log successfully (unix seconds)",
            self.last_read.clone(),
        );
    }

    fn lock_registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `watch` before each scrape (gauges read from elsewhere: sockets, pools).
    fn watch(&self, watch: impl Fn(&Metrics) + Send + Sync + 'static) {
        self.watchers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Box::new(watch));
    }

    /// Reads the sockets from the gateway's own table at each scrape, so the gauges cannot
    /// drift from the sockets really connected.
    pub fn count_sockets_with(&self, count: impl Fn() -> SocketCounts + Send + Sync + 'static) {
        self.watch(move |metrics| {
            let counts = count();
            metrics.sockets.set(counts.polling + counts.websocket);
            for (transport, value) in [("polling", counts.polling), ("websocket", counts.websocket)]
            {
                metrics
                    .sockets_by_transport
                    .get_or_create(&TransportLabels { transport })
                    .set(value);
            }
        });
    }

    /// Reads the database pools at each scrape.
    pub fn watch_pools(&self, pools: impl Fn() -> Vec<PoolState> + Send + Sync + 'static) {
        self.watch(move |metrics| {
            for pool in pools() {
                let idle = i64::from(pool.idle);
                let in_use = i64::from(pool.size).saturating_sub(idle).max(0);
                for (state, value) in [("idle", idle), ("in_use", in_use)] {
                    metrics
                        .pool_connections
                        .get_or_create(&PoolStateLabels {
                            pool: pool.pool,
                            state,
                        })
                        .set(value);
                }
                metrics
                    .pool_max
                    .get_or_create(&PoolLabels { pool: pool.pool })
                    .set(i64::from(pool.max));
            }
        });
    }

    /// Exposes the store's waits for a connection as `fila_db_acquire_wait_seconds`.
    pub fn show_wait_times(&self, waits: &WaitTimes) {
        for pool in ["main", "reports", "writer"] {
            let _ = waits.0.get_or_create(&PoolLabels { pool });
        }
        self.lock_registry().sub_registry_with_prefix("fila").register(
            "db_acquire_wait_seconds",
            "Waits for a database connection, by pool (main, reports; writer: SQLite's one write connection)",
            waits.0.clone(),
        );
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

    /// An event emitted to this node's sockets, committed at `at_ms`.
    pub fn event_emitted(&self, event: &str, at_ms: i64) {
        self.events
            .get_or_create(&EventLabels {
                event: event.to_string(),
            })
            .inc();
        let lag_ms = (crate::domain::time::now_ms() - at_ms).max(0);
        self.delivery_lag.observe(lag_ms as f64 / 1000.0);
    }

    /// The delivery read the log: `unread` rows are not emitted yet, the oldest committed at
    /// `oldest_at_ms`.
    pub fn event_log_read(&self, unread: i64, oldest_at_ms: Option<i64>) {
        let now = crate::domain::time::now_ms();
        self.unread_rows.set(unread);
        self.oldest_unread_at
            .store(oldest_at_ms.unwrap_or(0), Ordering::Relaxed);
        self.last_read.set(now as f64 / 1000.0);
    }

    /// A database error of `kind` (one of [`DB_ERROR_KINDS`]).
    pub fn db_error(&self, kind: &'static str) {
        self.db_errors.get_or_create(&KindLabels { kind }).inc();
    }

    /// Counts a request and its duration; `route` must be a matched route pattern or
    /// `unmatched`.
    pub fn http_request(
        &self,
        method: &axum::http::Method,
        route: &str,
        status: u16,
        took: Duration,
    ) {
        let method = method_label(method).to_string();
        self.http_duration
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
        self.http
            .get_or_create(&HttpLabels {
                method,
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        for watch in self
            .watchers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
        {
            watch(self);
        }
        let oldest = self.oldest_unread_at.load(Ordering::Relaxed);
        let age_ms = if oldest > 0 {
            (crate::domain::time::now_ms() - oldest).max(0)
        } else {
            0
        };
        self.oldest_unread_age.set(age_ms as f64 / 1000.0);
        let mut out = String::new();
        if encode(&mut out, &self.lock_registry()).is_err() {
            out.clear();
        }
        exposition::to_text_format(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_methods_fold_into_one_series() {
        let metrics = Metrics::new();
        let odd = |i: usize| axum::http::Method::from_bytes(format!("X{i:0>900}").as_bytes());
        metrics.http_request(&odd(0).unwrap(), "unmatched", 404, Duration::ZERO);
        let one = metrics.render().len();
        for i in 1..500 {
            metrics.http_request(&odd(i).unwrap(), "unmatched", 404, Duration::ZERO);
        }
        let text = metrics.render();
        assert!(
            text.contains(r#"method="OTHER",route="unmatched",status="404"} 500"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"fila_http_request_duration_seconds_count{method="OTHER",route="unmatched"} 500"#
            ),
            "{text}"
        );
        // Only the counts grow by a few digits (and the process figures change).
        assert!(
            text.len() < one + 200,
            "{} bytes after one, {}",
            one,
            text.len()
        );
    }

    #[test]
    fn every_family_has_help_and_a_type_under_its_sample_names() {
        let metrics = Metrics::new();
        metrics.event_emitted("appointment.created", crate::domain::time::now_ms() - 1500);
        metrics.event_log_read(3, Some(crate::domain::time::now_ms() - 2000));
        let text = metrics.render();
        assert!(!text.contains("# EOF"), "{text}");
        for family in [
            "fila_events_emitted_total",
            "fila_db_errors_total",
            "fila_event_delivery_lag_seconds",
            "fila_socket_recoveries_total",
            "fila_build_info",
        ] {
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "{family}: {text}"
            );
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family}: {text}"
            );
        }
        assert!(text.contains(&format!(
            "fila_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.contains("fila_event_log_unread_rows 3"), "{text}");
        let age = text
            .lines()
            .find_map(|l| l.strip_prefix("fila_event_log_oldest_unread_age_seconds "))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap();
        assert!((2.0..10.0).contains(&age), "{age}");
    }
}
