//! Sessions: one per login or API-key exchange. An access token names its session (`sid`) and
//! is accepted only while that session is open, its user still belongs to the account, and its
//! API key (if any) is not revoked.

use sqlx::AnyConnection;

pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    account_id: i64,
    user_id: i64,
    api_key_id: Option<i64>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, account_id, user_id, api_key_id, created_at, refreshed_at) \
         VALUES ($1, $2, $3, CAST($4 AS BIGINT), $5, $5)",
    )
    .bind(id)
    .bind(account_id)
    .bind(user_id)
    .bind(api_key_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the session is open for exactly this user, account and key: the user exists in the
/// account, and the key (if any) is the account's and not revoked.
pub async fn is_open(
    conn: &mut AnyConnection,
    id: &str,
    account_id: i64,
    user_id: i64,
    api_key_id: Option<i64>,
) -> sqlx::Result<bool> {
    let found = user_and_session(conn, id, account_id, user_id, api_key_id).await?;
    Ok(found.is_some_and(|(_, open)| open))
}

/// What a request's token finds, in one query: `None` when the account has no such user; else
/// whether the user is active, and whether the session is open for exactly this user, account
/// and key (not ended; its key, if any, the account's and not revoked).
pub async fn user_and_session(
    conn: &mut AnyConnection,
    id: &str,
    account_id: i64,
    user_id: i64,
    api_key_id: Option<i64>,
) -> sqlx::Result<Option<(bool, bool)>> {
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT u.active, CAST(CASE WHEN EXISTS (SELECT 1 FROM sessions s \
           LEFT JOIN api_keys k ON k.id = s.api_key_id AND k.account_id = s.account_id \
           WHERE s.id = $1 AND s.account_id = u.account_id AND s.user_id = u.id \
             AND s.ended_at IS NULL \
             AND COALESCE(s.api_key_id, 0) = COALESCE(CAST($4 AS BIGINT), 0) \
             AND (s.api_key_id IS NULL OR (k.id IS NOT NULL AND k.revoked_at IS NULL))) \
         THEN 1 ELSE 0 END AS BIGINT) \
         FROM users u WHERE u.id = $3 AND u.account_id = $2",
    )
    .bind(id)
    .bind(account_id)
    .bind(user_id)
    .bind(api_key_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|(active, open)| (active == 1, open == 1)))
}

/// Records a refresh (kept sessions are pruned once nothing has refreshed them for long).
pub async fn touch(conn: &mut AnyConnection, id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET refreshed_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends one session; false when it was not open.
pub async fn end(conn: &mut AnyConnection, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Ends every session of an API key.
pub async fn end_for_key(
    conn: &mut AnyConnection,
    account_id: i64,
    api_key_id: i64,
    now: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET ended_at = $3 \
         WHERE account_id = $1 AND api_key_id = $2 AND ended_at IS NULL",
    )
    .bind(account_id)
    .bind(api_key_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Ends the password sessions of a user (not those of its API keys), except `keep` if given.
pub async fn end_for_user(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
    keep: Option<&str>,
    now: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET ended_at = $4 \
         WHERE account_id = $1 AND user_id = $2 AND api_key_id IS NULL AND ended_at IS NULL \
           AND id <> COALESCE(CAST($3 AS TEXT), '')",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(keep.map(str::to_string))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions ended before `before`, and open ones not refreshed since `stale_before`
/// (no token of theirs can still be valid).
pub async fn prune(conn: &mut AnyConnection, before: i64, stale_before: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE (ended_at IS NOT NULL AND ended_at < $1) OR refreshed_at < $2",
    )
    .bind(before)
    .bind(stale_before)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The open sessions (id, account), for [`end_all`]'s control rows.
pub async fn open_ids(conn: &mut AnyConnection) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT id, account_id FROM sessions WHERE ended_at IS NULL ORDER BY id")
        .fetch_all(conn)
        .await
}

/// Ends every open session of every account (the signing secret was replaced).
pub async fn end_all(conn: &mut AnyConnection, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE ended_at IS NULL")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
