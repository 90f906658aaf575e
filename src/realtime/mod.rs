//! The Socket.IO gateway: authenticate the handshake, join the account's room, and disconnect
//! the socket when its token expires. Clients only listen; broadcasts come from the relay.
//!
//! One node keeps its sockets in memory (socketioxide's local adapter). Several nodes share a
//! Redis (`--redis-url`, socketioxide-redis): a broadcast from any node then reaches the room's
//! sockets on every node.

pub mod public;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use serde::{Deserialize, Serialize};
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::Sid;
use socketioxide::{BroadcastError, SocketIo, SocketIoBuilder};
use socketioxide_redis::drivers::redis::redis_client;
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::time::DelayQueue;

use crate::auth::bearer;
use crate::auth::jwt::{TokenError, Tokens};
use crate::domain::time::now_ms;
use crate::metrics::Metrics;

/// The Socket.IO room of an account.
pub fn room(account_id: i64) -> String {
    format!("orders.account.{account_id}")
}

/// What the gateway needs from the application.
#[derive(Clone)]
pub struct GatewayState {
    pub tokens: Arc<Tokens>,
    pub metrics: Arc<Metrics>,
    /// Checks the `statusToken` of a patient's status socket (see [`public`]).
    pub status_gate: Option<public::StatusGate>,
    expiry: Expiry,
}

impl GatewayState {
    /// The gateway's state; `Expirations` is handed to `local` or `redis` with it.
    pub fn new(tokens: Arc<Tokens>, metrics: Arc<Metrics>) -> (GatewayState, Expirations) {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = GatewayState {
            tokens,
            metrics,
            status_gate: None,
            expiry: Expiry { tx },
        };
        (state, Expirations { rx })
    }
}

/// What the gateway keeps on a connected socket.
#[derive(Debug, Clone, Copy)]
struct Session {
    account_id: i64,
    /// When the token expires, in seconds since the epoch.
    exp: i64,
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
    /// Disconnects each socket when its token expires; the client reconnects with a fresh
    /// token. One timer queue serves every socket of the node (a task per socket would cost
    /// each connection most of a kilobyte); an entry holds only the socket id, so a socket
    /// that left early is simply not found.
    fn spawn<A: Adapter>(mut self, io: SocketIo<A>) {
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
                            tracing::debug!(sid = %sid, "token expired; disconnecting socket");
                            socket.disconnect().ok();
                        }
                    }
                }
            }
        });
    }
}

/// The Socket.IO server of this node, on whichever adapter it runs.
#[derive(Clone)]
pub enum Io {
    Local(SocketIo<LocalAdapter>),
    Redis(SocketIo<RedisAdapter<Emitter>>),
}

impl Io {
    /// Emits one event to a room: the payload is encoded once for all its sockets.
    pub async fn emit<T: Serialize + ?Sized>(
        &self,
        room: String,
        event: &'static str,
        data: &T,
    ) -> Result<(), BroadcastError> {
        match self {
            Io::Local(io) => io.to(room).emit(event, data).await,
            Io::Redis(io) => io.to(room).emit(event, data).await,
        }
    }

    /// Disconnects this node's sockets (graceful shutdown).
    pub async fn close(&self) {
        match self {
            Io::Local(io) => io.close().await,
            Io::Redis(io) => io.close().await,
        }
    }
}

/// Headers a Socket.IO request keeps: the token, the websocket key (for the upgrade answer)
/// and the body type of a polling POST. Nothing else is read by the gateway.
const KEPT_HEADERS: [HeaderName; 3] = [
    header::AUTHORIZATION,
    header::SEC_WEBSOCKET_KEY,
    header::CONTENT_TYPE,
];

/// Gives a Socket.IO request its own copy of its URI and of the headers the gateway reads.
///
/// hyper parses a request in place, so its URI and header values (and axum's `OriginalUri`)
/// point into the connection's read buffer (8 to 16 KiB). socketioxide keeps the handshake's
/// request parts for the socket's whole life, and with them that buffer: over a third of a
/// socket's memory (`bench/run.sh` measured 27.5 KB per socket before, 19.9 KB after).
/// Copying the URI and the few headers in `KEPT_HEADERS` lets the buffer go once the
/// connection is upgraded, and keeps no cookie or other header the gateway does not need.
pub async fn detach_handshake(request: Request) -> Request {
    if !request.uri().path().starts_with("/socket.io/") {
        return request;
    }
    let (mut parts, body) = request.into_parts();
    if let Ok(uri) = parts.uri.to_string().parse() {
        parts.uri = uri;
    }
    // axum's copy of the URI points into the same buffer.
    parts.extensions.remove::<OriginalUri>();
    let mut headers = HeaderMap::with_capacity(KEPT_HEADERS.len());
    for name in KEPT_HEADERS {
        if let Some(value) = parts.headers.get(&name)
            && let Ok(copy) = HeaderValue::from_bytes(value.as_bytes())
        {
            headers.insert(name, copy);
        }
    }
    parts.headers = headers;
    Request::from_parts(parts, body)
}

/// The `auth` object of the handshake: `{"token": "..."}`, or a patient's
/// `{"statusToken": "..."}`.
#[derive(Debug, Deserialize)]
struct HandshakeAuth {
    token: Option<String>,
    #[serde(rename = "statusToken")]
    status_token: Option<String>,
}

fn builder(state: GatewayState) -> SocketIoBuilder {
    SocketIo::builder()
        .with_state(state)
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(16 * 1024)
        .ws_read_buffer_size(1024)
}

/// The gateway of a single node.
pub fn local(state: GatewayState, expirations: Expirations) -> (SocketIoLayer<LocalAdapter>, Io) {
    let (layer, io) = builder(state).build_layer();
    io.ns("/", on_connect.with(authenticate));
    expirations.spawn(io.clone());
    (layer, Io::Local(io))
}

/// The gateway of a node that shares its rooms with the others through Redis.
pub async fn redis(
    url: &str,
    state: GatewayState,
    expirations: Expirations,
) -> anyhow::Result<(SocketIoLayer<RedisAdapter<Emitter>>, Io)> {
    // The adapter speaks RESP3 (Redis 7 or later).
    let url = if url.contains("protocol=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    };
    let client = redis_client::Client::open(url).context("parsing the Redis URL")?;
    let adapter = RedisAdapterCtr::new_with_redis(&client)
        .await
        .context("connecting to Redis")?;
    let (layer, io) = builder(state)
        .with_adapter::<RedisAdapter<_>>(adapter)
        .build_layer();
    io.ns("/", on_connect.with(authenticate))
        .await
        .map_err(|e| anyhow::anyhow!("starting the Redis adapter: {e}"))?;
    expirations.spawn(io.clone());
    Ok((layer, Io::Redis(io)))
}

/// The connect middleware: a refusal becomes the client's `connect_error` with the message
/// `missing token`, `invalid token` or `jwt expired`.
async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<HandshakeAuth>,
    State(state): State<GatewayState>,
) -> Result<(), TokenError> {
    let auth = auth.ok();
    // A patient's status socket: its own check, its own room (see `public`).
    if let (Some(status_token), Some(gate)) = (
        auth.as_ref().and_then(|a| a.status_token.as_deref()),
        &state.status_gate,
    ) {
        return public::authenticate(&socket, gate, status_token).await;
    }
    let from_header = socket
        .req_parts()
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(bearer)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let token = from_header
        .or_else(|| auth.and_then(|a| a.token).map(|t| bearer(&t).to_string()))
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::Missing)?;
    let claims = state.tokens.verify(&token)?;
    socket.extensions.insert(Session {
        account_id: claims.account_id,
        exp: claims.exp,
    });
    Ok(())
}

async fn on_connect<A: Adapter>(socket: SocketRef<A>, State(state): State<GatewayState>) {
    if let (Some(status), Some(gate)) = (public::session_of(&socket), &state.status_gate) {
        public::joined(&socket, gate, status).await;
        let left =
            Duration::from_millis(u64::try_from(status.link.expires_at - now_ms()).unwrap_or(0));
        let _ = state.expiry.tx.send((socket.id, Instant::now() + left));
        return;
    }
    let Some(session) = socket.extensions.get::<Session>() else {
        socket.disconnect().ok();
        return;
    };
    socket.join(room(session.account_id));
    state.metrics.socket_connected();
    tracing::debug!(account_id = session.account_id, sid = %socket.id, "socket connected");
    let metrics = state.metrics.clone();
    socket.on_disconnect(async move || metrics.socket_disconnected());
    let left = Duration::from_millis(u64::try_from(session.exp * 1000 - now_ms()).unwrap_or(0));
    let _ = state.expiry.tx.send((socket.id, Instant::now() + left));
}
