//! The fan-out of an account's events to this node's sockets, spread over the worker threads.
//!
//! Writing one event to N sockets is N `write` calls, made by the task that emits (see the
//! patched engineioxide, `vendor/engineioxide/PATCH.md`). With thousands of sockets that is
//! the node's largest single piece of work, so a large account's sockets are split into
//! *parts*, one per worker thread: each socket joins, besides its account's room, one part
//! room (`orders.account.{id}.part.{k}`, server-side only, never seen on the wire), and an
//! event goes to the parts in parallel, one task each. A socket is in exactly one part, and
//! the next events wait until every part has the previous ones: each socket still gets each
//! event once and in `seq` order. Small accounts are sent to in one task, from their room.
//!
//! The TV panels' sockets (`panel` API keys) are in none of these rooms but in their own,
//! `orders.account.{id}.panel` (server-side only), which gets the same events, in the same
//! order and with the same `seq`, with patients' contact data left out (see
//! `crate::model::panel_payload`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use socketioxide::adapter::LocalAdapter;
use socketioxide::{BroadcastError, SocketIo};

use super::{panel_room, room};

/// From this many sockets of an account on this node, its events are sent by parts.
const SPREAD_FROM: usize = 256;
/// Most parts, whatever the number of worker threads.
const MAX_PARTS: usize = 8;

/// The part room of an account.
pub fn part_room(account_id: i64, part: usize) -> String {
    format!("orders.account.{account_id}.part.{part}")
}

/// How many parts, and which part the next socket joins.
#[derive(Debug)]
pub struct Parts {
    count: usize,
    next: AtomicUsize,
}

impl Default for Parts {
    /// One part per worker thread of the runtime it is made in (one when made outside one).
    fn default() -> Self {
        let workers = tokio::runtime::Handle::try_current()
            .map(|runtime| runtime.metrics().num_workers())
            .unwrap_or(1);
        Parts::new(workers)
    }
}

impl Parts {
    pub fn new(count: usize) -> Self {
        Parts {
            count: count.clamp(1, MAX_PARTS),
            next: AtomicUsize::new(0),
        }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The rooms a new socket of the account joins, together (one adapter call, so that no
    /// event sent in between reaches one room and not the other).
    pub fn rooms_for_new_socket(&self, account_id: i64) -> Vec<String> {
        if self.count == 1 {
            return vec![room(account_id)];
        }
        let part = self.next.fetch_add(1, Ordering::Relaxed) % self.count;
        vec![room(account_id), part_room(account_id, part)]
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emitted {
    /// Sent; `missed` sockets (full or closing) did not take it.
    Sent { missed: usize },
    /// Not sent (the payload could not be encoded).
    Failed(String),
}

impl Emitted {
    fn merge(&mut self, other: Emitted) {
        *self = match (std::mem::replace(self, Emitted::Sent { missed: 0 }), other) {
            (Emitted::Failed(error), _) | (_, Emitted::Failed(error)) => Emitted::Failed(error),
            (Emitted::Sent { missed: a }, Emitted::Sent { missed: b }) => {
                Emitted::Sent { missed: a + b }
            }
        };
    }
}

/// Sends `events` (name, arguments), in order, to this node's sockets of the account:
/// by parts in parallel when it has `SPREAD_FROM` sockets here or more, else from its room.
/// Answers what became of each event.
pub async fn emit_in_order<T>(
    io: &SocketIo<LocalAdapter>,
    parts: &Parts,
    sockets_here: usize,
    account_id: i64,
    events: Arc<Vec<(&'static str, T)>>,
) -> Vec<Emitted>
where
    T: Serialize + Send + Sync + 'static,
{
    if parts.count() == 1 || sockets_here < SPREAD_FROM {
        return emit_to(io.clone(), room(account_id), events).await;
    }
    let others: Vec<_> = (1..parts.count())
        .map(|part| {
            tokio::spawn(emit_to(
                io.clone(),
                part_room(account_id, part),
                events.clone(),
            ))
        })
        .collect();
    let mut results = emit_to(io.clone(), part_room(account_id, 0), events.clone()).await;
    for other in others {
        let other = match other.await {
            Ok(other) => other,
            Err(error) => vec![Emitted::Failed(format!("fan-out task: {error}")); events.len()],
        };
        for (result, other) in results.iter_mut().zip(other) {
            result.merge(other);
        }
    }
    results
}

/// Sends the events (already reduced for a public screen), in order, to this node's TV panel
/// sockets of the account, from their room.
pub async fn emit_to_panels<T>(
    io: &SocketIo<LocalAdapter>,
    account_id: i64,
    events: Arc<Vec<(&'static str, T)>>,
) -> Vec<Emitted>
where
    T: Serialize + Send + Sync + 'static,
{
    emit_to(io.clone(), panel_room(account_id), events).await
}

/// Sends the events, in order, to one room; several events reach each socket in one write.
async fn emit_to<T>(
    io: SocketIo<LocalAdapter>,
    room: String,
    events: Arc<Vec<(&'static str, T)>>,
) -> Vec<Emitted>
where
    T: Serialize + Send + Sync + 'static,
{
    let send = async {
        let mut results = Vec::with_capacity(events.len());
        for (event, args) in events.iter() {
            results.push(match io.to(room.clone()).emit(*event, args).await {
                Ok(()) => Emitted::Sent { missed: 0 },
                Err(BroadcastError::Socket(failed)) => Emitted::Sent {
                    missed: failed.len(),
                },
                Err(error) => Emitted::Failed(error.to_string()),
            });
        }
        results
    };
    if events.len() > 1 {
        engineioxide::batch(send).await
    } else {
        send.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_spread_evenly_over_the_parts() {
        let parts = Parts::new(3);
        let joined: Vec<Vec<String>> = (0..6).map(|_| parts.rooms_for_new_socket(7)).collect();
        for (i, rooms) in joined.iter().enumerate() {
            assert_eq!(rooms[0], "orders.account.7");
            assert_eq!(rooms[1], format!("orders.account.7.part.{}", i % 3));
        }
        assert_eq!(Parts::new(1).rooms_for_new_socket(7), ["orders.account.7"]);
        assert_eq!(Parts::new(64).count(), MAX_PARTS);
        assert_eq!(Parts::new(0).count(), 1);
    }

    #[test]
    fn a_failure_in_any_part_wins_and_misses_add_up() {
        let mut result = Emitted::Sent { missed: 1 };
        result.merge(Emitted::Sent { missed: 2 });
        assert_eq!(result, Emitted::Sent { missed: 3 });
        result.merge(Emitted::Failed("bad".into()));
        assert_eq!(result, Emitted::Failed("bad".into()));
        result.merge(Emitted::Sent { missed: 0 });
        assert_eq!(result, Emitted::Failed("bad".into()));
    }
}
