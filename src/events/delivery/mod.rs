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
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::domain::time::{format_ms, now_ms};
use crate::metrics::Metrics;
use crate::realtime::Io;
use crate::realtime::fanout::Emitted;
use crate::realtime::public::StatusFeed;
use crate::store::events::{ControlRow, EventRow};
use crate::store::{self, Backend, Store};
use sqlx::Any;
use sqlx::pool::PoolConnection;

use super::{ALLOWED, Wake};

mod control;
mod health;
mod listen;

pub use control::control_matches;
pub use health::LogHealth;
use listen::{AbortOnDrop, listen};

/// The safety-net poll, while the wake-up works.
const POLL: Duration = Duration::from_secs(2);
/// The poll while PostgreSQL's wake-up connection is down.
const POLL_WITHOUT_LISTENER: Duration = Duration::from_millis(250);
/// How soon a failed read is tried again.
pub(super) const RETRY: Duration = Duration::from_millis(500);
/// How long the log may be unreadable before this node disconnects its sockets.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);
/// Rows read per round trip to the database.
const BATCH: i64 = 256;
/// At most this many rows read together are written to each socket in one write. Every
/// socket holds them until then, so this bounds the extra memory of a burst (8 events of
/// about 650 bytes: about 5 KB per socket, for a moment).
const WRITE_TOGETHER: usize = 8;
/// How often the delivery looks where it stands in the log (the backlog metrics).
const LOOK_EVERY: Duration = Duration::from_secs(1);
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

/// The arguments of every broadcast: the payload, `{seq, at}`, and the offset (the `seq` as a
/// string), which socket.io-client keeps for connection state recovery (see
/// `crate::realtime::recovery`).
pub type Args = (Box<RawValue>, Meta, String);

/// A row as it is broadcast, or `None` (logged) for a row that must not go out.
fn broadcast(row: &EventRow) -> Option<(&'static str, Args)> {
    let Some(event) = ALLOWED.iter().copied().find(|name| *name == row.event) else {
        tracing::error!(event = %row.event, seq = row.seq, "event name not allowlisted; skipped");
        return None;
    };
    // The stored JSON goes out as it is: no parse into a tree and back.
    let data = match RawValue::from_string(row.data.clone()) {
        Ok(data) => data,
        Err(error) => {
            tracing::error!(error = %error, event, seq = row.seq, "stored event is not JSON; skipped");
            return None;
        }
    };
    let meta = Meta {
        seq: row.seq,
        at: format_ms(row.at),
    };
    Some((event, (data, meta, row.seq.to_string())))
}

/// A broadcast as the TV panels get it under the clinic's panel name `style`: the payload
/// without patients' contact data (see `crate::model::panel_payload`), or `None` (logged) when
/// it cannot be reduced.
fn for_panel(
    (event, (data, meta, offset)): &(&'static str, Args),
    style: &str,
) -> Option<(&'static str, Args)> {
    let reduced = crate::model::panel_payload(data.get(), style)
        .and_then(|text| RawValue::from_string(text).ok());
    let Some(reduced) = reduced else {
        tracing::error!(
            event,
            seq = meta.seq,
            "event payload could not be reduced for the panels; skipped"
        );
        return None;
    };
    Some((*event, (reduced, meta.clone(), offset.clone())))
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
    /// How each account's TV panels write names, as read at the instant kept beside it.
    panel_styles: HashMap<i64, (Instant, String)>,
    /// When the delivery last looked where it stands in the log.
    last_look: Option<Instant>,
    /// Whether that look found rows not emitted yet (then every round looks again, so the
    /// metrics clear as soon as they are emitted).
    behind: bool,
}

/// How long a clinic's panel name style is used before it is read again: a change made on the
/// manager's screen reaches the TV panels within this, and a busy clinic's delivery reads its
/// account row once in this time rather than once per round.
const PANEL_STYLE_TTL: Duration = Duration::from_secs(2);

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
            panel_styles: HashMap::new(),
            last_look: None,
            behind: false,
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
        if let Some(kind) = store::error_kind_in(&error) {
            self.metrics.db_error(kind);
        }
        tracing::warn!(error = %format!("{error:#}"), "cannot read the event log; retrying");
        let stalled_for = now_ms() - since;
        if !self.dropped && stalled_for >= STALL_LIMIT.as_millis() as i64 {
            tracing::warn!(
                stalled_ms = stalled_for,
                "event log unreadable: closing this node's sockets so their clients reconnect elsewhere"
            );
            // Not a Socket.IO DISCONNECT, after which a client never reconnects: a closed
            // transport, from which it reconnects and recovers by itself.
            self.io.drop_all_transports();
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
                        None => conn.insert(self.store.acquire().await?),
                    };
                    store::events::last_seq(conn, account_id).await?
                }
            };
            self.cursors.insert(account_id, start);
            self.io.presence().emitted(account_id, start);
            // Rows may already be waiting after it.
            self.pending_reads.insert(account_id);
        }
        self.recover(&mut conn).await?;
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
                None => conn.insert(self.store.acquire().await?),
            };
            while let Some(&after) = self.cursors.get(&account_id) {
                let rows = store::events::since(conn, account_id, after, BATCH).await?;
                let full = rows.len() as i64 == BATCH;
                if rows.is_empty() {
                    break;
                }
                // The TV panels here get the names as the clinic's panel writes them.
                let panel_style = if self.io.has_panels(account_id) {
                    Some(panel_style(&mut self.panel_styles, conn, account_id).await?)
                } else {
                    None
                };
                // Rows that came together (a burst of changes) reach each socket in one
                // write: a few events to N sockets cost N writes, not a few × N.
                for rows in rows.chunks(WRITE_TOGETHER) {
                    self.emit(account_id, rows, panel_style.as_deref()).await;
                    if let Some(last) = rows.last() {
                        self.cursors.insert(account_id, last.seq);
                        self.io.presence().emitted(account_id, last.seq);
                    }
                }
                if !full {
                    break;
                }
            }
        }
        // A recovered socket whose offset was ahead of this node's cursor can go now.
        self.recover(&mut conn).await?;
        if control {
            let conn = match &mut conn {
                Some(conn) => conn,
                None => conn.insert(self.store.acquire().await?),
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
        if self.behind || self.last_look.is_none_or(|at| at.elapsed() >= LOOK_EVERY) {
            let conn = match &mut conn {
                Some(conn) => conn,
                None => conn.insert(self.store.acquire().await?),
            };
            self.behind = self.look(conn).await? > 0;
            self.last_look = Some(Instant::now());
        }
        Ok(())
    }

    /// Where this node stands in the log: the rows of its accounts it has not emitted yet, and
    /// when the oldest of them was committed (`fila_event_log_*`); answers how many.
    async fn look(&self, conn: &mut PoolConnection<Any>) -> anyhow::Result<i64> {
        let heads: HashMap<i64, i64> = store::events::heads(conn).await?.into_iter().collect();
        let mut unread = 0;
        let mut oldest: Option<i64> = None;
        for (&account_id, &cursor) in &self.cursors {
            let head = heads.get(&account_id).copied().unwrap_or(cursor);
            if head <= cursor {
                continue;
            }
            unread += head - cursor;
            if let Some(row) = store::events::since(conn, account_id, cursor, 1)
                .await?
                .first()
            {
                oldest = Some(oldest.map_or(row.at, |at| at.min(row.at)));
            }
        }
        self.metrics.event_log_read(unread, oldest);
        Ok(unread)
    }

    /// Replays the log to the recovered sockets waiting for it, each from its offset up to the
    /// last `seq` emitted to its account's room here, then makes them join the room. The
    /// delivery is the one task that emits to the room, so nothing is missed or sent twice in
    /// between. Sockets of one account share one read of the log from the lowest offset.
    async fn recover(&mut self, conn: &mut Option<PoolConnection<Any>>) -> anyhow::Result<()> {
        let recoveries = self.io.presence().recoveries();
        if recoveries.is_empty() {
            return Ok(());
        }
        let mut waiting = recoveries.take();
        let accounts: Vec<i64> = waiting.keys().copied().collect();
        for account_id in accounts {
            let Some(pending) = waiting.remove(&account_id) else {
                continue;
            };
            // Ahead of the cursor (it came from a node further on): wait for the cursor. Not
            // present any more (the socket left): dropped.
            let Some(&cursor) = self.cursors.get(&account_id) else {
                if self.io.presence().count(account_id) > 0 {
                    recoveries.put_back(pending);
                }
                continue;
            };
            let (ready, later): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|p| p.after <= cursor);
            recoveries.put_back(later);
            let Some(from) = ready.iter().map(|p| p.after).min() else {
                continue;
            };
            let rows = match self.read_range(conn, account_id, from, cursor).await {
                Ok(rows) => rows,
                Err(error) => {
                    recoveries.put_back(ready);
                    for (_, rest) in waiting.drain() {
                        recoveries.put_back(rest);
                    }
                    return Err(error);
                }
            };
            let events: Vec<(i64, (&'static str, Args))> = rows
                .iter()
                .filter_map(|row| Some((row.seq, broadcast(row)?)))
                .collect();
            // The TV panels' replay leaves out patients' contact data, as their room's events do.
            let panel_style = if ready.iter().any(|socket| self.io.is_panel(socket.sid)) {
                let conn = match conn {
                    Some(conn) => conn,
                    None => conn.insert(self.store.acquire().await?),
                };
                Some(panel_style(&mut self.panel_styles, conn, account_id).await?)
            } else {
                None
            };
            let panel_events: Option<Vec<(i64, (&'static str, Args))>> =
                panel_style.as_deref().map(|style| {
                    events
                        .iter()
                        .filter_map(|(seq, event)| Some((*seq, for_panel(event, style)?)))
                        .collect()
                });
            for socket in ready {
                let events = match &panel_events {
                    Some(reduced) if self.io.is_panel(socket.sid) => reduced,
                    _ => &events,
                };
                let start = events.partition_point(|(seq, _)| *seq <= socket.after);
                let missed: Vec<_> = events[start..].iter().map(|(_, e)| e.clone()).collect();
                if let Some(sent) = self
                    .io
                    .replay_then_join(socket.sid, account_id, &missed)
                    .await
                {
                    self.metrics.events_replayed(sent as u64);
                    tracing::debug!(
                        account_id,
                        sid = %socket.sid,
                        after = socket.after,
                        replayed = sent,
                        "socket recovered"
                    );
                }
            }
        }
        Ok(())
    }

    /// The account's rows with `from < seq <= to`, in order.
    async fn read_range(
        &self,
        conn: &mut Option<PoolConnection<Any>>,
        account_id: i64,
        from: i64,
        to: i64,
    ) -> anyhow::Result<Vec<EventRow>> {
        let conn = match conn {
            Some(conn) => conn,
            None => conn.insert(self.store.acquire().await?),
        };
        let mut rows = Vec::new();
        let mut after = from;
        while after < to {
            let batch = store::events::since(conn, account_id, after, BATCH).await?;
            let full = batch.len() as i64 == BATCH;
            for row in batch {
                if row.seq > to {
                    return Ok(rows);
                }
                after = row.seq;
                rows.push(row);
            }
            if !full {
                break;
            }
        }
        Ok(rows)
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
    /// whatever their number (and once more, reduced under `panel_style`, for its TV panels).
    async fn emit(&self, account_id: i64, rows: &[EventRow], panel_style: Option<&str>) {
        let mut sent = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(event) = broadcast(row) else {
                continue;
            };
            sent.push(row);
            events.push(event);
        }
        if events.is_empty() {
            return;
        }
        let panel_events: Option<Vec<_>> = panel_style.map(|style| {
            events
                .iter()
                .filter_map(|event| for_panel(event, style))
                .collect()
        });
        let results = self.io.emit_in_order(account_id, Arc::new(events)).await;
        if let Some(panel_events) = panel_events {
            for result in self
                .io
                .emit_to_panels(account_id, Arc::new(panel_events))
                .await
            {
                if let Emitted::Failed(error) = result {
                    tracing::error!(error = %error, account_id, "event could not be emitted to the panels");
                }
            }
        }
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
            self.metrics.event_emitted(event, row.at);
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
            let mut conn = self.store.acquire().await?;
            let events = store::events::prune(&mut conn, now - self.retention_ms).await?;
            store::events::prune_controls(&mut conn, now - CONTROL_KEPT_MS).await?;
            store::sessions::prune(&mut conn, now - CONTROL_KEPT_MS, now - SESSION_STALE_MS)
                .await?;
            store::idempotency::prune(&mut conn, now).await?;
            anyhow::Ok(events)
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "pruned old events"),
            Err(error) => {
                if let Some(kind) = store::error_kind_in(&error) {
                    self.metrics.db_error(kind);
                }
                tracing::warn!(error = %format!("{error:#}"), "pruning failed");
            }
        }
    }
}

/// The account's panel name style from `styles`, read again once [`PANEL_STYLE_TTL`] has passed.
async fn panel_style(
    styles: &mut HashMap<i64, (Instant, String)>,
    conn: &mut PoolConnection<Any>,
    account_id: i64,
) -> anyhow::Result<String> {
    if let Some((at, style)) = styles.get(&account_id)
        && at.elapsed() < PANEL_STYLE_TTL
    {
        return Ok(style.clone());
    }
    let style = store::accounts::panel_name_style(conn, account_id).await?;
    styles.insert(account_id, (Instant::now(), style.clone()));
    Ok(style)
}
