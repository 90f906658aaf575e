//! Tests of the direct websocket writer (`direct.rs`).
use std::{sync::Arc, time::Duration};

use engineioxide_core::Str;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, protocol::Role},
};

use super::*;
use crate::transport::read_side::ReadSide;

const TIMEOUT: Duration = Duration::from_secs(2);

fn writer(max_frames: usize) -> Arc<DirectWriter> {
    Arc::new(DirectWriter::new(ProtocolVersion::V4, max_frames))
}

async fn next_text(client: &mut WebSocketStream<tokio::io::DuplexStream>) -> String {
    match tokio::time::timeout(TIMEOUT, client.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn frames_reach_a_websocket_client_in_order_after_the_open_packet() {
    let (server, client) = tokio::io::duplex(64 * 1024);
    let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    let w = writer(16);
    // Written before the connection is attached: goes out after the open packet.
    w.write([Packet::Message(Str::from("early"))], false)
        .unwrap();
    w.attach(Box::pin(server), Packet::Ping);
    w.write([Packet::Message(Str::from("hello"))], false)
        .unwrap();
    w.write(
        [
            Packet::Message(Str::from("a")),
            Packet::Message(Str::from("b")),
        ],
        false,
    )
    .unwrap();
    assert_eq!(next_text(&mut client).await, "2");
    assert_eq!(next_text(&mut client).await, "4early");
    assert_eq!(next_text(&mut client).await, "4hello");
    assert_eq!(next_text(&mut client).await, "4a");
    assert_eq!(next_text(&mut client).await, "4b");
}

#[tokio::test]
async fn a_batch_writes_its_frames_together_when_it_ends() {
    let (server, mut client) = tokio::io::duplex(64 * 1024);
    let w = writer(16);
    w.attach(Box::pin(server), Packet::Noop);
    let w2 = w.clone();
    batch(async move {
        w2.write([Packet::Message(Str::from("a"))], false).unwrap();
        w2.write([Packet::Message(Str::from("b"))], false).unwrap();
        assert!(w2.is_backed_up(), "held until the batch ends");
    })
    .await;
    assert!(!w.is_backed_up(), "written when the batch ended");
    let mut bytes = [0u8; 8];
    tokio::time::timeout(TIMEOUT, client.read_exact(&mut bytes))
        .await
        .expect("both frames should arrive")
        .unwrap();
    assert_eq!(&bytes, b"\x81\x024a\x81\x024b");

    // A cancelled batch writes what it held too.
    let w3 = w.clone();
    let cancelled = batch(async move {
        w3.write([Packet::Message(Str::from("c"))], false).unwrap();
        std::future::pending::<()>().await;
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(20), cancelled)
            .await
            .is_err()
    );
    let mut bytes = [0u8; 4];
    tokio::time::timeout(TIMEOUT, client.read_exact(&mut bytes))
        .await
        .expect("the held frame should arrive")
        .unwrap();
    assert_eq!(&bytes, b"\x81\x024c");
}

#[tokio::test]
async fn a_switch_writes_the_queued_packets_before_the_held_ones() {
    let (server, client) = tokio::io::duplex(64 * 1024);
    let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    let w = writer(16);
    w.attach(Box::pin(server), Packet::Noop);
    w.hold();
    w.write([Packet::Message(Str::from("after"))], false)
        .unwrap();
    assert!(!w.is_backed_up(), "held apart from what is pending");
    w.release(vec![
        smallvec::smallvec![Packet::Message(Str::from("queued 1"))],
        smallvec::smallvec![Packet::Message(Str::from("queued 2"))],
    ]);
    w.write([Packet::Message(Str::from("direct"))], false)
        .unwrap();
    for expected in ["4queued 1", "4queued 2", "4after", "4direct"] {
        assert_eq!(next_text(&mut client).await, expected);
    }
}

#[tokio::test]
async fn frame_lengths_of_every_size_class() {
    let (server, client) = tokio::io::duplex(16 * 1024);
    let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    let w = writer(16);
    w.attach(Box::pin(server), Packet::Noop);
    // 7-bit, 16-bit and 64-bit payload lengths.
    for len in [10, 125, 126, 65_535, 70_000] {
        let text = "y".repeat(len - 1);
        w.write([Packet::Message(Str::from(text.clone()))], false)
            .unwrap();
        assert_eq!(next_text(&mut client).await, format!("4{text}"));
    }
}

#[tokio::test]
async fn a_peer_that_does_not_read_fills_the_socket_then_gets_everything_in_order() {
    // A 1 KiB pipe: most frames wait in the writer's buffer.
    let (server, client) = tokio::io::duplex(1024);
    let w = writer(8);
    w.attach(Box::pin(server), Packet::Noop);
    let big = "x".repeat(600);
    let mut accepted = 0;
    while w
        .write([Packet::Message(Str::from(big.clone()))], false)
        .is_ok()
    {
        accepted += 1;
        assert!(accepted < 100, "the socket never filled up");
    }
    assert_eq!(w.check(), Err(WriteError::Full));
    assert!(w.is_backed_up());

    let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    for _ in 0..accepted {
        assert_eq!(next_text(&mut client).await, format!("4{big}"));
    }
    // Drained by the flush task: room again.
    tokio::time::timeout(TIMEOUT, async {
        while w.check().is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the flush task should drain the buffer");
    assert!(!w.is_backed_up());
}

#[tokio::test]
async fn close_sends_a_close_frame_and_ends_the_connection() {
    let (server, mut client) = tokio::io::duplex(1024);
    let w = writer(8);
    w.attach(Box::pin(server), Packet::Noop);
    w.write([Packet::Message(Str::from("bye"))], false).unwrap();
    w.close();
    assert!(w.is_closed());
    assert_eq!(
        w.write([Packet::Message(Str::from("late"))], true),
        Err(WriteError::Closed)
    );
    let mut bytes = Vec::new();
    tokio::time::timeout(TIMEOUT, client.read_to_end(&mut bytes))
        .await
        .expect("the connection should end")
        .unwrap();
    // "4bye" as a text frame, then an empty close frame.
    assert_eq!(bytes, [&[0x81, 4][..], b"4bye", &[0x88, 0]].concat());
}

#[tokio::test(start_paused = true)]
async fn a_closed_session_whose_peer_does_not_read_is_dropped_after_a_grace() {
    let (server, mut client) = tokio::io::duplex(256);
    let w = writer(64);
    w.attach(Box::pin(server), Packet::Noop);
    for _ in 0..4 {
        w.write([Packet::Message(Str::from("z".repeat(200)))], false)
            .unwrap();
    }
    assert!(w.is_backed_up(), "the peer reads nothing");
    w.close();
    tokio::time::sleep(CLOSE_GRACE + Duration::from_millis(10)).await;
    assert!(!w.is_backed_up(), "given up after the grace");
    // The connection is dropped: the peer reads what fitted, then the end.
    let mut bytes = Vec::new();
    tokio::time::timeout(TIMEOUT, client.read_to_end(&mut bytes))
        .await
        .expect("the connection should end")
        .unwrap();
    assert!(bytes.len() <= 256 + 256);
}

#[tokio::test]
async fn the_websocket_layer_cannot_pile_up_frames_for_a_peer_that_does_not_read() {
    use tokio::io::AsyncWriteExt;
    let (server, _client) = tokio::io::duplex(1024);
    let w = writer(8);
    w.attach(Box::pin(server), Packet::Noop);
    let mut side = ReadSide {
        read: tokio::io::empty(),
        writer: w.clone(),
    };
    let pong = [0x8a, 0x7d]
        .iter()
        .chain(&[0u8; 125])
        .copied()
        .collect::<Vec<_>>();
    let mut written = 0;
    let error = loop {
        match side.write_all(&pong).await {
            Ok(()) => written += pong.len(),
            Err(error) => break error,
        }
        assert!(written < 2 * RAW_PENDING_LIMIT, "never cut off");
    };
    assert_eq!(error.to_string(), "the peer does not read");
    assert!(written >= RAW_PENDING_LIMIT);
}

#[tokio::test]
async fn a_broken_connection_closes_the_writer() {
    let (server, client) = tokio::io::duplex(1024);
    drop(client);
    let w = writer(8);
    w.attach(Box::pin(server), Packet::Noop);
    let _ = w.write([Packet::Message(Str::from("lost"))], false);
    assert!(w.is_closed());
    assert_eq!(w.check(), Err(WriteError::Closed));
}
