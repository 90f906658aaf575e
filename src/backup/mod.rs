//! Backups of an SQLite database while the server writes, their check, and the lock that keeps
//! a restore from replacing a database a server is using.
//!
//! A copy is made with `VACUUM INTO` on a connection of its own: it reads one snapshot (a
//! read transaction in WAL mode, so writers go on), and holds every transaction committed
//! before it began. Copying the file instead misses what is still in the `-wal` file. Every
//! copy is written to a temporary name beside its target, passes `PRAGMA integrity_check`,
//! is flushed to disk and only then takes its name.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, continuous archiving); see
//! "Backups and restore" in `docs/deployment.md`.

pub mod commands;
pub mod schedule;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

/// A backup or restore asked of a PostgreSQL database: the `fila` command exits 2 and points at
/// the `pg_dump` recipe.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0} works on SQLite databases only; back up PostgreSQL with pg_dump or continuous archiving (see \"Backups and restore\" in docs/deployment.md)"
)]
pub struct NotOnPostgres(pub &'static str);

/// The exit status of a failed `fila` command: 2 for [`NotOnPostgres`] and for a database this
/// binary refuses ([`crate::store::schema::Refusal`]: a newer Fila upgraded it), else 1.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    if error.is::<NotOnPostgres>() || error.is::<crate::store::schema::Refusal>() {
        2
    } else {
        1
    }
}

/// The file of an `sqlite:` database URL; `Ok(None)` for PostgreSQL. An in-memory database
/// has no file and cannot be backed up.
pub fn sqlite_file(url: &str) -> anyhow::Result<Option<PathBuf>> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(None);
    }
    anyhow::ensure!(
        url.starts_with("sqlite:"),
        "unsupported database URL (expected sqlite:// or postgres://)"
    );
    let options = SqliteConnectOptions::from_str(url).context("parsing the database URL")?;
    let file = options.get_filename();
    anyhow::ensure!(
        !file.as_os_str().is_empty() && !url.contains(":memory:"),
        "an in-memory database has no file"
    );
    Ok(Some(file.to_path_buf()))
}

/// What a finished copy holds.
#[derive(Debug, Clone)]
pub struct Copy {
    pub path: PathBuf,
    pub bytes: u64,
    /// The newest migration applied in the copy (its schema version).
    pub schema: i64,
    pub took: Duration,
}

/// Copies the live database `database` to `target` (which must not exist): a consistent copy
/// taken while writes go on, checked, then renamed into place. On any failure nothing is left
/// at `target` nor at the temporary name.
pub async fn copy_database(database: &Path, target: &Path) -> anyhow::Result<Copy> {
    let started = Instant::now();
    anyhow::ensure!(
        database.is_file(),
        "no database at {} (nothing to back up)",
        database.display()
    );
    let target = absolute(target)?;
    if target.exists() {
        bail!("{} already exists; give a new file name", target.display());
    }
    let partial = partial_name(&target);
    let _ = std::fs::remove_file(&partial);
    let result = write_checked(database, &partial).await;
    let schema = match result {
        Ok(schema) => schema,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    if target.exists() {
        let _ = std::fs::remove_file(&partial);
        bail!("{} appeared while the copy was made", target.display());
    }
    std::fs::rename(&partial, &target)
        .with_context(|| format!("renaming the copy to {}", target.display()))?;
    sync_parent(&target);
    let bytes = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    Ok(Copy {
        path: target,
        bytes,
        schema,
        took: started.elapsed(),
    })
}

/// `VACUUM INTO partial`, then the check of what was written and an fsync.
async fn write_checked(database: &Path, partial: &Path) -> anyhow::Result<i64> {
    let into = partial
        .to_str()
        .context("the backup's path must be valid UTF-8")?;
    let mut live = SqliteConnectOptions::new()
        .filename(database)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging()
        .connect()
        .await
        .with_context(|| format!("opening {}", database.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(into)
        .execute(&mut live)
        .await
        .with_context(|| format!("writing the copy {}", partial.display()))?;
    live.close().await.ok();
    let schema = check(partial).await?.schema;
    File::open(partial)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("flushing {} to disk", partial.display()))?;
    Ok(schema)
}

/// What [`check`] found in a copy.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The newest migration applied (its schema version).
    pub schema: i64,
    /// Every migration applied, in order.
    pub migrations: Vec<i64>,
}

/// Checks a copy that no one else uses: `PRAGMA integrity_check` answers `ok`, and it is a
/// Fila database (it has applied migrations). The copy is set to a rollback journal first, so
/// that it is one self-contained file (a server sets WAL again when it opens it).
pub async fn check(file: &Path) -> anyhow::Result<Checked> {
    let result = check_open(file).await;
    // A copy in WAL mode gets these beside it once opened; nothing in them is needed.
    for sidecar in ["-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(sidecar);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
    result
}

async fn check_open(file: &Path) -> anyhow::Result<Checked> {
    let mut conn = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Delete)
        .disable_statement_logging()
        .connect()
        .await
        .with_context(|| format!("opening {}", file.display()))?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .with_context(|| format!("checking {}", file.display()))?;
    if verdict != ["ok"] {
        let first: Vec<&str> = verdict.iter().take(3).map(String::as_str).collect();
        bail!(
            "{} fails the integrity check: {}",
            file.display(),
            first.join("; ")
        );
    }
    let migrations: Vec<i64> = sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version",
    )
    .fetch_all(&mut conn)
    .await
    .with_context(|| {
        format!(
            "{} is not a Fila database (no migrations table)",
            file.display()
        )
    })?;
    conn.close().await.ok();
    let schema = migrations
        .last()
        .copied()
        .with_context(|| format!("{} has no applied migration", file.display()))?;
    Ok(Checked { schema, migrations })
}

/// The temporary name a copy is written under, beside its target (so the rename is atomic).
pub(crate) fn partial_name(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// `path` made absolute (an SQLite file name that is a `file:` URI would be read as one).
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

/// Makes a rename durable: fsync of the folder that holds `file` (best effort).
pub(crate) fn sync_parent(file: &Path) {
    if let Some(dir) = file.parent()
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

/// The lock file beside an SQLite database: `fila serve` holds it shared for its lifetime,
/// `fila restore` exclusively while it replaces the database.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// A held lock on [`lock_path`]; released when dropped (or when the process ends, however).
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

/// How a lock is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// A server using the database (several may share it).
    InUse,
    /// A restore replacing it (no server may use it).
    Replace,
}

impl DatabaseLock {
    /// Takes the lock without waiting; `Ok(None)` when it is held in a conflicting way.
    pub fn try_take(database: &Path, mode: LockMode) -> anyhow::Result<Option<DatabaseLock>> {
        let path = lock_path(database);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        let taken = match mode {
            LockMode::InUse => file.try_lock_shared(),
            LockMode::Replace => file.try_lock(),
        };
        match taken {
            Ok(()) => Ok(Some(DatabaseLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

/// The lock `fila serve` holds on an SQLite database for its lifetime, so that `fila restore`
/// refuses to replace it; `None` on PostgreSQL.
pub fn lock_for_serving(database_url: &str) -> anyhow::Result<Option<DatabaseLock>> {
    let Ok(Some(file)) = sqlite_file(database_url) else {
        return Ok(None);
    };
    match DatabaseLock::try_take(&file, LockMode::InUse)? {
        Some(lock) => Ok(Some(lock)),
        None => bail!(
            "{} is being replaced by `fila restore`; start again once it is done",
            file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_database_url() {
        assert_eq!(
            sqlite_file("sqlite://fila.db").unwrap(),
            Some(PathBuf::from("fila.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/fila/fila.db?mode=rwc").unwrap(),
            Some(PathBuf::from("/var/lib/fila/fila.db"))
        );
        assert_eq!(sqlite_file("postgres://db/fila").unwrap(), None);
        assert!(sqlite_file("sqlite::memory:").is_err());
        assert!(sqlite_file("mysql://db/fila").is_err());
    }

    #[test]
    fn a_restore_cannot_lock_a_database_a_server_holds() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fila.db");
        let serving = DatabaseLock::try_take(&db, LockMode::InUse).unwrap();
        assert!(serving.is_some());
        let second_server = DatabaseLock::try_take(&db, LockMode::InUse).unwrap();
        assert!(second_server.is_some(), "servers share the lock");
        assert!(
            DatabaseLock::try_take(&db, LockMode::Replace)
                .unwrap()
                .is_none()
        );
        drop((serving, second_server));
        let restoring = DatabaseLock::try_take(&db, LockMode::Replace).unwrap();
        assert!(restoring.is_some());
        assert!(
            DatabaseLock::try_take(&db, LockMode::InUse)
                .unwrap()
                .is_none()
        );
    }
}
