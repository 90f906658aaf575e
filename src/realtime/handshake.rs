//! The handshake of a Socket.IO connection: the request it arrives with (kept small for the
//! socket's whole life) and the connect middleware that checks its token and session and
//! decides whether it recovers a session (see [`super::recovery`]).

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use serde::Deserialize;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{SocketRef, State, TryData};

use crate::auth::jwt::TokenError;
use crate::auth::session::{self, SessionError};
use crate::auth::{KeyScope, bearer};
use crate::domain::time::now_ms;
use crate::store;

use super::{GatewayState, SocketAuth, public, recovery};

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
pub(super) struct HandshakeAuth {
    token: Option<String>,
    #[serde(rename = "statusToken")]
    status_token: Option<String>,
    /// A reconnecting socket.io-client's recovery `pid` and the offset of the last event it
    /// received (see [`recovery`]); anything but strings is ignored.
    #[serde(default, deserialize_with = "string_or_none")]
    pid: Option<String>,
    #[serde(default, deserialize_with = "string_or_none")]
    offset: Option<String>,
}

fn string_or_none<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(value) => Some(value),
        _ => None,
    })
}

/// Why a handshake is refused: the client's `connect_error` message.
#[derive(Debug, thiserror::Error)]
pub(super) enum HandshakeError {
    #[error("{0}")]
    Token(#[from] TokenError),
    /// The session could not be checked: the client tries again (another node, or later).
    #[error("service unavailable")]
    Unavailable,
    /// A `kiosk` API key's token: the totem has no live feed.
    #[error("forbidden: a kiosk API key cannot open a socket")]
    Kiosk,
}

/// The connect middleware: a refusal becomes the client's `connect_error` with the message
/// `missing token`, `invalid token` (also for an ended session or a revoked key), `jwt
/// expired` (an expired token of an ended session), `session expired: log in again` (the
/// session reached its maximum age) or `forbidden: a kiosk API key cannot open a socket`. An
/// expired token of an open session is accepted: a socket lives as long as its session. When the database cannot be
/// reached the transport is closed instead, so that the client tries again by itself (after a
/// `connect_error`, socket.io-client gives up).
///
/// Every staff socket gets a recovery `pid`; a reconnecting client that sends one back, with
/// the offset of the last event it received, is recovered when the log still holds what it
/// missed (see [`recovery`]).
pub(super) async fn authenticate(
    socket: SocketRef<LocalAdapter>,
    TryData(auth): TryData<HandshakeAuth>,
    State(state): State<GatewayState>,
) -> Result<(), HandshakeError> {
    let auth = auth.ok();
    // A patient's status socket: its own check, its own room (see `public`).
    if let (Some(status_token), Some(gate)) = (
        auth.as_ref().and_then(|a| a.status_token.as_deref()),
        &state.status_gate,
    ) {
        return Ok(public::authenticate(&socket, gate, status_token).await?);
    }
    let from_header = socket
        .req_parts()
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(bearer)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let (auth_token, pid, offset) = match auth {
        Some(auth) => (auth.token, auth.pid, auth.offset),
        None => (None, None, None),
    };
    let token = from_header
        .or_else(|| auth_token.map(|t| bearer(&t).to_string()))
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::Missing)?;
    let claims = state.tokens.verify_for_socket(&token)?;
    let scope = claims.key_scope();
    if scope == Some(KeyScope::Kiosk) {
        return Err(HandshakeError::Kiosk);
    }
    let checked = async {
        let session_id = session::check(&state.store, &claims).await?;
        let mut conn = state.store.acquire().await?;
        let seq = store::events::last_seq(&mut conn, claims.account_id).await?;
        // Where a recovery would start: the pid's offset or, for a client without recovery
        // (no pid) whose previous socket of this session lost its connection here lately,
        // where that one left; and whether the log still holds what follows it.
        let from = match pid.as_deref() {
            Some(pid) => recovery::replay_from(
                &state.tokens,
                pid,
                offset.as_deref(),
                claims.account_id,
                &session_id,
            ),
            None => state.presence.resume.take(&session_id),
        };
        let recover_after = match from {
            Some(after) if after <= seq => {
                let first_kept =
                    store::events::first_kept_seq(&mut conn, claims.account_id).await?;
                recovery::log_holds(after, seq, first_kept).then_some(after)
            }
            _ => None,
        };
        Ok::<_, SessionError>((session_id, seq, recover_after))
    };
    let (session_id, seq_at_handshake, recover_after) = match checked.await {
        Ok(checked) => checked,
        // An ended session: its expired token is refused as expired (contract §5).
        Err(SessionError::Refused) if claims.exp <= now_ms() / 1000 => {
            return Err(TokenError::Expired.into());
        }
        Err(SessionError::Refused) => return Err(TokenError::Invalid.into()),
        Err(SessionError::Database(error)) => {
            state.metrics.db_error(crate::store::error_kind(&error));
            tracing::warn!(error = %error, "socket handshake: session check failed; closing the transport");
            socket.close_transport();
            return Err(HandshakeError::Unavailable);
        }
    };
    if pid.is_some() || recover_after.is_some() {
        state.metrics.socket_recovery(recover_after.is_some());
    }
    match (recover_after, pid) {
        (Some(_), Some(pid)) => socket.set_pid(pid),
        _ => {
            if let Some(pid) = recovery::new_pid(
                &state.tokens,
                claims.account_id,
                &session_id,
                seq_at_handshake,
            ) {
                socket.set_pid(pid);
            }
        }
    }
    socket.extensions.insert(SocketAuth {
        account_id: claims.account_id,
        user_id: claims.sub,
        api_key_id: claims.api_key_id,
        session_id,
        ends_at: state.tokens.session_end(&claims),
        seq_at_handshake,
        recover_after,
        panel: scope == Some(KeyScope::Panel),
    });
    Ok(())
}
