//! Delivery: this node emits the durable log to its own sockets.
//!
//! For each account with sockets on this node it keeps the last `seq` it emitted, reads newer
//! rows of that account in `seq` order and emits them to its local room. Nothing is marked in
//! the log and no node speaks for another: every node tails the log for its own clients. A new
//! account's cursor starts at the account's latest `seq` as its first socket's handshake read
//! it, before the socket joined the room (its clients fill anything older from
//! `GET /api/events`, as after any reconnect).
//!
//! It is woken by the database: on PostgreSQL a dedicated connection `LISTEN`s to the
//! notifications the writing transactions send on commit, and after that connection drops and
//! comes back every account is read again; on SQLite the commit wakes it in process. A slow
//! poll is only a safety net.
//!
//! It never stalls silently: when it cannot read the log it says so on `/readyz`, and past
//! [`STALL_LIMIT`] it disconnects its sockets, so clients reconnect (to any node) and fill the
//! gap from `GET /api/events`. It resumes by itself once the database answers again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::postgres::PgListener;
use tokio::time::Instant;

use crate::domain::time::{format_ms, now_ms};
use crate::metrics::Metrics;
use crate::realtime::fanout::Emitted;
use crate::realtime::public::StatusFeed;
use crate::realtime::{Io, SocketAuth};
use crate::store::events::{CHANNEL, CONTROL_PAYLOAD, ControlRow, EventRow};
use crate::store::{self, Backend, Store};

use super::{ALLOWED, Wake};

/// The safety-net poll, while the wake-up works.
const POLL: Duration = Duration::from_secs(2);
/// The poll while PostgreSQL's wake-up connection is down.
const POLL_WITHOUT_LISTENER: Duration = Duration::from_millis(250);
/// How soon a failed read is tried again.
const RETRY: Duration = Duration::from_millis(500);
/// How long the log may be unreadable before this node disconnects its sockets.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);
/// Rows read per round trip to the database.
const BATCH: i64 = 256;
/// At most this many rows read together are written to each socket in one write. Every
/// socket holds them until then, so this bounds the extra memory of a burst (8 events of
/// about 650 bytes: about 5 KB per socket, for a moment).
const WRITE_TOGETHER: usize = 8;
/// How often old rows (events past retention, old control rows and sessions) are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How far back control rows are read again on every look (covers transactions that commit
/// out of id order and clocks that differ between nodes); acting twice on one is harmless.
const CONTROL_WINDOW_MS: i64 = 60_000;
/// How long control rows and ended sessions are kept.
const CONTROL_KEPT_MS: i64 = 86_400_000;
/// Open sessions not refreshed for this long are pruned (no token of theirs is still valid:
/// tokens live at most a day).
const SESSION_STALE_MS: i64 = 2 * 86_400_000;

/// The second argument of every broadcast: `{"seq": N, "at": "..."}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = EventMeta)]
pub struct Meta {
    /// Rises by one per event within the account: a jump is a gap to fill from `GET /api/events`.
    pub seq: i64,
    /// When the event was committed (UTC, milliseconds, `Z`).
    pub at: String,
}

/// Whether this node can read the log now (`/readyz`).
#[derive(Debug)]
pub struct LogHealth {
    ok: AtomicBool,
    /// Since when reads have failed (ms since the epoch; 0 while they succeed).
    failing_since: AtomicI64,
    listening: AtomicBool,
}

impl Default for LogHealth {
    fn default() -> Self {
        LogHealth {
            ok: AtomicBool::new(true),
            failing_since: AtomicI64::new(0),
            listening: AtomicBool::new(true),
        }
    }
}

impl LogHealth {
    /// Whether the last read of the log succeeded.
    pub fn is_ok(&self) -> bool {
        self.ok.load(Ordering::Relaxed)
    }

    fn succeeded(&self) {
        self.ok.store(true, Ordering::Relaxed);
        self.failing_since.store(0, Ordering::Relaxed);
    }

    /// Records a failure; answers since when reads have failed.
    fn failed(&self) -> i64 {
        self.ok.store(false, Ordering::Relaxed);
        let now = now_ms();
        match self
            .failing_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => now,
            Err(since) => since,
        }
    }
}

/// The delivery of one node.
pub struct Delivery {
    store: Store,
    io: Io,
    wake: Arc<Wake>,
    metrics: Arc<Metrics>,
    health: Arc<LogHealth>,
    retention_ms: i64,
    /// The last `seq` emitted, per account with sockets here.
    cursors: HashMap<i64, i64>,
    /// Control rows already acted on, with their time (forgotten past the window).
    controls_seen: HashMap<i64, i64>,
    /// Whether this node's sockets were dropped for the current outage.
    dropped: bool,
    /// Accounts whose new cursor must be read from at once.
    pending_reads: HashSet<i64>,
    /// Told of every row emitted, so the patients' status pages follow the queues.
    status_feed: Option<StatusFeed>,
}

impl Delivery {
    pub fn new(
        store: Store,
        io: Io,
        wake: Arc<Wake>,
        metrics: Arc<Metrics>,
        health: Arc<LogHealth>,
        retention_ms: i64,
    ) -> Delivery {
        Delivery {
            store,
            io,
            wake,
            metrics,
            health,
            retention_ms,
            cursors: HashMap::new(),
            controls_seen: HashMap::new(),
            dropped: false,
            pending_reads: HashSet::new(),
            status_feed: None,
        }
    }

    /// Tells `feed` of every row emitted (the patients' status pages follow the queues).
    pub fn with_status_feed(mut self, feed: StatusFeed) -> Delivery {
        self.status_feed = Some(feed);
        self
    }

    /// Runs until the process ends (with the PostgreSQL wake-up connection beside it).
    pub async fn run(mut self) {
        // The wake-up connection ends with the delivery (dropping the guard aborts it).
        let _listener = (self.store.backend() == Backend::Postgres).then(|| {
            AbortOnDrop(tokio::spawn(listen(
                self.store.url().to_string(),
                self.wake.clone(),
                self.health.clone(),
            )))
        });
        let mut last_prune = Instant::now();
        let mut next_poll = Instant::now() + POLL;
        let mut retry_all = false;
        loop {
            let pending = self.wake.take();
            let polled = Instant::now() >= next_poll;
            if polled {
                let every = if self.health.listening.load(Ordering::Relaxed) {
                    POLL
                } else {
                    POLL_WITHOUT_LISTENER
                };
                next_poll = Instant::now() + every;
            }
            let all = pending.all || polled || retry_all;
            let control = pending.control || all;
            match self.round(all, &pending.accounts, control).await {
                Ok(()) => {
                    retry_all = false;
                    if !self.health.is_ok() {
                        tracing::info!("the event log is readable again; delivery resumed");
                    }
                    self.health.succeeded();
                    self.dropped = false;
                }
                Err(error) => {
                    retry_all = true;
                    self.stalled(error).await;
                }
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = Instant::now();
                self.prune().await;
            }
            let wait = if retry_all {
                RETRY
            } else {
                next_poll.saturating_duration_since(Instant::now())
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = self.io.presence().arrived() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// A read failed: `/readyz` says so at once, and past `STALL_LIMIT` this node's sockets
    /// are disconnected (their clients reconnect elsewhere and fill the gap).
    async fn stalled(&mut self, error: anyhow::Error) {
        let since = self.health.failed();
        tracing::warn!(error = %format!("{error:#}"), "cannot read the event log; retrying");
        let stalled_for = now_ms() - since;
        if !self.dropped && stalled_for >= STALL_LIMIT.as_millis() as i64 {
            tracing::warn!(
                stalled_ms = stalled_for,
                "event log unreadable: disconnecting this node's sockets so their clients reconnect elsewhere"
            );
            self.io.disconnect_all().await;
            self.cursors.clear();
            self.dropped = true;
        }
    }

    /// Brings the cursors in line with the accounts that have sockets here, then emits what is
    /// new for the accounts asked (all when `all`), then acts on control rows.
    async fn round(
        &mut self,
        all: bool,
        accounts: &HashSet<i64>,
        control: bool,
    ) -> anyhow::Result<()> {
        let starts = self.io.presence().take_starts();
        let present = self.io.presence().accounts();
        self.cursors.retain(|account, _| present.contains(account));
        let mut conn = None;
        for account_id in present {
            if self.cursors.contains_key(&account_id) {
                continue;
            }
            // A new account starts at the `seq` its first sockets read at their handshake,
            // before they joined the room: everything after it reaches them.
            let start = match starts.get(&account_id) {
                Some(&seq) => seq,
                None => {
                    let conn = match &mut conn {
                        Some(conn) => conn,
                        None => conn.insert(self.store.pool().acquire().await?),
                    };
                    store::events::last_seq(conn, account_id).await?
                }
            };
            self.cursors.insert(account_id, start);
            // Rows may already be waiting after it.
            self.pending_reads.insert(account_id);
        }
        let fresh = std::mem::take(&mut self.pending_reads);
        let wanted: Vec<i64> = self
            .cursors
            .keys()
            .copied()
            .filter(|account| all || accounts.contains(account) || fresh.contains(account))
            .collect();
        for account_id in wanted {
            let conn = match &mut conn {
                Some(conn) => conn,
                None => conn.insert(self.store.pool().acquire().await?),
            };
            while let Some(&after) = self.cursors.get(&account_id) {
                let rows = store::events::since(conn, account_id, after, BATCH).await?;
                let full = rows.len() as i64 == BATCH;
                // Rows that came together (a burst of changes) reach each socket in one
                // write: a few events to N sockets cost N writes, not a few × N.
                for rows in rows.chunks(WRITE_TOGETHER) {
                    self.emit(account_id, rows).await;
                    if let Some(last) = rows.last() {
                        self.cursors.insert(account_id, last.seq);
                    }
                }
                if !full {
                    break;
                }
            }
        }
        if control {
            let conn = match &mut conn {
                Some(conn) => conn,
                None => conn.insert(self.store.pool().acquire().await?),
            };
            let since = now_ms() - CONTROL_WINDOW_MS;
            let rows = store::events::controls_since(conn, since).await?;
            self.controls_seen.retain(|_, at| *at >= since);
            for row in rows {
                if self.controls_seen.insert(row.id, row.at).is_none() {
                    self.act(&row);
                }
            }
        }
        Ok(())
    }

    /// Disconnects this node's sockets that a control row names.
    fn act(&self, row: &ControlRow) {
        let count = self
            .io
            .disconnect_where(row.account_id, |auth| control_matches(row, auth));
        if count > 0 {
            tracing::info!(
                account_id = row.account_id,
                sockets = count,
                "sockets of an ended session disconnected"
            );
        }
    }

    /// Emits rows of one account, in order, to this node's sockets of it: each encoded once,
    /// whatever their number.
    async fn emit(&self, account_id: i64, rows: &[EventRow]) {
        let mut sent = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(event) = ALLOWED.iter().copied().find(|name| *name == row.event) else {
                tracing::error!(event = %row.event, seq = row.seq, "event name not allowlisted; skipped");
                continue;
            };
            // The stored JSON goes out as it is: no parse into a tree and back.
            let data = match RawValue::from_string(row.data.clone()) {
                Ok(data) => data,
                Err(error) => {
                    tracing::error!(error = %error, event, seq = row.seq, "stored event is not JSON; skipped");
                    continue;
                }
            };
            let meta = Meta {
                seq: row.seq,
                at: format_ms(row.at),
            };
            sent.push(row);
            events.push((event, (data, meta)));
        }
        if events.is_empty() {
            return;
        }
        let results = self.io.emit_in_order(account_id, Arc::new(events)).await;
        for (row, result) in sent.into_iter().zip(results) {
            let event = row.event.as_str();
            match result {
                Emitted::Sent { missed: 0 } => {}
                // Slow or closing sockets whose buffer is full miss this packet; they see the
                // `seq` gap and fill it from `/api/events`. Everyone else got it: do not send
                // it again.
                Emitted::Sent { missed } => {
                    tracing::warn!(
                        sockets = missed,
                        event,
                        seq = row.seq,
                        "some sockets missed a broadcast"
                    );
                }
                Emitted::Failed(error) => {
                    tracing::error!(error = %error, event, seq = row.seq, "event could not be emitted; skipped");
                    continue;
                }
            }
            self.metrics.event_emitted(event);
            if let Some(feed) = &self.status_feed {
                feed.after_broadcast(row.account_id, event, &row.data);
            }
            tracing::debug!(account_id = row.account_id, seq = row.seq, event, "emitted");
        }
    }

    /// Removes events past retention, old control rows and sessions that can no longer be
    /// used. Every node does it; doing it twice is harmless.
    async fn prune(&self) {
        let now = now_ms();
        let result = async {
            let mut conn = self.store.pool().acquire().await?;
            let events = store::events::prune(&mut conn, now - self.retention_ms).await?;
            store::events::prune_controls(&mut conn, now - CONTROL_KEPT_MS).await?;
            store::sessions::prune(&mut conn, now - CONTROL_KEPT_MS, now - SESSION_STALE_MS)
                .await?;
            anyhow::Ok(events)
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "pruned old events"),
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "pruning failed"),
        }
    }
}

/// Whether a control row names a socket: a session's sockets; an API key's; or a user's
/// password sessions other than `keep_session_id`.
pub fn control_matches(row: &ControlRow, auth: &SocketAuth) -> bool {
    if auth.account_id != row.account_id {
        return false;
    }
    if let Some(session) = &row.session_id {
        return *session == auth.session_id;
    }
    if let Some(key) = row.api_key_id {
        return auth.api_key_id == Some(key);
    }
    if let Some(user) = row.user_id {
        return auth.user_id == user
            && auth.api_key_id.is_none()
            && row.keep_session_id.as_deref() != Some(auth.session_id.as_str());
    }
    false
}

/// PostgreSQL's wake-up: a dedicated connection `LISTEN`s on [`CHANNEL`]; each notification
/// wakes the delivery for its account (or its control rows). When the connection drops, the
/// delivery polls fast until it is back, then reads every account again (notifications sent
/// meanwhile are lost).
async fn listen(url: String, wake: Arc<Wake>, health: Arc<LogHealth>) {
    loop {
        let mut listener = match connect_listener(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                health.listening.store(false, Ordering::Relaxed);
                tracing::debug!(error = %error, "wake-up connection: cannot connect; retrying");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        health.listening.store(true, Ordering::Relaxed);
        wake.all();
        // `None` or an error: the connection is lost.
        while let Ok(Some(notification)) = listener.try_recv().await {
            match notification.payload() {
                CONTROL_PAYLOAD => wake.control(),
                payload => match payload.parse() {
                    Ok(account_id) => wake.account(account_id),
                    Err(_) => wake.all(),
                },
            }
        }
        health.listening.store(false, Ordering::Relaxed);
        tracing::warn!("wake-up connection to PostgreSQL lost; reconnecting");
        // The delivery reads every account now: whatever the lost connection would have said.
        wake.all();
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn connect_listener(url: &str) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(user_id: i64, api_key_id: Option<i64>, session: &str) -> SocketAuth {
        SocketAuth {
            account_id: 1,
            user_id,
            api_key_id,
            session_id: session.into(),
            exp: 0,
            seq_at_handshake: 0,
        }
    }

    #[test]
    fn a_control_row_names_a_session_a_key_or_a_users_other_password_sessions() {
        let session = ControlRow {
            account_id: 1,
            session_id: Some("s1".into()),
            ..ControlRow::default()
        };
        assert!(control_matches(&session, &socket(7, None, "s1")));
        assert!(!control_matches(&session, &socket(7, None, "s2")));

        let key = ControlRow {
            account_id: 1,
            api_key_id: Some(3),
            ..ControlRow::default()
        };
        assert!(control_matches(&key, &socket(7, Some(3), "s1")));
        assert!(!control_matches(&key, &socket(7, Some(4), "s1")));
        assert!(!control_matches(&key, &socket(7, None, "s1")));

        let user = ControlRow {
            account_id: 1,
            user_id: Some(7),
            keep_session_id: Some("kept".into()),
            ..ControlRow::default()
        };
        assert!(control_matches(&user, &socket(7, None, "other")));
        assert!(!control_matches(&user, &socket(7, None, "kept")));
        assert!(!control_matches(&user, &socket(7, Some(3), "key")));
        assert!(!control_matches(&user, &socket(8, None, "other")));

        let elsewhere = ControlRow {
            account_id: 2,
            session_id: Some("s1".into()),
            ..ControlRow::default()
        };
        assert!(!control_matches(&elsewhere, &socket(7, None, "s1")));
    }
}
