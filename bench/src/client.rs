//! One Socket.IO v4 client over a websocket (Engine.IO v4 framing), just enough for a load
//! generator: open packet `0{...}`, connect `40{"token":...}`, answer ping `2` with pong `3`,
//! events `42["name",data,{"seq":N,"at":...}]`. It timestamps each event as its frame arrives
//! and reads only the trailing `seq`, so the clients cost little CPU next to the server.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The outcome of one client's handshake.
pub type Hello = Result<(), String>;

/// One event received by one client.
pub struct Delivery {
    pub client: u32,
    /// The event's `seq`; `i64::MIN` when the client lost its connection (see `closed`).
    pub seq: i64,
    pub at: Instant,
    /// Size of the first argument (the payload) as JSON; measured by client 0 only.
    pub payload_bytes: usize,
    pub closed: Option<String>,
}

/// The `seq` of an event frame: the number after the last `"seq":`.
pub fn trailing_seq(frame: &str) -> Option<i64> {
    let at = frame.rfind("\"seq\":")? + 6;
    let digits: String = frame[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn payload_len(frame: &str) -> usize {
    serde_json::from_str::<Vec<serde_json::Value>>(&frame[2..])
        .ok()
        .and_then(|args| args.get(1).map(|d| d.to_string().len()))
        .unwrap_or(0)
}

pub async fn run(
    id: u32,
    url: String,
    token: String,
    gate: Arc<Semaphore>,
    hello: mpsc::UnboundedSender<Hello>,
    tx: mpsc::UnboundedSender<Delivery>,
) {
    let permit = gate.acquire_owned().await.expect("semaphore");
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let mut ws = match tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await
    {
        Ok((ws, _)) => ws,
        Err(e) => {
            let _ = hello.send(Err(format!("client {id}: websocket: {e}")));
            return;
        }
    };
    // Engine.IO open packet, then the Socket.IO connect with the token.
    let handshake = async {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
            other => return Err(format!("expected the open packet, got {other:?}")),
        }
        let connect = format!("40{}", serde_json::json!({ "token": token }));
        ws.send(Message::text(connect))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    if t.as_str() == "2" {
                        ws.send(Message::text("3"))
                            .await
                            .map_err(|e| e.to_string())?;
                    } else if t.starts_with("40") {
                        return Ok(());
                    } else if let Some(why) = t.strip_prefix("44") {
                        return Err(format!("connect_error {why}"));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed during the handshake".into()),
            }
        }
    };
    if let Err(e) = handshake.await {
        let _ = hello.send(Err(format!("client {id}: {e}")));
        return;
    }
    drop(permit);
    let _ = hello.send(Ok(()));
    drop(hello);

    let closed = |why: String| Delivery {
        client: id,
        seq: i64::MIN,
        at: Instant::now(),
        payload_bytes: 0,
        closed: Some(why),
    };
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let at = Instant::now();
                if t.starts_with("42") {
                    let Some(seq) = trailing_seq(&t) else {
                        let _ = tx.send(closed(format!("event without seq: {}", t.as_str())));
                        return;
                    };
                    let payload_bytes = if id == 0 { payload_len(&t) } else { 0 };
                    let d = Delivery {
                        client: id,
                        seq,
                        at,
                        payload_bytes,
                        closed: None,
                    };
                    if tx.send(d).is_err() {
                        return;
                    }
                } else if t.as_str() == "2" {
                    if let Err(e) = ws.send(Message::text("3")).await {
                        let _ = tx.send(closed(format!("pong failed: {e}")));
                        return;
                    }
                } else if t.starts_with("41") || t.starts_with('1') {
                    let _ = tx.send(closed(format!(
                        "server disconnected the socket ({})",
                        t.as_str()
                    )));
                    return;
                }
            }
            Some(Ok(Message::Close(f))) => {
                let _ = tx.send(closed(format!("websocket closed: {f:?}")));
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                let _ = tx.send(closed(format!("websocket error: {e}")));
                return;
            }
            None => {
                let _ = tx.send(closed("websocket ended".into()));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::trailing_seq;

    #[test]
    fn reads_the_trailing_seq() {
        let f = r#"42["appointments.checkin",{"id":1,"notes":"seq"},{"seq":42,"at":"2025-01-01T00:00:00.000Z"}]"#;
        assert_eq!(trailing_seq(f), Some(42));
        assert_eq!(trailing_seq(r#"42["x",{}]"#), None);
    }
}
