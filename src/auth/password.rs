//! Password hashing with argon2id, behind a bound: each check needs about 19 MiB for some
//! 50 ms, so unbounded concurrent logins would take the process to gigabytes. `Hashing` runs
//! checks on one worker thread per core, each reusing one argon2 memory area (so the memory
//! is allocated once, not per login, and cannot pile up in the allocator's per-thread
//! arenas), lets a short queue wait, and past that the caller answers 503 with `Retry-After`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::{
    Output, PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// The largest argon2 memory a stored hash may ask for (64 MiB; ours use 19 MiB).
const MAX_BLOCKS: usize = 64 * 1024;

/// Hashes a password into a PHC string (unbounded: for the command line and the demo seed).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .context("password hashing task")?
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_now(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Checks a password against a stored PHC string (unbounded; the API goes through `Hashing`).
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_now(&password, &stored))
        .await
        .context("password verification task")?
}

/// A real hash of a random password, to verify against when the email is unknown, so the
/// answer takes as long as for a known email.
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash(crate::auth::api_key::generate())
                .await
                .unwrap_or_default()
        })
        .await
}

/// Why a bounded hash did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every slot is taken and the queue is full (or the wait ran out): try again shortly.
    #[error("password hashing is busy")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// How many argon2 computations run at once and how many may wait.
#[derive(Debug, Clone, Copy)]
pub struct HashingLimits {
    pub running: usize,
    pub queued: usize,
    pub max_wait: Duration,
}

impl HashingLimits {
    /// One computation per core, four per core waiting, two seconds of waiting at most.
    pub fn for_this_machine() -> HashingLimits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashingLimits {
            running: cores,
            queued: cores * 4,
            max_wait: Duration::from_secs(2),
        }
    }
}

/// A computation for a worker, given the worker's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The server's bounded password hashing.
pub struct Hashing {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: HashingLimits,
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashing")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Checks `password` against a PHC string in `memory`, which grows once to the size the
/// hash asks for and is kept for the next check.
fn verify_in(memory: &mut Vec<Block>, password: &str, stored: &str) -> anyhow::Result<bool> {
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("stored hash: {e}");
    let hash = PasswordHash::new(stored).map_err(|e| err(&e))?;
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(|e| err(&e))?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).map_err(|e| err(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).map_err(|e| err(&e))?;
    let expected = hash
        .hash
        .ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
    let mut salt = [0u8; 64];
    let salt = hash
        .salt
        .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?
        .decode_b64(&mut salt)
        .map_err(|e| err(&e))?;
    let blocks = params.block_count();
    anyhow::ensure!(blocks <= MAX_BLOCKS, "stored hash asks for too much memory");
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .map_err(|e| err(&e))?;
    let computed = Output::new(&out).map_err(|e| err(&e))?;
    // `Output` compares in constant time.
    Ok(computed == expected)
}

/// Starts `count` worker threads, each with its own argon2 memory; they end when the
/// returned sender is dropped.
fn start_workers(count: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..count {
        let rx = rx.clone();
        let started = std::thread::Builder::new()
            .name(format!("fila-argon2-{i}"))
            .spawn(move || {
                let mut memory = Vec::new();
                loop {
                    let job = {
                        let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
                        match rx.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        }
                    };
                    job(&mut memory);
                }
            });
        if let Err(err) = started {
            tracing::error!(error = %err, "starting a password hashing thread");
        }
    }
    tx
}

/// Counts a waiter for as long as it waits (also when its request is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hashing {
    pub fn new(limits: HashingLimits) -> Hashing {
        let running = limits.running.max(1);
        Hashing {
            slots: Arc::new(Semaphore::new(running)),
            waiting: AtomicUsize::new(0),
            limits,
            jobs: Mutex::new(start_workers(running)),
        }
    }

    /// Runs `work` on a worker once a slot is free; the slot is held until the work ends,
    /// even if the caller goes away meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self.slot().await?;
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _permit = permit;
            let _ = tx.send(work(memory));
        });
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing threads are gone"))?;
        let done = rx
            .await
            .map_err(|_| anyhow::anyhow!("a password hashing thread failed"))?;
        Ok(done?)
    }

    /// How long a refused caller should wait before trying again.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs(1)
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, HashError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.queued {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(HashError::Busy);
        }
        let _waiting = Waiting(&self.waiting);
        match tokio::time::timeout(self.limits.max_wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(HashError::Busy),
        }
    }

    /// Checks a password against a stored PHC string. The slot is held until the computation
    /// ends, even if the caller goes away meanwhile.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, HashError> {
        self.run(move |memory| verify_in(memory, &password, &stored))
            .await
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |_| hash_now(&password)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_running_slots_and_the_queue_callers_are_told_busy() {
        let hashing = Arc::new(Hashing::new(HashingLimits {
            running: 1,
            queued: 1,
            max_wait: Duration::from_secs(30),
        }));
        let stored = hash("secret password".into()).await.unwrap();
        let mut calls = Vec::new();
        for _ in 0..6 {
            let (hashing, stored) = (hashing.clone(), stored.clone());
            calls.push(tokio::spawn(async move {
                hashing.verify("secret password".into(), stored).await
            }));
        }
        let mut ok = 0;
        let mut busy = 0;
        for call in calls {
            match call.await.unwrap() {
                Ok(true) => ok += 1,
                Err(HashError::Busy) => busy += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(ok >= 2, "one running and one queued get through: {ok}");
        let wrong = hashing
            .verify("wrong".into(), stored.clone())
            .await
            .unwrap();
        assert!(!wrong, "a wrong password does not match");
        let made = hashing.hash("another one".into()).await.unwrap();
        assert!(hashing.verify("another one".into(), made).await.unwrap());
        assert!(busy >= 1, "the rest are refused: {busy}");
        assert_eq!(hashing.waiting.load(Ordering::Acquire), 0);
    }
}
