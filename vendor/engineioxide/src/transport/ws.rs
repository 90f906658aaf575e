//! The ws transport module is responsible for handling websocket connections
//! The only public function is [`new_req`] which is used to upgrade a http request to a websocket connection
//!
//! Other functions are used internally to handle the websocket connection through tasks and channels
//! and to handle upgrade from polling to ws

use std::sync::Arc;

use futures_util::{SinkExt, Stream, StreamExt, TryStreamExt};
use http::{HeaderValue, Request, Response, StatusCode, request::Parts};
use smallvec::smallvec;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message,
        handshake::derive_accept_key,
        protocol::{Role, WebSocketConfig},
    },
};
use tokio_util::future::FutureExt as _;

use engineioxide_core::{Packet, ProtocolVersion, Sid, Str, TransportType};

use crate::{
    DisconnectReason, Socket,
    body::ResponseBody,
    engine::EngineIo,
    errors::Error,
    handler::EngineIoHandler,
    transport::{direct::DirectWriter, make_open_packet, read_side::ReadSide},
};

/// Create a response for websocket upgrade
fn ws_response<B>(ws_key: &HeaderValue) -> Response<ResponseBody<B>> {
    let derived = derive_accept_key(ws_key.as_bytes());
    let sec = derived.parse::<HeaderValue>().unwrap();
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, HeaderValue::from_static("websocket"))
        .header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        )
        .header(http::header::SEC_WEBSOCKET_ACCEPT, sec)
        .body(ResponseBody::empty_response())
        .unwrap() // we are only using constants
}

/// Upgrade a websocket request to create a websocket connection.
///
/// If a sid is provided in the query it means that is is upgraded from an existing HTTP polling request.
/// In this case the http polling request is closed and the SID is kept for the websocket
pub fn new_req<R: Send + 'static, B, H: EngineIoHandler>(
    engine: Arc<EngineIo<H>>,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req: Request<R>,
) -> Result<Response<ResponseBody<B>>, Error> {
    let (parts, body) = req.into_parts();
    let req = Request::from_parts(parts.clone(), body);

    let ws_key = parts
        .headers
        .get("Sec-WebSocket-Key")
        .ok_or(Error::InvalidWebSocketKey)?
        .clone();

    tokio::spawn(async move {
        let conn = hyper::upgrade::on(req)
            .await
            .map(hyper_util::rt::TokioIo::new);

        let res = match conn {
            Ok(conn) => on_init(engine.clone(), conn, protocol, sid, parts).await,
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!("ws upgrade error: {}", _e);
                return;
            }
        };

        match res {
            Ok(_) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed")
            }
            Err(Error::MultipleWebsocketRequests) => {}
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed with error: {_e}");
                if let Some(sid) = sid {
                    engine.close_session(sid, DisconnectReason::TransportError);
                }
            }
        }
    });

    Ok(ws_response(&ws_key))
}

/// Handle a websocket connection upgrade
///
/// Sends an open packet if it is not an upgrade from a polling request
///
/// Read packets from the websocket and handle them, it will block until the connection is closed
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", name = "init_websocket", skip(engine, conn, req_data))
)]
pub async fn on_init<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    conn: S,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req_data: Parts,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .max_message_size(Some(engine.config.ws_max_message_size))
        .max_frame_size(Some(engine.config.ws_max_frame_size));

    let Some(sid) = sid else {
        return on_init_direct(engine, conn, protocol, req_data, ws_config).await;
    };
    let (socket, ws, writer) = match engine.get_socket(sid) {
        None => return Err(Error::UnknownSessionID(sid)),
        Some(socket) if socket.is_ws() => return Err(Error::MultipleWebsocketRequests),
        Some(socket) => {
            // The upgrade's own frames, and every packet once it is done, are written
            // directly, as for a session opened as a websocket.
            let writer = Arc::new(DirectWriter::new(
                socket.protocol,
                engine.config.max_buffer_size,
            ));
            let (read, write) = tokio::io::split(conn);
            writer.attach(Box::pin(write), Packet::Noop);
            let mut ws = WebSocketStream::from_raw_socket(
                ReadSide {
                    read,
                    writer: writer.clone(),
                },
                Role::Server,
                Some(ws_config),
            )
            .await;

            let upgrade_fut = upgrade_handshake::<H, _>(&socket, &mut ws);
            match tokio::time::timeout(engine.config.upgrade_timeout, upgrade_fut)
                .with_cancellation_token(&socket.cancellation_token)
                .await
            {
                Some(Ok(res)) => res?,
                Some(Err(_)) => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(?sid, "ws upgrade timed out, closing session");
                    engine.close_session(socket.id, DisconnectReason::TransportError);
                    return Err(Error::Upgrade);
                }
                None => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!(?sid, "socket is being closed");
                    return Err(Error::Upgrade);
                }
            }
            (socket, ws, writer)
        }
    };
    // What is still queued for polling goes out first, then everything is written directly.
    socket.switch_to_direct(writer).await;
    read_until_closed(&engine, ws, &socket).await;
    Ok(())
}

/// A session opened as a websocket: the open packet and every later packet are written to the
/// connection by whoever sends them (see [`crate::transport::direct`]); this task only reads.
async fn on_init_direct<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    conn: S,
    protocol: ProtocolVersion,
    req_data: Parts,
    ws_config: WebSocketConfig,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let socket = engine.create_session(protocol, TransportType::Websocket, req_data, false);

    #[cfg(feature = "tracing")]
    tracing::debug!("new websocket connection");

    let Some(writer) = socket.direct_writer().cloned() else {
        // Every session created for the websocket transport writes directly.
        engine.close_session(socket.id, DisconnectReason::TransportError);
        return Err(Error::Upgrade);
    };
    let (read, write) = tokio::io::split(conn);
    let open = Packet::Open(make_open_packet(
        TransportType::Websocket,
        socket.id,
        &engine.config,
    ));
    writer.attach(Box::pin(write), open);
    let ws =
        WebSocketStream::from_raw_socket(ReadSide { read, writer }, Role::Server, Some(ws_config))
            .await;
    socket
        .clone()
        .spawn_heartbeat(engine.config.ping_interval, engine.config.ping_timeout);

    read_until_closed(&engine, ws, &socket).await;
    Ok(())
}

/// Reads the websocket until the client or the session closes it.
async fn read_until_closed<H: EngineIoHandler, St>(
    engine: &Arc<EngineIo<H>>,
    rx: St,
    socket: &Arc<Socket<H::Data>>,
) where
    St: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    match forward_to_handler(engine, rx, socket)
        .with_cancellation_token(&socket.cancellation_token)
        .await
    {
        Some(Err(ref e)) => {
            let reason =
                Option::<DisconnectReason>::from(e).unwrap_or(DisconnectReason::TransportError);

            #[cfg(feature = "tracing")]
            tracing::debug!("error when handling packet: {:?}", e);
            engine.close_session(socket.id, reason);
        }
        Some(Ok(())) => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "ws transport was closed");
            engine.close_session(socket.id, DisconnectReason::TransportClose);
        }
        None => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "socket is closing");
        }
    }
}

/// Forwards all packets received from a websocket to a EngineIo [`Socket`]
async fn forward_to_handler<H: EngineIoHandler, St>(
    engine: &Arc<EngineIo<H>>,
    mut rx: St,
    socket: &Arc<Socket<H::Data>>,
) -> Result<(), Error>
where
    St: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    while let Some(msg) = rx.try_next().await? {
        match msg {
            Message::Text(msg) => match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
                Packet::Close => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!("[sid={}] closing session", socket.id);
                    engine.close_session(socket.id, DisconnectReason::TransportClose);
                    break;
                }
                Packet::Pong | Packet::Ping => {
                    // A full channel means that the client is already known to be alive.
                    socket.heartbeat_tx.try_send(()).ok();
                    Ok::<(), Error>(())
                }
                Packet::Message(msg) => {
                    engine.handler.on_message(msg, socket.clone());
                    Ok(())
                }
                p => return Err(Error::BadPacket(p)),
            },
            Message::Binary(mut data) => {
                if socket.protocol == ProtocolVersion::V3 && !data.is_empty() {
                    // The first byte is the message type, which we don't need.
                    data = data.split_off(1);
                }
                engine.handler.on_binary(data, socket.clone());
                Ok(())
            }
            Message::Close(_) => {
                #[cfg(feature = "tracing")]
                tracing::debug!("websocket closed, closing session");
                engine.close_session(socket.id, DisconnectReason::TransportClose);
                break;
            }
            _ => {
                #[cfg(feature = "tracing")]
                tracing::debug!(sid = ?socket.id, "unexpected ws message");
                Ok(())
            }
        }?
    }
    Ok(())
}

/// Upgrade a session from a polling request to a websocket request.
///
/// Before upgrading the session the server should send a NOOP packet to any pending polling request.
///
/// ## Handshake :
/// ```text
/// CLIENT                                                 SERVER
///│                                                      │
///│   GET /engine.io/?EIO=4&transport=websocket&sid=...  │
///│ ───────────────────────────────────────────────────► │
///│  ◄─────────────────────────────────────────────────┘ │
///│            HTTP 101 (WebSocket handshake)            │
///│                                                      │
///│            -----  WebSocket frames -----             │
///│  ─────────────────────────────────────────────────►  │
///│                         2probe                       │ (ping packet)
///│  ◄─────────────────────────────────────────────────  │
///│                         3probe                       │ (pong packet)
///│  ─────────────────────────────────────────────────►  │
///│                         5                            │ (upgrade packet)
///│                                                      │
///│            -----  WebSocket frames -----             │
/// ```
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", skip(socket, ws))
)]
async fn upgrade_handshake<H: EngineIoHandler, S>(
    socket: &Arc<Socket<H::Data>>,
    ws: &mut WebSocketStream<S>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    #[cfg(feature = "tracing")]
    tracing::debug!("starting websocket connection upgrade");

    // The socket is upgrading, from now on all polling
    // request will return a `Packet::Noop`
    socket.start_upgrade();

    // We send a last Noop request to close a potential waiting polling request.
    let (Some(tx), Some(internal_rx)) = (socket.channel_tx(), socket.internal_rx.as_ref()) else {
        // Only a session opened by polling can be upgraded.
        return Err(Error::Upgrade);
    };
    tx.send(Box::new(smallvec![Packet::Noop]))
        .await
        .map_err(|_| Error::Upgrade)?;

    // wait for any current polling connection to finish by waiting for the socket to be unlocked
    // All other polling connection will be immediately closed with a NOOP packet.
    let _lock = internal_rx.lock().await;

    // Fetch the next packet from the ws stream, it should be a PingUpgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        _ => Err(Error::Upgrade)?,
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::PingUpgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("received first ping upgrade");
            // Respond with a PongUpgrade packet
            ws.send(Message::Text(String::from(Packet::PongUpgrade).into()))
                .await?;
        }
        p => Err(Error::BadPacket(p))?,
    };

    // Fetch the next packet from the ws stream, it should be an Upgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        Some(Ok(Message::Close(_))) => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws stream closed before upgrade");
            Err(Error::Upgrade)?
        }
        _ => {
            #[cfg(feature = "tracing")]
            tracing::debug!("unexpected ws message before upgrade");
            Err(Error::Upgrade)?
        }
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::Upgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws upgraded successfully")
        }
        p => Err(Error::BadPacket(p))?,
    };

    socket.upgrade_to_websocket();
    Ok(())
}

fn ws_bytes_to_str(bytes: tungstenite::Utf8Bytes) -> Str {
    // SAFETY: the bytes are guaranteed to be valid UTF-8 by the tungstenite parser
    unsafe { Str::from_bytes_unchecked(bytes.into()) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::Request;
    use tokio_tungstenite::tungstenite::Message;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(1);

    fn socket() -> Arc<Socket<()>> {
        Arc::new(Socket::new(
            ProtocolVersion::V4,
            TransportType::Polling,
            &crate::config::EngineIoConfig::default(),
            Request::<()>::default().into_parts().0,
            Box::new(|_, _| ()),
            false,
        ))
    }

    async fn next_text(client: &mut WebSocketStream<tokio::io::DuplexStream>) -> String {
        match tokio::time::timeout(TIMEOUT, client.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text.to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// An upgraded session: what polling had not taken yet goes out first, a permit taken
    /// before the switch still lands in order, and everything after is written directly.
    #[tokio::test]
    async fn an_upgrade_switches_to_direct_writes_in_order() {
        let socket = socket();
        socket.emit("queued 1").unwrap();
        socket.emit("queued 2").unwrap();
        let permit = socket.reserve().unwrap();

        let (server, client) = tokio::io::duplex(64 * 1024);
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let writer = Arc::new(DirectWriter::new(ProtocolVersion::V4, 16));
        writer.attach(Box::pin(server), Packet::Noop);

        let switch = tokio::spawn({
            let socket = socket.clone();
            async move { socket.switch_to_direct(writer).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!switch.is_finished(), "the switch waits for the permit");
        // Sent while the switch waits: held until the queue is out.
        socket.emit("during").unwrap();
        permit.emit(Str::from("permit"));
        tokio::time::timeout(TIMEOUT, switch)
            .await
            .unwrap()
            .unwrap();
        socket.emit("after").unwrap();

        for expected in ["4queued 1", "4queued 2", "4permit", "4during", "4after"] {
            assert_eq!(next_text(&mut client).await, expected);
        }
        assert!(socket.channel_tx().is_none(), "no channel once upgraded");
    }
}
