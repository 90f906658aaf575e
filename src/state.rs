//! The application state every HTTP handler reaches through axum's `State`.

use std::sync::Arc;

use crate::auth::jwt::Tokens;
use crate::auth::throttle::LoginThrottle;
use crate::events::EventLog;
use crate::events::delivery::LogHealth;
use crate::http::SelfCheckinLimiter;
use crate::metrics::Metrics;
use crate::realtime::public::StatusFeed;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Arc<Tokens>,
    pub events: EventLog,
    pub metrics: Arc<Metrics>,
    pub login_throttle: Arc<LoginThrottle>,
    /// Disconnects the sockets of revoked status links.
    pub status_feed: StatusFeed,
    /// Self check-in attempts per API key.
    pub self_checkin_limiter: Arc<SelfCheckinLimiter>,
    /// Whether this node can read the event log (`/readyz`).
    pub log_health: Arc<LogHealth>,
}
