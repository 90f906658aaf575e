//! The snapshots `fila serve --backup-dir` takes: every `--backup-every`, a checked copy named
//! `fila-YYYYMMDDTHHMMSSZ.db`, and only the newest `--backup-keep` kept. A failed snapshot is
//! logged and removed; it never stops the server.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::config::SnapshotArgs;

const PREFIX: &str = "fila-";
const SUFFIX: &str = "Z.db";

/// Where and how often snapshots are taken.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub database: PathBuf,
    pub dir: PathBuf,
    pub every: Duration,
    pub keep: usize,
}

impl Schedule {
    /// The schedule `--backup-dir` asks for, `None` without it. The folder is created; a
    /// PostgreSQL database refuses the flag (its backups are `pg_dump`'s).
    pub fn from_args(database_url: &str, args: &SnapshotArgs) -> anyhow::Result<Option<Schedule>> {
        let Some(dir) = &args.backup_dir else {
            return Ok(None);
        };
        let database = match super::sqlite_file(database_url)? {
            Some(file) => file,
            None => return Err(super::NotOnPostgres("--backup-dir").into()),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating --backup-dir {}", dir.display()))?;
        let dir = std::path::absolute(dir)
            .with_context(|| format!("resolving --backup-dir {}", dir.display()))?;
        Ok(Some(Schedule {
            database,
            dir,
            every: *args.backup_every,
            keep: usize::try_from(args.backup_keep).unwrap_or(usize::MAX),
        }))
    }

    /// Takes snapshots until the task is aborted. The first is due `every` after the newest
    /// snapshot already in the folder (at once if there is none), so restarts neither skip
    /// nor crowd them.
    pub async fn run(self) {
        remove_partials(&self.dir);
        let newest_age = snapshots(&self.dir)
            .last()
            .and_then(|newest| newest.metadata().ok()?.modified().ok())
            .and_then(|at| SystemTime::now().duration_since(at).ok());
        let first = match newest_age {
            Some(age) => self.every.saturating_sub(age),
            None => Duration::ZERO,
        };
        tokio::time::sleep(first).await;
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.take_one().await;
        }
    }

    async fn take_one(&self) {
        let name = format!(
            "{PREFIX}{}{SUFFIX}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S")
        );
        let target = self.dir.join(name);
        if target.exists() {
            tracing::warn!(snapshot = %target.display(), "a snapshot of this second exists; skipped");
            return;
        }
        match super::copy_database(&self.database, &target).await {
            Ok(copy) => {
                tracing::info!(
                    snapshot = %copy.path.display(),
                    bytes = copy.bytes,
                    took_ms = u64::try_from(copy.took.as_millis()).unwrap_or(u64::MAX),
                    "database snapshot taken and checked"
                );
                self.prune();
            }
            Err(error) => {
                // `copy_database` leaves nothing behind on failure.
                tracing::warn!(snapshot = %target.display(), error = format!("{error:#}"), "database snapshot failed");
            }
        }
    }

    /// Deletes all but the newest `keep` snapshots.
    fn prune(&self) {
        let all = snapshots(&self.dir);
        let extra = all.len().saturating_sub(self.keep);
        for old in &all[..extra] {
            match std::fs::remove_file(old) {
                Ok(()) => tracing::info!(snapshot = %old.display(), "old snapshot removed"),
                Err(error) => {
                    tracing::warn!(snapshot = %old.display(), error = %error, "removing an old snapshot failed")
                }
            }
        }
    }
}

/// The snapshots in `dir`, oldest first (their names sort by time).
fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(is_snapshot_name)
        })
        .collect();
    found.sort();
    found
}

fn is_snapshot_name(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
        .is_some_and(|stamp| {
            stamp.len() == 15 && stamp.chars().all(|c| c.is_ascii_digit() || c == 'T')
        })
}

/// Removes the unfinished copies a stopped server left.
fn remove_partials(dir: &Path) {
    for path in snapshot_partials(dir) {
        let _ = std::fs::remove_file(path);
    }
}

fn snapshot_partials(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".partial"))
                .is_some_and(is_snapshot_name)
        })
        .collect()
}

/// Parses `--backup-every`: a duration such as `1h`, `30m` or `90s`, at least one second.
pub fn parse_every(text: &str) -> Result<humantime::Duration, String> {
    let every: humantime::Duration = text
        .parse()
        .map_err(|error| format!("{error} (expected e.g. 1h, 30m, 90s)"))?;
    if every.as_secs() < 1 {
        return Err("must be at least 1s".to_string());
    }
    Ok(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_snapshot_names_count() {
        assert!(is_snapshot_name("fila-20261208T020512Z.db"));
        assert!(!is_snapshot_name("fila.db"));
        assert!(!is_snapshot_name("fila-20261208T020512Z.db.partial"));
        assert!(!is_snapshot_name("fila-latestZ.db"));
    }

    #[test]
    fn the_interval_is_a_duration_of_a_second_or_more() {
        assert_eq!(*parse_every("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(*parse_every("30m").unwrap(), Duration::from_secs(1800));
        assert!(parse_every("500ms").is_err());
        assert!(parse_every("often").is_err());
    }
}
