//! What the two conformance servers share: their settings, logging, and the listener on the
//! address the test run gives.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

/// The suites' expected settings (the reference server of the test suites' READMEs).
pub const PING_INTERVAL: Duration = Duration::from_millis(300);
pub const PING_TIMEOUT: Duration = Duration::from_millis(200);
pub const MAX_PAYLOAD: u64 = 1_000_000;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Binds the address in the first argument (default `127.0.0.1:0`, a free port) and prints
/// `listening on http://ADDR` on stdout, which the run script waits for.
pub async fn listen() -> std::io::Result<TcpListener> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:0")
        .parse()
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidInput, err))?;
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    Ok(listener)
}
