//! The direct websocket writer: the outgoing side of a session that was opened as a websocket.
//!
//! Packets are framed by the caller and written to the connection at once, without a channel
//! and without waking a per-socket task. A broadcast to N sockets is therefore N non-blocking
//! `write` calls made by the broadcasting task, instead of N channel sends, N task wake-ups and
//! N writes made by N writer tasks.
//!
//! When the connection does not accept everything (the peer reads slowly, its TCP window is
//! full), the rest is kept in order in a per-socket buffer and a short-lived task flushes it
//! as soon as the connection is writable again. While it waits, later packets are appended to
//! that buffer, up to `max_frames` frames ([`EngineIoConfig::max_buffer_size`]): past that the
//! socket is full, exactly as the channel of the queued transport would be.
//!
//! An idle socket holds no buffer: the frame is built in a per-thread scratch buffer and only
//! what the connection did not take is copied into the socket's own buffer.
//!
//! [`EngineIoConfig::max_buffer_size`]: crate::config::EngineIoConfig::max_buffer_size

use std::{
    cell::RefCell,
    pin::Pin,
    sync::{Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use bytes::{Buf, BytesMut};
use engineioxide_core::{Packet, PacketBuf, ProtocolVersion};
use tokio::io::AsyncWrite;
use tokio_tungstenite::tungstenite::protocol::frame::{
    FrameHeader,
    coding::{Control, Data, OpCode},
};

/// The write half of the connection, whatever its type.
type Sink = Pin<Box<dyn AsyncWrite + Send>>;

/// Largest scratch buffer kept between frames, per thread.
const SCRATCH_KEEP: usize = 64 * 1024;
/// Most bytes waiting for the peer when the websocket layer writes a frame of its own (a pong,
/// a close reply): a peer that sends pings and never reads the pongs is cut off here.
const RAW_PENDING_LIMIT: usize = 256 * 1024;
/// How long a closed session's last frames may wait for a peer that does not read before
/// the connection is dropped with them.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

tokio::task_local! {
    /// The writers holding frames for the end of the current [`batch`].
    static BATCH: RefCell<Corked>;
}

/// Runs `f`, holding back the frames it writes to websocket sessions until it ends; each
/// session then gets everything in one write. For a burst of broadcasts: N events to M
/// sockets become M writes instead of N × M. The frames are written when `f` ends, is
/// cancelled or panics; keep `f` short (a few events), as nothing is sent while it runs.
pub async fn batch<F: std::future::Future>(f: F) -> F::Output {
    BATCH.scope(RefCell::new(Corked(Vec::new())), f).await
}

/// The writers of a [`batch`]; dropping it writes what they hold.
struct Corked(Vec<std::sync::Arc<DirectWriter>>);

impl Drop for Corked {
    fn drop(&mut self) {
        for writer in self.0.drain(..) {
            writer.uncork();
        }
    }
}

/// Why a packet could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// `max_frames` frames already wait for the connection.
    Full,
    /// The session is closed or its connection is broken.
    Closed,
}

/// The outgoing side of a websocket session. See the module documentation.
pub(crate) struct DirectWriter {
    protocol: ProtocolVersion,
    state: Mutex<State>,
}

struct State {
    /// `None` until the connection is attached, and again once it is closed.
    sink: Option<Sink>,
    /// Bytes the connection has not accepted yet, in order: whole frames except for the first,
    /// which may have been partly written.
    pending: BytesMut,
    /// Frames appended to `pending` since it was last empty.
    pending_frames: usize,
    max_frames: usize,
    /// A flush task waits for the connection to accept `pending`.
    flushing: bool,
    /// Nothing more is accepted.
    closed: bool,
    /// Shut the connection down once `pending` is written.
    shutdown_when_flushed: bool,
    /// A [`batch`] holds the frames back: they are written when it ends.
    corked: bool,
    /// The flush task's waker, to end it when the connection is dropped.
    flush_waker: Option<Waker>,
    /// While a session upgraded from polling switches to this writer: the frames written
    /// meanwhile, to go out after the packets still queued in its channel.
    held: Option<BytesMut>,
    /// Where flush tasks run; set when the connection is attached.
    runtime: Option<tokio::runtime::Handle>,
}

impl DirectWriter {
    pub(crate) fn new(protocol: ProtocolVersion, max_frames: usize) -> Self {
        Self {
            protocol,
            state: Mutex::new(State {
                sink: None,
                pending: BytesMut::new(),
                pending_frames: 0,
                max_frames: max_frames.max(1),
                flushing: false,
                closed: false,
                shutdown_when_flushed: false,
                corked: false,
                flush_waker: None,
                held: None,
                runtime: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held leaves the state consistent (every update is a
        // plain assignment), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Attaches the connection. `first` (the Engine.IO open packet) goes out before anything
    /// written while the connection was not attached yet.
    pub(crate) fn attach(self: &std::sync::Arc<Self>, sink: Sink, first: Packet) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        let mut head = Vec::new();
        encode(&mut head, first, self.protocol);
        let earlier = std::mem::take(&mut state.pending);
        let mut pending = BytesMut::with_capacity(head.len() + earlier.len());
        pending.extend_from_slice(&head);
        pending.extend_from_slice(&earlier);
        state.pending = pending;
        state.pending_frames += 1;
        state.sink = Some(sink);
        state.runtime = tokio::runtime::Handle::try_current().ok();
        self.flush_now(&mut state);
    }

    /// Whether another frame can be written now (see [`WriteError`]).
    pub(crate) fn check(&self) -> Result<(), WriteError> {
        let state = self.lock();
        if state.closed {
            Err(WriteError::Closed)
        } else if state.pending_frames >= state.max_frames {
            Err(WriteError::Full)
        } else {
            Ok(())
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether frames wait for the connection.
    pub(crate) fn is_backed_up(&self) -> bool {
        !self.lock().pending.is_empty()
    }

    /// Frames and writes packets, atomically with respect to other writers.
    ///
    /// With `reserved`, the caller has checked the room beforehand ([`Self::check`]): the
    /// packets are written even if the socket filled up since.
    pub(crate) fn write(
        self: &std::sync::Arc<Self>,
        packets: impl IntoIterator<Item = Packet>,
        reserved: bool,
    ) -> Result<(), WriteError> {
        let protocol = self.protocol;
        self.write_with(reserved, |out| {
            for packet in packets {
                encode(out, packet, protocol);
            }
        })
    }

    /// Writes bytes that are already framed (the websocket layer's own control frames).
    pub(crate) fn write_raw(self: &std::sync::Arc<Self>, bytes: &[u8]) -> Result<(), WriteError> {
        if self.lock().pending.len() > RAW_PENDING_LIMIT {
            return Err(WriteError::Full);
        }
        self.write_with(true, |out| out.extend_from_slice(bytes))
    }

    fn write_with(
        self: &std::sync::Arc<Self>,
        reserved: bool,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), WriteError> {
        let mut state = self.lock();
        if state.closed {
            return Err(WriteError::Closed);
        }
        if !reserved && state.pending_frames >= state.max_frames {
            return Err(WriteError::Full);
        }
        if let Some(held) = state.held.as_mut() {
            SCRATCH.with(|scratch| {
                let mut scratch = scratch.borrow_mut();
                scratch.clear();
                fill(&mut scratch);
                held.extend_from_slice(&scratch);
            });
            state.pending_frames += 1;
            return Ok(());
        }
        if !state.corked && state.sink.is_some() {
            let joined = BATCH
                .try_with(|corked| corked.borrow_mut().0.push(self.clone()))
                .is_ok();
            state.corked = joined;
        }
        let hold = state.corked;
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            scratch.clear();
            fill(&mut scratch);
            if scratch.is_empty() {
                return;
            }
            let mut written = 0;
            if state.pending.is_empty() && !state.flushing && !hold {
                written = state.write_now(&scratch);
            }
            if written < scratch.len() && !state.closed {
                state.pending.extend_from_slice(&scratch[written..]);
                state.pending_frames += 1;
            }
            if scratch.capacity() > SCRATCH_KEEP {
                *scratch = Vec::new();
            }
        });
        if !state.pending.is_empty() && !state.flushing && !hold {
            self.flush_now(&mut state);
        }
        Ok(())
    }

    /// Holds back what is written from now on, until [`Self::release`].
    pub(crate) fn hold(&self) {
        let mut state = self.lock();
        if state.held.is_none() {
            state.held = Some(BytesMut::new());
        }
    }

    /// Writes `first` (the packets that were queued before the switch), then what was held
    /// since [`Self::hold`], and writes directly from then on.
    pub(crate) fn release(self: &std::sync::Arc<Self>, first: Vec<PacketBuf>) {
        let mut state = self.lock();
        let held = state.held.take().unwrap_or_default();
        if state.closed {
            return;
        }
        let mut head = Vec::new();
        for packets in first {
            for packet in packets {
                encode(&mut head, packet, self.protocol);
            }
            state.pending_frames += 1;
        }
        state.pending.extend_from_slice(&head);
        state.pending.extend_from_slice(&held);
        if !state.flushing && !state.corked {
            self.flush_now(&mut state);
        }
    }

    /// The end of a [`batch`]: writes what it held.
    fn uncork(self: &std::sync::Arc<Self>) {
        let mut state = self.lock();
        state.corked = false;
        if !state.flushing {
            self.flush_now(&mut state);
        }
    }

    /// Stops accepting packets, sends a websocket close frame after what is pending and shuts
    /// the connection down once that is written.
    pub(crate) fn close(self: &std::sync::Arc<Self>) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        let mut frame = Vec::with_capacity(2);
        write_header(&mut frame, OpCode::Control(Control::Close), 0);
        state.pending.extend_from_slice(&frame);
        state.closed = true;
        state.shutdown_when_flushed = true;
        state.corked = false;
        if !state.flushing {
            self.flush_now(&mut state);
        }
        // A peer that does not read would keep the connection, and the flush task, forever.
        if state.flushing
            && let Some(runtime) = state.runtime.clone()
        {
            let writer = self.clone();
            runtime.spawn(async move {
                tokio::time::sleep(CLOSE_GRACE).await;
                let mut state = writer.lock();
                if state.sink.is_some() {
                    state.fail();
                }
            });
        }
    }

    /// Writes what is pending without waiting; hands the rest to a flush task.
    fn flush_now(self: &std::sync::Arc<Self>, state: &mut State) {
        if state.sink.is_none() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        if state.poll_flush_pending(&mut cx).is_pending() {
            match state.runtime.clone() {
                Some(runtime) => {
                    state.flushing = true;
                    let writer = self.clone();
                    runtime.spawn(std::future::poll_fn(move |cx| {
                        let mut state = writer.lock();
                        let done = state.poll_flush_pending(cx);
                        // Under the same lock as the last write: a frame appended after
                        // this point starts a new flush.
                        if done.is_ready() {
                            state.flushing = false;
                        }
                        done
                    }));
                }
                // Attached outside a runtime: nothing can wait for the connection.
                None => state.fail(),
            }
        }
    }
}

impl State {
    /// Writes as much of `bytes` as the connection takes now; returns how much it took.
    fn write_now(&mut self, bytes: &[u8]) -> usize {
        let Some(sink) = self.sink.as_mut() else {
            return 0;
        };
        let mut cx = Context::from_waker(Waker::noop());
        let mut written = 0;
        while written < bytes.len() {
            match sink.as_mut().poll_write(&mut cx, &bytes[written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    self.fail();
                    return bytes.len();
                }
                Poll::Ready(Ok(n)) => written += n,
                Poll::Pending => break,
            }
        }
        if written == bytes.len() {
            // The connection took it all; a buffering sink (TLS) gets its flush too.
            if let Poll::Ready(Err(_)) = sink.as_mut().poll_flush(&mut cx) {
                self.fail();
            }
        }
        written
    }

    /// Writes `pending` until it is empty or the connection would block.
    fn poll_flush_pending(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let Some(sink) = self.sink.as_mut() else {
                self.pending = BytesMut::new();
                return Poll::Ready(());
            };
            if self.pending.is_empty() {
                if sink.as_mut().poll_flush(cx).is_pending() {
                    return Poll::Pending;
                }
                // Free the buffer: an idle socket keeps none.
                self.pending = BytesMut::new();
                self.pending_frames = 0;
                if self.shutdown_when_flushed {
                    // Sends FIN now; the read half closes with the reading task.
                    let _ = sink.as_mut().poll_shutdown(cx);
                    self.sink = None;
                }
                return Poll::Ready(());
            }
            match sink.as_mut().poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                    self.fail();
                    return Poll::Ready(());
                }
                Poll::Ready(Ok(n)) => self.pending.advance(n),
                Poll::Pending => {
                    self.flush_waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
    }

    /// The connection is broken (or given up): drop it and everything pending, and end the
    /// flush task.
    fn fail(&mut self) {
        self.closed = true;
        self.sink = None;
        self.pending = BytesMut::new();
        self.pending_frames = 0;
        if let Some(waker) = self.flush_waker.take() {
            waker.wake();
        }
    }
}

/// Appends one Engine.IO packet as one websocket frame.
fn encode(out: &mut Vec<u8>, packet: Packet, protocol: ProtocolVersion) {
    match packet {
        Packet::Message(msg) => {
            let msg = msg.as_bytes();
            write_header(out, OpCode::Data(Data::Text), 1 + msg.len());
            out.push(b'4');
            out.extend_from_slice(msg);
        }
        Packet::Binary(bin) | Packet::BinaryV3(bin) => {
            if protocol == ProtocolVersion::V3 {
                // v3 puts the packet type before the data.
                write_header(out, OpCode::Data(Data::Binary), 1 + bin.len());
                out.push(0x04);
            } else {
                write_header(out, OpCode::Data(Data::Binary), bin.len());
            }
            out.extend_from_slice(&bin);
        }
        // Only meaningful to a polling request that waits during an upgrade.
        Packet::Noop => {}
        packet => {
            let text = String::from(packet);
            write_header(out, OpCode::Data(Data::Text), text.len());
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// Appends the header of an unmasked, final frame (a server's frame).
fn write_header(out: &mut Vec<u8>, opcode: OpCode, len: usize) {
    let header = FrameHeader {
        is_final: true,
        opcode,
        ..FrameHeader::default()
    };
    // Writing into a `Vec` cannot fail.
    let _ = header.format(len as u64, out);
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
