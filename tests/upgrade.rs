//! Upgrades as an operator runs them: the real `fila` binary on a real SQLite file, asked what it
//! would apply (`fila migrate --check`), applying it (`fila migrate`), refusing a database a
//! newer Fila upgraded, and a running server that tolerates a newer schema until its restart.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

mod common;

use common::{FILA, Server};
const VERSION: &str = env!("CARGO_PKG_VERSION");
const EMAIL: &str = "recepcao@exemplo.com.br";
const PASSWORD: &str = "senha-forte-123";

fn url_of(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

/// The versions of `migrations/sqlite`, in order (what this binary embeds).
fn shipped_versions() -> Vec<i64> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut versions: Vec<i64> = std::fs::read_dir(dir)
        .expect("migrations folder")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.split('_').next()?.parse().ok()
        })
        .collect();
    versions.sort();
    versions
}

/// `fila ARGS... --database-url <db>`: its exit code, stdout and stderr.
fn fila_on(db: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(FILA)
        .args(args)
        .args(["--database-url", &url_of(db)])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run fila");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The one JSON line of a `fila migrate` run that exited with `code`.
fn migrate_line(run: (Option<i32>, String, String), code: i32) -> (Value, String) {
    let (status, stdout, stderr) = run;
    assert_eq!(status, Some(code), "stdout: {stdout} stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stdout}");
    (serde_json::from_str(lines[0]).expect("a JSON line"), stderr)
}

fn versions_of(steps: &Value) -> Vec<i64> {
    steps
        .as_array()
        .expect("a list of migrations")
        .iter()
        .map(|s| s["version"].as_i64().expect("version"))
        .collect()
}

async fn open(db: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(true)
        .connect()
        .await
        .expect("open the database")
}

/// What a newer Fila leaves behind: an additive migration (a column with a default, a table)
/// recorded as version 9999.
async fn upgrade_as_a_newer_fila_would(db: &Path) {
    let mut conn = open(db).await;
    for sql in [
        "ALTER TABLE patients ADD COLUMN preferred_name TEXT",
        "CREATE TABLE future_things (id INTEGER PRIMARY KEY, note TEXT NOT NULL DEFAULT '')",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'future things', 1, X'00', 0)",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    }
    conn.close().await.expect("close");
}

/// The line every command prints on a database a newer Fila upgraded.
fn assert_refused_as_newer(code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(2), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    let newest = shipped_versions().last().copied().expect("a migration");
    for part in [
        "fila: error: this database was upgraded by a newer Fila".to_string(),
        "schema 9999".to_string(),
        format!("this is fila {VERSION}, schema up to {newest:04}"),
        "`fila restore --from` the backup taken before the upgrade".to_string(),
        "\"Upgrades and rollback\" in docs/deployment.md".to_string(),
    ] {
        assert!(lines[0].contains(&part), "{part:?} missing from: {stderr}");
    }
}

#[test]
fn migrate_check_on_a_new_database_lists_every_migration_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fila.db");
    let (line, stderr) = migrate_line(fila_on(&db, &["migrate", "--check"]), 10);
    assert_eq!(line["status"], "pending");
    assert_eq!(line["schema"], Value::Null);
    assert_eq!(versions_of(&line["pending"]), shipped_versions());
    assert_eq!(line["pending"][0]["description"], "initial");
    assert_eq!(line["fila"], VERSION);
    assert!(stderr.contains("a new database"), "{stderr}");
    assert!(!db.exists(), "--check created the database");
}

#[tokio::test]
async fn fila_migrate_applies_what_an_older_database_lacks_and_then_it_is_up_to_date() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fila.db");
    // The database as the release with migrations up to 0009 left it.
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).expect("folder");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&shipped).expect("migrations") {
        let name = entry.expect("entry").file_name();
        if name.to_string_lossy().as_ref() < "0010" {
            std::fs::copy(shipped.join(&name), old.join(&name)).expect("copy");
        }
    }
    let mut conn = open(&db).await;
    Migrator::new(old.as_path())
        .await
        .expect("old migrations")
        .run(&mut conn)
        .await
        .expect("migrate like the old release");
    conn.close().await.expect("close");
    let newer: Vec<i64> = shipped_versions().into_iter().filter(|v| *v > 9).collect();

    let (line, stderr) = migrate_line(fila_on(&db, &["migrate", "--check"]), 10);
    assert_eq!(line["status"], "pending");
    assert_eq!(line["schema"], 9);
    assert_eq!(versions_of(&line["pending"]), newer);
    assert!(stderr.contains("0010 key scopes"), "{stderr}");
    // --check applied nothing.
    let (again, _) = migrate_line(fila_on(&db, &["migrate", "--check"]), 10);
    assert_eq!(again["schema"], 9);

    let (line, _) = migrate_line(fila_on(&db, &["migrate"]), 0);
    assert_eq!(line["status"], "migrated");
    assert_eq!(versions_of(&line["applied"]), newer);
    assert_eq!(line["schema"], line["binarySchema"]);

    let (line, stderr) = migrate_line(fila_on(&db, &["migrate", "--check"]), 0);
    assert_eq!(line["status"], "up-to-date");
    assert_eq!(versions_of(&line["pending"]), Vec::<i64>::new());
    assert!(stderr.contains("up to date"), "{stderr}");
    let (line, _) = migrate_line(fila_on(&db, &["migrate"]), 0);
    assert_eq!(line["status"], "up-to-date");
}

#[tokio::test]
async fn a_database_with_a_changed_migration_is_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("fila.db");
    migrate_line(fila_on(&db, &["migrate"]), 0);
    let mut conn = open(&db).await;
    sqlx::raw_sql("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 5")
        .execute(&mut conn)
        .await
        .expect("change the checksum");
    conn.close().await.expect("close");

    let (line, stderr) = migrate_line(fila_on(&db, &["migrate", "--check"]), 2);
    assert_eq!(line["status"], "modified");
    let (code, _, serve_err) = fila_on(&db, &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{serve_err}");
    for stderr in [stderr, serve_err] {
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("migration 0005 (clinic day) in this database differs"),
            "{stderr}"
        );
    }
}

/// A `fila serve` child process, killed when dropped.
fn serve(db: &Path) -> Server {
    Server::start(
        Command::new(FILA)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(url_of(db))
            .env_remove("DATABASE_URL")
            .env_remove("FILA_BACKUP_DIR")
            .env("RUST_LOG", "off")
            .stderr(Stdio::null()),
    )
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
    body["accessToken"].as_str().expect("token").to_string()
}

async fn create_patient(client: &reqwest::Client, base: &str, token: &str, name: &str) {
    let res = client
        .post(format!("{base}/api/patients"))
        .bearer_auth(token)
        .json(&json!({"name": name}))
        .send()
        .await
        .expect("POST /api/patients");
    assert_eq!(res.status(), StatusCode::CREATED, "creating {name}");
}

async fn patient_names(client: &reqwest::Client, base: &str, token: &str) -> Vec<String> {
    let res = client
        .get(format!("{base}/api/patients"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /api/patients");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("patients");
    let list = body.get("data").unwrap_or(&body);
    let mut names: Vec<String> = list
        .as_array()
        .expect("a list of patients")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_running_server_tolerates_a_newer_schema_refuses_a_restart_and_a_restore_rolls_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db: PathBuf = dir.path().join("fila.db");
    let (code, out, err) = fila_on(
        &db,
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
    );
    assert_eq!(code, Some(0), "{out} {err}");
    let server = serve(&db);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    create_patient(&client, &server.base, &token, "Antes do backup").await;
    let backup = dir.path().join("before-upgrade.db");
    let (code, out, err) = fila_on(&db, &["backup", "--to", backup.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out} {err}");

    // A newer Fila migrates the database while this (older) node runs: it goes on serving.
    upgrade_as_a_newer_fila_would(&db).await;
    create_patient(&client, &server.base, &token, "Depois do upgrade").await;
    assert_eq!(
        patient_names(&client, &server.base, &token).await,
        ["Antes do backup", "Depois do upgrade"]
    );
    drop(server);

    // Restarted, it refuses the newer database in one line; so do its other commands.
    let (code, _, stderr) = fila_on(&db, &["serve", "--listen", "127.0.0.1:0"]);
    assert_refused_as_newer(code, &stderr);
    let (code, _, stderr) = fila_on(&db, &["users", "list", "--account", "1"]);
    assert_refused_as_newer(code, &stderr);
    let (line, stderr) = migrate_line(fila_on(&db, &["migrate", "--check"]), 2);
    assert_eq!(line["status"], "newer");
    assert_eq!(line["schema"], 9999);
    assert_refused_as_newer(Some(2), &stderr);

    // The rollback: restore the backup taken before the upgrade, and the old binary starts.
    let (code, out, err) = fila_on(&db, &["restore", "--from", backup.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out} {err}");
    let (line, _) = migrate_line(fila_on(&db, &["migrate", "--check"]), 0);
    assert_eq!(line["status"], "up-to-date");
    let server = serve(&db);
    let token = login(&client, &server.base).await;
    assert_eq!(
        patient_names(&client, &server.base, &token).await,
        ["Antes do backup"],
        "the restore brings back the backup: writes made after it are gone"
    );
}

#[test]
fn the_changelog_names_the_schema_of_the_newest_release() {
    let changelog =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("CHANGELOG.md"))
            .expect("CHANGELOG.md");
    let newest = changelog.split("\n## ").nth(1).expect("a release section");
    let newest_migration = shipped_versions().last().copied().expect("a migration");
    assert!(
        newest.contains(&format!("Schema: {newest_migration:04}")),
        "the newest section of CHANGELOG.md must say `Schema: {newest_migration:04}`"
    );
    assert!(
        newest.contains("### Upgrading"),
        "the newest section of CHANGELOG.md has its upgrade notes"
    );
}

/// The rule a rolling upgrade rests on (`docs/deployment.md`, *Upgrades and rollback*): a
/// migration adds, it never drops, renames or retypes what running older nodes use. 0003 is
/// the one exception, upgraded with every node stopped; a new exception must be listed here
/// and in the release's Upgrading notes.
#[test]
fn every_migration_after_0003_is_additive() {
    const NOT_ADDITIVE: [&str; 1] = ["0003_cluster_delivery.sql"];
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        for entry in std::fs::read_dir(&dir).expect("migrations") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            if NOT_ADDITIVE.contains(&name.as_str()) {
                continue;
            }
            let sql = std::fs::read_to_string(&path).expect("read");
            let code: String = sql
                .lines()
                .map(|line| line.split("--").next().unwrap_or("").to_uppercase())
                .collect::<Vec<_>>()
                .join(" ");
            for word in ["DROP ", "RENAME ", "ALTER COLUMN"] {
                assert!(
                    !code.contains(word),
                    "{backend}/{name} has `{word}`: not additive (see the comment above)"
                );
            }
        }
    }
}
