//! The durable event log and the relay's lease.

use sqlx::{AnyConnection, FromRow};

/// One logged event.
#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    pub account_id: i64,
    pub seq: i64,
    pub event: String,
    pub data: String,
    pub at: i64,
}

const COLUMNS: &str = "id, account_id, seq, event, data, at";

/// Takes the account's next `seq`. On PostgreSQL this also locks the account row until commit,
/// so events of one account commit in `seq` order.
pub async fn next_seq(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "UPDATE accounts SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await
}

/// The account's latest `seq` (0 before any event).
pub async fn last_seq(conn: &mut AnyConnection, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT event_seq FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(conn)
        .await
        .map(|seq| seq.unwrap_or(0))
}

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    seq: i64,
    event: &str,
    data: &str,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO events (account_id, seq, event, data, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(seq)
    .bind(event)
    .bind(data)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Committed events not yet broadcast, oldest first.
pub async fn pending(conn: &mut AnyConnection, limit: i64) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE relayed = 0 ORDER BY id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Marks exactly these rows relayed (ids come from the database, so they are formatted in).
pub async fn mark_relayed(conn: &mut AnyConnection, ids: &[i64]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    sqlx::query(&format!(
        "UPDATE events SET relayed = 1 WHERE id IN ({})",
        list.join(",")
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's events after `since`, in order.
pub async fn since(
    conn: &mut AnyConnection,
    account_id: i64,
    since: i64,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    ))
    .bind(account_id)
    .bind(since)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The oldest `seq` the log still keeps for the account.
pub async fn first_kept_seq(
    conn: &mut AnyConnection,
    account_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT MIN(seq) FROM events WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(conn)
        .await
}

/// Deletes broadcast events older than `before`; answers how many.
pub async fn prune(conn: &mut AnyConnection, before: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM events WHERE relayed = 1 AND at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Takes or renews the relay lease for `holder` until `until`; answers whether it holds it.
pub async fn hold_lease(
    conn: &mut AnyConnection,
    holder: &str,
    now: i64,
    until: i64,
) -> sqlx::Result<bool> {
    sqlx::query(
        "INSERT INTO relay_lease (name, holder, expires_at) VALUES ('relay', $1, $2) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
         WHERE relay_lease.holder = excluded.holder OR relay_lease.expires_at < $3",
    )
    .bind(holder)
    .bind(until)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let current: Option<String> =
        sqlx::query_scalar("SELECT holder FROM relay_lease WHERE name = 'relay'")
            .fetch_optional(conn)
            .await?;
    Ok(current.as_deref() == Some(holder))
}

/// Gives the lease up (on shutdown), so another node takes over at once.
pub async fn release_lease(conn: &mut AnyConnection, holder: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM relay_lease WHERE name = 'relay' AND holder = $1")
        .bind(holder)
        .execute(conn)
        .await?;
    Ok(())
}
