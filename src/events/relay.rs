//! The relay: broadcasts committed log rows, in order, to each account's room.
//!
//! It wakes when a transaction with events commits on this node, and polls the log otherwise
//! (rows committed by another node, or left behind by a crash). Delivery is at least once:
//! a row is marked relayed only after its broadcast, and clients drop a `seq` they have seen.
//! With several nodes, a lease in the database lets one node relay at a time.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use socketioxide::BroadcastError;
use tokio::sync::Notify;

use crate::domain::time::{format_ms, now_ms};
use crate::metrics::Metrics;
use crate::realtime::public::StatusFeed;
use crate::realtime::{Io, room};
use crate::store::{self, Store, events::EventRow};

use super::ALLOWED;

/// How often the relay looks at the log without being woken (rows committed by other nodes).
const POLL: Duration = Duration::from_millis(200);
/// How long a node holds the relay lease without renewing it: short, so a node that died is
/// replaced within seconds.
const LEASE_MS: i64 = 3_000;
/// How often the holder renews the lease (well within `LEASE_MS`).
const RENEW_MS: i64 = 1_000;
/// Rows broadcast per round trip to the database.
const BATCH: i64 = 256;
/// How often old relayed rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// The second argument of every broadcast: `{"seq": N, "at": "..."}`.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub seq: i64,
    pub at: String,
}

/// What this node knows of the relay lease.
#[derive(Debug, Default)]
struct Lease {
    /// When the lease this node holds runs out (0: not held).
    held_until: i64,
    /// When to take or renew it next.
    next_attempt: i64,
}

/// The relay of one node.
#[derive(Clone)]
pub struct Relay {
    store: Store,
    io: Io,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    holder: String,
    retention_ms: i64,
    /// Told of every row emitted, to update the patients' status pages.
    status_feed: Option<StatusFeed>,
}

impl Relay {
    pub fn new(
        store: Store,
        io: Io,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
        retention_ms: i64,
    ) -> Relay {
        let holder = format!(
            "{}-{}",
            std::process::id(),
            crate::auth::api_key::generate()
        );
        Relay {
            store,
            io,
            wake,
            metrics,
            holder,
            retention_ms,
            status_feed: None,
        }
    }

    /// Tells `feed` of every row emitted (the patients' status pages follow the queues).
    pub fn with_status_feed(mut self, feed: StatusFeed) -> Relay {
        self.status_feed = Some(feed);
        self
    }

    /// Runs until the process ends.
    pub async fn run(self) {
        let mut last_prune = tokio::time::Instant::now();
        let mut lease = Lease::default();
        loop {
            match self.round(&mut lease).await {
                Ok(()) => {}
                Err(error) => tracing::warn!(error = ?error, "event relay round failed; retrying"),
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = tokio::time::Instant::now();
                self.prune().await;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Broadcasts everything pending, if this node holds the lease (taken or renewed once a
    /// `RENEW_MS`, not every round).
    async fn round(&self, lease: &mut Lease) -> anyhow::Result<()> {
        let mut conn = self.store.pool().acquire().await?;
        let now = now_ms();
        if now >= lease.next_attempt {
            lease.next_attempt = now + RENEW_MS;
            let until = now + LEASE_MS;
            let held = store::events::hold_lease(&mut conn, &self.holder, now, until).await?;
            lease.held_until = if held { until } else { 0 };
        }
        if lease.held_until <= now {
            return Ok(());
        }
        loop {
            let rows = store::events::pending(&mut conn, BATCH).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut sent = Vec::with_capacity(rows.len());
            for row in &rows {
                self.broadcast(row).await?;
                sent.push(row.id);
            }
            store::events::mark_relayed(&mut conn, &sent).await?;
        }
    }

    /// Emits one row to its account's room: encoded once, whatever the number of sockets.
    async fn broadcast(&self, row: &EventRow) -> anyhow::Result<()> {
        let Some(event) = ALLOWED.iter().find(|name| **name == row.event) else {
            tracing::error!(event = %row.event, seq = row.seq, "event name not allowlisted; skipped");
            return Ok(());
        };
        // The stored JSON goes out as it is: no parse into a tree and back.
        let data: &RawValue = serde_json::from_str(&row.data)?;
        let meta = Meta {
            seq: row.seq,
            at: format_ms(row.at),
        };
        match self
            .io
            .emit(room(row.account_id), event, &(data, meta))
            .await
        {
            Ok(()) => {}
            // Slow or closing sockets whose buffer is full miss this packet; they see the `seq`
            // gap and fill it from `/api/events`. Everyone else got it: do not send it again.
            Err(BroadcastError::Socket(failed)) => {
                tracing::warn!(
                    sockets = failed.len(),
                    event,
                    seq = row.seq,
                    "some sockets missed a broadcast"
                );
            }
            Err(BroadcastError::Serialize(error)) => {
                tracing::error!(error = ?error, event, seq = row.seq, "event could not be encoded; skipped");
                return Ok(());
            }
            Err(error @ BroadcastError::Adapter(_)) => {
                return Err(anyhow::anyhow!("broadcasting {event}: {error}"));
            }
        }
        self.metrics.event_emitted(event);
        if let Some(feed) = &self.status_feed {
            feed.after_broadcast(row.account_id, event, &row.data);
        }
        tracing::debug!(
            account_id = row.account_id,
            seq = row.seq,
            event,
            "broadcast"
        );
        Ok(())
    }

    async fn prune(&self) {
        let before = now_ms() - self.retention_ms;
        let result = async {
            let mut conn = self.store.pool().acquire().await?;
            store::events::prune(&mut conn, before).await
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "pruned old events"),
            Err(error) => tracing::warn!(error = ?error, "pruning events failed"),
        }
    }

    /// Gives up the lease so another node takes over without waiting for it to expire.
    pub async fn release(&self) {
        if let Ok(mut conn) = self.store.pool().acquire().await {
            let _ = store::events::release_lease(&mut conn, &self.holder).await;
        }
    }
}
