//! The transaction every change runs in, and SQLite's one writer connection.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyTransactionManager};
use sqlx::{Any, AnyConnection, ConnectOptions, Executor, TransactionManager};
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
}

impl Tx {
    pub(super) fn pooled(tx: sqlx::Transaction<'static, Any>) -> Tx {
        Tx(Inner::Pooled(tx))
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Pooled(tx) => tx.commit().await,
            Inner::Writer(mut turn) => {
                AnyTransactionManager::commit(&mut turn.conn).await?;
                turn.open = false;
                Ok(())
            }
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.0 {
            Inner::Pooled(tx) => tx.rollback().await,
            Inner::Writer(mut turn) => {
                AnyTransactionManager::rollback(&mut turn.conn).await?;
                turn.open = false;
                Ok(())
            }
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
    options: AnyConnectOptions,
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
            options,
        })
    }

    /// Waits for the writer's turn (at most `patience`: then `PoolTimedOut`, a 503) and begins
    /// an immediate transaction on it.
    pub(super) async fn begin(&self, patience: Duration) -> Result<Tx, sqlx::Error> {
        let mut conn = tokio::time::timeout(patience, self.conn.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        if let Err(err) = AnyTransactionManager::begin(&mut conn, Some(BEGIN_IMMEDIATE)).await {
            if !matches!(err, sqlx::Error::WorkerCrashed | sqlx::Error::Io(_)) {
                return Err(err);
            }
            // The connection's thread is gone: open a new connection and begin on it.
            tracing::warn!(error = %err, "reopening the SQLite writer connection");
            *conn = connect(&self.options).await?;
            AnyTransactionManager::begin(&mut conn, Some(BEGIN_IMMEDIATE)).await?;
        }
        Ok(Tx(Inner::Writer(Turn { conn, open: true })))
    }
}

async fn connect(options: &AnyConnectOptions) -> Result<AnyConnection, sqlx::Error> {
    let mut conn = options.connect().await?;
    conn.execute(SQLITE_PRAGMAS).await?;
    Ok(conn)
}
