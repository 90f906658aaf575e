//! The clinic's settings and its clock (`today` comes from the server, in the clinic's zone, not
//! from the browser).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use chrono::Utc;

use crate::auth::{MasterUser, PanelOrStaff};
use crate::domain::clinic_clock::{clinic_day, parse_zone};
use crate::domain::time::format_ms;
use crate::error::{ApiError, ApiJson, ApiResult, Problems};
use crate::limits::{CLINIC_NAME_MAX, check_len};
use crate::state::AppState;
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/account", get(get_account).patch(update_account))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: i64,
    pub name: String,
    /// The clinic's day, `YYYY-MM-DD`, in the clinic's time zone.
    pub today: String,
    pub now: String,
    /// The clinic's IANA time zone: the account's setting, else the server's default zone
    /// (`--time-zone`, else `TZ`).
    #[schema(example = "America/Sao_Paulo")]
    pub time_zone: String,
    pub wait_warn_minutes: i64,
    pub wait_alert_minutes: i64,
    /// The account's latest event `seq`.
    pub last_seq: i64,
    /// How the panel writes names: `short` ("João S."), `initials` ("J. S.") or `full`.
    pub panel_name_style: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountPatch {
    pub name: Option<String>,
    pub wait_warn_minutes: Option<i64>,
    pub wait_alert_minutes: Option<i64>,
    /// `short`, `initials` or `full`.
    pub panel_name_style: Option<String>,
    /// An IANA time zone name (`America/Sao_Paulo`); `""` goes back to the server's zone.
    #[schema(example = "America/Sao_Paulo")]
    pub time_zone: Option<String>,
}

/// The panel's ways of writing a patient's name.
pub const PANEL_NAME_STYLES: [&str; 3] = ["short", "initials", "full"];

async fn load(state: &AppState, account_id: i64) -> ApiResult<AccountView> {
    let mut conn = state.store.acquire().await?;
    let row = store::accounts::get(&mut conn, account_id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("invalid token".into()))?;
    let now = Utc::now();
    let clinic = clinic_day(row.time_zone.as_deref(), state.default_zone, now);
    Ok(AccountView {
        id: row.id,
        name: row.name,
        today: clinic.today_text(),
        now: format_ms(now.timestamp_millis()),
        time_zone: clinic.zone.name().to_string(),
        wait_warn_minutes: row.wait_warn_minutes,
        wait_alert_minutes: row.wait_alert_minutes,
        last_seq: row.event_seq,
        panel_name_style: row.panel_name_style,
    })
}

/// The clinic, its day and its wait-time thresholds.
#[utoipa::path(get, operation_id = "getAccount", path = "/api/account", tag = "account", security(("bearer" = [])), responses((status = 200, body = AccountView)))]
pub async fn get_account(
    State(state): State<AppState>,
    user: PanelOrStaff,
) -> ApiResult<ApiJson<AccountView>> {
    Ok(ApiJson(load(&state, user.account_id).await?))
}

/// Changes the clinic's name, wait thresholds, time zone or panel name style (master only).
#[utoipa::path(patch, operation_id = "updateAccount", path = "/api/account", tag = "account", security(("bearer" = [])), request_body = AccountPatch,
    responses((status = 200, body = AccountView), (status = 403)))]
pub async fn update_account(
    State(state): State<AppState>,
    user: MasterUser,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> ApiResult<ApiJson<AccountView>> {
    let current = load(&state, user.account_id).await?;
    let name = patch
        .name
        .map(|n| n.trim().to_string())
        .unwrap_or(current.name);
    let warn = patch.wait_warn_minutes.unwrap_or(current.wait_warn_minutes);
    let alert = patch
        .wait_alert_minutes
        .unwrap_or(current.wait_alert_minutes);
    let mut problems = Problems::new();
    problems.check(!name.is_empty(), "name must not be empty");
    check_len(&mut problems, "name", &name, CLINIC_NAME_MAX);
    problems.check(
        (1..=1440).contains(&warn),
        "waitWarnMinutes must be between 1 and 1440",
    );
    problems.check(
        (1..=1440).contains(&alert),
        "waitAlertMinutes must be between 1 and 1440",
    );
    problems.check(
        warn <= alert,
        "waitWarnMinutes must not be greater than waitAlertMinutes",
    );
    let style = patch.panel_name_style.map(|s| s.trim().to_string());
    problems.check(
        style
            .as_deref()
            .is_none_or(|s| PANEL_NAME_STYLES.contains(&s)),
        "panelNameStyle must be one of: short, initials, full",
    );
    let mut conn = state.store.acquire().await?;
    let mut time_zone = store::accounts::time_zone(&mut conn, user.account_id).await?;
    drop(conn);
    if let Some(zone) = patch.time_zone.map(|z| z.trim().to_string()) {
        if zone.is_empty() {
            time_zone = None;
        } else {
            match parse_zone(&zone) {
                Some(tz) => time_zone = Some(tz.name().to_string()),
                None => problems.push(format!(
                    "timeZone must be an IANA time zone name such as America/Sao_Paulo (got '{zone}')"
                )),
            }
        }
    }
    problems.into_result()?;
    let settings = store::accounts::Settings {
        name,
        wait_warn_minutes: warn,
        wait_alert_minutes: alert,
        time_zone,
    };
    let mut tx = state.store.begin_write(user.account_id).await?;
    store::accounts::update_settings(&mut tx, user.account_id, &settings).await?;
    if let Some(style) = &style {
        store::accounts::set_panel_name_style(&mut tx, user.account_id, style).await?;
    }
    tx.commit().await?;
    Ok(ApiJson(load(&state, user.account_id).await?))
}
