//! Logging setup: `RUST_LOG` filters, `info` by default.

use tracing_subscriber::EnvFilter;

/// Installs the global `tracing` subscriber (stderr, so stdout stays machine-readable).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
