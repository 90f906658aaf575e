//! The `fila` binary as an operator meets it: copied anywhere, run from an empty folder, it
//! serves the web app built into it; a failing command prints one line and exits non-zero.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};

mod common;

use common::{FILA, Server};

/// A `fila serve` child process, killed when dropped.
/// Starts `fila serve` with `dir` as its working folder and nothing else in it.
fn serve_in(dir: &Path) -> Server {
    Server::start(
        Command::new(FILA)
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("FILA_WEB_DIR")
            .env_remove("DATABASE_URL")
            .stderr(Stdio::null()),
    )
}

#[tokio::test]
async fn serves_the_built_in_web_app_from_an_empty_folder() {
    let repo_index = Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist/index.html");
    assert!(
        repo_index.exists(),
        "the web app must be built before the binary (scripts/build-web, then cargo build)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve_in(dir.path());
    let client = reqwest::Client::new();

    // Any route of the single-page app is its index.html, revalidated through its ETag.
    let page = client
        .get(format!("{}/agenda", server.base))
        .send()
        .await
        .expect("GET /agenda");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(page.headers()[CACHE_CONTROL], "no-cache");
    let etag = page.headers()[ETAG].clone();
    let html = page.text().await.expect("index body");
    assert!(html.contains("id=\"root\""), "not the web app: {html}");
    let again = client
        .get(format!("{}/", server.base))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .expect("GET / again");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The script the page names is served from memory, cached for good, compressed on request.
    let script = html
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("index.html names its script")
        .to_string();
    let asset = client
        .get(format!("{}{script}", server.base))
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .expect("GET the script");
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(
        asset.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(asset.headers()[CONTENT_ENCODING], "br");
    assert!(
        asset.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );

    // No source map is served, and an unknown asset is a 404 rather than the page.
    let map = client
        .get(format!("{}{script}.map", server.base))
        .send()
        .await
        .expect("GET the map");
    assert_eq!(map.status(), StatusCode::NOT_FOUND);

    // The API is there too, with its database created in the working folder.
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(dir.path().join("fila.db").exists());
}

#[test]
fn a_failing_command_prints_one_line_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://db/fila",
        ])
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(
        lines[0].starts_with("fila: error: ") && lines[0].contains("unsupported database URL"),
        "unexpected error line: {stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn a_listen_address_in_use_names_the_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args(["serve", "--listen", &addr])
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("binding {addr}")) && stderr.contains("in use"),
        "{stderr}"
    );
}

/// Runs `fila ARGS...` on the SQLite database `db` (none of the caller's environment leaks in);
/// answers whether it succeeded, its stdout and its stderr.
fn fila_on(db: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(FILA)
        .args(args)
        .args(["--database-url", db])
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run fila");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The one JSON line a command printed.
fn json_line(stdout: &str) -> serde_json::Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stdout}");
    serde_json::from_str(lines[0]).expect("a JSON line")
}

#[test]
fn an_operator_adds_a_master_to_a_clinic_and_lists_its_users() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("fila.db").display());
    let (ok, out, err) = fila_on(
        &db,
        &[
            "accounts",
            "create",
            "--name",
            "Clínica",
            "--email",
            "dona@clinica.test",
            "--password",
            "senha-forte-1",
        ],
    );
    assert!(ok, "{err}");
    let account = json_line(&out)["accountId"].as_i64().expect("accountId");
    let account_arg = account.to_string();

    let (ok, out, err) = fila_on(
        &db,
        &[
            "users",
            "create",
            "--account",
            &account_arg,
            "--email",
            " Nova@Clinica.test ",
            "--name",
            "Nova Master",
            "--password",
            "outra-senha-1",
            "--master",
        ],
    );
    assert!(ok, "{err}");
    let created = json_line(&out);
    let user_id = created["userId"].as_i64().expect("userId");
    assert_eq!(created, serde_json::json!({ "userId": user_id }));
    let (ok, out, err) = fila_on(
        &db,
        &[
            "users",
            "create",
            "--account",
            &account_arg,
            "--email",
            "staff@clinica.test",
            "--name",
            "Ana",
            "--password",
            "recepcao123",
        ],
    );
    assert!(ok, "{err}");
    let staff_id = json_line(&out)["userId"].as_i64().expect("userId");

    let (ok, out, err) = fila_on(&db, &["users", "list", "--account", &account_arg]);
    assert!(ok, "{err}");
    let users: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(users.len(), 3, "{out}");
    let ana = &users[0];
    assert_eq!(
        *ana,
        serde_json::json!({"id": staff_id, "name": "Ana", "email": "staff@clinica.test",
                           "isMaster": false, "active": true})
    );
    assert_eq!(users[2]["id"], user_id);
    assert_eq!(users[2]["email"], "nova@clinica.test", "kept in lower case");
    assert_eq!(users[2]["isMaster"], true);
    for user in &users {
        let keys: Vec<&String> = user.as_object().expect("an object").keys().collect();
        assert_eq!(
            keys,
            ["id", "name", "email", "isMaster", "active"],
            "{user}"
        );
    }
    assert!(!out.contains("argon2"), "never a password hash: {out}");
}

#[test]
fn users_commands_refuse_bad_input_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("fila.db").display());
    let (ok, out, err) = fila_on(
        &db,
        &[
            "accounts",
            "create",
            "--name",
            "Clínica",
            "--email",
            "dona@clinica.test",
            "--password",
            "senha-forte-1",
        ],
    );
    assert!(ok, "{err}");
    let account = json_line(&out)["accountId"]
        .as_i64()
        .expect("accountId")
        .to_string();
    let create = |account: &str, email: &str, password: &str| {
        fila_on(
            &db,
            &[
                "users",
                "create",
                "--account",
                account,
                "--email",
                email,
                "--name",
                "X",
                "--password",
                password,
            ],
        )
    };
    for ((ok, out, err), expected) in [
        (
            create("999", "x@clinica.test", "senha-forte-1"),
            "no account with id 999",
        ),
        (
            create(&account, "DONA@clinica.test", "senha-forte-1"),
            "a user with this email already exists",
        ),
        (
            create(&account, "x@clinica.test", "curta"),
            "password must have at least 8 characters",
        ),
        (
            create(&account, "not-an-email", "senha-forte-1"),
            "email must be a valid email address",
        ),
        (
            fila_on(&db, &["users", "list", "--account", "999"]),
            "no account with id 999",
        ),
    ] {
        assert!(!ok, "{expected}: should fail");
        assert!(out.is_empty(), "{expected}: nothing on stdout: {out}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines, [format!("fila: error: {expected}")], "{err}");
    }
    let (_, out, _) = fila_on(&db, &["users", "list", "--account", &account]);
    assert_eq!(out.lines().count(), 1, "nothing was created: {out}");
}

#[test]
fn a_default_time_zone_that_is_not_an_iana_name_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("FILA_TIME_ZONE", "BRT3")
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--time-zone (FILA_TIME_ZONE)") && stderr.contains("'BRT3'"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("fila.db").exists(),
        "refused before touching the database"
    );
}

#[test]
fn a_trusted_proxy_that_is_not_an_address_or_a_cidr_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args([
            "--trusted-proxy",
            "10.0.0.0/8",
            "--trusted-proxy",
            "::1,10.0.0.0/33",
        ])
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--trusted-proxy (FILA_TRUSTED_PROXIES)")
            && stderr.contains("'10.0.0.0/33'"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("fila.db").exists(),
        "refused before touching the database"
    );
}

/// Starts `fila serve --config fila.toml` in `dir` with `text` as the file, and answers the
/// address it printed.
fn serve_with_config(dir: &Path, text: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    std::fs::write(dir.join("fila.toml"), text).expect("write fila.toml");
    let mut command = Command::new(FILA);
    command
        .current_dir(dir)
        .args(["serve", "--config", "fila.toml"])
        .args(args)
        .env_remove("FILA_LISTEN")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start fila");
    let stdout = child.stdout.take().expect("stdout");
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| Some(line.strip_prefix("Fila is running at ")?.trim().to_string()))
        .expect("fila started and printed its address");
    Server { child, base }
}

#[tokio::test]
async fn a_settings_file_sets_the_address_and_the_database_under_flags_and_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = taken.local_addr().expect("addr").to_string();
    let file = "listen = \"127.0.0.1:0\"\ndatabase-url = \"sqlite://from-file.db\"\ntrusted-proxy = [\"127.0.0.1\"]\n";
    let server = serve_with_config(dir.path(), file, &[], &[]);
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        dir.path().join("from-file.db").exists(),
        "the file's database"
    );
    assert!(!dir.path().join("fila.db").exists(), "not the default one");
    drop(server);

    // The file's address is taken: a flag, or the environment, wins over it.
    let file = format!("listen = \"{taken}\"\ndatabase_url = \"sqlite://from-file.db\"\n");
    let server = serve_with_config(dir.path(), &file, &["--listen", "127.0.0.1:0"], &[]);
    assert!(!server.base.ends_with(&taken), "{}", server.base);
    drop(server);
    let server = serve_with_config(dir.path(), &file, &[], &[("FILA_LISTEN", "127.0.0.1:0")]);
    assert!(!server.base.ends_with(&taken), "{}", server.base);
    drop(server);

    // FILA_CONFIG names the file too.
    std::fs::write(dir.path().join("other.toml"), "no-such-setting = 1\n").expect("write");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("FILA_CONFIG", "other.toml")
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("other.toml: unknown key `no-such-setting`"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_key_in_the_settings_file_stops_the_start_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("fila.toml"),
        "listen = \"127.0.0.1:0\"\nlisten_port = 3000\n",
    )
    .expect("write");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args(["serve", "--config", "fila.toml"])
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("fila.toml: unknown key `listen_port`"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("fila.db").exists(),
        "refused before touching the database"
    );

    std::fs::write(dir.path().join("fila.toml"), "token-ttl = \"an hour\"\n").expect("write");
    let output = Command::new(FILA)
        .current_dir(dir.path())
        .args(["serve", "--config", "fila.toml"])
        .env("RUST_LOG", "off")
        .output()
        .expect("run fila");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fila.toml: key `token-ttl`: invalid value 'an hour'"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_sighup_without_tls_leaves_the_server_running() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = serve_in(dir.path());
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        server.child.try_wait().expect("wait").is_none(),
        "still running"
    );
    let health = reqwest::get(format!("{}/healthz", server.base))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}
