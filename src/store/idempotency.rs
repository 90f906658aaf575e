//! Idempotency keys of the create endpoints (see `http::idempotency` for the flow): one row per
//! account and key, first claimed with no answer ("in progress"), then completed with the
//! answer to replay, or released (deleted) when the answer is not to be kept.
//!
//! Time is a parameter (`now`, milliseconds) so that expiry is tested without waiting.

use sqlx::{AnyConnection, FromRow};

/// How long a key and its answer are kept: 24 h from the first request.
pub const KEPT_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a claim without an answer holds its key. The request that claimed it records its
/// answer even when its client goes away, so a claim this old only remains when its node
/// stopped mid-request; a retry after it runs again.
pub const LEASE_MS: i64 = 5 * 60 * 1000;

/// A recorded answer: what a replay sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// What a request finds when it presents its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: it runs, then `complete`s or `release`s with `claimed_at`.
    Claimed { claimed_at: i64 },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with another body or on another endpoint.
    Mismatch,
    /// The first request's answer, to send again.
    Answered(Answer),
}

#[derive(Debug, FromRow)]
struct KeyRow {
    fingerprint: String,
    status_code: Option<i64>,
    content_type: Option<String>,
    body: Option<String>,
}

/// Claims `key` for a request whose fingerprint is `fingerprint`, or answers what holds it. An
/// expired key, or a claim older than [`LEASE_MS`] without an answer, is taken over. Runs its
/// statements in the caller's write transaction, which commits before the request runs, so a
/// concurrent retry sees the claim.
pub async fn claim(
    conn: &mut AnyConnection,
    account_id: i64,
    key: &str,
    fingerprint: &str,
    now: i64,
) -> sqlx::Result<Claim> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2 \
         AND (created_at <= $3 OR (status_code IS NULL AND created_at <= $4))",
    )
    .bind(account_id)
    .bind(key)
    .bind(now - KEPT_MS)
    .bind(now - LEASE_MS)
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (account_id, idem_key, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, idem_key) DO NOTHING",
    )
    .bind(account_id)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Claimed { claimed_at: now });
    }
    let row: KeyRow = sqlx::query_as(
        "SELECT fingerprint, status_code, content_type, body FROM idempotency_keys \
         WHERE account_id = $1 AND idem_key = $2",
    )
    .bind(account_id)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    if row.fingerprint != fingerprint {
        return Ok(Claim::Mismatch);
    }
    Ok(match row.status_code {
        None => Claim::InProgress,
        Some(status) => Claim::Answered(Answer {
            status: u16::try_from(status).unwrap_or(500),
            content_type: row.content_type,
            body: row.body.unwrap_or_default(),
        }),
    })
}

/// Records the answer of the request that claimed `key` at `claimed_at`; answers whether the
/// claim was still there to complete.
pub async fn complete(
    conn: &mut AnyConnection,
    account_id: i64,
    key: &str,
    claimed_at: i64,
    answer: &Answer,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET status_code = $4, content_type = $5, body = $6 \
         WHERE account_id = $1 AND idem_key = $2 AND created_at = $3 AND status_code IS NULL",
    )
    .bind(account_id)
    .bind(key)
    .bind(claimed_at)
    .bind(i64::from(answer.status))
    .bind(answer.content_type.clone())
    .bind(answer.body.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives `key` up (the answer is not kept): a retry runs again.
pub async fn release(
    conn: &mut AnyConnection,
    account_id: i64,
    key: &str,
    claimed_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys \
         WHERE account_id = $1 AND idem_key = $2 AND created_at = $3 AND status_code IS NULL",
    )
    .bind(account_id)
    .bind(key)
    .bind(claimed_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the keys of every account older than [`KEPT_MS`] (the periodic prune; `claim`
/// also ignores them before they are pruned).
pub async fn prune(conn: &mut AnyConnection, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1")
        .bind(now - KEPT_MS)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
