//! Status sockets: the patient's `/p/{token}` page connects with `auth: {"statusToken": "..."}`.
//! Such a socket joins only its link's room (`status.link.{linkId}`), never an account room, and
//! receives only `patient.status`: the reduced payload of its own appointment, the same as
//! `GET /api/public/status/{token}`.
//!
//! Two hooks tie this module to the gateway and to the delivery of committed events:
//! - the connect middleware hands a handshake with a `statusToken` to [`authenticate`], and
//!   `on_connect` hands a socket so authenticated to [`joined`];
//! - after a committed row of account A has been emitted to A's room, the relay calls
//!   [`StatusFeed::after_broadcast`]; a worker then recomputes the status of every live link of
//!   that account and day (a call moves everyone behind, so not only the appointment named in
//!   the row) and emits each to its link's room. The worker reads the committed state, so
//!   nothing reaches a patient before it is committed.

use std::collections::BTreeSet;

use anyhow::Context;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use tokio::sync::mpsc;

use crate::auth::jwt::TokenError;
use crate::domain::time::now_ms;
use crate::public::{self, DayView, ServiceTimesCache};
use crate::store::{self, Store, status_links::LiveLink};

use super::Io;

/// The one event a status socket receives.
pub const EVENT: &str = "patient.status";

/// The room of one status link.
pub fn link_room(link_id: i64) -> String {
    format!("status.link.{link_id}")
}

/// What the connect middleware needs to check a status token.
#[derive(Debug, Clone)]
pub struct StatusGate {
    store: Store,
    /// The zone of the clinics without their own.
    default_zone: Tz,
    service_times: ServiceTimesCache,
}

impl StatusGate {
    pub fn new(store: Store, default_zone: Tz, service_times: ServiceTimesCache) -> StatusGate {
        StatusGate {
            store,
            default_zone,
            service_times,
        }
    }
}

/// What the gateway keeps on a status socket.
#[derive(Debug, Clone, Copy)]
pub struct StatusSession {
    pub link: LiveLink,
    /// The account's latest `seq` when the handshake was checked (where the delivery starts
    /// reading the account's log, if no other socket has it read already).
    pub seq_at_handshake: i64,
}

/// Checks a status token: a live link lets the socket in (with its session), anything else is
/// `invalid token`.
pub async fn authenticate<A: Adapter>(
    socket: &SocketRef<A>,
    gate: &StatusGate,
    token: &str,
) -> Result<(), TokenError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    let mut conn = gate
        .store
        .acquire()
        .await
        .map_err(|_| TokenError::Invalid)?;
    let link = store::status_links::find_live(&mut conn, &public::token_digest(token), now_ms())
        .await
        .map_err(|_| TokenError::Invalid)?
        .ok_or(TokenError::Invalid)?;
    let seq_at_handshake = store::events::last_seq(&mut conn, link.account_id)
        .await
        .map_err(|_| TokenError::Invalid)?;
    socket.extensions.insert(StatusSession {
        link,
        seq_at_handshake,
    });
    Ok(())
}

/// The status session of a socket, if it is a status socket.
pub fn session_of<A: Adapter>(socket: &SocketRef<A>) -> Option<StatusSession> {
    socket.extensions.get::<StatusSession>()
}

/// A status socket is in: it joins its link's room and gets the current status at once.
pub async fn joined<A: Adapter>(socket: &SocketRef<A>, gate: &StatusGate, session: StatusSession) {
    socket.join(link_room(session.link.id));
    let link = session.link;
    let status = async {
        let mut conn = gate.store.acquire().await?;
        public::status_of(
            &mut conn,
            &gate.service_times,
            link.account_id,
            link.appointment_id,
            gate.default_zone,
            now_ms(),
        )
        .await
    }
    .await;
    match status {
        Ok(Some(status)) => {
            let _ = socket.emit(EVENT, &status);
        }
        Ok(None) => {
            socket.clone().disconnect().ok();
        }
        Err(error) => tracing::warn!(error = ?error, "reading a patient's status failed"),
    }
}

/// What the relay hands the status worker.
#[derive(Debug)]
enum Job {
    /// An account's day changed.
    Day { account_id: i64, day: String },
    /// These links were revoked: their sockets are disconnected.
    Revoked(Vec<i64>),
}

/// The sending side: the relay's hook and the revocation of links.
#[derive(Debug, Clone)]
pub struct StatusFeed {
    tx: mpsc::UnboundedSender<Job>,
}

/// The receiving side, run by [`StatusWorker::spawn`] once the Socket.IO server exists.
pub struct StatusWorker {
    rx: mpsc::UnboundedReceiver<Job>,
}

/// The `date` of an appointment payload.
#[derive(Deserialize)]
struct Dated {
    date: String,
}

impl StatusFeed {
    pub fn new() -> (StatusFeed, StatusWorker) {
        let (tx, rx) = mpsc::unbounded_channel();
        (StatusFeed { tx }, StatusWorker { rx })
    }

    /// The hook: a committed row of `account_id` was emitted to the account's room. Appointment
    /// events name the day whose queues moved; other events change no patient's status.
    pub fn after_broadcast(&self, account_id: i64, event: &str, data: &str) {
        if !event.starts_with("appointments.") && !event.starts_with("appointmnents.") {
            return;
        }
        let Ok(dated) = serde_json::from_str::<Dated>(data) else {
            return;
        };
        let day = dated.date.chars().take(10).collect();
        let _ = self.tx.send(Job::Day { account_id, day });
    }

    /// Disconnects the sockets of revoked links.
    pub fn revoked(&self, link_ids: Vec<i64>) {
        if !link_ids.is_empty() {
            let _ = self.tx.send(Job::Revoked(link_ids));
        }
    }
}

impl StatusWorker {
    /// Runs the worker: one job at a time, and a burst of changes to one day computed once;
    /// `default_zone` is the zone of the clinics without their own.
    pub fn spawn(
        mut self,
        store: Store,
        io: Io,
        default_zone: Tz,
        service_times: ServiceTimesCache,
    ) {
        tokio::spawn(async move {
            while let Some(first) = self.rx.recv().await {
                let mut days = BTreeSet::new();
                let mut revoked = Vec::new();
                let mut job = Some(first);
                while let Some(next) = job {
                    match next {
                        Job::Day { account_id, day } => {
                            days.insert((account_id, day));
                        }
                        Job::Revoked(ids) => revoked.extend(ids),
                    }
                    job = self.rx.try_recv().ok();
                }
                for id in revoked {
                    disconnect_room(&io, link_room(id)).await;
                }
                for (account_id, day) in days {
                    if let Err(error) =
                        emit_day(&store, &io, default_zone, &service_times, account_id, &day).await
                    {
                        tracing::warn!(error = ?error, account_id, "updating patients' status pages failed");
                    }
                }
            }
        });
    }
}

/// Emits the current status of every live link of an account's day to its room.
async fn emit_day(
    store: &Store,
    io: &Io,
    default_zone: Tz,
    service_times: &ServiceTimesCache,
    account_id: i64,
    day: &str,
) -> anyhow::Result<()> {
    let now = now_ms();
    let mut conn = store.acquire().await?;
    let links = store::status_links::live_of_day(&mut conn, account_id, day, now).await?;
    if links.is_empty() {
        return Ok(());
    }
    let clinic = store::accounts::clinic_day(&mut conn, account_id, default_zone, Utc::now())
        .await
        .context("reading the account's time zone")?;
    let view = DayView::load(&mut conn, service_times, account_id, clinic.zone, day, now).await?;
    for link in links {
        let Some(row) =
            store::appointments::get(&mut conn, account_id, link.appointment_id).await?
        else {
            disconnect_room(io, link_room(link.id)).await;
            continue;
        };
        let status = view.status_of(&row);
        if let Err(error) = io.emit(link_room(link.id), EVENT, &status).await {
            tracing::debug!(error = %error, link = link.id, "a status socket missed an update");
        }
    }
    Ok(())
}

async fn disconnect_room(io: &Io, room: String) {
    io.disconnect_room(room).await;
}
