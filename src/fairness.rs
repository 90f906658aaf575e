//! What keeps one clinic from slowing another: the reports' bounds.
//!
//! A year-long report reads hundreds of thousands of rows. Reports run on their own few
//! database connections (`Store::reports_pool`), at most [`PER_ACCOUNT`] at a time per
//! account and at most as many per node as that pool has connections. A report past either
//! bound waits its turn for at most [`PATIENCE`], then answers 503 with `Retry-After`.
//!
//! A report takes its account's turn first and the node's second, and both queues are first
//! come, first served (tokio's semaphores): a clinic that sends twenty reports holds at most
//! two places in the node's queue, so another clinic's report is next but two at worst.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout_at};

/// Reports one account may run at once.
pub const PER_ACCOUNT: usize = 2;
/// How long a report waits for its turn before answering 503.
pub const PATIENCE: Duration = Duration::from_secs(2);
/// The `Retry-After` of that 503.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);
/// Accounts remembered before the idle ones are swept.
const MAX_ACCOUNTS: usize = 10_000;

/// The turns of the reports of one node.
#[derive(Debug)]
pub struct ReportGate {
    node: Arc<Semaphore>,
    accounts: Mutex<HashMap<i64, Arc<Semaphore>>>,
    per_account: usize,
    patience: Duration,
}

/// A report's turn: held while it runs, given back when dropped.
#[derive(Debug)]
pub struct ReportTurn {
    _account: OwnedSemaphorePermit,
    _node: OwnedSemaphorePermit,
}

/// No turn came within the patience: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy(pub Duration);

impl From<Busy> for ApiError {
    fn from(Busy(wait): Busy) -> Self {
        ApiError::Busy(
            "too many reports are running: try again shortly".into(),
            wait,
        )
    }
}

impl ReportGate {
    /// At most `per_node` reports at once on the node, `per_account` per account; a report
    /// waits `patience` at most.
    pub fn new(per_node: usize, per_account: usize, patience: Duration) -> ReportGate {
        ReportGate {
            node: Arc::new(Semaphore::new(per_node.max(1))),
            accounts: Mutex::new(HashMap::new()),
            per_account: per_account.max(1),
            patience,
        }
    }

    /// Waits for a turn of `account_id` and then of the node, both within the patience.
    pub async fn turn(&self, account_id: i64) -> Result<ReportTurn, Busy> {
        let deadline = Instant::now() + self.patience;
        let account = self.account(account_id);
        let account = timeout_at(deadline, account.acquire_owned())
            .await
            .map_err(|_| Busy(RETRY_AFTER))?
            .map_err(|_| Busy(RETRY_AFTER))?;
        let node = timeout_at(deadline, self.node.clone().acquire_owned())
            .await
            .map_err(|_| Busy(RETRY_AFTER))?
            .map_err(|_| Busy(RETRY_AFTER))?;
        Ok(ReportTurn {
            _account: account,
            _node: node,
        })
    }

    /// The account's semaphore; sweeps the accounts no report holds or waits for when the map
    /// is full.
    fn account(&self, account_id: i64) -> Arc<Semaphore> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() >= MAX_ACCOUNTS && !accounts.contains_key(&account_id) {
            accounts.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        }
        accounts
            .entry(account_id)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_account)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_account_runs_at_most_its_bound_and_a_third_waits_then_is_refused() {
        let gate = ReportGate::new(4, 2, PATIENCE);
        let first = gate.turn(1).await.unwrap();
        let _second = gate.turn(1).await.unwrap();
        let started = Instant::now();
        assert_eq!(gate.turn(1).await.unwrap_err(), Busy(RETRY_AFTER));
        assert_eq!(started.elapsed(), PATIENCE, "it waited its patience");
        let _other = gate.turn(2).await.expect("another account is not held up");
        drop(first);
        gate.turn(1)
            .await
            .expect("a turn given back is taken again");
    }

    #[tokio::test(start_paused = true)]
    async fn the_node_runs_at_most_its_bound_whatever_the_accounts() {
        let gate = ReportGate::new(3, 2, PATIENCE);
        let held: Vec<_> = [1, 2, 3]
            .into_iter()
            .map(|account| gate.turn(account))
            .collect();
        let mut turns = Vec::new();
        for turn in held {
            turns.push(turn.await.unwrap());
        }
        assert!(
            gate.turn(4).await.is_err(),
            "the node's three turns are taken"
        );
        turns.pop();
        gate.turn(4).await.expect("a turn of the node came back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_report_gets_the_turn_given_back_within_its_patience() {
        let gate = Arc::new(ReportGate::new(4, 2, PATIENCE));
        let a = gate.turn(1).await.unwrap();
        let _b = gate.turn(1).await.unwrap();
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.turn(1).await.map(|_| Instant::now()) }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let released = Instant::now();
        drop(a);
        let got = waiting.await.unwrap().expect("the third report ran");
        assert_eq!(got, released);
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_account_queues_behind_at_most_two_of_a_flooding_one() {
        let gate = Arc::new(ReportGate::new(2, 2, Duration::from_secs(60)));
        let running = [gate.turn(1).await.unwrap(), gate.turn(1).await.unwrap()];
        let mut flood = Vec::new();
        for _ in 0..10 {
            let gate = gate.clone();
            flood.push(tokio::spawn(async move { gate.turn(1).await.map(drop) }));
        }
        tokio::task::yield_now().await;
        let other = tokio::spawn({
            let gate = gate.clone();
            async move { gate.turn(2).await.map(|_| Instant::now()) }
        });
        tokio::task::yield_now().await;
        drop(running);
        let at = other.await.unwrap().expect("the other clinic's report ran");
        assert!(at.elapsed() < Duration::from_secs(1));
        for f in flood {
            f.abort();
        }
    }
}
