//! Storage faults: a full disk, a file system that turned read-only, I/O errors. They are not
//! our failure nor the client's: requests answer 507/503 with `Retry-After` (see
//! `crate::error`), `/readyz` answers 503 while they last, and the process heals by itself once
//! a probe write succeeds again.

use std::sync::Mutex;
use std::time::Duration;

use crate::domain::time::now_ms;

use super::Store;

/// What is wrong with the storage under the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// SQLite `SQLITE_FULL`; PostgreSQL `53100 disk_full`.
    Full,
    /// SQLite `SQLITE_READONLY` and its extended codes; PostgreSQL `25006
    /// read_only_sql_transaction` (a standby, or `default_transaction_read_only`).
    ReadOnly,
    /// SQLite `SQLITE_IOERR`, `SQLITE_CANTOPEN`, `SQLITE_PROTOCOL`; PostgreSQL `58030 io_error`.
    /// (PostgreSQL's other class 53 errors, out of memory or connections, are not the disk's:
    /// `store::is_unavailable` answers them 503.)
    Io,
}

impl StorageFault {
    /// The word `/readyz` shows for it.
    pub fn name(self) -> &'static str {
        match self {
            StorageFault::Full => "full",
            StorageFault::ReadOnly => "read-only",
            StorageFault::Io => "failing",
        }
    }
}

/// The storage fault behind `err`, if it is one.
pub fn storage_fault(err: &sqlx::Error) -> Option<StorageFault> {
    let code = err.as_database_error()?.code()?;
    fault_of_code(&code)
}

/// Classifies a database error code: a PostgreSQL SQLSTATE (five characters) or an SQLite
/// extended result code (a decimal number below 10000; its low byte is the primary code).
pub fn fault_of_code(code: &str) -> Option<StorageFault> {
    if code.len() == 5 {
        return match code {
            "53100" => Some(StorageFault::Full),
            "25006" => Some(StorageFault::ReadOnly),
            "58030" => Some(StorageFault::Io),
            _ => None,
        };
    }
    let extended: u32 = code.parse().ok()?;
    // SQLITE_FULL 13, SQLITE_READONLY 8, SQLITE_IOERR 10, SQLITE_CANTOPEN 14, SQLITE_PROTOCOL 15.
    match extended & 0xff {
        13 => Some(StorageFault::Full),
        8 => Some(StorageFault::ReadOnly),
        10 | 14 | 15 => Some(StorageFault::Io),
        _ => None,
    }
}

/// How often a probe write is tried while the storage is at fault.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// The size of the probe's row: a write of a few pages, so that a disk with room for a tiny
/// write only does not pass for healed.
const PROBE_BYTES: usize = 64 * 1024;

/// Whether writes fail for a storage fault now (`/readyz`).
#[derive(Debug, Default)]
pub struct StorageHealth {
    fault: Mutex<Option<StorageFault>>,
}

impl StorageHealth {
    /// The fault writes fail with now, if any.
    pub fn fault(&self) -> Option<StorageFault> {
        *self
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a write that failed with `fault`; answers whether the storage was healthy until
    /// now (the caller then starts the probe).
    fn failed(&self, fault: StorageFault) -> bool {
        let mut current = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        current.replace(fault).is_none()
    }

    fn healed(&self) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Store {
    /// Whether writes fail for a storage fault now.
    pub fn storage_fault(&self) -> Option<StorageFault> {
        self.health.fault()
    }

    /// Records that a write failed with `fault` (`detail`: the error, for the log). The first
    /// failure logs a warning and starts a probe that writes every [`PROBE_EVERY`] until a
    /// write succeeds again, then logs the healing: one line per transition, not per request.
    pub fn storage_failed(&self, fault: StorageFault, detail: &str) {
        if !self.health.failed(fault) {
            return;
        }
        tracing::warn!(
            storage = fault.name(),
            error = detail,
            "storage fault: writes answer 507/503 and /readyz 503 until a probe write succeeds"
        );
        let store = self.clone();
        tokio::spawn(async move {
            let started = now_ms();
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                match store.probe_write().await {
                    Ok(()) => break,
                    Err(err) => match storage_fault(&err) {
                        Some(fault) => {
                            store.health.failed(fault);
                        }
                        None => tracing::debug!(error = %err, "storage probe failed"),
                    },
                }
            }
            store.health.healed();
            tracing::info!(
                after_ms = now_ms() - started,
                "storage healed: a probe write succeeded; writes and /readyz are back"
            );
        });
    }

    /// One real write: the probe's row rewritten with [`PROBE_BYTES`] of filler, committed.
    async fn probe_write(&self) -> Result<(), sqlx::Error> {
        let filler = "x".repeat(PROBE_BYTES);
        let mut tx = self.begin_create().await?;
        sqlx::query(
            "INSERT INTO storage_probe (id, written_at, filler) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at, filler = excluded.filler",
        )
        .bind(now_ms())
        .bind(filler)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{AnyConnection, Connection, Executor};

    use super::*;

    async fn sqlite() -> AnyConnection {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
        conn.execute("CREATE TABLE t (x TEXT)").await.unwrap();
        conn
    }

    #[tokio::test]
    async fn a_real_sqlite_full_database_is_a_full_disk() {
        let mut conn = sqlite().await;
        conn.execute("PRAGMA max_page_count = 4").await.unwrap();
        let mut failure = None;
        for _ in 0..100 {
            let insert = sqlx::query("INSERT INTO t VALUES ($1)").bind("x".repeat(4096));
            if let Err(err) = insert.execute(&mut conn).await {
                failure = Some(err);
                break;
            }
        }
        let failure = failure.expect("four pages fill up");
        assert_eq!(
            storage_fault(&failure),
            Some(StorageFault::Full),
            "{failure}"
        );
    }

    #[tokio::test]
    async fn a_real_sqlite_read_only_database_is_read_only_and_other_errors_are_none() {
        let mut conn = sqlite().await;
        let duplicate = conn.execute("CREATE TABLE t (x TEXT)").await.unwrap_err();
        assert_eq!(storage_fault(&duplicate), None, "{duplicate}");
        conn.execute("PRAGMA query_only = 1").await.unwrap();
        let refused = conn
            .execute("INSERT INTO t VALUES ('x')")
            .await
            .unwrap_err();
        assert_eq!(
            storage_fault(&refused),
            Some(StorageFault::ReadOnly),
            "{refused}"
        );
        assert_eq!(storage_fault(&sqlx::Error::RowNotFound), None);
    }

    #[test]
    fn sqlite_codes_are_classified_by_their_primary_code() {
        let cases = [
            ("13", Some(StorageFault::Full)),
            ("8", Some(StorageFault::ReadOnly)),
            ("1032", Some(StorageFault::ReadOnly)), // SQLITE_READONLY_DBMOVED
            ("10", Some(StorageFault::Io)),
            ("778", Some(StorageFault::Io)),  // SQLITE_IOERR_WRITE
            ("1290", Some(StorageFault::Io)), // SQLITE_IOERR_DIR_FSYNC
            ("14", Some(StorageFault::Io)),
            ("2067", None), // SQLITE_CONSTRAINT_UNIQUE
            ("5", None),    // SQLITE_BUSY
            ("1", None),
        ];
        for (code, expected) in cases {
            assert_eq!(fault_of_code(code), expected, "SQLite code {code}");
        }
    }

    #[test]
    fn postgres_sqlstates_are_classified_by_code_and_class() {
        let cases = [
            ("53100", Some(StorageFault::Full)),
            ("53200", None),
            ("53300", None),
            ("25006", Some(StorageFault::ReadOnly)),
            ("58030", Some(StorageFault::Io)),
            ("23505", None),
            ("40001", None),
            ("08006", None),
        ];
        for (code, expected) in cases {
            assert_eq!(fault_of_code(code), expected, "SQLSTATE {code}");
        }
    }
}
