//! The reports' aggregations, computed in the database from the appointments of a range of days
//! and their visits (`appointment_visits`, one row per arrived appointment, written with each status
//! move by a trigger of migration 0011) or, for the arrivals, their status history: only one row per group
//! (day, doctor, hour) comes back. The same SQL runs on both databases.
//!
//! A visit of an appointment starts at its arrival: its latest move into CHECKIN that is not a
//! return from EM_ATENDIMENTO. Its wait runs from the arrival to the first move into
//! EM_ATENDIMENTO after it; its service from the last move into EM_ATENDIMENTO to the move into
//! FINALIZADO. Percentiles are nearest-rank (the value at rank ⌈p·n⌉ of the sorted samples),
//! computed with `ROW_NUMBER()` and `COUNT(*)` windows, which SQLite and PostgreSQL share.

use sqlx::AnyConnection;

use crate::domain::status::Status;

/// Which appointments a report reads: days `from..=to` (`YYYY-MM-DD`), optionally one doctor
/// and one procedure. Deleted appointments are left out.
#[derive(Debug, Clone)]
pub struct Scope {
    pub account_id: i64,
    pub from: String,
    pub to: String,
    pub doctor_id: Option<i64>,
    pub procedure_id: Option<i64>,
}

/// The scope as a CTE over `$1`‥`$5`.
const SCOPE: &str = "scope AS (SELECT a.id, a.day, a.doctor_id, a.status_id FROM appointments a \
     WHERE a.account_id = $1 AND a.deleted_at IS NULL AND a.day >= $2 AND a.day <= $3 \
     AND (CAST($4 AS BIGINT) IS NULL OR a.doctor_id = $4) \
     AND (CAST($5 AS BIGINT) IS NULL OR a.procedure_id = $5))";

/// Binds a [`Scope`] to `$1`‥`$5` of a query that starts with [`SCOPE`].
macro_rules! bind_scope {
    ($query:expr, $scope:expr) => {
        $query
            .bind($scope.account_id)
            .bind(&$scope.from)
            .bind(&$scope.to)
            .bind($scope.doctor_id)
            .bind($scope.procedure_id)
    };
}

/// What a group of visits is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Doctor,
}

impl GroupBy {
    fn column(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Doctor => "doctor_id",
        }
    }
}

/// Which duration a row of [`durations`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// From arrival to the first call.
    Wait,
    /// From the last call to the finish.
    Service,
}

/// The distribution of one measure over one group, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durations {
    /// The day, or the doctor id as text (`None`: no doctor).
    pub key: Option<String>,
    pub measure: Measure,
    pub count: i64,
    pub median_ms: i64,
    pub p90_ms: i64,
    pub total_ms: i64,
}

/// key, kind, count, median, p90, total.
type DurationsRow = (Option<String>, i64, i64, Option<i64>, Option<i64>, i64);

/// The visits of the scope (`day, doctor_id, wait_ms, service_ms`): one row of
/// `appointment_visits` per appointment that arrived (migration 0011), found by its primary
/// key from the scope's appointments. A visit without a call has no wait, one without a finish
/// no service (NULL), as when they were derived from the history.
const VISITS: &str = "visits AS (SELECT s.day, s.doctor_id, \
     v.first_call_at - v.checkin_at AS wait_ms, v.finished_at - v.last_call_at AS service_ms \
     FROM scope s JOIN appointment_visits v ON v.appointment_id = s.id)";

/// Median, 90th percentile, count and total of the waits and service times of each group.
///
/// Each group's samples are ranked once (`ROW_NUMBER`, `COUNT` and `SUM` windows over the same
/// partition), and only the two rows at the median and 90th-percentile ranks go on to the final
/// `GROUP BY`, rather than sorting every sample a second time.
pub async fn durations(
    conn: &mut AnyConnection,
    scope: &Scope,
    group: GroupBy,
) -> sqlx::Result<Vec<Durations>> {
    let key = group.column();
    let sql = format!(
        "WITH {SCOPE}, {VISITS}, \
         samples AS ( \
           SELECT CAST({key} AS TEXT) AS k, CAST(0 AS BIGINT) AS kind, wait_ms AS ms \
             FROM visits WHERE wait_ms IS NOT NULL \
           UNION ALL \
           SELECT CAST({key} AS TEXT), CAST(1 AS BIGINT), service_ms \
             FROM visits WHERE service_ms IS NOT NULL AND service_ms >= 0), \
         ranked AS (SELECT k, kind, ms, \
             ROW_NUMBER() OVER (PARTITION BY k, kind ORDER BY ms) AS rn, \
             COUNT(*) OVER (PARTITION BY k, kind) AS n, \
             CAST(SUM(ms) OVER (PARTITION BY k, kind) AS BIGINT) AS total \
           FROM samples) \
         SELECT k, kind, MAX(n), \
           MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN ms END), \
           MAX(CASE WHEN rn = (90 * n + 99) / 100 THEN ms END), \
           MAX(total) \
         FROM ranked WHERE rn = (50 * n + 99) / 100 OR rn = (90 * n + 99) / 100 \
         GROUP BY k, kind ORDER BY k, kind"
    );
    let rows: Vec<DurationsRow> = bind_scope!(sqlx::query_as(&sql), scope)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(key, kind, count, median, p90, total)| Durations {
            key,
            measure: if kind == 0 {
                Measure::Wait
            } else {
                Measure::Service
            },
            count,
            median_ms: median.unwrap_or(0),
            p90_ms: p90.unwrap_or(0),
            total_ms: total,
        })
        .collect())
}

/// How the appointments of one group ended (their current status, the last move of their
/// history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    pub key: Option<String>,
    /// The doctor's name when grouped by doctor.
    pub name: Option<String>,
    pub appointments: i64,
    pub finished: i64,
    pub no_shows: i64,
    pub cancellations: i64,
}

/// key, name, appointments, finished, no-shows, cancellations.
type OutcomesRow = (Option<String>, Option<String>, i64, i64, i64, i64);

/// Appointments, finished, no-shows and cancellations of each group.
pub async fn outcomes(
    conn: &mut AnyConnection,
    scope: &Scope,
    group: GroupBy,
) -> sqlx::Result<Vec<Outcomes>> {
    let (key, name, join, order) = match group {
        GroupBy::Day => ("s.day", "CAST(NULL AS TEXT)", "", "s.day"),
        GroupBy::Doctor => (
            "s.doctor_id",
            "d.name",
            "LEFT JOIN doctors d ON d.id = s.doctor_id AND d.account_id = $1",
            "COUNT(*) DESC, d.name",
        ),
    };
    let sql = format!(
        "WITH {SCOPE} \
         SELECT CAST({key} AS TEXT), {name}, COUNT(*), \
           SUM(CASE WHEN s.status_id = $6 THEN 1 ELSE 0 END), \
           SUM(CASE WHEN s.status_id = $7 THEN 1 ELSE 0 END), \
           SUM(CASE WHEN s.status_id = $8 THEN 1 ELSE 0 END) \
         FROM scope s {join} GROUP BY {key}{} ORDER BY {order}",
        if group == GroupBy::Doctor {
            ", d.name"
        } else {
            ""
        }
    );
    let rows: Vec<OutcomesRow> = bind_scope!(sqlx::query_as(&sql), scope)
        .bind(Status::Finalizado.id())
        .bind(Status::Faltou.id())
        .bind(Status::Cancelado.id())
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, name, appointments, finished, no_shows, cancellations)| Outcomes {
                key,
                name,
                appointments,
                finished,
                no_shows,
                cancellations,
            },
        )
        .collect())
}

/// Arrivals (moves into CHECKIN that are not returns from EM_ATENDIMENTO) per UTC hour:
/// `(hours since the epoch, count)`, at most one row per hour of the range.
pub async fn arrivals_by_hour(
    conn: &mut AnyConnection,
    scope: &Scope,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let sql = format!(
        "WITH {SCOPE} \
         SELECT h.at / 3600000, COUNT(*) FROM scope s \
         JOIN appointment_status_history h ON h.appointment_id = s.id \
         WHERE h.account_id = $1 AND h.to_status = $6 AND COALESCE(h.from_status, 0) <> $7 \
         GROUP BY h.at / 3600000 ORDER BY 1"
    );
    bind_scope!(sqlx::query_as(&sql), scope)
        .bind(Status::Checkin.id())
        .bind(Status::EmAtendimento.id())
        .fetch_all(conn)
        .await
}
