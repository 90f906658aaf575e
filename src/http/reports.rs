//! `GET /api/reports/...`: the clinic's figures over a range of days, as JSON (an array of flat
//! rows) or, with `?format=csv` or `Accept: text/csv`, as CSV with the same columns and values.
//! Any user of the account may read them (master, staff, or an API key's token).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use anyhow::Context;
use sqlx::Any;
use sqlx::pool::PoolConnection;

use crate::auth::StaffUser;
use crate::domain::time::parse_day;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, Problems};
use crate::fairness::ReportTurn;
use crate::state::AppState;
use crate::store::reports::{self, Durations, Group, GroupBy, Scope};

use super::csv_export;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/reports/waits", get(waits))
        .route("/api/reports/attendance", get(attendance))
        .route("/api/reports/doctors", get(doctors))
        .route("/api/reports/arrivals", get(arrivals))
}

/// The longest range a report covers, in days.
pub const MAX_DAYS: i64 = 366;
/// The range when none is given: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;

/// The filters every report takes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today). At most 366 days after `from`.
    pub to: Option<String>,
    /// Only this doctor's appointments.
    pub doctor_id: Option<i64>,
    /// Only appointments of this procedure.
    pub procedure_id: Option<i64>,
    /// `json` (default) or `csv` (same as `Accept: text/csv`).
    pub format: Option<String>,
}

impl ReportQuery {
    /// The scope of the query, `today` being the clinic's day.
    fn scope(&self, account_id: i64, today: NaiveDate) -> ApiResult<Scope> {
        let mut problems = Problems::new();
        let day = |value: &Option<String>, label: &str, problems: &mut Problems| match value {
            Some(text) => {
                let parsed = parse_day(text.trim());
                problems.check(parsed.is_some(), format!("{label} must be YYYY-MM-DD"));
                parsed
            }
            None => None,
        };
        let from = day(&self.from, "from", &mut problems);
        let to = day(&self.to, "to", &mut problems);
        problems.check(
            self.format
                .as_deref()
                .is_none_or(|f| matches!(f, "json" | "csv")),
            "format must be json or csv",
        );
        problems.into_result()?;
        let to = to.unwrap_or_else(|| match (from, self.to.is_none()) {
            (Some(from), true) => (from + Duration::days(DEFAULT_DAYS - 1)).min(today),
            _ => today,
        });
        let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        let mut problems = Problems::new();
        problems.check(from <= to, "from must not be after to");
        problems.check(
            (to - from).num_days() < MAX_DAYS,
            format!("the range must not be longer than {MAX_DAYS} days"),
        );
        problems.into_result()?;
        Ok(Scope {
            account_id,
            from: from.format("%Y-%m-%d").to_string(),
            to: to.format("%Y-%m-%d").to_string(),
            doctor_id: self.doctor_id,
            procedure_id: self.procedure_id,
        })
    }

    fn wants_csv(&self, headers: &HeaderMap) -> bool {
        match self.format.as_deref() {
            Some(format) => format == "csv",
            None => headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/csv")),
        }
    }
}

/// A row type of a report: its CSV columns, in order (the JSON keys).
trait Report: Serialize {
    const NAME: &'static str;
    const COLUMNS: &'static [&'static str];
}

/// Answers the rows as JSON or as CSV (a header line, then one line per row; an empty value for
/// `null`; cells neutralised against formulas, see `csv_export`), named
/// `{report}-{from}-{to}.csv` when downloaded.
fn answer<T: Report>(rows: Vec<T>, csv: bool, scope: &Scope) -> ApiResult<Response> {
    if !csv {
        return Ok(ApiJson(rows).into_response());
    }
    let text = csv_export::write(T::COLUMNS, &rows)?;
    let filename = format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        T::NAME,
        scope.from,
        scope.to
    );
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The account's turn to run a report (503 + `Retry-After` past the bounds, see `fairness`)
/// and a connection of the reports' own pool.
async fn report_connection(
    state: &AppState,
    account_id: i64,
) -> ApiResult<(ReportTurn, PoolConnection<Any>)> {
    let turn = state.reports.turn(account_id).await?;
    let conn = state
        .store
        .acquire_for_report()
        .await
        .context("a connection of the reports' pool")?;
    Ok((turn, conn))
}

/// Milliseconds to whole seconds, rounded.
fn seconds(ms: i64) -> i64 {
    (ms + 500).div_euclid(1000)
}

/// `part / whole`, rounded to 4 decimals (0 when `whole` is 0).
fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// Waits and service times of one day, in seconds.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitRow {
    /// The appointments' day, `YYYY-MM-DD`.
    pub day: String,
    /// Patients called after their arrival that day.
    pub wait_count: i64,
    #[schema(required)]
    pub wait_median_seconds: Option<i64>,
    #[schema(required)]
    pub wait_p90_seconds: Option<i64>,
    #[schema(required)]
    pub wait_mean_seconds: Option<i64>,
    /// Patients whose service finished that day.
    pub service_count: i64,
    #[schema(required)]
    pub service_median_seconds: Option<i64>,
    #[schema(required)]
    pub service_p90_seconds: Option<i64>,
    #[schema(required)]
    pub service_mean_seconds: Option<i64>,
}

impl Report for WaitRow {
    const NAME: &'static str = "waits";
    const COLUMNS: &'static [&'static str] = &[
        "day",
        "waitCount",
        "waitMedianSeconds",
        "waitP90Seconds",
        "waitMeanSeconds",
        "serviceCount",
        "serviceMedianSeconds",
        "serviceP90Seconds",
        "serviceMeanSeconds",
    ];
}

/// `(count, median, p90, mean)` in seconds.
fn summary(d: Option<&Durations>) -> (i64, Option<i64>, Option<i64>, Option<i64>) {
    match d {
        Some(d) => (
            d.count,
            Some(seconds(d.median_ms)),
            Some(seconds(d.p90_ms)),
            (d.count > 0).then(|| seconds(d.total_ms / d.count)),
        ),
        None => (0, None, None, None),
    }
}

impl From<Group> for WaitRow {
    fn from(g: Group) -> Self {
        let (wait_count, wait_median_seconds, wait_p90_seconds, wait_mean_seconds) =
            summary(g.wait.as_ref());
        let (service_count, service_median_seconds, service_p90_seconds, service_mean_seconds) =
            summary(g.service.as_ref());
        WaitRow {
            day: g.key.unwrap_or_default(),
            wait_count,
            wait_median_seconds,
            wait_p90_seconds,
            wait_mean_seconds,
            service_count,
            service_median_seconds,
            service_p90_seconds,
            service_mean_seconds,
        }
    }
}

/// Wait from check-in to call and service from call to finish, per day: median, 90th
/// percentile (nearest rank) and mean, in seconds.
#[utoipa::path(get, operation_id = "getWaitsReport", path = "/api/reports/waits", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, content(([WaitRow] = "application/json"), (String = "text/csv")))))]
pub async fn waits(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let (_turn, mut conn) = report_connection(&state, user.account_id).await?;
    let clinic = state.clinic_day(&mut conn, user.account_id).await?;
    let scope = query.scope(user.account_id, clinic.today)?;
    let groups = reports::durations(&mut conn, &scope, GroupBy::Day).await?;
    let rows: Vec<WaitRow> = groups
        .into_iter()
        .filter(|g| g.wait.is_some() || g.service.is_some())
        .map(WaitRow::from)
        .collect();
    answer(rows, query.wants_csv(&headers), &scope)
}

/// How a day's appointments ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceRow {
    pub day: String,
    /// Appointments booked for the day (deleted ones left out).
    pub appointments: i64,
    pub finished: i64,
    /// Appointments whose status is FALTOU.
    pub no_shows: i64,
    /// Appointments whose status is CANCELADO.
    pub cancellations: i64,
    /// `noShows / appointments`, 4 decimals.
    pub no_show_rate: f64,
    /// `cancellations / appointments`, 4 decimals.
    pub cancellation_rate: f64,
}

impl Report for AttendanceRow {
    const NAME: &'static str = "attendance";
    const COLUMNS: &'static [&'static str] = &[
        "day",
        "appointments",
        "finished",
        "noShows",
        "cancellations",
        "noShowRate",
        "cancellationRate",
    ];
}

impl From<Group> for AttendanceRow {
    fn from(o: Group) -> Self {
        AttendanceRow {
            day: o.key.unwrap_or_default(),
            appointments: o.appointments,
            finished: o.finished,
            no_shows: o.no_shows,
            cancellations: o.cancellations,
            no_show_rate: rate(o.no_shows, o.appointments),
            cancellation_rate: rate(o.cancellations, o.appointments),
        }
    }
}

/// Appointments, finished, no-shows and cancellations per day, with the no-show and
/// cancellation rates.
#[utoipa::path(get, operation_id = "getAttendanceReport", path = "/api/reports/attendance", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, content(([AttendanceRow] = "application/json"), (String = "text/csv")))))]
pub async fn attendance(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let (_turn, mut conn) = report_connection(&state, user.account_id).await?;
    let clinic = state.clinic_day(&mut conn, user.account_id).await?;
    let scope = query.scope(user.account_id, clinic.today)?;
    let rows = reports::groups(&mut conn, &scope, GroupBy::Day).await?;
    let rows: Vec<AttendanceRow> = rows.into_iter().map(Into::into).collect();
    answer(rows, query.wants_csv(&headers), &scope)
}

/// One doctor's appointments over the range.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReportRow {
    /// `null` for appointments with no doctor.
    #[schema(required)]
    pub doctor_id: Option<i64>,
    #[schema(required)]
    pub doctor_name: Option<String>,
    pub appointments: i64,
    pub finished: i64,
    pub no_shows: i64,
    pub cancellations: i64,
    #[schema(required)]
    pub wait_median_seconds: Option<i64>,
    #[schema(required)]
    pub service_median_seconds: Option<i64>,
}

impl Report for DoctorReportRow {
    const NAME: &'static str = "doctors";
    const COLUMNS: &'static [&'static str] = &[
        "doctorId",
        "doctorName",
        "appointments",
        "finished",
        "noShows",
        "cancellations",
        "waitMedianSeconds",
        "serviceMedianSeconds",
    ];
}

/// Appointments per doctor (most first), with how they ended and the median wait and service.
#[utoipa::path(get, operation_id = "getDoctorsReport", path = "/api/reports/doctors", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, content(([DoctorReportRow] = "application/json"), (String = "text/csv")))))]
pub async fn doctors(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let (_turn, mut conn) = report_connection(&state, user.account_id).await?;
    let clinic = state.clinic_day(&mut conn, user.account_id).await?;
    let scope = query.scope(user.account_id, clinic.today)?;
    // Outcomes from the appointments, durations from the visits: two narrow scans cost less
    // than joining every appointment of the range to its visit.
    let outcomes = reports::groups(&mut conn, &scope, GroupBy::Doctor).await?;
    let durations = reports::durations(&mut conn, &scope, GroupBy::Doctor).await?;
    let median = |key: &Option<String>, pick: fn(&Group) -> Option<&Durations>| {
        durations
            .iter()
            .find(|d| &d.key == key)
            .and_then(pick)
            .map(|d| seconds(d.median_ms))
    };
    let rows: Vec<DoctorReportRow> = outcomes
        .into_iter()
        .map(|g| DoctorReportRow {
            doctor_id: g.key.as_deref().and_then(|k| k.parse().ok()),
            wait_median_seconds: median(&g.key, |d| d.wait.as_ref()),
            service_median_seconds: median(&g.key, |d| d.service.as_ref()),
            doctor_name: g.name,
            appointments: g.appointments,
            finished: g.finished,
            no_shows: g.no_shows,
            cancellations: g.cancellations,
        })
        .collect();
    answer(rows, query.wants_csv(&headers), &scope)
}

/// Arrivals in one hour of one weekday, over the range.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArrivalRow {
    /// 1 = Monday … 7 = Sunday (ISO 8601).
    pub weekday: u32,
    /// `Segunda` … `Domingo`.
    pub weekday_name: &'static str,
    /// Hour of the day, 0‥23, in the clinic's time zone.
    pub hour: u32,
    pub arrivals: i64,
}

impl Report for ArrivalRow {
    const NAME: &'static str = "arrivals";
    const COLUMNS: &'static [&'static str] = &["weekday", "weekdayName", "hour", "arrivals"];
}

const WEEKDAYS: [&str; 7] = [
    "Segunda", "Terça", "Quarta", "Quinta", "Sexta", "Sábado", "Domingo",
];

/// Check-ins by weekday and hour (the heatmap): all 168 cells, Monday 0h first. The database
/// counts arrivals per UTC hour; each hour is then placed on the clinic's weekday and hour
/// (its time zone — the account's, else the server's —, daylight saving included).
#[utoipa::path(get, operation_id = "getArrivalsReport", path = "/api/reports/arrivals", tag = "reports", security(("bearer" = [])), params(ReportQuery),
    responses((status = 200, content(([ArrivalRow] = "application/json"), (String = "text/csv")))))]
pub async fn arrivals(
    State(state): State<AppState>,
    user: StaffUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let (_turn, mut conn) = report_connection(&state, user.account_id).await?;
    let clinic = state.clinic_day(&mut conn, user.account_id).await?;
    let scope = query.scope(user.account_id, clinic.today)?;
    let hours = reports::arrivals_by_hour(&mut conn, &scope).await?;
    let mut grid = [[0i64; 24]; 7];
    for (hour, count) in hours {
        let Some(local) = clinic.zone.timestamp_opt(hour * 3600, 0).earliest() else {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "arrival hour {hour} is out of range"
            )));
        };
        let weekday = local.weekday().num_days_from_monday() as usize;
        grid[weekday][local.hour() as usize] += count;
    }
    let mut rows = Vec::with_capacity(7 * 24);
    for (weekday, hours) in grid.iter().enumerate() {
        for (hour, arrivals) in hours.iter().enumerate() {
            rows.push(ArrivalRow {
                weekday: weekday as u32 + 1,
                weekday_name: WEEKDAYS[weekday],
                hour: hour as u32,
                arrivals: *arrivals,
            });
        }
    }
    answer(rows, query.wants_csv(&headers), &scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_nearest_and_rates_to_four_decimals() {
        assert_eq!(seconds(1_499), 1);
        assert_eq!(seconds(1_500), 2);
        assert_eq!(rate(1, 3), 0.3333);
        assert_eq!(rate(0, 0), 0.0);
    }

    #[test]
    fn a_range_defaults_to_the_last_30_days_and_is_checked() {
        let today = parse_day("2026-03-31").unwrap();
        let scope = ReportQuery::default().scope(1, today).unwrap();
        let from = parse_day(&scope.from).unwrap();
        let to = parse_day(&scope.to).unwrap();
        assert_eq!(to, today);
        assert_eq!((to - from).num_days(), DEFAULT_DAYS - 1);
        let bad = ReportQuery {
            from: Some("2026-02-01".into()),
            to: Some("2026-01-01".into()),
            ..ReportQuery::default()
        };
        assert!(bad.scope(1, today).is_err());
        let long = ReportQuery {
            from: Some("2024-01-01".into()),
            to: Some("2026-01-01".into()),
            ..ReportQuery::default()
        };
        assert!(long.scope(1, today).is_err());
    }
}
