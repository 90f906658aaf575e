//! The Socket.IO gateway: authenticate the handshake (token and open session), join the
//! account's room, and disconnect the socket when its token expires. Clients only listen;
//! events come from this node's delivery (`crate::events::delivery`).
//!
//! Each node keeps its own sockets in memory (socketioxide's local adapter) and knows which
//! accounts have sockets here ([`Presence`]); every node reads the log for those accounts
//! itself, so nothing travels between nodes but the database.

pub mod fanout;
mod handshake;
pub mod public;
pub mod recovery;

pub use handshake::detach_handshake;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{SocketRef, State};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::{DisconnectReason, Sid};
use socketioxide::{BroadcastError, SocketIo, SocketIoBuilder, TransportType};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::time::DelayQueue;

use crate::auth::jwt::Tokens;
use crate::domain::time::now_ms;
use crate::metrics::{Metrics, SocketCounts};
use crate::store::Store;

/// The Socket.IO room of an account.
pub fn room(account_id: i64) -> String {
    format!("orders.account.{account_id}")
}

/// The room of an account's TV panel sockets (`panel` API keys), server-side only: it gets the
/// account's events without patients' contact data (see [`fanout`]).
pub fn panel_room(account_id: i64) -> String {
    format!("orders.account.{account_id}.panel")
}

/// The rooms a new socket of the account joins.
fn rooms_for(presence: &Presence, account_id: i64, panel: bool) -> Vec<String> {
    if panel {
        vec![panel_room(account_id)]
    } else {
        presence.parts.rooms_for_new_socket(account_id)
    }
}

/// What the gateway needs from the application.
#[derive(Clone)]
pub struct GatewayState {
    pub tokens: Arc<Tokens>,
    pub metrics: Arc<Metrics>,
    pub store: Store,
    pub presence: Arc<Presence>,
    /// Checks the `statusToken` of a patient's status socket (see [`public`]).
    pub status_gate: Option<public::StatusGate>,
    expiry: Expiry,
}

impl GatewayState {
    /// The gateway's state; `Expirations` is handed to `local` with it.
    pub fn new(
        tokens: Arc<Tokens>,
        metrics: Arc<Metrics>,
        store: Store,
    ) -> (GatewayState, Expirations) {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = GatewayState {
            tokens,
            metrics,
            store,
            presence: Arc::new(Presence::default()),
            status_gate: None,
            expiry: Expiry { tx },
        };
        (state, Expirations { rx })
    }
}

/// What the gateway keeps on a connected socket: who it authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketAuth {
    pub account_id: i64,
    pub user_id: i64,
    pub api_key_id: Option<i64>,
    pub session_id: String,
    /// When the session reaches its maximum age, in seconds since the epoch: the socket is
    /// disconnected then (not when its token expires: a socket lives as long as its session).
    pub ends_at: i64,
    /// The account's latest `seq` when the handshake was checked, before the socket joined
    /// its room: everything after it must reach the socket.
    pub seq_at_handshake: i64,
    /// For a recovered socket, the `seq` after which the delivery replays the log to it before
    /// it joins its room (see [`recovery`]).
    pub recover_after: Option<i64>,
    /// A TV panel's socket (a `panel` API key): in the panel room, reduced payloads.
    pub panel: bool,
}

/// The accounts that have sockets on this node, with how many.
#[derive(Debug, Default)]
pub struct Presence {
    counts: Mutex<HashMap<i64, usize>>,
    /// Per account, the lowest `seq_at_handshake` of sockets that arrived since the delivery
    /// last looked: where a new cursor starts.
    starts: Mutex<HashMap<i64, i64>>,
    arrived: Notify,
    /// How a large account's fan-out is spread over the worker threads.
    parts: fanout::Parts,
    /// Recovered sockets waiting for their replay.
    recoveries: recovery::Recoveries,
    /// Per account, the last `seq` the delivery finished emitting here.
    emitted: Mutex<HashMap<i64, i64>>,
    /// Where sockets of sessions without recovery left (see [`recovery::Resume`]).
    resume: recovery::Resume,
}

impl Presence {
    fn arrive(&self, account_id: i64, seq_at_handshake: i64) {
        if let Ok(mut starts) = self.starts.lock() {
            let start = starts.entry(account_id).or_insert(seq_at_handshake);
            *start = (*start).min(seq_at_handshake);
        }
        let first = self.counts.lock().is_ok_and(|mut counts| {
            let count = counts.entry(account_id).or_default();
            *count += 1;
            *count == 1
        });
        if first {
            self.arrived.notify_one();
        }
    }

    /// Takes the start `seq`s recorded by sockets that arrived since the last call.
    pub fn take_starts(&self) -> HashMap<i64, i64> {
        self.starts
            .lock()
            .map(|mut starts| std::mem::take(&mut *starts))
            .unwrap_or_default()
    }

    fn leave(&self, account_id: i64) {
        if let Ok(mut counts) = self.counts.lock()
            && let Some(count) = counts.get_mut(&account_id)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&account_id);
                if let Ok(mut emitted) = self.emitted.lock() {
                    emitted.remove(&account_id);
                }
            }
        }
    }

    /// How many sockets of the account are on this node.
    pub fn count(&self, account_id: i64) -> usize {
        self.counts
            .lock()
            .map(|counts| counts.get(&account_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The accounts with at least one socket on this node.
    pub fn accounts(&self) -> Vec<i64> {
        self.counts
            .lock()
            .map(|counts| counts.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Resolves when an account gets its first socket on this node, or a recovered socket
    /// waits for its replay.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// A recovered socket waits for the delivery to replay what it missed.
    fn recover(&self, pending: recovery::Pending) {
        self.recoveries.push(pending);
        self.arrived.notify_one();
    }

    /// The recovered sockets waiting for their replay.
    pub fn recoveries(&self) -> &recovery::Recoveries {
        &self.recoveries
    }

    /// The delivery finished emitting the account's events up to `seq` here.
    pub fn emitted(&self, account_id: i64, seq: i64) {
        if let Ok(mut emitted) = self.emitted.lock() {
            emitted.insert(account_id, seq);
        }
    }

    /// The last `seq` finished emitting here for the account, if any.
    fn emitted_through(&self, account_id: i64) -> Option<i64> {
        self.emitted.lock().ok()?.get(&account_id).copied()
    }

    /// How a large account's fan-out is spread.
    pub fn parts(&self) -> &fanout::Parts {
        &self.parts
    }
}

/// Schedules a socket's disconnection when its token expires.
#[derive(Clone)]
struct Expiry {
    tx: mpsc::UnboundedSender<(Sid, Instant)>,
}

/// The receiving end of the expiry schedule, run by one task per node.
pub struct Expirations {
    rx: mpsc::UnboundedReceiver<(Sid, Instant)>,
}

impl Expirations {
    /// Disconnects each socket when its session reaches its maximum age (a patient's status
    /// socket: when its link expires). This end is final: the client gets a Socket.IO
    /// DISCONNECT and does not reconnect. One timer queue serves every socket of the node (a task per socket would cost
    /// each connection most of a kilobyte); an entry holds only the socket id, so a socket
    /// that left early is simply not found.
    fn spawn(mut self, io: SocketIo<LocalAdapter>) {
        tokio::spawn(async move {
            let mut queue = DelayQueue::new();
            loop {
                tokio::select! {
                    scheduled = self.rx.recv() => match scheduled {
                        Some((sid, at)) => {
                            queue.insert_at(sid, at);
                        }
                        None => return,
                    },
                    Some(expired) = std::future::poll_fn(|cx| queue.poll_expired(cx)), if !queue.is_empty() => {
                        let sid = expired.into_inner();
                        if let Some(socket) = io.get_socket(sid) {
                            tracing::debug!(sid = %sid, "session over; disconnecting socket");
                            socket.disconnect().ok();
                        }
                    }
                }
            }
        });
    }
}

/// The Socket.IO server of this node.
#[derive(Clone)]
pub struct Io {
    io: SocketIo<LocalAdapter>,
    presence: Arc<Presence>,
}

impl Io {
    /// Emits one event to this node's sockets of a room: the payload is encoded once for all.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        room: String,
        event: &'static str,
        data: &T,
    ) -> Result<(), BroadcastError> {
        self.io.to(room).emit(event, data).await
    }

    /// Sends events, in order, to this node's sockets of an account, spread over the worker
    /// threads when the account has many sockets here (see [`fanout`]).
    pub async fn emit_in_order<T: Serialize + Send + Sync + 'static>(
        &self,
        account_id: i64,
        events: Arc<Vec<(&'static str, T)>>,
    ) -> Vec<fanout::Emitted> {
        let here = self.presence.count(account_id);
        fanout::emit_in_order(&self.io, &self.presence.parts, here, account_id, events).await
    }

    /// Whether this node has TV panel sockets of the account.
    pub fn has_panels(&self, account_id: i64) -> bool {
        !self.io.to(panel_room(account_id)).sockets().is_empty()
    }

    /// Sends events (reduced for a public screen), in order, to this node's TV panel sockets
    /// of the account.
    pub async fn emit_to_panels<T: Serialize + Send + Sync + 'static>(
        &self,
        account_id: i64,
        events: Arc<Vec<(&'static str, T)>>,
    ) -> Vec<fanout::Emitted> {
        fanout::emit_to_panels(&self.io, account_id, events).await
    }

    /// Whether the socket `sid` is a TV panel's (its replay is reduced).
    pub fn is_panel(&self, sid: Sid) -> bool {
        self.io
            .get_socket(sid)
            .and_then(|socket| socket.extensions.get::<SocketAuth>())
            .is_some_and(|auth| auth.panel)
    }

    /// The accounts with sockets on this node.
    pub fn presence(&self) -> &Arc<Presence> {
        &self.presence
    }

    /// Disconnects this node's sockets of the account that `matches` picks; answers how many.
    pub fn disconnect_where(
        &self,
        account_id: i64,
        matches: impl Fn(&SocketAuth) -> bool,
    ) -> usize {
        let mut count = 0;
        let rooms = [room(account_id), panel_room(account_id)];
        for socket in self.io.to(rooms).sockets() {
            if socket
                .extensions
                .get::<SocketAuth>()
                .is_some_and(|auth| matches(&auth))
            {
                socket.disconnect().ok();
                count += 1;
            }
        }
        count
    }

    /// The sockets connected to this node now.
    pub fn connected(&self) -> i64 {
        let count = self.io.of("/").map_or(0, |ns| ns.sockets().len());
        i64::try_from(count).unwrap_or(i64::MAX)
    }

    /// The sockets connected to this node now, by transport (one that upgraded is a websocket).
    pub fn connected_by_transport(&self) -> SocketCounts {
        let mut counts = SocketCounts::default();
        for socket in self.io.of("/").map(|ns| ns.sockets()).unwrap_or_default() {
            match socket.transport_type() {
                TransportType::Polling => counts.polling += 1,
                TransportType::Websocket => counts.websocket += 1,
            }
        }
        counts
    }

    /// Disconnects this node's sockets in a room.
    pub async fn disconnect_room(&self, room: String) {
        if let Err(error) = self.io.to(room).disconnect().await {
            tracing::debug!(error = %error, "disconnecting a room's sockets failed");
        }
    }

    /// Closes the transport of every socket of this node, without a Socket.IO DISCONNECT:
    /// their clients reconnect by themselves (to any node) and recover what they missed.
    pub fn drop_all_transports(&self) {
        if let Some(ns) = self.io.of("/") {
            for socket in ns.sockets() {
                socket.close_transport();
            }
        }
    }

    /// Replays rows to one recovered socket, in one write, then makes it join its account's
    /// rooms: from then on it gets the account's broadcasts. Answers how many events it was
    /// sent, or `None` when the socket is gone.
    pub async fn replay_then_join<T: Serialize>(
        &self,
        sid: Sid,
        account_id: i64,
        events: &[(&'static str, T)],
    ) -> Option<usize> {
        let socket = self.io.get_socket(sid)?;
        let panel = socket
            .extensions
            .get::<SocketAuth>()
            .is_some_and(|auth| auth.panel);
        let sent = engineioxide::batch(async {
            let mut sent = 0;
            for (event, args) in events {
                if socket.emit(*event, args).is_ok() {
                    sent += 1;
                }
            }
            sent
        })
        .await;
        socket.join(rooms_for(&self.presence, account_id, panel));
        Some(sent)
    }

    /// Disconnects this node's sockets (graceful shutdown).
    pub async fn close(&self) {
        self.io.clone().close().await;
    }
}

/// The largest Engine.IO packet, as the handshake advertises (`maxPayload`).
pub const MAX_PAYLOAD: usize = 16 * 1024;

/// The Socket.IO server's settings. Clients only listen, so everything a client may send is
/// held to what the handshake advertises: a polling body, a websocket message and a websocket
/// frame of at most `MAX_PAYLOAD` bytes (a larger one closes the connection before it is
/// buffered), and binary attachments of at most `MAX_PAYLOAD` in all, 8 per packet, completed
/// within 10 s.
fn builder(state: GatewayState) -> SocketIoBuilder {
    let parser = socketioxide::ParserConfig::common()
        .max_incoming_binary_buf_size(MAX_PAYLOAD)
        .max_incoming_binaries(8)
        .packet_completion_timeout(Duration::from_secs(10));
    SocketIo::builder()
        .with_state(state)
        .with_parser(parser)
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(MAX_PAYLOAD as u64)
        .ws_max_message_size(MAX_PAYLOAD)
        .ws_max_frame_size(MAX_PAYLOAD)
        .ws_read_buffer_size(1024)
}

/// The gateway of this node.
pub fn local(state: GatewayState, expirations: Expirations) -> (SocketIoLayer<LocalAdapter>, Io) {
    let presence = state.presence.clone();
    let (layer, io) = builder(state).build_layer();
    io.ns("/", on_connect.with(handshake::authenticate));
    expirations.spawn(io.clone());
    (layer, Io { io, presence })
}

async fn on_connect(socket: SocketRef<LocalAdapter>, State(state): State<GatewayState>) {
    if let (Some(status), Some(gate)) = (public::session_of(&socket), &state.status_gate) {
        // The delivery reads the log of the link's account while the socket is here: its
        // rows are what move the patient's status.
        let account_id = status.link.account_id;
        state.presence.arrive(account_id, status.seq_at_handshake);
        let presence = state.presence.clone();
        socket.on_disconnect(async move || presence.leave(account_id));
        public::joined(&socket, gate, status).await;
        let left =
            Duration::from_millis(u64::try_from(status.link.expires_at - now_ms()).unwrap_or(0));
        let _ = state.expiry.tx.send((socket.id, Instant::now() + left));
        return;
    }
    let Some(auth) = socket.extensions.get::<SocketAuth>() else {
        socket.disconnect().ok();
        return;
    };
    let account_id = auth.account_id;
    match auth.recover_after {
        // Recovered: the delivery replays what it missed, then makes it join its rooms.
        Some(after) => {
            state.presence.arrive(account_id, auth.seq_at_handshake);
            state.presence.recover(recovery::Pending {
                sid: socket.id,
                account_id,
                after,
            });
        }
        // Join first, then count: a new account's cursor starts at the `seq` read during the
        // handshake, before the join, so every event committed after it reaches this socket
        // (what came before, the client reads from `/api/events` on connect).
        None => {
            socket.join(rooms_for(&state.presence, account_id, auth.panel));
            state.presence.arrive(account_id, auth.seq_at_handshake);
        }
    }
    tracing::debug!(account_id, sid = %socket.id, "socket connected");
    let presence = state.presence.clone();
    let session_id = auth.session_id.clone();
    socket.on_disconnect(async move |reason: DisconnectReason| {
        // A lost connection (not a DISCONNECT either way): remember where it left, for a
        // client without recovery that comes back here.
        let lost = !matches!(
            reason,
            DisconnectReason::ClientNSDisconnect | DisconnectReason::ServerNSDisconnect
        );
        if lost && let Some(seq) = presence.emitted_through(account_id) {
            presence.resume.left(&session_id, seq);
        }
        presence.leave(account_id);
    });
    let left = Duration::from_millis(u64::try_from(auth.ends_at * 1000 - now_ms()).unwrap_or(0));
    let _ = state.expiry.tx.send((socket.id, Instant::now() + left));
}
