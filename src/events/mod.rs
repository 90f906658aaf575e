//! Events, as the documented system draws them:
//!
//! 1. a change (a status move, a new appointment, a saved doctor) is described to
//!    [`flow`], whose listeners — one per target status — decide which outgoing events it makes;
//! 2. [`EventLog::commit`] writes each outgoing event as a row of the durable log, in the same
//!    transaction as the change, with the account's next `seq`, and commits;
//! 3. the commit wakes every node: on PostgreSQL the transaction also sends `NOTIFY`, which the
//!    database delivers on commit only; on SQLite (one node) an in-process wake-up follows the
//!    commit;
//! 4. each node's [`delivery`] reads the account's rows after the last `seq` it emitted, in
//!    order, and emits them to its own sockets of the account's room.
//!
//! So nothing is emitted before its change is committed, every node delivers only to its own
//! sockets (no lease, no node speaking for another), and nothing committed is lost: rows stay in
//! the log until retention removes them.
//!
//! The same log carries control rows ([`EventLog::control`]): orders to every node to
//! disconnect the sockets of an ended session, a revoked key or a user's other sessions. They
//! live in their own table, so they never reach a client, never appear in `GET /api/events` and
//! never take an account `seq` (a client sees no false gap).

pub mod delivery;
pub mod flow;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::Notify;

use crate::domain::time::now_ms;
use crate::store::events::{CONTROL_PAYLOAD, ControlRow};
use crate::store::{self, Backend, Tx};

/// The only event names that ever reach a client (contract §5).
pub const ALLOWED: [&str; 11] = [
    names::APPOINTMENT_CREATED,
    names::APPOINTMENT_CHECKIN,
    names::APPOINTMENT_SERVING,
    names::APPOINTMENT_FINISHED_DOCUMENTED,
    names::APPOINTMENT_FINISHED,
    names::APPOINTMENT_UPDATED,
    names::APPOINTMENT_RECALLED,
    names::DOCTOR_BUSY,
    names::DOCTOR_CREATED,
    names::DOCTOR_UPDATED,
    names::DOCTOR_DELETED,
];

/// Event names, spelled exactly as clients expect them.
pub mod names {
    pub const APPOINTMENT_CREATED: &str = "appointments.created";
    pub const APPOINTMENT_CHECKIN: &str = "appointments.checkin";
    pub const APPOINTMENT_SERVING: &str = "appointments.serving";
    /// The documented spelling, kept for existing clients.
    pub const APPOINTMENT_FINISHED_DOCUMENTED: &str = "appointmnents.finished";
    pub const APPOINTMENT_FINISHED: &str = "appointments.finished";
    pub const APPOINTMENT_UPDATED: &str = "appointments.updated";
    /// A patient being served is called again on the TVs (they did not hear the first call).
    pub const APPOINTMENT_RECALLED: &str = "appointments.recalled";
    pub const DOCTOR_BUSY: &str = "doctors.busy";
    pub const DOCTOR_CREATED: &str = "doctors.created";
    pub const DOCTOR_UPDATED: &str = "doctors.updated";
    pub const DOCTOR_DELETED: &str = "doctors.deleted";
}

/// An event to broadcast to the account's room: its name and first argument, as JSON.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub event: &'static str,
    pub data: String,
}

impl Outgoing {
    /// An event whose payload is `data`.
    pub fn new(event: &'static str, data: &impl Serialize) -> anyhow::Result<Outgoing> {
        Ok(Outgoing {
            event,
            data: serde_json::to_string(data)?,
        })
    }
}

/// What the delivery of this node has to look at: accounts with new rows, control rows, or
/// everything (after the wake-up connection came back).
#[derive(Debug, Default)]
pub struct Wake {
    pending: Mutex<Pending>,
    notify: Notify,
}

/// The work a wake-up asks for.
#[derive(Debug, Default)]
pub struct Pending {
    pub accounts: HashSet<i64>,
    pub control: bool,
    pub all: bool,
}

impl Wake {
    pub fn account(&self, account_id: i64) {
        self.update(|p| {
            p.accounts.insert(account_id);
        });
    }

    pub fn control(&self) {
        self.update(|p| p.control = true);
    }

    pub fn all(&self) {
        self.update(|p| p.all = true);
    }

    fn update(&self, change: impl FnOnce(&mut Pending)) {
        if let Ok(mut pending) = self.pending.lock() {
            change(&mut pending);
        }
        self.notify.notify_one();
    }

    /// Takes what has been asked since the last call.
    pub fn take(&self) -> Pending {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

/// Writes outgoing events and control rows into the log and wakes the nodes on commit.
#[derive(Debug, Clone)]
pub struct EventLog {
    backend: Backend,
    wake: Arc<Wake>,
}

impl EventLog {
    pub fn new(backend: Backend) -> EventLog {
        EventLog {
            backend,
            wake: Arc::new(Wake::default()),
        }
    }

    /// Records the events in the account's log inside `tx`, each with the account's next
    /// `seq`, and commits: the one way a change with events ends. On PostgreSQL the
    /// transaction also notifies every node, on commit only; on SQLite this node's delivery
    /// is woken after the commit.
    pub async fn commit(
        &self,
        mut tx: Tx,
        account_id: i64,
        events: &[Outgoing],
    ) -> anyhow::Result<()> {
        let at = now_ms();
        for outgoing in events {
            store::events::append(&mut tx, account_id, outgoing.event, &outgoing.data, at).await?;
        }
        if events.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        if self.backend == Backend::Postgres {
            store::events::notify(&mut tx, &account_id.to_string()).await?;
        }
        tx.commit().await?;
        if self.backend == Backend::Sqlite {
            self.wake.account(account_id);
        }
        Ok(())
    }

    /// Records a control row inside `tx` and commits: every node (this one included)
    /// disconnects the sockets it names, within moments of the commit.
    pub async fn control(&self, mut tx: Tx, mut row: ControlRow) -> anyhow::Result<()> {
        row.at = now_ms();
        store::events::insert_control(&mut tx, &row).await?;
        if self.backend == Backend::Postgres {
            store::events::notify(&mut tx, CONTROL_PAYLOAD).await?;
        }
        tx.commit().await?;
        if self.backend == Backend::Sqlite {
            self.wake.control();
        }
        Ok(())
    }

    pub(crate) fn wake_handle(&self) -> Arc<Wake> {
        self.wake.clone()
    }
}
