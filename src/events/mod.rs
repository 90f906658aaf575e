//! Events, as the documented system draws them:
//!
//! 1. a change (a status move, a new appointment, a saved doctor) is described to
//!    [`flow`], whose listeners — one per target status — decide which outgoing events it makes;
//! 2. [`EventLog::commit`] writes each outgoing event as a row of the durable log, in the same
//!    transaction as the change, with the account's next `seq`, and commits;
//! 3. then it wakes the [`relay`], which broadcasts committed rows in order to the account's
//!    Socket.IO room and marks them relayed.
//!
//! So nothing is emitted before its change is committed, and nothing committed is lost: rows
//! not yet relayed when a node stops go out when a node starts again.

pub mod flow;
pub mod relay;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Notify;

use crate::domain::time::now_ms;
use crate::store::{self, Tx};

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

/// Writes outgoing events into the log and wakes the relay after commit.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    wake: Arc<Notify>,
}

impl EventLog {
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// Records the events in the account's log inside `tx`, each with the account's next
    /// `seq`, commits, then wakes the relay: the one way a change with events ends.
    pub async fn commit(
        &self,
        mut tx: Tx,
        account_id: i64,
        events: &[Outgoing],
    ) -> anyhow::Result<()> {
        let at = now_ms();
        for outgoing in events {
            let seq = store::events::next_seq(&mut tx, account_id).await?;
            store::events::insert(&mut tx, account_id, seq, outgoing.event, &outgoing.data, at)
                .await?;
        }
        tx.commit().await?;
        if !events.is_empty() {
            self.wake.notify_one();
        }
        Ok(())
    }

    pub(crate) fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}
