//! The status history: one row per status move of an appointment, with who made it.

use sqlx::AnyConnection;

use crate::domain::status::Status;

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
