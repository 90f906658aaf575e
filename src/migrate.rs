//! `fila migrate`: what this binary would apply to a database (`--check`, which changes
//! nothing), and applying it ahead of the servers' restart (the first step of a rolling
//! upgrade).
//!
//! It prints one JSON line on stdout, `{"status",..}`, and a sentence on stderr. Its exit
//! status is what a script acts on: 0 nothing (more) to apply, [`PENDING`] migrations to apply
//! (`--check` only), 2 this binary refuses the database (the line `fila serve` would print),
//! 1 the database could not be read.

use std::process::ExitCode;

use serde_json::json;

use crate::config::MigrateArgs;
use crate::store::schema::{self, FILA_VERSION, Refusal, Schema, Step};
use crate::store::{Backend, Store};

/// The exit status of `fila migrate --check` when this binary would apply migrations.
pub const PENDING: u8 = 10;

/// Runs `fila migrate` and answers its exit status (errors printed as `main` prints them).
pub async fn run(args: MigrateArgs) -> ExitCode {
    match migrate(&args).await {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("fila: error: {error:#}");
            ExitCode::from(crate::backup::exit_status(&error))
        }
    }
}

async fn migrate(args: &MigrateArgs) -> anyhow::Result<u8> {
    let backend = Backend::of(&args.database_url)?;
    let before = schema::inspect(&args.database_url, backend).await?;
    if let Some(refusal) = before.refusal.clone() {
        print_line(&before, status_of(&refusal), None);
        return Err(refusal.into());
    }
    if before.pending.is_empty() {
        print_line(&before, "up-to-date", None);
        eprintln!(
            "The database is up to date (schema {:04}, the newest fila {FILA_VERSION} knows): nothing to apply.",
            before.binary
        );
        return Ok(0);
    }
    if args.check {
        print_line(&before, "pending", None);
        eprintln!(
            "fila {FILA_VERSION} would apply {} to this database ({} → {:04}): {}. Back up first (see \"Upgrades and rollback\" in docs/deployment.md).",
            count(before.pending.len()),
            from(before.database),
            before.binary,
            list(&before.pending)
        );
        return Ok(PENDING);
    }
    // Like a server, never while `fila restore` replaces the SQLite file.
    let _lock = crate::backup::lock_for_serving(&args.database_url)?;
    let store = Store::connect(&args.database_url).await?;
    store.pool().close().await;
    let after = schema::inspect(&args.database_url, backend).await?;
    print_line(&after, "migrated", Some(&before.pending));
    eprintln!(
        "Applied {} ({} → {:04}): {}.",
        count(before.pending.len()),
        from(before.database),
        after.database.unwrap_or(0),
        list(&before.pending)
    );
    Ok(0)
}

fn status_of(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::Newer { .. } => "newer",
        Refusal::Modified { .. } => "modified",
        Refusal::Unfinished { .. } => "unfinished",
    }
}

/// The JSON line: the status, both schemas, and what is pending (or was just applied).
fn print_line(schema: &Schema, status: &str, applied: Option<&[Step]>) {
    let steps = |steps: &[Step]| -> Vec<serde_json::Value> {
        steps
            .iter()
            .map(|s| json!({"version": s.version, "description": s.description}))
            .collect()
    };
    let mut line = json!({
        "status": status,
        "backend": match schema.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        "schema": schema.database,
        "binarySchema": schema.binary,
        "fila": FILA_VERSION,
        "pending": steps(&schema.pending),
    });
    if let Some(applied) = applied {
        line["applied"] = steps(applied).into();
    }
    println!("{line}");
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 migration".into()
    } else {
        format!("{n} migrations")
    }
}

fn from(database: Option<i64>) -> String {
    match database {
        Some(version) => format!("schema {version:04}"),
        None => "a new database".into(),
    }
}

fn list(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|s| format!("{:04} {}", s.version, s.description))
        .collect::<Vec<_>>()
        .join(", ")
}
