//! The reports' aggregations, computed in the database from the appointments of a range of days
//! and their visits (`appointment_visits`, one row per arrived appointment, written with each status
//! move by a trigger of migration 0011) or, for the arrivals, their status history: only one row per group
//! (day, doctor, hour) comes back. The same SQL runs on both databases.
//!
//! A visit of an appointment starts at its arrival: its latest move into CHECKIN that is not a
//! return from EM_ATENDIMENTO. Its wait runs from the arrival to the first move into
//! EM_ATENDIMENTO after it; its service from the last move into EM_ATENDIMENTO to the move into
//! FINALIZADO. Percentiles are nearest-rank (the value at rank ⌈p·n⌉ of the sorted samples),
//! ranked here from each group's samples, which the database joins into one text list.

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

/// Which duration a [`Durations`] describes.
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
    pub measure: Measure,
    pub count: i64,
    pub median_ms: i64,
    pub p90_ms: i64,
    pub total_ms: i64,
}

/// One group (a day, or a doctor) of the scope: how its appointments ended (their current
/// status) and the distribution of its visits' waits and service times (`None`: no sample).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The day, or the doctor id as text (`None`: no doctor).
    pub key: Option<String>,
    /// The doctor's name when grouped by doctor.
    pub name: Option<String>,
    pub appointments: i64,
    pub finished: i64,
    pub no_shows: i64,
    pub cancellations: i64,
    pub wait: Option<Durations>,
    pub service: Option<Durations>,
}

/// key, name, appointments, finished, no-shows, cancellations.
type GroupRow = (Option<String>, Option<String>, i64, i64, i64, i64);

/// How the appointments of each group of the scope ended (their current status), days in order
/// or doctors with the most appointments first; no group has durations (see [`durations`]).
pub async fn groups(
    conn: &mut AnyConnection,
    scope: &Scope,
    group: GroupBy,
) -> sqlx::Result<Vec<Group>> {
    let (key, name, by, order) = match group {
        GroupBy::Day => ("s.day", "CAST(NULL AS TEXT)", "s.day", "s.day"),
        // The name is looked up per group, not joined to every appointment: the group then
        // sorts one key (a third faster on SQLite).
        GroupBy::Doctor => (
            "s.doctor_id",
            "(SELECT d.name FROM doctors d WHERE d.id = s.doctor_id AND d.account_id = $1)",
            "s.doctor_id",
            "COUNT(*) DESC, 2",
        ),
    };
    let sql = format!(
        "WITH {SCOPE} \
         SELECT CAST({key} AS TEXT), {name}, COUNT(*), \
           SUM(CASE WHEN s.status_id = $6 THEN 1 ELSE 0 END), \
           SUM(CASE WHEN s.status_id = $7 THEN 1 ELSE 0 END), \
           SUM(CASE WHEN s.status_id = $8 THEN 1 ELSE 0 END) \
         FROM scope s GROUP BY {by} ORDER BY {order}"
    );
    let rows: Vec<GroupRow> = bind_scope!(sqlx::query_as(&sql), scope)
        .bind(Status::Finalizado.id())
        .bind(Status::Faltou.id())
        .bind(Status::Cancelado.id())
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(key, name, appointments, finished, no_shows, cancellations)| Group {
                key,
                name,
                appointments,
                finished,
                no_shows,
                cancellations,
                wait: None,
                service: None,
            },
        )
        .collect())
}

/// The waits and service times of each day or doctor of the scope, from the visit rows alone:
/// each carries its appointment's account, day, doctor, procedure and deletion (migration
/// 0013), so the range is read from `appointment_visits_scope` without the appointments. Only
/// groups with a visit come back, days in order, doctors by id; their outcomes are left at 0
/// (see [`groups`]).
///
/// The database hands back each group's samples joined into a text list (`string_agg`, which
/// both databases have; NULLs are left out), and the ranking happens here: sorting a group's
/// numbers costs far less than the window functions (`ROW_NUMBER`, `COUNT`, `SUM` over every
/// sample) that ranked them in SQL, which took a year-long report to 300 ms on SQLite. A
/// visit without a call has no wait, one without a finish no service.
pub async fn durations(
    conn: &mut AnyConnection,
    scope: &Scope,
    group: GroupBy,
) -> sqlx::Result<Vec<Group>> {
    let key = match group {
        GroupBy::Day => "v.day",
        GroupBy::Doctor => "v.doctor_id",
    };
    let sql = format!(
        "SELECT CAST({key} AS TEXT), \
           string_agg(CAST(v.first_call_at - v.checkin_at AS TEXT), ','), \
           string_agg(CASE WHEN v.finished_at - v.last_call_at >= 0 \
             THEN CAST(v.finished_at - v.last_call_at AS TEXT) END, ',') \
         FROM appointment_visits v \
         WHERE v.account_id = $1 AND v.deleted_at IS NULL AND v.day >= $2 AND v.day <= $3 \
         AND (CAST($4 AS BIGINT) IS NULL OR v.doctor_id = $4) \
         AND (CAST($5 AS BIGINT) IS NULL OR v.procedure_id = $5) \
         GROUP BY {key} ORDER BY {key}"
    );
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> =
        bind_scope!(sqlx::query_as(&sql), scope)
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(key, waits, services)| {
            Ok(Group {
                key,
                name: None,
                appointments: 0,
                finished: 0,
                no_shows: 0,
                cancellations: 0,
                wait: samples_of(Measure::Wait, waits)?,
                service: samples_of(Measure::Service, services)?,
            })
        })
        .collect()
}

/// The distribution of a group's `string_agg` list of samples (`None`: no list).
fn samples_of(measure: Measure, list: Option<String>) -> sqlx::Result<Option<Durations>> {
    let Some(list) = list else { return Ok(None) };
    let samples = parse_samples(&list).map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok(rank(measure, samples))
}

/// The numbers of a `string_agg` list (`"12,7,30"`).
fn parse_samples(list: &str) -> Result<Vec<i64>, std::num::ParseIntError> {
    list.split(',').map(str::parse).collect()
}

/// The nearest-rank median and 90th percentile (the value at rank ⌈p·n⌉ of the sorted
/// samples), the count and the total of one group's samples; `None` for no samples.
fn rank(measure: Measure, mut samples: Vec<i64>) -> Option<Durations> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let at = |p: usize| samples[(p * n).div_ceil(100).max(1) - 1];
    Some(Durations {
        measure,
        count: n as i64,
        median_ms: at(50),
        p90_ms: at(90),
        total_ms: samples.iter().sum(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let d = rank(Measure::Wait, vec![40, 10, 30, 20]).unwrap();
        assert_eq!(
            (d.count, d.median_ms, d.p90_ms, d.total_ms),
            (4, 20, 40, 100)
        );
        let one = rank(Measure::Service, vec![7]).unwrap();
        assert_eq!((one.median_ms, one.p90_ms), (7, 7));
        let ten: Vec<i64> = (1..=10).rev().collect();
        let d = rank(Measure::Wait, ten).unwrap();
        assert_eq!((d.median_ms, d.p90_ms), (5, 9));
        assert!(rank(Measure::Wait, Vec::new()).is_none());
    }

    #[test]
    fn sample_lists() {
        assert_eq!(parse_samples("12,-3,0").unwrap(), vec![12, -3, 0]);
        assert!(parse_samples("1,,2").is_err());
    }
}
