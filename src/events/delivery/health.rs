//! Whether this node can read the event log: `/readyz` reports it, and the delivery uses it to
//! decide when an outage has lasted long enough to drop this node's sockets.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::domain::time::now_ms;

/// Whether this node can read the log now (`/readyz`).
#[derive(Debug)]
pub struct LogHealth {
    ok: AtomicBool,
    /// Since when reads have failed (ms since the epoch; 0 while they succeed).
    failing_since: AtomicI64,
    pub(super) listening: AtomicBool,
}

impl Default for LogHealth {
    fn default() -> Self {
        LogHealth {
            ok: AtomicBool::new(true),
            failing_since: AtomicI64::new(0),
            listening: AtomicBool::new(true),
        }
    }
}

impl LogHealth {
    /// Whether the last read of the log succeeded.
    pub fn is_ok(&self) -> bool {
        self.ok.load(Ordering::Relaxed)
    }

    pub(super) fn succeeded(&self) {
        self.ok.store(true, Ordering::Relaxed);
        self.failing_since.store(0, Ordering::Relaxed);
    }

    /// Records a failure; answers since when reads have failed.
    pub(super) fn failed(&self) -> i64 {
        self.ok.store(false, Ordering::Relaxed);
        let now = now_ms();
        match self
            .failing_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => now,
            Err(since) => since,
        }
    }
}
