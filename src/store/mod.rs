//! All SQL lives here: one module per aggregate, each function taking the account id (no query
//! runs without it) and, when it takes part in a change, the open transaction.
//!
//! The SQL is portable between SQLite and PostgreSQL (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, integer millisecond timestamps, flags as integers 0/1); each backend has its
//! own migrations folder and every query runs unchanged on both.
//!
//! Every bound value carries its type to PostgreSQL, `None` included (the `Any` driver sends
//! an `Option<String>` as text and an `Option<i64>` as int8). A parameter that may be NULL and
//! is tested with `IS NULL` (the optional filters) is still written `CAST($n AS TEXT)` /
//! `CAST($n AS BIGINT)`, so its type never rests on inference: a NULL without a type goes out
//! as int4, and comparing that with a TEXT column fails ("operator does not exist: text =
//! integer"). `LIKE` patterns name their escape character (see `contains_pattern`).

pub mod accounts;
pub mod api_keys;
pub mod appointments;
pub mod doctors;
pub mod events;
mod faults;
pub mod history;
pub mod idempotency;
pub mod patients;
pub mod procedures;
pub mod reports;
pub mod schema;
pub mod sessions;
pub mod status_links;
mod tx;

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

use crate::metrics::{PoolState, WaitTimes};

pub use faults::{StorageFault, storage_fault};
pub use tx::Tx;
use tx::Writer;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a database URL (and the `Any` driver installed for it).
    pub fn of(url: &str) -> anyhow::Result<Backend> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            bail!("unsupported database URL (expected sqlite:// or postgres://)");
        }
    }
}

/// The connection pool and what it needs to know about its backend.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    /// The reports' own few connections (see [`Store::reports_pool`]).
    reports: Pool,
    /// SQLite: the one connection that write transactions take turns on (see `begin_write`).
    /// PostgreSQL: none, writes use the pool.
    writer: Option<Writer>,
    backend: Backend,
    /// The URL, for the PostgreSQL `LISTEN` connection that lives beside the pool.
    url: String,
    /// Whether writes fail for a storage fault (see `faults`).
    health: std::sync::Arc<faults::StorageHealth>,
    /// Every wait for a connection, by pool (`fila_db_acquire_wait_seconds`).
    waits: WaitTimes,
}

/// A connection pool whose waits for a connection are timed. It derefs to sqlx's pool.
#[derive(Debug, Clone)]
struct Pool {
    inner: AnyPool,
    name: &'static str,
    waits: WaitTimes,
}

impl Pool {
    /// A connection, once one is free (at most the pool's acquire timeout: `PoolTimedOut`).
    async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        let started = std::time::Instant::now();
        let conn = self.inner.acquire().await;
        self.waits.observe(self.name, started.elapsed());
        conn
    }

    /// A connection's transaction, begun with `statement` (the wait includes the `BEGIN`).
    async fn begin_with(
        &self,
        statement: &'static str,
    ) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        let started = std::time::Instant::now();
        let tx = self.inner.begin_with(statement).await;
        self.waits.observe(self.name, started.elapsed());
        tx
    }

    /// The pool as it is now.
    fn state(&self) -> PoolState {
        PoolState {
            pool: self.name,
            size: self.inner.size(),
            idle: u32::try_from(self.inner.num_idle()).unwrap_or(u32::MAX),
            max: self.inner.options().get_max_connections(),
        }
    }
}

impl std::ops::Deref for Pool {
    type Target = AnyPool;

    fn deref(&self) -> &AnyPool {
        &self.inner
    }
}

/// How long a request waits for a pooled PostgreSQL connection before answering 503. Short, so
/// that a database outage answers at once instead of holding requests for seconds.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The same wait on SQLite: the file is never away, so a wait there is only for another writer
/// (SQLite writes one at a time) and a burst of writes should queue rather than fail.
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections of the reports' pool: SQLite 2, PostgreSQL 4. A year-long report keeps its
/// connection busy for hundreds of milliseconds; on their own pool, reports can never take the
/// connections that token checks, queues and status moves need.
const SQLITE_REPORT_CONNECTIONS: u32 = 2;
const POSTGRES_REPORT_CONNECTIONS: u32 = 4;
/// How long a starting node keeps trying to reach PostgreSQL.
const STARTUP_PATIENCE: Duration = Duration::from_secs(15);

impl Store {
    /// Connects and runs the backend's migrations; refuses (a [`schema::Refusal`]) a database
    /// a newer Fila upgraded, before touching it.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        let backend = Backend::of(url)?;
        let url = match backend {
            Backend::Sqlite => create_if_missing(url),
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .context("parsing the database URL")?
            .disable_statement_logging();
        let pool = match backend {
            Backend::Sqlite => sqlite_pool(8).connect_with(options.clone()).await,
            Backend::Postgres => {
                // A node that starts with the database (or while it restarts) waits for it.
                let started = tokio::time::Instant::now();
                loop {
                    let attempt = AnyPoolOptions::new()
                        .max_connections(16)
                        .acquire_timeout(ACQUIRE_TIMEOUT)
                        .connect_with(options.clone())
                        .await;
                    match attempt {
                        Err(error) if started.elapsed() < STARTUP_PATIENCE => {
                            tracing::warn!(error = %error, "PostgreSQL not reachable yet; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        done => break done,
                    }
                }
            }
        }
        .context("connecting to the database")?;
        let waits = WaitTimes::default();
        let pool = Pool {
            inner: pool,
            name: "main",
            waits: waits.clone(),
        };
        let reports = match backend {
            Backend::Sqlite => {
                sqlite_pool(SQLITE_REPORT_CONNECTIONS).connect_lazy_with(options.clone())
            }
            Backend::Postgres => AnyPoolOptions::new()
                .max_connections(POSTGRES_REPORT_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_lazy_with(options.clone()),
        };
        let reports = Pool {
            inner: reports,
            name: "reports",
            waits: waits.clone(),
        };
        let mut store = Store {
            pool,
            reports,
            writer: None,
            backend,
            url: url.clone(),
            health: Default::default(),
            waits,
        };
        store.migrate().await?;
        if backend == Backend::Sqlite {
            let writer = Writer::open(options)
                .await
                .context("opening the SQLite writer connection")?;
            store.writer = Some(writer);
        }
        Ok(store)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("connecting to the database")?;
        schema::ensure_usable(&mut conn, self.backend).await?;
        schema::embedded(self.backend)
            .run(&mut *conn)
            .await
            .map_err(|error| schema::explain(error, self.backend))
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection of the pool, its wait timed (`fila_db_acquire_wait_seconds{pool="main"}`).
    pub async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// The pool the reports read on, apart from [`Store::pool`]: however many reports run, the
    /// session checks and every other request keep their connections. Opened lazily.
    pub fn reports_pool(&self) -> &AnyPool {
        &self.reports
    }

    /// A connection of the reports' pool, its wait timed.
    pub async fn acquire_for_report(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        self.reports.acquire().await
    }

    /// The waits for a connection, by pool (the SQLite writer's turn included).
    pub fn wait_times(&self) -> &WaitTimes {
        &self.waits
    }

    /// The pools as they are now.
    pub fn pool_states(&self) -> Vec<PoolState> {
        vec![self.pool.state(), self.reports.state()]
    }

    /// How many connections the reports' pool has: the node's bound on reports at once.
    pub fn report_connections(&self) -> usize {
        match self.backend {
            Backend::Sqlite => SQLITE_REPORT_CONNECTIONS as usize,
            Backend::Postgres => POSTGRES_REPORT_CONNECTIONS as usize,
        }
    }

    /// Begins an immediate transaction: on SQLite's writer connection, in its turn.
    async fn begin_immediate(&self) -> Result<Tx, sqlx::Error> {
        match &self.writer {
            Some(writer) => {
                let started = std::time::Instant::now();
                let tx = writer.begin(SQLITE_ACQUIRE_TIMEOUT).await;
                self.waits.observe("writer", started.elapsed());
                tx
            }
            None => Ok(Tx::pooled(self.pool.begin_with("BEGIN IMMEDIATE").await?)),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database URL (PostgreSQL: the `LISTEN` connection opens its own connection with it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Begins a transaction that changes one account's data. Writers of one account run one at
    /// a time: SQLite takes its write lock up front (`BEGIN IMMEDIATE`, so a read-then-write
    /// transaction never fails to upgrade); PostgreSQL locks the account row first, so two
    /// status moves of one appointment cannot both pass the transition check, and events
    /// commit in `seq` order.
    ///
    /// SQLite writes one transaction at a time whatever the number of connections, so its
    /// write transactions all run on one dedicated connection and wait for it in a fair queue
    /// (first come, first served; see `tx::Writer`), instead of each holding a connection and
    /// polling the file lock in SQLite's busy handler (which sleeps between tries and left
    /// writers waiting up to a hundred milliseconds under load). Reads keep the pool.
    pub async fn begin_write(&self, account_id: i64) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.begin_immediate().await,
            Backend::Postgres => {
                let mut tx = Tx::pooled(self.pool.begin_with("BEGIN").await?);
                accounts::lock(&mut tx, account_id).await?;
                Ok(tx)
            }
        }
    }

    /// Begins a transaction that creates an account (there is no account row to lock yet).
    pub async fn begin_create(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.begin_immediate().await,
            Backend::Postgres => Ok(Tx::pooled(self.pool.begin_with("BEGIN").await?)),
        }
    }

    /// Begins a read-only transaction (one consistent snapshot for several reads).
    ///
    /// `GET /api/appointments` and the other lists read the account's `seq` (`X-Event-Seq`) and
    /// then the rows, and a client trusts that the rows include every event up to that `seq`.
    /// On SQLite a read transaction already sees one snapshot from its first read on. On
    /// PostgreSQL the default READ COMMITTED takes a new snapshot for every statement, so a
    /// change committed between the two reads would be in the rows but after the `seq`, and
    /// the client would apply its event again on top of it. REPEATABLE READ makes every
    /// statement of the transaction see the snapshot taken by its first one. These
    /// transactions only read, so they never fail with a serialization error.
    pub async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => Ok(Tx::pooled(self.pool.begin_with("BEGIN").await?)),
            Backend::Postgres => Ok(Tx::pooled(
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    .await?,
            )),
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&*self.pool).await.is_ok()
    }
}

/// The pool of SQLite connections for reads (PRAGMAs in `tx::SQLITE_PRAGMAS`). A connection to
/// a local file does not go stale, so the pool does not ping it before each use (a ping is one
/// more round trip to the connection's thread on every request).
fn sqlite_pool(max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(SQLITE_ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(tx::SQLITE_PRAGMAS).await?;
                Ok(())
            })
        })
}

/// An SQLite URL that creates the file when it is missing (`mode=rwc`), unless a mode is given.
fn create_if_missing(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Whether `err` means the database cannot be reached now (no connection within the acquire
/// timeout, a broken connection, a server shutting down or starting up): the request may be
/// retried, and answers 503.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown,
            // cannot connect now; class 53: insufficient resources (out of memory, too many
            // connections; its disk full, 53100, is a storage fault and answered before this).
            code.starts_with("08")
                || (code.starts_with("53") && code.len() == 5)
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// The kind of a database error, as `fila_db_errors_total` counts it (one of
/// [`crate::metrics::DB_ERROR_KINDS`]).
pub fn error_kind(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::PoolTimedOut => "pool_timeout",
        sqlx::Error::PoolClosed => "pool_closed",
        sqlx::Error::Database(db)
            if db.is_unique_violation()
                || db.is_foreign_key_violation()
                || db.is_check_violation() =>
        {
            "constraint"
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|code| is_sqlite_busy(&code)) => "busy",
        _ if is_unavailable(err) => "connection",
        sqlx::Error::Database(_) => "database",
        sqlx::Error::RowNotFound
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => "decode",
        _ => "other",
    }
}

/// SQLite's SQLITE_BUSY or SQLITE_LOCKED, extended codes included (their low byte): another
/// writer held the file too long. PostgreSQL's codes are five-character SQLSTATEs.
fn is_sqlite_busy(code: &str) -> bool {
    code.len() < 5
        && code
            .parse::<i32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
}

/// The kind of the first database error in `err`'s chain, if it has one.
pub fn error_kind_in(err: &anyhow::Error) -> Option<&'static str> {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .map(error_kind)
}

/// Whether `err` is a unique-constraint violation (mapped to 409 by callers).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// A `LIKE ... ESCAPE '\'` pattern matching any text that contains `part` as it is: `%`, `_`
/// and `\` in `part` are escaped. The explicit escape character makes both backends read the
/// pattern alike (PostgreSQL escapes with `\` by default, SQLite has no escape by default).
pub(crate) fn contains_pattern(part: &str) -> String {
    let mut pattern = String::with_capacity(part.len() + 2);
    pattern.push('%');
    for c in part.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Booleans are stored as integers 0/1 on both backends.
pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn database_errors_fall_into_the_kinds_the_metrics_count() {
        use super::{error_kind, error_kind_in, is_sqlite_busy};
        let io = || sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(error_kind(&sqlx::Error::PoolTimedOut), "pool_timeout");
        assert_eq!(error_kind(&io()), "connection");
        assert_eq!(error_kind(&sqlx::Error::RowNotFound), "decode");
        assert_eq!(error_kind(&sqlx::Error::Configuration("x".into())), "other");
        let chained = anyhow::Error::new(io()).context("reading the queue");
        assert_eq!(error_kind_in(&chained), Some("connection"));
        assert_eq!(error_kind_in(&anyhow::anyhow!("not the database")), None);
        for kind in [
            "pool_timeout",
            "connection",
            "decode",
            "other",
            "busy",
            "constraint",
        ] {
            assert!(crate::metrics::DB_ERROR_KINDS.contains(&kind), "{kind}");
        }
        assert!(is_sqlite_busy("5") && is_sqlite_busy("517") && is_sqlite_busy("6"));
        assert!(!is_sqlite_busy("13") && !is_sqlite_busy("40001") && !is_sqlite_busy("23505"));
    }

    #[test]
    fn a_contains_pattern_escapes_the_like_wildcards_and_the_escape() {
        assert_eq!(contains_pattern("ana"), "%ana%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
