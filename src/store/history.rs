//! The status history: one row per status move of an appointment, with who made it.

use sqlx::{AnyConnection, FromRow};

use crate::domain::estimate::HistoryMove;
use crate::domain::priority;
use crate::domain::status::Status;
use crate::domain::time::parse_day;

/// One status move, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct Move {
    pub appointment_id: i64,
    /// The doctor the appointment is linked to after the move.
    pub doctor_id: Option<i64>,
    /// `None` when the appointment is created.
    pub from: Option<Status>,
    pub to: Status,
    pub at: i64,
    /// The user who made it (for an API key, the user who released the key).
    pub user_id: Option<i64>,
    /// Set when the move came through a token traded for an API key.
    pub api_key_id: Option<i64>,
}

/// Records a move inside the transaction that makes it.
pub async fn record(conn: &mut AnyConnection, account_id: i64, m: &Move) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO appointment_status_history \
         (account_id, appointment_id, doctor_id, from_status, to_status, at, user_id, api_key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id)
    .bind(m.appointment_id)
    .bind(m.doctor_id)
    .bind(m.from.map(Status::id))
    .bind(m.to.id())
    .bind(m.at)
    .bind(m.user_id)
    .bind(m.api_key_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A recorded move with the names of who made it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MoveRow {
    pub id: i64,
    pub doctor_id: Option<i64>,
    pub from_status: Option<i64>,
    pub to_status: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    pub api_key_id: Option<i64>,
    pub api_key_name: Option<String>,
}

/// An appointment's moves, oldest first.
pub async fn of_appointment(
    conn: &mut AnyConnection,
    account_id: i64,
    appointment_id: i64,
) -> sqlx::Result<Vec<MoveRow>> {
    sqlx::query_as(
        "SELECT h.id, h.doctor_id, h.from_status, h.to_status, h.at, h.user_id, \
         u.name AS user_name, h.api_key_id, k.name AS api_key_name \
         FROM appointment_status_history h \
         LEFT JOIN users u ON u.id = h.user_id AND u.account_id = h.account_id \
         LEFT JOIN api_keys k ON k.id = h.api_key_id AND k.account_id = h.account_id \
         WHERE h.account_id = $1 AND h.appointment_id = $2 ORDER BY h.at, h.id",
    )
    .bind(account_id)
    .bind(appointment_id)
    .fetch_all(conn)
    .await
}

/// A history row with what the estimate needs of its appointment.
#[derive(Debug, FromRow)]
struct ServiceMoveRow {
    appointment_id: i64,
    doctor_id: Option<i64>,
    procedure_id: Option<i64>,
    from_status: Option<i64>,
    to_status: i64,
    at: i64,
    day: String,
    priority_flags: String,
    date_birth: Option<String>,
}

/// The account's check-ins and moves into and out of EM_ATENDIMENTO since `since` (the wait
/// estimate's input), with each appointment's procedure and priority tier.
pub async fn service_moves(
    conn: &mut AnyConnection,
    account_id: i64,
    since: i64,
) -> sqlx::Result<Vec<HistoryMove>> {
    let rows: Vec<ServiceMoveRow> = sqlx::query_as(
        "SELECT h.appointment_id, h.doctor_id, a.procedure_id, h.from_status, h.to_status, h.at, \
         a.day, a.priority_flags, p.date_birth \
         FROM appointment_status_history h JOIN appointments a ON a.id = h.appointment_id \
         JOIN patients p ON p.id = a.patient_id \
         WHERE h.account_id = $1 AND a.account_id = $1 AND h.at >= $2 \
         AND (h.to_status = $3 OR h.from_status = $3 OR h.to_status = $4) ORDER BY h.at, h.id",
    )
    .bind(account_id)
    .bind(since)
    .bind(Status::EmAtendimento.id())
    .bind(Status::Checkin.id())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let on = parse_day(&r.day)?;
            let birth = r.date_birth.as_deref().and_then(parse_day);
            let tier = priority::compute(birth, on, &priority::split_flags(&r.priority_flags)).tier;
            Some(HistoryMove {
                appointment_id: r.appointment_id,
                doctor_id: r.doctor_id,
                procedure_id: r.procedure_id,
                from: r.from_status.and_then(Status::from_id),
                to: Status::from_id(r.to_status)?,
                at: r.at,
                tier,
            })
        })
        .collect())
}
