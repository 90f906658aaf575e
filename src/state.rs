//! The application state every HTTP handler reaches through axum's `State`.

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use sqlx::AnyConnection;

use crate::auth::jwt::Tokens;
use crate::auth::password::Hashing;
use crate::auth::throttle::SelfCheckinLimiter;
use crate::auth::throttle::Throttle;
use crate::domain::clinic_clock::ClinicDay;
use crate::events::EventLog;
use crate::events::delivery::LogHealth;
use crate::fairness::ReportGate;
use crate::metrics::Metrics;
use crate::public::{ServiceTimesCache, StatusAnswers};
use crate::realtime::public::StatusFeed;
use crate::store::{self, Store};

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
    /// Disconnects the sockets of revoked status links.
    pub status_feed: StatusFeed,
    /// Self check-in attempts per API key.
    pub self_checkin_limiter: Arc<SelfCheckinLimiter>,
    /// The service times behind the patients' wait estimates, read once per 30 s per account.
    pub service_times: ServiceTimesCache,
    /// The patients' status answers, reused while their clinic's log stands still.
    pub status_answers: StatusAnswers,
    /// The reports' turns (per account and per node).
    pub reports: Arc<ReportGate>,
    /// Whether this node can read the event log (`/readyz`).
    pub log_health: Arc<LogHealth>,
    /// The zone of the clinics without their own `timeZone` (`--time-zone`, else `TZ`).
    pub default_zone: Tz,
}

impl AppState {
    /// The account's day now: its zone, today and the end of today.
    pub async fn clinic_day(
        &self,
        conn: &mut AnyConnection,
        account_id: i64,
    ) -> anyhow::Result<ClinicDay> {
        store::accounts::clinic_day(conn, account_id, self.default_zone, Utc::now())
            .await
            .context("reading the account's time zone")
    }
}
