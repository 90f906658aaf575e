//! API keys: stored as a SHA-256 hash of the key, shown once at creation.

use sqlx::{AnyConnection, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub name: String,
    pub key_prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// `kiosk`, `panel` or `integration` (see `crate::auth::scope`).
    pub scope: String,
}

const COLUMNS: &str =
    "id, account_id, user_id, name, key_prefix, created_at, last_used_at, revoked_at, scope";

#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    name: &str,
    prefix: &str,
    key_hash: &str,
    scope: &str,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (account_id, user_id, name, key_prefix, key_hash, created_at, scope) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(name)
    .bind(prefix)
    .bind(key_hash)
    .bind(now)
    .bind(scope)
    .fetch_one(conn)
    .await
}

pub async fn list(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY id"
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await
}

pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The active (not revoked) key with this hash, marking it used.
pub async fn use_by_hash(
    conn: &mut AnyConnection,
    key_hash: &str,
    now: i64,
) -> sqlx::Result<Option<ApiKeyRow>> {
    sqlx::query_as(&format!(
        "UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1 AND revoked_at IS NULL \
         RETURNING {COLUMNS}"
    ))
    .bind(key_hash)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Revokes the key; false when it does not exist in the account.
pub async fn revoke(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() > 0)
}
