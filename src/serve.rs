//! The HTTP server loop, with every resource a client can hold bounded:
//!
//! - **Connections.** At most `max_connections` at once (a websocket counts until it closes).
//!   Past that, `reserve_connections` more are let in for the operations endpoints only
//!   (`/healthz`, `/readyz`, `/metrics`; anything else answers 503 with `Retry-After`), with a
//!   short header timeout and no keep-alive, and the oldest of them gives way to a new one, so
//!   a flood of idle connections cannot keep a health probe out. The open-file limit is
//!   raised to its hard maximum at start (`raise_open_file_limit`).
//! - **Slow clients.** A request's headers must arrive within `header_read_timeout` (also the
//!   idle limit of a kept-alive connection), and the whole request, body included, within
//!   `request_timeout` (408, connection closed); Socket.IO's long polls are exempt, as they
//!   are bounded by its own ping timeout. Headers are capped at 64 KiB (431).
//! - **TLS.** With `--tls-cert`, a connection's TLS handshake must also finish within the
//!   header timeout; it runs in the connection's task, never in the accept loop.
//! - **Shutdown.** When `shutdown` resolves the listener closes, open connections finish their
//!   request, and whatever is still open after `shutdown_timeout` is dropped.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// Largest request head (request line and headers) read.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Header timeout of a connection let in over the cap.
const RESERVE_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// The bounds of the server loop.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub reserve_connections: usize,
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 12_000,
            reserve_connections: 32,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// The paths a connection over the cap may ask for.
fn is_operations(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The connections let in over the cap; the oldest gives way when it is full.
struct Reserve {
    capacity: usize,
    next_id: AtomicU64,
    open: Mutex<VecDeque<(u64, CancellationToken)>>,
}

impl Reserve {
    fn enter(self: &Arc<Self>) -> Option<ReserveSlot> {
        if self.capacity == 0 {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let evicted = CancellationToken::new();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        while open.len() >= self.capacity {
            if let Some((_, oldest)) = open.pop_front() {
                oldest.cancel();
            }
        }
        open.push_back((id, evicted.clone()));
        Some(ReserveSlot {
            reserve: self.clone(),
            id,
            evicted,
        })
    }
}

struct ReserveSlot {
    reserve: Arc<Reserve>,
    id: u64,
    evicted: CancellationToken,
}

impl Drop for ReserveSlot {
    fn drop(&mut self) {
        let mut open = self.reserve.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|(id, _)| *id != self.id);
    }
}

/// What a connection holds while it is open.
enum Slot {
    Counted { _permit: OwnedSemaphorePermit },
    Reserve(ReserveSlot),
}

/// A TCP stream that holds its slot, so a connection upgraded to a websocket still counts
/// until the websocket closes.
struct Held {
    stream: TcpStream,
    _slot: Slot,
    _open: OpenGuard,
}

/// Keeps the open-connections gauge.
struct OpenGuard(Arc<Metrics>);

impl OpenGuard {
    fn new(metrics: Arc<Metrics>) -> OpenGuard {
        metrics.connection_opened();
        OpenGuard(metrics)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains within the deadline.
/// With `tls`, every connection begins with a TLS handshake (within the header timeout).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    metrics: Arc<Metrics>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let counted = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let reserve = Arc::new(Reserve {
        capacity: limits.reserve_connections,
        next_id: AtomicU64::new(0),
        open: Mutex::new(VecDeque::new()),
    });
    let draining = CancellationToken::new();
    let dropping = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, most likely: let some close before trying again.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let slot = match counted.clone().try_acquire_owned() {
            Ok(permit) => Slot::Counted { _permit: permit },
            Err(_) => match reserve.enter() {
                Some(slot) => Slot::Reserve(slot),
                None => {
                    metrics.connection_refused();
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tracker.spawn(connection(
            stream,
            peer,
            slot,
            router.clone(),
            limits,
            metrics.clone(),
            tls.clone(),
            (draining.clone(), dropping.clone()),
        ));
    }
    drop(listener);
    draining.cancel();
    tracker.close();
    if tokio::time::timeout(limits.shutdown_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = tracker.len(),
            "connections still open at the shutdown deadline: closing them"
        );
        dropping.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(1), tracker.wait()).await;
    }
}

/// Marks a request that came over Fila's own TLS (its links say `https`).
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

#[allow(clippy::too_many_arguments)]
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    router: Router,
    limits: ServeLimits,
    metrics: Arc<Metrics>,
    tls: Option<TlsAcceptor>,
    (draining, dropping): (CancellationToken, CancellationToken),
) {
    let (reserved, evicted) = match &slot {
        Slot::Counted { .. } => (false, CancellationToken::new()),
        Slot::Reserve(r) => (true, r.evicted.clone()),
    };
    let held = Held {
        stream,
        _slot: slot,
        _open: OpenGuard::new(metrics),
    };
    let header_timeout = if reserved {
        RESERVE_HEADER_TIMEOUT
    } else {
        limits.header_read_timeout
    };
    let http = Http {
        peer,
        router,
        limits,
        reserved,
        header_timeout,
    };
    let Some(acceptor) = tls else {
        return http.run(held, false, evicted, draining, dropping).await;
    };
    let handshake = tokio::time::timeout(header_timeout, acceptor.accept(held));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => return,
        },
        () = evicted.cancelled() => return,
        () = draining.cancelled() => return,
    };
    http.run(stream, true, evicted, draining, dropping).await;
}

/// One connection's HTTP/1.1 side, over TCP or over TLS.
struct Http {
    peer: SocketAddr,
    router: Router,
    limits: ServeLimits,
    reserved: bool,
    header_timeout: Duration,
}

impl Http {
    async fn run<I>(
        self,
        io: I,
        over_tls: bool,
        evicted: CancellationToken,
        draining: CancellationToken,
        dropping: CancellationToken,
    ) where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Http {
            peer,
            router,
            limits,
            reserved,
            header_timeout,
        } = self;
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            if over_tls {
                request.extensions_mut().insert(OverTls);
            }
            let router = router.clone();
            let respond = move |request| respond(router, request, reserved, limits);
            async move { Ok::<_, Infallible>(crate::http::access::record(request, peer, respond).await) }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            .keep_alive(!reserved);
        let conn = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut conn = std::pin::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            () = evicted.cancelled() => return,
            () = dropping.cancelled() => return,
            () = draining.cancelled() => {}
        }
        conn.as_mut().graceful_shutdown();
        tokio::select! {
            _ = conn.as_mut() => {}
            () = dropping.cancelled() => {}
        }
    }
}

async fn respond(
    router: Router,
    request: Request<Incoming>,
    reserved: bool,
    limits: ServeLimits,
) -> Response {
    let path = request.uri().path();
    if reserved && !is_operations(path) {
        return closing(
            ApiError::Busy(
                "the server is at its connection limit: try again shortly".into(),
                Duration::from_secs(1),
            )
            .into_response(),
        );
    }
    let request = request.map(Body::new);
    if path_is_socket_io(request.uri().path()) {
        return match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    match tokio::time::timeout(limits.request_timeout, router.oneshot(request)).await {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => closing(ApiError::RequestTimeout.into_response()),
    }
}

fn path_is_socket_io(path: &str) -> bool {
    path.starts_with("/socket.io/")
}

/// Asks the client to close the connection after this response.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Raises the soft limit of open files to the hard limit (a connection is a file); answers
/// the limit in force.
pub fn raise_open_file_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the `rlimit` passed by pointer.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
        limit.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_gives_way_to_the_newest_connection() {
        let reserve = Arc::new(Reserve {
            capacity: 2,
            next_id: AtomicU64::new(0),
            open: Mutex::new(VecDeque::new()),
        });
        let first = reserve.enter().unwrap();
        let second = reserve.enter().unwrap();
        assert!(!first.evicted.is_cancelled());
        let third = reserve.enter().unwrap();
        assert!(first.evicted.is_cancelled(), "the oldest gave way");
        assert!(!second.evicted.is_cancelled() && !third.evicted.is_cancelled());
        drop((first, second, third));
        assert!(reserve.open.lock().unwrap().is_empty());
    }
}
