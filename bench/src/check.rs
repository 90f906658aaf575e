//! What every run checks of every event, and what it measures.

use std::time::Duration;

use crate::client::Delivery;

/// Checks each event against what its client had: the next `seq` of its account, once, and
/// nothing at all for the other account's sockets.
pub struct Checker {
    clients: usize,
    last_seq: Vec<i64>,
}

impl Checker {
    pub fn new(clients: usize, first_seq: i64) -> Checker {
        Checker {
            clients,
            last_seq: vec![first_seq - 1; clients],
        }
    }

    /// `what` names the broadcast or wave in the error; `last` is the highest `seq` fired.
    pub fn check(&mut self, d: &Delivery, last: i64, what: &str) -> Result<(), String> {
        let c = d.client as usize;
        if let Some(why) = &d.closed {
            return Err(format!(
                "client {c} lost its connection before {what} was complete: {why}"
            ));
        }
        if c >= self.clients {
            return Err(format!(
                "FOREIGN: client {c} of the other account got seq {} ({what} of this account)",
                d.seq
            ));
        }
        let previous = self.last_seq[c];
        if d.seq <= previous {
            return Err(format!(
                "DUPLICATE or OUT OF ORDER: client {c} got seq {} after seq {previous} ({what})",
                d.seq
            ));
        }
        if d.seq != previous + 1 || d.seq > last {
            return Err(format!(
                "LOST or UNEXPECTED event: client {c} got seq {} after seq {previous}, expected {} ({what}, last seq fired {last})",
                d.seq,
                previous + 1
            ));
        }
        self.last_seq[c] = d.seq;
        Ok(())
    }
}

/// What the broadcasts measured.
#[derive(Default)]
pub struct Outcome {
    /// Per broadcast, the time to its last client.
    pub last_client: Vec<Duration>,
    /// Every delivery's latency.
    pub all: Vec<Duration>,
    pub http_rtt: Vec<Duration>,
    pub deliveries: usize,
    pub payload_bytes: usize,
    /// Per burst wave, from its first request to its last delivery.
    pub waves: Vec<Duration>,
}

#[cfg(test)]
mod tests {
    use super::Checker;
    use crate::client::Delivery;
    use std::time::Instant;

    fn event(client: u32, seq: i64) -> Delivery {
        Delivery {
            client,
            seq,
            at: Instant::now(),
            payload_bytes: 0,
            closed: None,
        }
    }

    #[test]
    fn each_socket_must_get_the_next_seq_once() {
        // Two sockets of the account (0, 1), seqs 10..=12 fired.
        let mut checker = Checker::new(2, 10);
        assert!(checker.check(&event(0, 10), 12, "wave").is_ok());
        assert!(checker.check(&event(1, 10), 12, "wave").is_ok());
        assert!(checker.check(&event(0, 11), 12, "wave").is_ok());
        let duplicate = checker.check(&event(0, 11), 12, "wave").unwrap_err();
        assert!(duplicate.starts_with("DUPLICATE"), "{duplicate}");
        let gap = checker.check(&event(1, 12), 12, "wave").unwrap_err();
        assert!(gap.starts_with("LOST"), "{gap}");
        let unfired = checker.check(&event(0, 13), 12, "wave").unwrap_err();
        assert!(unfired.starts_with("LOST or UNEXPECTED"), "{unfired}");
    }

    #[test]
    fn any_event_on_the_other_account_fails() {
        let mut checker = Checker::new(2, 1);
        let leak = checker.check(&event(2, 1), 1, "broadcast 0").unwrap_err();
        assert!(leak.starts_with("FOREIGN"), "{leak}");
    }
}
