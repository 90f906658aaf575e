//! The Engine.IO server of the official test suite (`tests/conformance/engine.io-protocol`):
//! every message and binary packet is sent back as it came. As upstream's
//! `e2e/engineioxide/engineioxide.rs`, on Fila's vendored engineioxide.

use std::sync::Arc;

use bytes::Bytes;
use engineioxide::Str;
use engineioxide::config::EngineIoConfig;
use engineioxide::handler::EngineIoHandler;
use engineioxide::service::EngineIoService;
use engineioxide::socket::{DisconnectReason, Socket};
use fila_conformance::{MAX_PAYLOAD, PING_INTERVAL, PING_TIMEOUT};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;

#[derive(Debug)]
struct Echo;

impl EngineIoHandler for Echo {
    type Data = ();

    fn on_connect(self: Arc<Self>, socket: Arc<Socket<()>>) {
        tracing::info!(sid = %socket.id, "connect");
    }

    fn on_disconnect(&self, socket: Arc<Socket<()>>, reason: DisconnectReason) {
        tracing::info!(sid = %socket.id, ?reason, "disconnect");
    }

    fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<()>>) {
        socket.emit(msg).ok();
    }

    fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<()>>) {
        socket.emit_binary(data).ok();
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    fila_conformance::init_logging();
    let config = EngineIoConfig::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_payload(MAX_PAYLOAD)
        .build();
    let svc = EngineIoService::with_config(Arc::new(Echo), config);
    let listener = fila_conformance::listen().await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let svc = svc.clone();
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            if let Err(err) = conn.await {
                tracing::debug!("connection: {err}");
            }
        });
    }
}
