//! The websocket protocol layer's side of a direct session: it reads the connection and writes
//! its own frames (pongs, the reply to a close) through the session's [`DirectWriter`].

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::direct::{DirectWriter, WriteError};

/// What the websocket protocol layer reads from and writes to: the read half of the
/// connection, and the session's [`DirectWriter`] for the frames it writes itself (pongs,
/// the reply to a close).
pub(crate) struct ReadSide<R> {
    pub(crate) read: R,
    pub(crate) writer: std::sync::Arc<DirectWriter>,
}

impl<R: AsyncRead + Unpin> AsyncRead for ReadSide<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl<R: Unpin> AsyncWrite for ReadSide<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.writer.write_raw(buf) {
            Ok(()) => Poll::Ready(Ok(buf.len())),
            Err(WriteError::Full) => Poll::Ready(Err(io::Error::other("the peer does not read"))),
            Err(WriteError::Closed) => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
