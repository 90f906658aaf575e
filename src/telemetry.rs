//! Logging setup: `RUST_LOG` filters, `info` by default; `--log-format` picks text or JSON.
//!
//! Text is coloured only when stderr is a terminal, so a file or a journal gets plain lines.
//! JSON is one object per line: `timestamp`, `level`, `target`, the event's fields at the top
//! (`message` among them), and the current span's fields under `span` (a request's
//! `request_id` and `account_id`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global `tracing` subscriber (stderr, so stdout stays machine-readable).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
