//! `fila backup`, `fila restore` and `fila secret rotate`.
//!
//! Each prints one JSON line on stdout (what it did) and, where an operator must know more,
//! a plain sentence on stderr.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::{DatabaseLock, LockMode, NotOnPostgres, sqlite_file};
use crate::config::{BackupArgs, RestoreArgs, RotateSecretArgs};
use crate::domain::time::now_ms;
use crate::store::events::{CONTROL_PAYLOAD, ControlRow};
use crate::store::{self, Backend, Store};

/// What a restored database brings back with it.
const RESTORED_SECRETS: &str = "The backup's signing secret and its open sessions came back with it: tokens issued before the backup was made work again. If the backup may have been seen by anyone else, run `fila secret rotate` before starting the server.";

/// `fila backup --to FILE`: a consistent copy of the live SQLite database, made while the
/// server runs and writes.
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let Some(database) = sqlite_file(&args.database_url)? else {
        return Err(NotOnPostgres("fila backup").into());
    };
    let copy = super::copy_database(&database, &args.to).await?;
    println!(
        "{}",
        serde_json::json!({
            "backup": copy.path,
            "from": database,
            "bytes": copy.bytes,
            "schema": copy.schema,
            "integrity": "ok",
            "tookMs": copy.took.as_millis(),
        })
    );
    eprintln!(
        "The backup holds the signing secret and the open sessions: keep it as secret as the database."
    );
    Ok(())
}

/// `fila restore --from FILE`: replaces the SQLite database with a checked backup, unless a
/// server is using it. The database it replaces is kept beside it.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let Some(database) = sqlite_file(&args.database_url)? else {
        return Err(NotOnPostgres("fila restore").into());
    };
    anyhow::ensure!(args.from.is_file(), "no backup at {}", args.from.display());
    if wal_of(&args.from).metadata().is_ok_and(|m| m.len() > 0) {
        bail!(
            "{} has a write-ahead log beside it: it is a live database, not a backup. Copy it with `fila backup --to FILE` and restore that",
            args.from.display()
        );
    }
    let database = std::path::absolute(&database)
        .with_context(|| format!("resolving {}", database.display()))?;
    if std::path::absolute(&args.from).ok().as_deref() == Some(database.as_path()) {
        bail!("the backup and the database are the same file");
    }
    let Some(_lock) = DatabaseLock::try_take(&database, LockMode::Replace)? else {
        bail!(
            "{} is in use by a running `fila serve`; stop it first (a restore never replaces a database in use)",
            database.display()
        );
    };
    let incoming = super::partial_name(&database);
    let _ = std::fs::remove_file(&incoming);
    let brought = bring_in(&args.from, &incoming)
        .await
        .with_context(|| format!("checking the backup {}", args.from.display()));
    let schema = match brought {
        Ok(schema) => schema,
        Err(error) => {
            let _ = std::fs::remove_file(&incoming);
            return Err(error);
        }
    };
    let previous = set_aside(&database)?;
    std::fs::rename(&incoming, &database)
        .with_context(|| format!("moving the backup to {}", database.display()))?;
    super::sync_parent(&database);
    println!(
        "{}",
        serde_json::json!({
            "restored": database,
            "from": args.from,
            "schema": schema,
            "previous": previous,
        })
    );
    eprintln!("{RESTORED_SECRETS}");
    Ok(())
}

/// Copies the backup to `incoming` (beside the database) and checks the copy: its integrity,
/// that it is a Fila database, and that this version of Fila knows its every migration.
async fn bring_in(from: &Path, incoming: &Path) -> anyhow::Result<i64> {
    std::fs::copy(from, incoming)
        .with_context(|| format!("copying {} to {}", from.display(), incoming.display()))?;
    std::fs::File::open(incoming)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("flushing {} to disk", incoming.display()))?;
    let checked = super::check(incoming).await?;
    let known: Vec<i64> = sqlx::migrate!("migrations/sqlite")
        .iter()
        .map(|migration| migration.version)
        .collect();
    if let Some(unknown) = checked
        .migrations
        .iter()
        .find(|version| !known.contains(version))
    {
        bail!(
            "the backup was made by a newer Fila (migration {unknown} is unknown to this version); restore it with that version"
        );
    }
    let schema = checked.schema;
    Ok(schema)
}

/// Moves the database being replaced (and its write-ahead log) aside, to
/// `<database>.replaced-<time>`, and removes its shared-memory file; `None` if there was none.
fn set_aside(database: &Path) -> anyhow::Result<Option<PathBuf>> {
    let shm = sibling(database, "-shm");
    let _ = std::fs::remove_file(&shm);
    if !database.exists() {
        let _ = std::fs::remove_file(wal_of(database));
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = sibling(database, &format!(".replaced-{stamp}"));
    std::fs::rename(database, &aside)
        .with_context(|| format!("moving the old database to {}", aside.display()))?;
    let wal = wal_of(database);
    if wal.exists() {
        std::fs::rename(&wal, wal_of(&aside))
            .with_context(|| format!("moving {} aside", wal.display()))?;
    }
    Ok(Some(aside))
}

fn wal_of(database: &Path) -> PathBuf {
    sibling(database, "-wal")
}

fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `fila secret rotate`: a new signing secret in the database, and every session of every
/// account ended (their tokens answer 401, their sockets are disconnected on every node).
pub async fn rotate_secret(args: RotateSecretArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url).await?;
    let secret = crate::startup::generate_secret();
    let now = now_ms();
    let mut tx = store
        .begin_create()
        .await
        .context("beginning the rotation")?;
    store::accounts::set_setting(&mut tx, "jwt_secret", &secret)
        .await
        .context("writing the new secret")?;
    let open = store::sessions::open_ids(&mut tx)
        .await
        .context("reading the open sessions")?;
    for (session_id, account_id) in &open {
        let row = ControlRow {
            account_id: *account_id,
            session_id: Some(session_id.clone()),
            at: now,
            ..ControlRow::default()
        };
        store::events::insert_control(&mut tx, &row)
            .await
            .context("recording the sockets to disconnect")?;
    }
    let ended = store::sessions::end_all(&mut tx, now)
        .await
        .context("ending the sessions")?;
    if store.backend() == Backend::Postgres && !open.is_empty() {
        store::events::notify(&mut tx, CONTROL_PAYLOAD).await?;
    }
    tx.commit().await.context("committing the rotation")?;
    println!(
        "{}",
        serde_json::json!({"secretRotated": true, "sessionsEnded": ended})
    );
    eprintln!(
        "A new signing secret is in the database and every session has ended: everyone logs in again, and API-key clients trade their key again. Restart every `fila serve` of this database so that it signs with the new secret (a server reads it at start). A server started with --jwt-secret or --jwt-secret-file does not use the database's secret: change that secret and restart."
    );
    Ok(())
}
