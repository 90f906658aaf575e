//! The application state every HTTP handler reaches through axum's `State`.

use std::sync::Arc;

use crate::auth::jwt::Tokens;
use crate::auth::password::Hashing;
use crate::auth::throttle::Throttle;
use crate::events::EventLog;
use crate::metrics::Metrics;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Arc<Tokens>,
    pub events: EventLog,
    pub metrics: Arc<Metrics>,
    /// Rate limits of login and API-key trades.
    pub throttle: Arc<Throttle>,
    /// Bounded password hashing.
    pub hashing: Arc<Hashing>,
}
