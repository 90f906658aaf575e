//! The database's schema version against this binary's: which migrations a database has, which
//! this binary would apply, and the databases it must refuse.
//!
//! Migrations are sqlx's (`migrations/sqlite`, `migrations/postgres`, built into the binary),
//! recorded in the database's `_sqlx_migrations` table (version, description, checksum,
//! success). sqlx's migrator refuses a database with a migration it does not know with
//! "migration N was previously applied but is missing in the resolved migrations", which names
//! neither Fila version nor the way back. [`check`] runs first and refuses with a sentence that
//! does (a [`Refusal`]); it reads only, so `fila migrate --check` uses it too.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::any::AnyConnectOptions;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Connection};

use super::Backend;

/// This binary's version (`Cargo.toml`), as the refusals name it.
pub const FILA_VERSION: &str = env!("CARGO_PKG_VERSION");

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// The migrations built into this binary for `backend`.
pub fn embedded(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// The newest migration this binary knows: its schema version.
pub fn binary_schema(backend: Backend) -> i64 {
    embedded(backend)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// A migration, by version and description (`0011_appointment_visits.sql`: 11,
/// "appointment visits").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub version: i64,
    pub description: String,
}

/// A row of `_sqlx_migrations`.
#[derive(Debug, Clone)]
pub struct Applied {
    pub version: i64,
    pub description: String,
    pub checksum: Vec<u8>,
    /// `false`: the migration failed part-way (sqlx calls the database dirty).
    pub success: bool,
}

/// A database this binary must not run on, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The database has migrations this binary does not know: a newer Fila upgraded it.
    Newer {
        backend: Backend,
        database: i64,
        binary: i64,
    },
    /// A migration was applied from another text than this binary's (edited after release).
    Modified { version: i64, description: String },
    /// A migration failed part-way and is marked unfinished.
    Unfinished { version: i64 },
}

const SEE_DOCS: &str = "see \"Upgrades and rollback\" in docs/deployment.md";

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Newer {
                backend,
                database,
                binary,
            } => {
                let restore = match backend {
                    Backend::Sqlite => "`fila restore --from` the backup",
                    Backend::Postgres => "restore the dump (pg_restore)",
                };
                write!(
                    f,
                    "this database was upgraded by a newer Fila (schema {database:04}; this is fila {FILA_VERSION}, schema up to {binary:04}): run the newer binary, or stop every node and {restore} taken before the upgrade ({SEE_DOCS})"
                )
            }
            Refusal::Modified {
                version,
                description,
            } => write!(
                f,
                "migration {version:04} ({description}) in this database differs from the one in fila {FILA_VERSION} (its checksum does not match: the migration was changed after it was applied); run the Fila that migrated this database, or restore a backup ({SEE_DOCS})"
            ),
            Refusal::Unfinished { version } => write!(
                f,
                "migration {version:04} failed part-way on this database (marked unfinished in _sqlx_migrations); restore the backup taken before the upgrade ({SEE_DOCS})"
            ),
        }
    }
}

/// A database's schema against this binary's migrations.
#[derive(Debug, Clone)]
pub struct Schema {
    pub backend: Backend,
    /// The newest migration applied; `None` for a new database.
    pub database: Option<i64>,
    /// The newest migration this binary knows.
    pub binary: i64,
    /// What this binary would apply, in order.
    pub pending: Vec<Step>,
    /// Why this binary must not run on the database, if it must not.
    pub refusal: Option<Refusal>,
}

/// Compares what a database has applied with what this binary embeds.
pub fn compare(backend: Backend, applied: &[Applied]) -> Schema {
    let migrator = embedded(backend);
    let known: HashMap<i64, &sqlx::migrate::Migration> =
        migrator.iter().map(|m| (m.version, m)).collect();
    let binary = binary_schema(backend);
    let database = applied.iter().map(|a| a.version).max();
    let refusal = if let Some(unfinished) = applied.iter().find(|a| !a.success) {
        Some(Refusal::Unfinished {
            version: unfinished.version,
        })
    } else if applied.iter().any(|a| !known.contains_key(&a.version)) {
        Some(Refusal::Newer {
            backend,
            database: database.unwrap_or(0),
            binary,
        })
    } else {
        applied
            .iter()
            .find(|a| known[&a.version].checksum.as_ref() != a.checksum.as_slice())
            .map(|a| Refusal::Modified {
                version: a.version,
                description: a.description.clone(),
            })
    };
    let pending = migrator
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .map(|m| Step {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect();
    Schema {
        backend,
        database,
        binary,
        pending,
        refusal,
    }
}

/// Refuses, with a [`Refusal`], a database this binary must not run on (on any connection of
/// the store's pool; reads only).
pub async fn ensure_usable(conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<()> {
    let applied = applied(conn, backend).await?;
    match compare(backend, &applied).refusal {
        Some(refusal) => Err(refusal.into()),
        None => Ok(()),
    }
}

/// sqlx's own refusal of a newer database (another node migrated between [`ensure_usable`] and
/// the migrator) as the same [`Refusal`]; any other failure as it is.
pub fn explain(error: MigrateError, backend: Backend) -> anyhow::Error {
    match error {
        MigrateError::VersionMissing(version) => Refusal::Newer {
            backend,
            database: version,
            binary: binary_schema(backend),
        }
        .into(),
        other => anyhow::Error::new(other).context("running database migrations"),
    }
}

/// Reads a database's schema without changing anything: a missing SQLite file or a database
/// without `_sqlx_migrations` is new (every migration pending), and is not created.
pub async fn inspect(url: &str, backend: Backend) -> anyhow::Result<Schema> {
    if backend == Backend::Sqlite {
        let options = SqliteConnectOptions::from_str(url).context("parsing the database URL")?;
        if !url.contains(":memory:") && !Path::new(options.get_filename()).exists() {
            return Ok(compare(backend, &[]));
        }
    }
    let mut conn = AnyConnectOptions::from_str(url)
        .context("parsing the database URL")?
        .disable_statement_logging()
        .connect()
        .await
        .context("connecting to the database")?;
    let applied = applied(&mut conn, backend).await;
    conn.close().await.ok();
    Ok(compare(backend, &applied?))
}

/// Every row of `_sqlx_migrations`; none when the table does not exist yet.
async fn applied(conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<Vec<Applied>> {
    let exists = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let tables: i64 = sqlx::query_scalar(exists)
        .fetch_one(&mut *conn)
        .await
        .context("looking for the migrations table")?;
    if tables == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT version, description, checksum, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading the applied migrations")?;
    Ok(rows
        .into_iter()
        .map(|(version, description, checksum, success)| Applied {
            version,
            description,
            checksum,
            success: success != 0,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied_up_to(backend: Backend, newest: i64) -> Vec<Applied> {
        embedded(backend)
            .iter()
            .filter(|m| m.version <= newest)
            .map(|m| Applied {
                version: m.version,
                description: m.description.to_string(),
                checksum: m.checksum.to_vec(),
                success: true,
            })
            .collect()
    }

    #[test]
    fn a_new_database_has_every_migration_pending() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let schema = compare(backend, &[]);
            assert_eq!(schema.database, None);
            assert_eq!(schema.pending.len(), embedded(backend).iter().count());
            assert_eq!(schema.pending[0].version, 1);
            assert_eq!(schema.refusal, None);
        }
    }

    #[test]
    fn both_backends_ship_the_same_migrations() {
        let versions = |backend| -> Vec<(i64, String)> {
            embedded(backend)
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect()
        };
        assert_eq!(versions(Backend::Sqlite), versions(Backend::Postgres));
    }

    #[test]
    fn an_older_database_has_the_newer_migrations_pending() {
        let schema = compare(Backend::Sqlite, &applied_up_to(Backend::Sqlite, 9));
        assert_eq!(schema.database, Some(9));
        let pending: Vec<i64> = schema.pending.iter().map(|s| s.version).collect();
        let newer: Vec<i64> = embedded(Backend::Sqlite)
            .iter()
            .map(|m| m.version)
            .filter(|v| *v > 9)
            .collect();
        assert_eq!(pending, newer);
        assert!(pending.starts_with(&[10, 11]), "{pending:?}");
        assert_eq!(schema.pending[0].description, "key scopes");
        assert_eq!(schema.refusal, None);
    }

    #[test]
    fn a_newer_database_is_refused_naming_both_schemas_and_the_restore() {
        let mut applied = applied_up_to(Backend::Postgres, 99);
        applied.push(Applied {
            version: 9999,
            description: "from the future".into(),
            checksum: vec![0; 48],
            success: true,
        });
        let schema = compare(Backend::Postgres, &applied);
        assert!(schema.pending.is_empty());
        let refusal = schema.refusal.expect("refused");
        let line = refusal.to_string();
        assert!(line.contains("schema 9999"), "{line}");
        let newest = embedded(Backend::Postgres)
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or_default();
        assert!(
            line.contains(&format!("fila {FILA_VERSION}, schema up to {newest:04}")),
            "{line}"
        );
        assert!(line.contains("pg_restore"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn a_changed_or_unfinished_migration_is_refused() {
        let mut applied = applied_up_to(Backend::Sqlite, 99);
        applied[4].checksum[0] ^= 1;
        let refusal = compare(Backend::Sqlite, &applied).refusal;
        assert!(
            matches!(&refusal, Some(Refusal::Modified { version: 6, .. })),
            "{refusal:?}"
        );
        applied[4].success = false;
        assert_eq!(
            compare(Backend::Sqlite, &applied).refusal,
            Some(Refusal::Unfinished { version: 6 })
        );
    }
}
