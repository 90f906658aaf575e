//! Slows password guessing: after `MAX_FAILURES` wrong passwords for one email within
//! `WINDOW`, logins for that email answer 429 until the window has passed. A correct password
//! clears the count. Kept in memory, per node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Past this many tracked emails, expired entries are swept on the next failure.
const SWEEP_ABOVE: usize = 10_000;

/// Failed logins by email.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    /// Whether this email may try a password now.
    pub fn allows(&self, email: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(email) {
            Some((count, since)) => *count < MAX_FAILURES || since.elapsed() >= WINDOW,
            None => true,
        }
    }

    /// Counts a wrong password (a new window starts after the last one ended).
    pub fn failed(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > SWEEP_ABOVE {
            failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = failures
            .entry(email.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets the failures of an email that logged in.
    pub fn succeeded(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_email_after_too_many_failures_and_a_success_clears_it() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.allows("a@x"));
            throttle.failed("a@x");
        }
        assert!(!throttle.allows("a@x"));
        assert!(throttle.allows("b@x"), "other emails are not affected");
        throttle.succeeded("a@x");
        assert!(throttle.allows("a@x"));
    }
}
