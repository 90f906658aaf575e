//! Backups as an operator takes them: the real `fila` binary serving a real SQLite file while
//! `fila backup`, `fila restore`, `fila secret rotate` and the scheduled snapshots run beside it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

mod common;

use common::{FILA, Server};
const EMAIL: &str = "recepcao@exemplo.com.br";
const PASSWORD: &str = "senha-forte-123";

/// A `fila serve` child process, killed when dropped.
fn url_of(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

/// Starts `fila serve` on the SQLite file `db` with `extra` flags.
fn serve(db: &Path, extra: &[&str]) -> Server {
    serve_logging(db, extra, None)
}

/// [`serve`], with its warnings written to `log` when given.
fn serve_logging(db: &Path, extra: &[&str], log: Option<&Path>) -> Server {
    let (filter, stderr) = match log {
        Some(file) => (
            "warn",
            Stdio::from(std::fs::File::create(file).expect("log")),
        ),
        None => ("off", Stdio::null()),
    };
    Server::start(
        Command::new(FILA)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(url_of(db))
            .args(extra)
            .env_remove("DATABASE_URL")
            .env_remove("FILA_BACKUP_DIR")
            .env("RUST_LOG", filter)
            .stderr(stderr),
    )
}

/// Runs `fila ARGS... --database-url <db>`: whether it succeeded, its exit code, stdout, stderr.
fn fila_on(db: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(FILA)
        .args(args)
        .args(["--database-url", db])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The one JSON line a successful command printed.
fn succeeded(run: (Option<i32>, String, String)) -> Value {
    let (code, stdout, stderr) = run;
    assert_eq!(code, Some(0), "stdout: {stdout} stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stdout}");
    serde_json::from_str(lines[0]).expect("a JSON line")
}

/// A fresh database with one clinic whose master is `EMAIL` / `PASSWORD`.
fn clinic_db(dir: &Path) -> PathBuf {
    let db = dir.join("fila.db");
    succeeded(fila_on(
        &url_of(&db),
        &[
            "accounts",
            "create",
            "--name",
            "Clínica Exemplo",
            "--email",
            EMAIL,
            "--password",
            PASSWORD,
        ],
    ));
    db
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let res = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("login body");
    body["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_string()
}

async fn status_of(client: &reqwest::Client, base: &str, token: &str, path: &str) -> StatusCode {
    client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .status()
}

/// `PRAGMA integrity_check` of a database file, opened read-only.
async fn integrity(file: &Path) -> Vec<String> {
    let mut conn = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
        .expect("url")
        .read_only(true)
        .connect()
        .await
        .expect("open the copy");
    let verdict = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    conn.close().await.expect("close");
    verdict
}

/// One acknowledged write: the patient's id and name, and when its 201 arrived.
struct Acked {
    id: i64,
    name: String,
    at: Instant,
}

/// Creates patients at about 25 a second until `stop` fires; returns every acknowledged one.
async fn write_patients(
    client: reqwest::Client,
    base: String,
    token: String,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<Acked> {
    let mut acked = Vec::new();
    let mut every = tokio::time::interval(Duration::from_millis(40));
    for n in 0.. {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = every.tick() => {}
        }
        let name = format!("Paciente {n}");
        let res = client
            .post(format!("{base}/api/patients"))
            .bearer_auth(&token)
            .json(&json!({"name": name}))
            .send()
            .await
            .expect("POST /api/patients");
        assert_eq!(res.status(), StatusCode::CREATED);
        let at = Instant::now();
        let body: Value = res.json().await.expect("patient");
        let id = body["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .or_else(|| body["id"].as_i64())
            .expect("the patient's id");
        acked.push(Acked { id, name, at });
    }
    acked
}

#[tokio::test]
async fn a_backup_taken_under_writes_holds_every_write_acknowledged_before_it_began() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = clinic_db(dir.path());
    let server = serve(&db, &[]);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;

    let stop = tokio_util::sync::CancellationToken::new();
    let writer = tokio::spawn(write_patients(
        client.clone(),
        server.base.clone(),
        token.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(2_000)).await;

    let copy = dir.path().join("copia.db");
    let began = Instant::now();
    let backup = tokio::process::Command::new(FILA)
        .args(["backup", "--to"])
        .arg(&copy)
        .args(["--database-url", &url_of(&db)])
        .env("RUST_LOG", "off")
        .output()
        .await
        .expect("run fila backup");
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.cancel();
    let acked = writer.await.expect("the writer");
    server.stop();

    let stdout = String::from_utf8_lossy(&backup.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&backup.stderr).into_owned();
    let report = succeeded((backup.status.code(), stdout, stderr.clone()));
    assert_eq!(report["integrity"], "ok");
    assert!(report["bytes"].as_u64().unwrap_or(0) > 0, "{report}");
    assert!(
        stderr.contains("signing secret"),
        "the backup says it holds the secret: {stderr}"
    );
    let before: Vec<&Acked> = acked.iter().filter(|w| w.at < began).collect();
    let after = acked.iter().filter(|w| w.at > ended).count();
    assert!(
        before.len() >= 30,
        "{} writes before the backup",
        before.len()
    );
    assert!(after >= 10, "the writes went on after the backup: {after}");

    let restored = dir.path().join("restaurado.db");
    let report = succeeded(fila_on(
        &url_of(&restored),
        &["restore", "--from", copy.to_str().expect("utf-8 path")],
    ));
    assert_eq!(report["previous"], Value::Null);
    let server = serve(&restored, &[]);
    // The backup's secret and sessions came back with it: the old token still works.
    assert_eq!(
        status_of(&client, &server.base, &token, "/api/account").await,
        StatusCode::OK
    );
    let mut missing = Vec::new();
    for write in &before {
        let res = client
            .get(format!("{}/api/patients/{}", server.base, write.id))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET patient");
        let found = res.status() == StatusCode::OK
            && res.json::<Value>().await.expect("patient")["name"] == write.name.as_str();
        if !found {
            missing.push(write.id);
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes missing from the restored copy: {missing:?}",
        missing.len(),
        before.len()
    );
    eprintln!(
        "{} writes acknowledged in all, {} before the backup began: all in the restored copy; backup took {:?}",
        acked.len(),
        before.len(),
        ended - began
    );
}

#[tokio::test]
async fn a_restore_refuses_a_database_a_server_uses_and_keeps_the_one_it_replaces() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = clinic_db(dir.path());
    let url = url_of(&db);
    let copy = dir.path().join("copia.db");
    succeeded(fila_on(
        &url,
        &["backup", "--to", copy.to_str().expect("utf-8")],
    ));
    // A second backup to the same file is refused: a backup never overwrites.
    let (code, _, stderr) = fila_on(&url, &["backup", "--to", copy.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");

    let server = serve(&db, &[]);
    let (code, _, stderr) = fila_on(&url, &["restore", "--from", copy.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("in use by a running `fila serve`"),
        "{stderr}"
    );
    // The live database is untouched: the server goes on.
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    assert_eq!(
        status_of(&client, &server.base, &token, "/api/account").await,
        StatusCode::OK
    );
    // The live file is no backup: it has its write-ahead log beside it.
    let (code, _, stderr) = fila_on(
        &url_of(&dir.path().join("outro.db")),
        &["restore", "--from", db.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("write-ahead log"), "{stderr}");
    server.stop();

    let report = succeeded(fila_on(
        &url,
        &["restore", "--from", copy.to_str().expect("utf-8")],
    ));
    let previous = PathBuf::from(report["previous"].as_str().expect("the replaced database"));
    assert!(previous.exists(), "{report}");
    assert_eq!(integrity(&previous).await, ["ok"]);
    assert!(!dir.path().join("fila.db-wal").exists());
    let server = serve(&db, &[]);
    login(&client, &server.base).await;
}

#[tokio::test]
async fn serve_keeps_the_newest_checked_snapshots_in_the_backup_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = clinic_db(dir.path());
    let snaps = dir.path().join("snapshots");
    let _server = serve(
        &db,
        &[
            "--backup-dir",
            snaps.to_str().expect("utf-8"),
            "--backup-every",
            "1s",
            "--backup-keep",
            "2",
        ],
    );
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut current = Vec::new();
    while Instant::now() < deadline {
        current = std::fs::read_dir(&snaps)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".db"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        seen.extend(current.iter().cloned());
        if seen.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.len() >= 4, "snapshots taken: {seen:?}");
    assert!(current.len() <= 2, "only --backup-keep remain: {current:?}");
    for name in &current {
        assert!(
            name.starts_with("fila-") && name.ends_with("Z.db"),
            "{name}"
        );
        // A snapshot may be removed between the listing and the check; those present pass.
        let file = snaps.join(name);
        if file.exists() {
            assert_eq!(integrity(&file).await, ["ok"], "{name}");
        }
    }
}

/// The snapshots now in `dir` (none if it is missing).
fn snapshot_names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("fila-") && name.ends_with("Z.db"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_snapshot_is_logged_and_the_server_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = clinic_db(dir.path());
    let snaps = dir.path().join("snapshots");
    let log = dir.path().join("serve.log");
    let server = serve_logging(
        &db,
        &[
            "--backup-dir",
            snaps.to_str().expect("utf-8"),
            "--backup-every",
            "1s",
        ],
        Some(&log),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while snapshot_names(&snaps).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!snapshot_names(&snaps).is_empty(), "a first snapshot");

    // The folder disappears (an unmounted disk): the snapshots fail, the server serves.
    std::fs::remove_dir_all(&snaps).expect("remove the folder");
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("database snapshot failed") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(failed.contains("database snapshot failed"), "{failed}");
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    assert_eq!(
        status_of(&client, &server.base, &token, "/api/account").await,
        StatusCode::OK
    );

    // Back, the folder gets its snapshots again.
    std::fs::create_dir(&snaps).expect("recreate the folder");
    let deadline = Instant::now() + Duration::from_secs(10);
    while snapshot_names(&snaps).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let names = snapshot_names(&snaps);
    assert!(!names.is_empty(), "snapshots resumed");
    assert_eq!(integrity(&snaps.join(&names[0])).await, ["ok"]);
}

#[tokio::test]
async fn rotating_the_secret_ends_every_session_and_login_still_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = clinic_db(dir.path());
    let server = serve(&db, &[]);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    assert_eq!(
        status_of(&client, &server.base, &token, "/api/account").await,
        StatusCode::OK
    );

    let report = succeeded(fila_on(&url_of(&db), &["secret", "rotate"]));
    assert_eq!(report["secretRotated"], true);
    assert!(
        report["sessionsEnded"].as_u64().unwrap_or(0) >= 1,
        "{report}"
    );
    assert_eq!(
        status_of(&client, &server.base, &token, "/api/account").await,
        StatusCode::UNAUTHORIZED
    );
    let fresh = login(&client, &server.base).await;
    assert_eq!(
        status_of(&client, &server.base, &fresh, "/api/account").await,
        StatusCode::OK
    );

    // Restarted, the server signs with the new secret: the old token stays refused.
    server.stop();
    let server = serve(&db, &[]);
    assert_eq!(
        status_of(&client, &server.base, &token, "/api/account").await,
        StatusCode::UNAUTHORIZED
    );
    let after_restart = login(&client, &server.base).await;
    assert_eq!(
        status_of(&client, &server.base, &after_restart, "/api/account").await,
        StatusCode::OK
    );
}

#[test]
fn postgres_backups_exit_2_and_point_at_pg_dump() {
    for args in [
        ["backup", "--to", "copia.db"],
        ["restore", "--from", "copia.db"],
    ] {
        let (code, _, stderr) = fila_on("postgres://fila@localhost/fila", &args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("pg_dump") && stderr.contains("docs/deployment.md"),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn a_restore_refuses_what_is_not_a_backup_this_version_can_serve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = clinic_db(dir.path());
    let target = url_of(&dir.path().join("alvo.db"));

    let junk = dir.path().join("lixo.db");
    std::fs::write(&junk, "not a database at all").expect("write");
    let (code, _, stderr) = fila_on(
        &target,
        &["restore", "--from", junk.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("checking the backup"), "{stderr}");

    let newer = dir.path().join("nova.db");
    succeeded(fila_on(
        &url_of(&db),
        &["backup", "--to", newer.to_str().expect("utf-8")],
    ));
    let mut conn = SqliteConnectOptions::from_str(&url_of(&newer))
        .expect("url")
        .connect()
        .await
        .expect("open the copy");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("a migration this version does not know");
    conn.close().await.expect("close");
    let (code, _, stderr) = fila_on(
        &target,
        &["restore", "--from", newer.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("newer Fila (migration 9999"), "{stderr}");
    assert!(!dir.path().join("alvo.db").exists());
    assert!(!dir.path().join("alvo.db.partial").exists());
}
