//! The Socket.IO server of the official test suite (`tests/conformance/socket.io-protocol`):
//! namespaces `/` and `/custom`, each answering a connection with an `auth` event carrying
//! the CONNECT payload, `message` with `message-back` and the same arguments,
//! `message-with-ack` with an ack of its arguments (the reference server of the suite's
//! Readme). As upstream's `e2e/socketioxide/socketioxide.rs`, on Fila's vendored socketioxide
//! and engineioxide, except that events take any number of arguments: upstream's takes exactly
//! three, and its copy of the suite adds arguments to the official tests to match.

use std::fmt;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rmpv::Value;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::socket::DisconnectReason;

use fila_conformance::{MAX_PAYLOAD, PING_INTERVAL, PING_TIMEOUT};

/// All the arguments of an event, however many, binary ones included (`rmpv::Value` keeps
/// bytes as bytes). socketioxide spreads a tuple over the arguments both ways, and takes a
/// `Vec` as one argument: this is a tuple of any length.
struct Args(Vec<Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the arguments of an event")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut args = Vec::new();
                while let Some(arg) = seq.next_element()? {
                    args.push(arg);
                }
                Ok(Args(args))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for arg in &self.0 {
            tuple.serialize_element(arg)?;
        }
        tuple.end()
    }
}

async fn on_connect(socket: SocketRef, Data(auth): Data<Value>) {
    tracing::info!(ns = socket.ns(), sid = %socket.id, "connect");
    socket.emit("auth", &auth).ok();
    socket.on_disconnect(async |socket: SocketRef, reason: DisconnectReason| {
        tracing::info!(ns = socket.ns(), sid = %socket.id, ?reason, "disconnect");
    });
    socket.on("message", async |socket: SocketRef, Data::<Args>(args)| {
        socket.emit("message-back", &args).ok();
    });
    socket.on(
        "message-with-ack",
        async |Data::<Args>(args), ack: AckSender| {
            ack.send(&args).ok();
        },
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    fila_conformance::init_logging();
    let (svc, io) = SocketIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .ack_timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(1000))
        .max_payload(MAX_PAYLOAD)
        .build_svc();
    io.ns("/", on_connect);
    io.ns("/custom", on_connect);
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
