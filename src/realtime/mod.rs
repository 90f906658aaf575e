//! The Socket.IO gateway: authenticate the handshake, join the account's room, and disconnect
//! the socket when its token expires. Clients only listen; broadcasts come from the relay.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;

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

/// The `auth` object of the handshake: `{"token": "..."}`.
#[derive(Debug, Deserialize)]
struct HandshakeAuth {
    token: Option<String>,
}

/// Builds the Socket.IO layer and its handle, and registers the root namespace.
pub fn build(state: GatewayState) -> (socketioxide::layer::SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::builder()
        .with_state(state)
        .ping_interval(Duration::from_secs(20))
        .ping_timeout(Duration::from_secs(20))
        .max_payload(16 * 1024)
        .build_layer();
    io.ns("/", on_connect.with(authenticate));
    (layer, io)
}

/// The connect middleware: a refusal becomes the client's `connect_error` with the message
/// `missing token`, `invalid token` or `jwt expired`.
async fn authenticate(
    socket: SocketRef,
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

async fn on_connect(socket: SocketRef, io: SocketIo, State(state): State<GatewayState>) {
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
fn schedule_expiry(io: SocketIo, socket: &SocketRef, exp: i64) {
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
