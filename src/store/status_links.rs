//! Status links: an appointment's opaque tokens for the patient's live status page. Only the
//! token's SHA-256 digest is stored.
//!
//! A token is the credential of `GET /api/public/status/{token}` and of a status socket, so
//! [`find_live`] looks a digest up across accounts: the row it finds names the account, and
//! everything read after it is scoped by that account.

use sqlx::{AnyConnection, FromRow};

/// A link that is neither revoked nor expired.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct LiveLink {
    pub id: i64,
    pub account_id: i64,
    pub appointment_id: i64,
    pub expires_at: i64,
}

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    appointment_id: i64,
    token_hash: &str,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO status_links (account_id, appointment_id, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account_id)
    .bind(appointment_id)
    .bind(token_hash)
    .bind(expires_at)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// The live link of a token digest, if any.
pub async fn find_live(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<LiveLink>> {
    sqlx::query_as(
        "SELECT id, account_id, appointment_id, expires_at FROM status_links \
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Revokes every live link of an appointment; answers their ids.
pub async fn revoke_all(
    conn: &mut AnyConnection,
    account_id: i64,
    appointment_id: i64,
    now: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE status_links SET revoked_at = $3 \
         WHERE account_id = $1 AND appointment_id = $2 AND revoked_at IS NULL RETURNING id",
    )
    .bind(account_id)
    .bind(appointment_id)
    .bind(now)
    .fetch_all(conn)
    .await
}

/// The live links of an account's appointments of one day.
pub async fn live_of_day(
    conn: &mut AnyConnection,
    account_id: i64,
    day: &str,
    now: i64,
) -> sqlx::Result<Vec<LiveLink>> {
    sqlx::query_as(
        "SELECT l.id, l.account_id, l.appointment_id, l.expires_at FROM status_links l \
         JOIN appointments a ON a.id = l.appointment_id \
         WHERE l.account_id = $1 AND a.account_id = $1 AND a.day = $2 \
         AND l.revoked_at IS NULL AND l.expires_at > $3 ORDER BY l.id",
    )
    .bind(account_id)
    .bind(day)
    .bind(now)
    .fetch_all(conn)
    .await
}
