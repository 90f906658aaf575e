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
