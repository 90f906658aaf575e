//! The transaction every change runs in, and SQLite's one writer connection.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyTransactionManager};
use sqlx::{Any, AnyConnection, ConnectOptions, Connection, Executor, TransactionManager};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// PRAGMAs of every SQLite connection: WAL (readers never wait for the writer),
/// `synchronous = NORMAL`, and a busy timeout for the writes that do not take the writer's
/// turn (sign-in, pruning).
pub(super) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

const BEGIN_IMMEDIATE: Cow<'static, str> = Cow::Borrowed("BEGIN IMMEDIATE");

/// A transaction on either backend; it derefs to its connection, so store functions take it as
/// `&mut AnyConnection`. Dropped without `commit`, it rolls back.
pub struct Tx(Inner);

enum Inner {
    /// A pooled connection's transaction (PostgreSQL, and SQLite's reads).
    Pooled(sqlx::Transaction<'static, Any>),
    /// SQLite's writer connection, held for the whole transaction.
    Writer(Turn),
}

struct Turn {
    conn: OwnedMutexGuard<AnyConnection>,
    open: bool,
    /// To open a new writer connection when this one is left in a state it cannot leave.
    options: Arc<AnyConnectOptions>,
}

impl Tx {
    pub(super) fn pooled(tx: sqlx::Transaction<'static, Any>) -> Tx {
        Tx(Inner::Pooled(tx))
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Pooled(tx) => tx.commit().await,
            Inner::Writer(mut turn) => {
                let committed = AnyTransactionManager::commit(&mut turn.conn).await;
                if committed.is_err() {
                    turn.settle().await;
                }
                turn.open = false;
                committed
            }
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Pooled(tx) => tx.rollback().await,
            Inner::Writer(mut turn) => {
                let rolled_back = AnyTransactionManager::rollback(&mut turn.conn).await;
                if rolled_back.is_err() {
                    turn.settle().await;
                }
                turn.open = false;
                rolled_back
            }
        }
    }
}

impl Turn {
    /// After a failed COMMIT or ROLLBACK: leaves the writer connection outside any transaction.
    ///
    /// A COMMIT that fails (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY) either leaves SQLite's
    /// transaction open or rolls it back by itself, and sqlx's count of open transactions on
    /// the connection stays at one either way. A ROLLBACK closes the first case; in the second
    /// it fails ("no transaction is active") and the count stays out of step, so that every
    /// later `BEGIN IMMEDIATE` would be refused ("attempted to call begin_with at non-zero
    /// transaction depth") until a restart. Then the connection is closed and replaced.
    async fn settle(&mut self) {
        let rolled_back = AnyTransactionManager::rollback(&mut self.conn).await;
        if rolled_back.is_ok() && AnyTransactionManager::get_transaction_depth(&self.conn) == 0 {
            return;
        }
        tracing::debug!(error = ?rolled_back.err(), "replacing the SQLite writer connection");
        if let Err(error) = replace(&mut self.conn, &self.options).await {
            // The next turn's `begin` tries again (a fresh connection also fails to open on a
            // file system that refuses writes).
            tracing::debug!(error = %error, "reopening the SQLite writer connection failed");
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection ahead of the next turn's BEGIN.
            AnyTransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            Inner::Pooled(tx) => tx,
            Inner::Writer(turn) => &turn.conn,
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            Inner::Pooled(tx) => tx,
            Inner::Writer(turn) => &mut turn.conn,
        }
    }
}

/// SQLite's writer connection. SQLite runs one write transaction at a time whatever the
/// number of connections, so write transactions take turns on this one connection, first come
/// first served (tokio's mutex queues its waiters fairly), instead of each holding a pooled
/// connection and polling the file lock in SQLite's busy handler. It stays outside the pool: a
/// pooled connection is pinged on every return, one more round trip to its thread inside each
/// turn.
#[derive(Clone)]
pub(super) struct Writer {
    conn: Arc<Mutex<AnyConnection>>,
    options: Arc<AnyConnectOptions>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    pub(super) async fn open(options: AnyConnectOptions) -> Result<Writer, sqlx::Error> {
        let conn = connect(&options).await?;
        Ok(Writer {
            conn: Arc::new(Mutex::new(conn)),
            options: Arc::new(options),
        })
    }

    /// Waits for the writer's turn (at most `patience`: then `PoolTimedOut`, a 503) and begins
    /// an immediate transaction on it.
    pub(super) async fn begin(&self, patience: Duration) -> Result<Tx, sqlx::Error> {
        let mut conn = tokio::time::timeout(patience, self.conn.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if let Err(err) = AnyTransactionManager::begin(&mut conn, Some(BEGIN_IMMEDIATE)).await {
            // The connection's thread is gone, or the connection is still counted inside a
            // transaction (a rollback queued by a dropped turn failed: see `Turn::settle`):
            // open a new connection and begin on it.
            let broken = matches!(
                err,
                sqlx::Error::WorkerCrashed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::InvalidSavePointStatement
            );
            if !broken {
                return Err(err);
            }
            if matches!(err, sqlx::Error::InvalidSavePointStatement) {
                // After a storage fault: logged once, where the fault starts.
                tracing::debug!(error = %err, "reopening the SQLite writer connection");
            } else {
                tracing::warn!(error = %err, "reopening the SQLite writer connection");
            }
            replace(&mut conn, &self.options).await?;
            AnyTransactionManager::begin(&mut conn, Some(BEGIN_IMMEDIATE)).await?;
        }
        Ok(Tx(Inner::Writer(Turn {
            conn,
            open: true,
            options: self.options.clone(),
        })))
    }
}

/// Closes the writer connection `conn` and puts a new one in its place (closing it first
/// releases any lock SQLite still holds for it, so the new connection's BEGIN does not wait).
async fn replace(conn: &mut AnyConnection, options: &AnyConnectOptions) -> Result<(), sqlx::Error> {
    let fresh = connect(options).await?;
    let old = std::mem::replace(conn, fresh);
    if let Err(error) = old.close().await {
        tracing::debug!(error = %error, "closing the old SQLite writer connection");
    }
    Ok(())
}

async fn connect(options: &AnyConnectOptions) -> Result<AnyConnection, sqlx::Error> {
    let mut conn = options.connect().await?;
    conn.execute(SQLITE_PRAGMAS).await?;
    Ok(conn)
}
