//! The durable event log, its wake-up on PostgreSQL, and the control rows.

use sqlx::{AnyConnection, Executor, FromRow};

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

/// Logs one event under the account's next `seq` and answers that `seq`, in one statement: the
/// row reads the account's counter, and the `events_advance_seq` trigger (migration 0008)
/// moves the counter up to it. Writers of an account run one at a time
/// (`Store::begin_write`), so events of one account commit in `seq` order; were two to read
/// the same counter, `UNIQUE (account_id, seq)` would refuse the second.
pub async fn append(
    conn: &mut AnyConnection,
    account_id: i64,
    event: &str,
    data: &str,
    at: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO events (account_id, seq, event, data, at) \
         SELECT id, event_seq + 1, $2, $3, $4 FROM accounts WHERE id = $1 RETURNING seq",
    )
    .bind(account_id)
    .bind(event)
    .bind(data)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// Takes the account's next `seq` (for [`insert`]). On PostgreSQL this also locks the account
/// row until commit, so events of one account commit in `seq` order.
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

/// Every account's latest `seq`: where the log of each ends.
pub async fn heads(conn: &mut AnyConnection) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as("SELECT id, event_seq FROM accounts")
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

/// Deletes events older than `before` (retention); answers how many.
pub async fn prune(conn: &mut AnyConnection, before: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM events WHERE at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Wakes every node that listens on PostgreSQL (`LISTEN fila_events`) once the transaction
/// commits; nothing is delivered if it rolls back. The payload is the account id, or
/// [`CONTROL_PAYLOAD`] for a control row. Sent as a simple query: NOTIFY takes no parameters,
/// and the payload is formatted from an integer or a constant.
pub async fn notify(conn: &mut AnyConnection, payload: &str) -> sqlx::Result<()> {
    debug_assert!(payload.chars().all(|c| c.is_ascii_alphanumeric()));
    conn.execute(format!("NOTIFY {CHANNEL}, '{payload}'").as_str())
        .await?;
    Ok(())
}

/// The PostgreSQL channel that wakes the nodes.
pub const CHANNEL: &str = "fila_events";
/// The notification payload of a control row.
pub const CONTROL_PAYLOAD: &str = "control";

/// A control row: which sockets every node disconnects. Never broadcast, never in
/// `GET /api/events`, outside the account's `seq`.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow)]
pub struct ControlRow {
    pub id: i64,
    pub account_id: i64,
    /// The sockets of this session.
    pub session_id: Option<String>,
    /// The sockets of this API key.
    pub api_key_id: Option<i64>,
    /// The sockets of this user, except those of `keep_session_id`.
    pub user_id: Option<i64>,
    pub keep_session_id: Option<String>,
    pub at: i64,
}

pub async fn insert_control(conn: &mut AnyConnection, row: &ControlRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO control_events (account_id, session_id, api_key_id, user_id, keep_session_id, at) \
         VALUES ($1, CAST($2 AS TEXT), CAST($3 AS BIGINT), CAST($4 AS BIGINT), CAST($5 AS TEXT), $6)",
    )
    .bind(row.account_id)
    .bind(row.session_id.clone())
    .bind(row.api_key_id)
    .bind(row.user_id)
    .bind(row.keep_session_id.clone())
    .bind(row.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Control rows written at `after` or later (by the writer's clock), oldest first.
pub async fn controls_since(conn: &mut AnyConnection, after: i64) -> sqlx::Result<Vec<ControlRow>> {
    sqlx::query_as(
        "SELECT id, account_id, session_id, api_key_id, user_id, keep_session_id, at \
         FROM control_events WHERE at >= $1 ORDER BY id",
    )
    .bind(after)
    .fetch_all(conn)
    .await
}

/// Deletes control rows older than `before`.
pub async fn prune_controls(conn: &mut AnyConnection, before: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM control_events WHERE at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
