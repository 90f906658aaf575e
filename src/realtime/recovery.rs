//! Connection state recovery (Socket.IO ≥ 4.6), answered from the durable log.
//!
//! The CONNECT answer of every staff socket carries a `pid`, and every broadcast carries its
//! offset (the event's `seq`, as a string) as its last argument. socket.io-client keeps both by
//! itself and, when it reconnects, sends them back in its auth payload (`pid`, `offset`). If
//! Fila can recover the session, it answers with the same `pid` (the client then sets
//! `socket.recovered`), and the socket gets every event of its account after the offset, once
//! and in order, before any live one.
//!
//! Nothing is kept in memory: a `pid` is signed with the token secret and names the account,
//! the session and the `seq` at which it was issued (the offset of a client that has received
//! nothing yet), so any node can check it, after a restart too. The replay is read from the
//! log by the node's delivery ([`crate::events::delivery`]), the one task that emits to the
//! account's room: it sends the socket the rows after its offset up to the last `seq` it
//! emitted to the room, then makes the socket join the room, so no event is missed or sent
//! twice between the two.
//!
//! A `pid` of another account or session, a forged one, or an offset the log no longer holds
//! (past retention) connects normally with a new `pid`: `socket.recovered` is false, and the
//! client fills the gap from `GET /api/events` as before.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use crate::auth::jwt::{PID_AUDIENCE, Tokens};

/// What a `pid` says, signed.
#[derive(Debug, Serialize, Deserialize)]
struct PidClaims {
    aud: String,
    /// The account.
    acc: i64,
    /// The session (`crate::auth::session`).
    ses: String,
    /// The account's `seq` when the pid was issued.
    seq: i64,
    /// Makes each pid unique.
    n: String,
}

/// A new `pid` for a socket of the session, issued at `seq`.
pub fn new_pid(tokens: &Tokens, account_id: i64, session_id: &str, seq: i64) -> Option<String> {
    let mut nonce = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut nonce);
    let claims = PidClaims {
        aud: PID_AUDIENCE.to_string(),
        acc: account_id,
        ses: session_id.to_string(),
        seq,
        n: nonce.iter().map(|b| format!("{b:02x}")).collect(),
    };
    match tokens.sign_pid(&claims) {
        Ok(pid) => Some(pid),
        Err(error) => {
            tracing::warn!(error = %error, "cannot sign a recovery pid");
            None
        }
    }
}

/// Where the replay of a reconnecting socket starts: after `offset` (the last event it
/// received) or, when it sent none, after the `seq` its `pid` was issued at. `None` for a pid
/// this server did not sign for this account and session, or an offset that is not a `seq`.
pub fn replay_from(
    tokens: &Tokens,
    pid: &str,
    offset: Option<&str>,
    account_id: i64,
    session_id: &str,
) -> Option<i64> {
    let claims: PidClaims = tokens.verify_pid(pid)?;
    if claims.acc != account_id || claims.ses != session_id {
        return None;
    }
    match offset {
        Some(offset) => offset.parse().ok().filter(|seq: &i64| *seq >= 0),
        None => Some(claims.seq),
    }
}

/// Whether the log can replay everything after `from`: `from` is not ahead of the account's
/// latest `seq`, and no row after it was pruned (`seq`s of an account have no holes, so the
/// oldest row kept must be at most `from + 1`).
pub fn log_holds(from: i64, latest: i64, first_kept: Option<i64>) -> bool {
    if from > latest {
        return false;
    }
    from == latest || first_kept.is_some_and(|first| first <= from + 1)
}

/// How long this node remembers where a session's socket left, for clients without recovery.
pub const RESUME_FOR: Duration = Duration::from_secs(120);

/// Where the sockets of sessions that lost their connection left, on this node: for clients
/// that implement no recovery (python-socketio, rust_socketio) and so send no `pid`. When a
/// socket of one of these sessions comes back here within [`RESUME_FOR`] without a `pid`, it is
/// replayed the log from where the previous one left, as a recovered socket is. The position
/// is the last `seq` this node had finished emitting to the account when the socket went: an
/// event in flight then may come twice, never not at all. Ends that are final (a Socket.IO
/// DISCONNECT either way) leave nothing; a restart or another node forgets it.
#[derive(Debug, Default)]
pub struct Resume {
    left: Mutex<HashMap<String, (i64, Instant)>>,
}

impl Resume {
    /// A socket of the session lost its connection after `seq` had reached it.
    pub fn left(&self, session_id: &str, seq: i64) {
        if let Ok(mut left) = self.left.lock() {
            let now = Instant::now();
            left.retain(|_, (_, at)| now.duration_since(*at) < RESUME_FOR);
            let entry = left.entry(session_id.to_string()).or_insert((seq, now));
            // Two sockets of the session gone: the lower position, so neither misses anything.
            *entry = (entry.0.min(seq), now);
        }
    }

    /// Where the session's socket left, if it did lately (forgotten once taken).
    pub fn take(&self, session_id: &str) -> Option<i64> {
        let mut left = self.left.lock().ok()?;
        let (seq, at) = left.remove(session_id)?;
        (at.elapsed() < RESUME_FOR).then_some(seq)
    }
}

/// A recovered socket waiting for its replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub sid: Sid,
    pub account_id: i64,
    /// The replay is every event with a `seq` above this.
    pub after: i64,
}

/// The recovered sockets of this node waiting for the delivery.
#[derive(Debug, Default)]
pub struct Recoveries {
    pending: Mutex<Vec<Pending>>,
}

impl Recoveries {
    pub fn push(&self, pending: Pending) {
        if let Ok(mut list) = self.pending.lock() {
            list.push(pending);
        }
    }

    /// Takes every waiting socket, by account.
    pub fn take(&self) -> HashMap<i64, Vec<Pending>> {
        let taken = self
            .pending
            .lock()
            .map(|mut list| std::mem::take(&mut *list))
            .unwrap_or_default();
        let mut by_account: HashMap<i64, Vec<Pending>> = HashMap::new();
        for pending in taken {
            by_account
                .entry(pending.account_id)
                .or_default()
                .push(pending);
        }
        by_account
    }

    /// Puts sockets back (their replay could not be done yet).
    pub fn put_back(&self, pending: impl IntoIterator<Item = Pending>) {
        if let Ok(mut list) = self.pending.lock() {
            list.extend(pending);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending
            .lock()
            .map(|list| list.is_empty())
            .unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens::new(b"secret", 3600)
    }

    #[test]
    fn a_pid_recovers_only_its_own_account_and_session() {
        let tokens = tokens();
        let pid = new_pid(&tokens, 7, "s1", 40).expect("signed");
        assert_eq!(replay_from(&tokens, &pid, Some("42"), 7, "s1"), Some(42));
        assert_eq!(replay_from(&tokens, &pid, None, 7, "s1"), Some(40));
        assert_eq!(replay_from(&tokens, &pid, Some("42"), 8, "s1"), None);
        assert_eq!(replay_from(&tokens, &pid, Some("42"), 7, "s2"), None);
        assert_eq!(replay_from(&tokens, &pid, Some("x"), 7, "s1"), None);
        assert_eq!(replay_from(&tokens, &pid, Some("-1"), 7, "s1"), None);
        let other = Tokens::new(b"other secret", 3600);
        assert_eq!(replay_from(&other, &pid, Some("42"), 7, "s1"), None);
        assert_eq!(replay_from(&tokens, "not a pid", None, 7, "s1"), None);
        assert_ne!(new_pid(&tokens, 7, "s1", 40), Some(pid));
    }

    #[test]
    fn an_access_token_is_not_a_pid_nor_a_pid_a_token() {
        let tokens = tokens();
        let token = tokens.issue_for_session(1, 7, None, "s1").expect("token");
        assert_eq!(replay_from(&tokens, &token, None, 7, "s1"), None);
        let pid = new_pid(&tokens, 7, "s1", 0).expect("signed");
        assert!(tokens.verify(&pid).is_err());
        assert!(tokens.verify_for_socket(&pid).is_err());
    }

    #[test]
    fn the_log_holds_a_replay_only_while_nothing_after_it_was_pruned() {
        assert!(log_holds(10, 10, None));
        assert!(log_holds(10, 12, Some(5)));
        assert!(log_holds(10, 12, Some(11)));
        assert!(!log_holds(10, 12, Some(12)));
        assert!(!log_holds(10, 12, None));
        assert!(!log_holds(13, 12, Some(1)));
    }

    #[test]
    fn a_session_resumes_once_from_the_lowest_position_it_left() {
        let resume = Resume::default();
        assert_eq!(resume.take("s1"), None);
        resume.left("s1", 12);
        resume.left("s1", 9);
        resume.left("s2", 4);
        assert_eq!(resume.take("s1"), Some(9));
        assert_eq!(resume.take("s1"), None);
        assert_eq!(resume.take("s2"), Some(4));
    }

    #[test]
    fn waiting_sockets_are_taken_by_account() {
        let recoveries = Recoveries::default();
        let sid = Sid::new();
        recoveries.push(Pending {
            sid,
            account_id: 1,
            after: 3,
        });
        recoveries.push(Pending {
            sid,
            account_id: 2,
            after: 4,
        });
        let taken = recoveries.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[&1][0].after, 3);
        assert!(recoveries.is_empty());
    }
}
