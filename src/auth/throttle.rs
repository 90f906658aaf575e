//! Rate limits on the two sign-in endpoints, counted before the expensive check and kept only
//! for failures.
//!
//! Every attempt takes one cell from each limit that applies to it before its password (or
//! API key) is checked, so a burst of concurrent guesses cannot all slip through before the
//! first is counted. A correct attempt gives its cells back, as does one that was never
//! checked (503, client gone): only failures stay counted, and a clinic, an integration or a
//! test suite that logs in correctly many times a minute from one address is never slowed.
//!
//! The limits are GCRA buckets (`governor`): a burst, then one more attempt per period. There
//! is no hard lock: past the burst an attempt answers 429 with `Retry-After`, the seconds
//! until the next cell. Login has three limits:
//! - per client network (an IPv4 address, an IPv6 /64): 20, then one per 3 s;
//! - per email and network: 5, then one per 10 s;
//! - per email from networks that never signed in to it: 30, then one per 4 s. A network
//!   where the right password was given in the last 30 days is exempt from this one, so a
//!   guesser elsewhere cannot keep the owner out; it only slows a guesser that spreads over
//!   many networks.
//!
//! `POST /api/auth/token` has two: per network (20, then one per second) and per key prefix
//! (`fila_` and four characters: 10, then one per 5 s).
//!
//! The address is the client's as `http::forwarded` resolved it: the TCP peer, or behind a
//! `--trusted-proxy` the forwarded client, so clients behind one proxy have budgets of their own.
//!
//! `GET /api/public/status/{token}` (no login) has two limits on every request, refused or
//! not: per client network (60, then one per second: a waiting room's phones behind one
//! address) and per link (10, then one per 6 s: the page reads it on load, on each socket
//! connect and when shown again). A request the link's limit refuses gives its network cell
//! back, so one hammered link does not spend the waiting room's budget.
//!
//! Keys are 16-byte digests (an email of any length is one key of 16 bytes) and each limit
//! keeps at most `MAX_KEYS` of them: keys whose bucket is full again are swept every minute
//! and when the map is full; a new key that still finds no room is refused for a second.
//! Kept in memory, per node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

/// Wrong passwords for one email from one network before back-off, and the back-off period.
pub const EMAIL_NETWORK_BURST: u32 = 5;
pub const EMAIL_NETWORK_PERIOD: Duration = Duration::from_secs(10);
/// Wrong passwords from one network (any email) before back-off, and the period.
pub const NETWORK_BURST: u32 = 20;
pub const NETWORK_PERIOD: Duration = Duration::from_secs(3);
/// Wrong passwords for one email from networks it never signed in from, and the period.
pub const EMAIL_BURST: u32 = 30;
pub const EMAIL_PERIOD: Duration = Duration::from_secs(4);
/// Unknown API keys from one network, and the period.
pub const TOKEN_NETWORK_BURST: u32 = 20;
pub const TOKEN_NETWORK_PERIOD: Duration = Duration::from_secs(1);
/// Unknown API keys with one prefix, and the period.
pub const TOKEN_PREFIX_BURST: u32 = 10;
pub const TOKEN_PREFIX_PERIOD: Duration = Duration::from_secs(5);

/// Public status reads from one network, and the period.
pub const PUBLIC_NETWORK_BURST: u32 = 60;
pub const PUBLIC_NETWORK_PERIOD: Duration = Duration::from_secs(1);
/// Public status reads of one link, and the period.
pub const PUBLIC_LINK_BURST: u32 = 10;
pub const PUBLIC_LINK_PERIOD: Duration = Duration::from_secs(6);

/// Most keys one limit keeps (about 100 bytes each).
pub const MAX_KEYS: usize = 100_000;
/// Most (email, network) pairs remembered as having signed in.
pub const MAX_KNOWN: usize = 100_000;
/// How long a network stays known for an email after a correct password.
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 86_400);

type Key = [u8; 16];

fn key(kind: &str, parts: &[&[u8]]) -> Key {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The client's network: the IPv4 address, or the /64 of an IPv6 one (one host's share).
fn network(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets()[..8].to_vec(),
        },
    }
}

/// governor's state for one limit, shared with the limit so a cell can be given back.
#[derive(Debug, Clone, Default)]
struct Cells(Arc<Mutex<HashMap<Key, Nanos>>>);

impl Cells {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Nanos>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StateStore for Cells {
    type Key = Key;

    fn measure_and_replace<T, F, E>(&self, key: &Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut map = self.lock();
        let (outcome, next) = f(map.get(key).copied())?;
        map.insert(*key, next);
        Ok(outcome)
    }
}

impl ShrinkableKeyedStateStore<Key> for Cells {
    fn retain_recent(&self, drop_below: Nanos) {
        let mut map = self.lock();
        map.retain(|_, tat| *tat > drop_below);
        map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// One limit: a burst, then one cell per period, per key.
struct Limit {
    limiter: RateLimiter<Key, Cells, DefaultClock>,
    cells: Cells,
    period: Nanos,
    clock: DefaultClock,
}

impl Limit {
    fn new(burst: u32, period: Duration) -> Limit {
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        let cells = Cells::default();
        let clock = DefaultClock::default();
        Limit {
            limiter: RateLimiter::new(quota, cells.clone(), clock.clone()),
            cells,
            period: Nanos::from(period),
            clock,
        }
    }

    /// Takes one cell, or answers how long until one is free.
    fn take(&self, key: &Key) -> Result<(), Duration> {
        if self.cells.len() >= MAX_KEYS && !self.cells.lock().contains_key(key) {
            self.sweep();
            if self.cells.len() >= MAX_KEYS {
                return Err(Duration::from_secs(1));
            }
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Gives back the cell an attempt took.
    fn give_back(&self, key: &Key) {
        let mut map = self.cells.lock();
        if let Some(tat) = map.get_mut(key) {
            *tat = Nanos::from(u64::from(*tat).saturating_sub(u64::from(self.period)));
        }
    }

    /// Forgets keys whose bucket is full again.
    fn sweep(&self) {
        self.limiter.retain_recent();
    }

    fn len(&self) -> usize {
        self.cells.len()
    }
}

/// The sign-in limits of one node.
pub struct Throttle {
    login_network: Limit,
    login_email_network: Limit,
    login_email: Limit,
    token_network: Limit,
    token_prefix: Limit,
    public_network: Limit,
    public_link: Limit,
    known: Mutex<HashMap<Key, Instant>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

/// An attempt that took its cells: `failed()` keeps them counted; anything else (a success,
/// or an attempt never checked) gives them back when it is dropped.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    taken: Vec<(&'a Limit, Key)>,
    known: Option<Key>,
    failed: bool,
}

impl Attempt<'_> {
    /// The password or key was wrong: the cells stay taken.
    pub fn failed(mut self) {
        self.failed = true;
    }

    /// The password was right: the cells are given back and the network is known for this
    /// email from now on.
    pub fn succeeded(self) {
        if let Some(pair) = self.known {
            self.throttle.remember(pair);
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.failed {
            for (limit, key) in &self.taken {
                limit.give_back(key);
            }
        }
    }
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle {
            login_network: Limit::new(NETWORK_BURST, NETWORK_PERIOD),
            login_email_network: Limit::new(EMAIL_NETWORK_BURST, EMAIL_NETWORK_PERIOD),
            login_email: Limit::new(EMAIL_BURST, EMAIL_PERIOD),
            token_network: Limit::new(TOKEN_NETWORK_BURST, TOKEN_NETWORK_PERIOD),
            token_prefix: Limit::new(TOKEN_PREFIX_BURST, TOKEN_PREFIX_PERIOD),
            public_network: Limit::new(PUBLIC_NETWORK_BURST, PUBLIC_NETWORK_PERIOD),
            public_link: Limit::new(PUBLIC_LINK_BURST, PUBLIC_LINK_PERIOD),
            known: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a cell from each limit in order; on the first refusal gives back what it took.
    fn attempt<'a>(
        &'a self,
        limits: Vec<(&'a Limit, Key)>,
        known: Option<Key>,
    ) -> Result<Attempt<'a>, Duration> {
        let mut attempt = Attempt {
            throttle: self,
            taken: Vec::with_capacity(limits.len()),
            known,
            failed: false,
        };
        for (limit, key) in limits {
            limit.take(&key)?;
            attempt.taken.push((limit, key));
        }
        Ok(attempt)
    }

    /// A login for `email` (already trimmed and lowercased) from `ip`; `Err` is the wait.
    pub fn login(&self, email: &str, ip: IpAddr) -> Result<Attempt<'_>, Duration> {
        let net = network(ip);
        let email = email.as_bytes();
        let pair = key("login-email-network", &[email, &net]);
        let mut limits = vec![
            (&self.login_network, key("login-network", &[&net])),
            (&self.login_email_network, pair),
        ];
        if !self.is_known(&pair) {
            limits.push((&self.login_email, key("login-email", &[email])));
        }
        self.attempt(limits, Some(pair))
    }

    /// An API-key trade from `ip`; `Err` is the wait.
    pub fn token(&self, api_key: &str, ip: IpAddr) -> Result<Attempt<'_>, Duration> {
        let net = network(ip);
        let prefix = crate::auth::api_key::display_prefix(api_key);
        self.attempt(
            vec![
                (&self.token_network, key("token-network", &[&net])),
                (
                    &self.token_prefix,
                    key("token-prefix", &[prefix.as_bytes()]),
                ),
            ],
            None,
        )
    }

    /// A public status read of the link `token` from `ip`; `Err` is the wait. Every read is
    /// counted, answered or not.
    pub fn public_status(&self, token: &str, ip: IpAddr) -> Result<(), Duration> {
        let network = key("public-network", &[&network(ip)]);
        self.public_network.take(&network)?;
        if let Err(wait) = self
            .public_link
            .take(&key("public-link", &[token.as_bytes()]))
        {
            self.public_network.give_back(&network);
            return Err(wait);
        }
        Ok(())
    }

    fn is_known(&self, pair: &Key) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(pair).is_some_and(|at| at.elapsed() < KNOWN_FOR)
    }

    fn remember(&self, pair: Key) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_KNOWN && !known.contains_key(&pair) {
            known.retain(|_, at| at.elapsed() < KNOWN_FOR);
            if known.len() >= MAX_KNOWN {
                return;
            }
        }
        known.insert(pair, Instant::now());
    }

    /// Forgets keys whose buckets are full again (run every minute).
    pub fn sweep(&self) {
        for limit in self.limits() {
            limit.sweep();
        }
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.retain(|_, at| at.elapsed() < KNOWN_FOR);
    }

    /// How many keys the limits hold now.
    pub fn tracked_keys(&self) -> usize {
        self.limits().iter().map(|l| l.len()).sum()
    }

    fn limits(&self) -> [&Limit; 7] {
        [
            &self.login_network,
            &self.login_email_network,
            &self.login_email,
            &self.token_network,
            &self.token_prefix,
            &self.public_network,
            &self.public_link,
        ]
    }
}

/// Attempts a key may make at once, and how many it regains per minute.
pub const SELF_CHECKIN_BURST: u32 = 10;
pub const SELF_CHECKIN_PER_MINUTE: u32 = 10;

/// Self check-in attempts, per API key (`governor`'s keyed GCRA limiter, in memory per node).
#[derive(Debug)]
pub struct SelfCheckinLimiter {
    limiter: DefaultKeyedRateLimiter<i64>,
}

impl Default for SelfCheckinLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl SelfCheckinLimiter {
    pub fn new() -> SelfCheckinLimiter {
        let per_minute = NonZeroU32::new(SELF_CHECKIN_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(SELF_CHECKIN_BURST).unwrap_or(NonZeroU32::MIN);
        SelfCheckinLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// `Ok` when the key may try now, else how long until it may.
    pub fn check(&self, key_id: i64) -> Result<(), Duration> {
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&key_id)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn failures_are_counted_before_the_check_and_successes_give_their_cells_back() {
        let throttle = Throttle::new();
        for _ in 0..100 {
            throttle.login("a@x", HOME).unwrap().succeeded();
        }
        let held: Vec<_> = (0..5)
            .map(|_| throttle.login("a@x", HOME).unwrap())
            .collect();
        assert!(
            throttle.login("a@x", HOME).is_err(),
            "five attempts in flight use the burst before any is checked"
        );
        for attempt in held {
            attempt.failed();
        }
        let wait = throttle.login("a@x", HOME).err().unwrap();
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(10));
        assert!(throttle.login("b@x", HOME).is_ok(), "another email");
    }

    #[test]
    fn a_guesser_elsewhere_does_not_keep_a_known_network_out() {
        let throttle = Throttle::new();
        throttle.login("a@x", HOME).unwrap().succeeded();
        let guesser = |n: u8| IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, n));
        for n in 0..=255 {
            for _ in 0..5 {
                if let Ok(a) = throttle.login("a@x", guesser(n)) {
                    a.failed();
                }
            }
        }
        assert!(
            throttle.login("a@x", ELSEWHERE).is_err(),
            "the email's own limit is spent"
        );
        assert!(throttle.login("a@x", HOME).is_ok(), "the known network");
    }

    #[test]
    fn public_status_reads_are_limited_per_link_and_per_network() {
        let throttle = Throttle::new();
        for _ in 0..PUBLIC_LINK_BURST {
            throttle.public_status("link-a", HOME).unwrap();
        }
        let wait = throttle.public_status("link-a", HOME).unwrap_err();
        assert!(wait > Duration::from_secs(5) && wait <= PUBLIC_LINK_PERIOD);
        assert!(
            throttle.public_status("link-a", ELSEWHERE).is_err(),
            "the link's limit holds from any network"
        );
        let mut answered = PUBLIC_LINK_BURST;
        for n in 0.. {
            if throttle.public_status(&format!("link-{n}"), HOME).is_err() {
                break;
            }
            answered += 1;
        }
        assert_eq!(
            answered, PUBLIC_NETWORK_BURST,
            "refusals of the hammered link took no cell of the network"
        );
        assert!(throttle.public_status("link-b", ELSEWHERE).is_ok());
    }

    #[test]
    fn an_email_of_any_length_is_one_small_key() {
        let throttle = Throttle::new();
        let long = "x".repeat(200_000);
        throttle.login(&long, HOME).unwrap().failed();
        assert_eq!(throttle.tracked_keys(), 3);
        throttle.sweep();
        assert_eq!(throttle.tracked_keys(), 3, "a counted failure is kept");
    }
}
