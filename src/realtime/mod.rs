//! The Socket.IO gateway: authenticate the handshake, join the account's room, and disconnect
//! the socket when its token expires. Clients only listen; broadcasts come from the relay.
//!
//! One node keeps its sockets in memory (socketioxide's local adapter). Several nodes share a
//! Redis (`--redis-url`, socketioxide-redis): a broadcast from any node then reaches the room's
//! sockets on every node.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::{BroadcastError, SocketIo, SocketIoBuilder};
use socketioxide_redis::drivers::redis::redis_client;
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};

use crate::auth::bearer;
use crate::auth::jwt::{Claims, TokenError, Tokens};
use crate::domain::time::now_ms;
use crate::events::room;
use crate::metrics::Metrics;

/// What the gateway needs from the application.
#[derive(Clone)]
pub struct GatewayState {
    pub tokens: Arc<Tokens>,
    pub metrics: Arc<Metrics>,
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

/// The `auth` object of the handshake: `{"token": "..."}`.
#[derive(Debug, Deserialize)]
struct HandshakeAuth {
    token: Option<String>,
}

fn builder(state: GatewayState) -> SocketIoBuilder {
    SocketIo::builder()
        .with_state(state)
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(16 * 1024)
}

/// The gateway of a single node.
pub fn local(state: GatewayState) -> (SocketIoLayer<LocalAdapter>, Io) {
    let (layer, io) = builder(state).build_layer();
    io.ns("/", on_connect.with(authenticate));
    (layer, Io::Local(io))
}

/// The gateway of a node that shares its rooms with the others through Redis.
pub async fn redis(
    url: &str,
    state: GatewayState,
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
    Ok((layer, Io::Redis(io)))
}

/// The connect middleware: a refusal becomes the client's `connect_error` with the message
/// `missing token`, `invalid token` or `jwt expired`.
async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<HandshakeAuth>,
    State(state): State<GatewayState>,
) -> Result<(), TokenError> {
    let from_header = socket
        .req_parts()
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(bearer)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let token = from_header
        .or_else(|| {
            auth.ok()
                .and_then(|a| a.token)
                .map(|t| bearer(&t).to_string())
        })
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::Missing)?;
    let claims = state.tokens.verify(&token)?;
    socket.extensions.insert(claims);
    Ok(())
}

async fn on_connect<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    State(state): State<GatewayState>,
) {
    let Some(claims) = socket.extensions.get::<Claims>() else {
        socket.disconnect().ok();
        return;
    };
    socket.join(room(claims.account_id));
    state.metrics.socket_connected();
    tracing::debug!(account_id = claims.account_id, sid = %socket.id, "socket connected");
    let metrics = state.metrics.clone();
    socket.on_disconnect(async move || metrics.socket_disconnected());
    schedule_expiry(io, &socket, claims.exp);
}

/// Disconnects the socket when its token expires; the client reconnects with a fresh token.
/// The timer holds only the socket id, so a socket that leaves early is freed at once.
fn schedule_expiry<A: Adapter>(io: SocketIo<A>, socket: &SocketRef<A>, exp: i64) {
    let sid = socket.id;
    let wait = Duration::from_millis(u64::try_from(exp * 1000 - now_ms()).unwrap_or(0));
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        if let Some(socket) = io.get_socket(sid) {
            tracing::debug!(sid = %sid, "token expired; disconnecting socket");
            socket.disconnect().ok();
        }
    });
}
