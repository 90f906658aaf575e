//! The server under hostile or careless load, each test written as the attack: guessing
//! passwords and keys, racing the limit, forged or stretched tokens, oversized text, odd
//! methods against `/metrics`, idle and half-sent connections, a stop with a request hanging.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use fila::auth::jwt::{AUDIENCE, Claims, ISSUER};
use fila::auth::throttle;

use crate::helpers::{PASSWORD, TestApp};

const SECRET: &str = "a test secret of thirty-two bytes";

/// A client whose requests come from `127.0.0.{n}` (every 127/8 address is local on Linux),
/// so a test can play several networks.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

async fn login_from(
    client: &reqwest::Client,
    app: &TestApp,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn sixty_concurrent_wrong_passwords_cannot_race_past_the_limit() {
    let app = TestApp::spawn().await;
    app.create_account("Clínica", "race@clinica.test").await;
    let client = client_from(11);
    let guesses = (0..60).map(|i| {
        let client = client.clone();
        let url = format!("{}/api/auth/login", app.base);
        async move {
            client
                .post(url)
                .json(&json!({"email": "race@clinica.test", "password": format!("guess {i}")}))
                .send()
                .await
                .unwrap()
        }
    });
    let answers = futures_join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    let limited: Vec<_> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(checked + limited.len(), 60, "only 401 and 429");
    assert!(
        checked <= throttle::EMAIL_NETWORK_BURST as usize,
        "{checked} passwords were checked: the limit was raced"
    );
    assert!(limited.iter().all(|r| retry_after(r) >= 1));
    let wait = limited.iter().map(|r| retry_after(r)).max().unwrap();
    assert!(
        wait <= throttle::EMAIL_NETWORK_PERIOD.as_secs() * 2,
        "{wait}"
    );
    tokio::time::sleep(Duration::from_secs(wait)).await;
    // A fresh connection from the same network: the server closes one left idle that long.
    let owner = login_from(&client_from(11), &app, "race@clinica.test", PASSWORD).await;
    assert_eq!(
        owner.status(),
        StatusCode::OK,
        "the right password gets in after the back-off"
    );
}

#[tokio::test]
async fn a_guesser_hammering_the_email_cannot_keep_the_owner_out() {
    let app = TestApp::spawn().await;
    app.create_account("Clínica", "owner@clinica.test").await;
    let owner = client_from(21);
    // The guesser keeps going from two networks for the whole test.
    let stop = tokio::sync::watch::channel(false);
    let mut guessers = Vec::new();
    for n in [22u8, 23] {
        let client = client_from(n);
        let url = format!("{}/api/auth/login", app.base);
        let mut stopped = stop.1.clone();
        guessers.push(tokio::spawn(async move {
            let mut sent = 0u32;
            while !*stopped.borrow_and_update() && sent < 400 {
                let _ = client
                    .post(&url)
                    .json(&json!({"email": "owner@clinica.test", "password": "not it"}))
                    .send()
                    .await;
                sent += 1;
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let response = login_from(&owner, &app, "owner@clinica.test", PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "the owner gets in at once"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.0.send(true);
    for guesser in guessers {
        assert!(guesser.await.unwrap() > 10, "the guesser was running");
    }
    let refused = login_from(&client_from(22), &app, "owner@clinica.test", PASSWORD).await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser's network is the one slowed"
    );
}

#[tokio::test]
async fn many_correct_logins_from_one_address_are_never_slowed() {
    let app = TestApp::spawn().await;
    app.create_account("Clínica", "nat@clinica.test").await;
    let client = client_from(31);
    // A typo now and then, as a clinic behind one address has.
    let typo = login_from(&client, &app, "nat@clinica.test", "typo typo").await;
    assert_eq!(typo.status(), StatusCode::UNAUTHORIZED);
    for i in 0..(throttle::NETWORK_BURST * 3) {
        let response = login_from(&client, &app, "nat@clinica.test", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK, "login {i}");
    }
}

#[tokio::test]
async fn api_key_guessing_is_limited_and_counted_before_the_lookup() {
    let app = TestApp::spawn().await;
    let master = app.account_token("keys@clinica.test").await;
    let (_, created) = app
        .post("/api/api-keys", &master, json!({"name": "Painel"}))
        .await;
    let key = created["key"].as_str().unwrap().to_string();
    let guesser = client_from(41);
    let url = format!("{}/api/auth/token", app.base);
    let mut statuses = Vec::new();
    for i in 0..40 {
        let response = guesser
            .post(&url)
            .json(&json!({"apiKey": format!("fila_{i:032}")}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    let unknown = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(unknown + limited, 40);
    assert!(limited >= 15, "{limited} of 40 guesses limited");
    // The integration, on its own network, trades its key as often as it likes.
    let integration = client_from(42);
    for _ in 0..30 {
        let response = integration
            .post(&url)
            .json(&json!({"apiKey": key}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

fn forge(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn now() -> i64 {
    fila::domain::time::now_ms() / 1000
}

#[tokio::test]
async fn tokens_signed_with_the_secret_still_cannot_stretch_their_life() {
    let app = TestApp::spawn_with(|a| a.jwt_secret = Some(SECRET.to_string().into())).await;
    let (account_id, user_id) = app.create_account("Clínica", "jwt@clinica.test").await;
    // An open session, so that only the forged times can make a difference.
    let sid = decode(&app.login("jwt@clinica.test", PASSWORD).await).sid;
    let claims = |iat: i64, exp: i64| {
        json!({"sub": user_id.to_string(), "accountId": account_id, "iat": iat, "exp": exp,
               "aud": AUDIENCE, "iss": ISSUER, "sid": sid})
    };
    let t = now();
    let (status, _) = app.get("/api/account", &forge(&claims(t, t + 3600))).await;
    assert_eq!(status, StatusCode::OK, "a token the server would issue");
    for (what, token) in [
        ("ten years", forge(&claims(t, t + 10 * 365 * 86_400))),
        ("issued in an hour", forge(&claims(t + 3600, t + 7000))),
    ] {
        let (status, body) = app.get("/api/account", &token).await;
        assert_eq!(
            (status, body["message"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid token")),
            "{what}"
        );
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_an_empty_one_is_missing() {
    let app = TestApp::spawn().await;
    let token = app.account_token("scheme@clinica.test").await;
    for scheme in ["BEARER", "bearer", "Bearer", "bEaReR"] {
        let response = app
            .client
            .get(format!("{}/api/account", app.base))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
    for value in ["Bearer ", "Bearer", "bearer    "] {
        let response = app
            .client
            .get(format!("{}/api/account", app.base))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "missing token", "{value:?}");
    }
}

#[tokio::test]
async fn a_refresh_chain_ends_at_the_maximum_session_age() {
    let app = TestApp::spawn_with(|a| {
        a.jwt_secret = Some(SECRET.to_string().into());
        a.safety.max_session_hours = 8;
    })
    .await;
    let (account_id, user_id) = app.create_account("Clínica", "chain@clinica.test").await;
    let token = app.login("chain@clinica.test", PASSWORD).await;
    let (status, body) = app
        .call(Method::POST, "/api/auth/refresh", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let first: Claims = decode(&token);
    let next: Claims = decode(body["accessToken"].as_str().unwrap());
    assert_eq!(
        next.auth_time, first.auth_time,
        "refresh keeps the session start"
    );
    // A token of a session that began 8 hours ago, still within its own hour.
    let t = now();
    let old = forge(
        &json!({"sub": user_id.to_string(), "accountId": account_id, "iat": t, "exp": t + 600,
        "aud": AUDIENCE, "iss": ISSUER, "authTime": t - 8 * 3600, "sid": first.sid}),
    );
    let (status, _) = app.get("/api/account", &old).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the token itself is good until its exp"
    );
    let (status, body) = app
        .call(Method::POST, "/api/auth/refresh", Some(&old), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "session expired: log in again");
}

fn decode(token: &str) -> Claims {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn the_secret_may_come_from_a_file_and_stays_out_of_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwt-secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let app = TestApp::spawn_with(|a| a.safety.jwt_secret_file = Some(file.clone())).await;
    let (account_id, user_id) = app.create_account("Clínica", "file@clinica.test").await;
    let sid = decode(&app.login("file@clinica.test", PASSWORD).await).sid;
    let t = now();
    let token = forge(
        &json!({"sub": user_id.to_string(), "accountId": account_id, "iat": t,
        "exp": t + 60, "aud": AUDIENCE, "iss": ISSUER, "sid": sid}),
    );
    let (status, _) = app.get("/api/account", &token).await;
    assert_eq!(status, StatusCode::OK, "signed with the file's secret");
    let mut conn = app.store.pool().acquire().await.unwrap();
    let kept = fila::store::accounts::setting_or_insert(&mut conn, "jwt_secret", "unused")
        .await
        .unwrap();
    assert_eq!(kept, "unused", "no secret was written to the database");
}

#[tokio::test]
async fn unbounded_text_is_refused_with_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.account_token("long@clinica.test").await;
    let (status, body) = app
        .patch("/api/account", &token, json!({"name": "x".repeat(100_000)}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["message"][0],
        format!(
            "name must have at most {} characters",
            fila::limits::CLINIC_NAME_MAX
        )
    );
    let (_, account) = app.get("/api/account", &token).await;
    assert_eq!(account["name"], "Clínica");
    let (status, _) = app
        .patch(
            "/api/account",
            &token,
            json!({"name": "y".repeat(fila::limits::CLINIC_NAME_MAX)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the limit itself is accepted");
    let (status, _) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": format!("{}@x.test", "e".repeat(200_000)), "password": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn random_methods_do_not_grow_metrics() {
    let app = TestApp::spawn().await;
    let metrics = || async {
        app.client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let odd = |i: usize| {
        let name = format!("M{i}{}", "X".repeat(200 + i % 50));
        Method::from_bytes(name.as_bytes()).unwrap()
    };
    for i in 0..50 {
        let _ = app
            .client
            .request(odd(i), format!("{}/api/x{i}", app.base))
            .send()
            .await
            .unwrap();
    }
    // The scrape counts itself: take the size once its own series exists.
    metrics().await;
    let before = metrics().await.len();
    for i in 50..2050 {
        let response = app
            .client
            .request(
                odd(i),
                format!("{}/api/{i}/{}", app.base, "p".repeat(i % 300)),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    let text = metrics().await;
    // Counts grow by a few digits (the duration histogram's lines too) and the process
    // figures change; one new series would add a hundred bytes, 2000 of them far more.
    assert!(
        text.len() <= before + 300,
        "the body grew from {before} to {} bytes",
        text.len()
    );
    assert!(
        text.contains(r#"method="OTHER",route="/api/{*rest}""#),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_can_move_to_their_own_address() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = TestApp::spawn_with(|a| {
        a.safety.metrics_listen = Some(addr);
        a.safety.metrics_on_main_port = false;
    })
    .await;
    let text = app
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("fila_sockets_connected"), "{text}");
    let (status, body) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(
        (status, body["statusCode"].as_i64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
}

/// A raw connection that sends `bytes` and then holds still.
async fn hold(addr: &str, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Reads until the server closes the connection; answers what it sent and how long it took.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

fn host(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn idle_connections_beyond_the_cap_do_not_stop_healthz() {
    let app = TestApp::spawn_with(|a| {
        a.safety.max_connections = 40;
        a.safety.header_timeout = 60;
    })
    .await;
    let addr = host(&app);
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let started = Instant::now();
        let response = reqwest::Client::new()
            .get(format!("{}/healthz", app.base))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .expect("healthz answers");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    let busy = reqwest::Client::new()
        .get(format!("{}/api/account", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(busy.headers().contains_key("retry-after"));
    let body: Value = busy.json().await.unwrap();
    assert_eq!(body["statusCode"], 503);
    drop(idle);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, _) = app.call(Method::GET, "/api/account", None, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "served again once they left"
    );
}

#[tokio::test]
async fn half_sent_headers_and_bodies_are_cut() {
    let app = TestApp::spawn_with(|a| {
        a.safety.header_timeout = 1;
        a.safety.request_timeout = 2;
    })
    .await;
    let addr = host(&app);
    let mut silent = hold(&addr, b"").await;
    let mut headers = hold(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    let mut body = hold(
        &addr,
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\":",
    )
    .await;
    let (_, took) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_secs(3),
        "an idle connection: {took:?}"
    );
    let (_, took) = until_closed(&mut headers, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "half-sent headers: {took:?}");
    let (answer, took) = until_closed(&mut body, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""statusCode":408"#), "{answer}");
    assert!(took < Duration::from_secs(4), "a half-sent body: {took:?}");
}

#[tokio::test]
async fn a_graceful_stop_does_not_wait_on_a_hanging_client_past_its_deadline() {
    let mut app = TestApp::spawn_with(|a| {
        a.safety.header_timeout = 120;
        a.safety.request_timeout = 120;
        a.safety.shutdown_timeout = 2;
    })
    .await;
    let addr = host(&app);
    let _body = hold(
        &addr,
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .await;
    let _headers = hold(&addr, b"GET /healthz HTTP/1.1\r\nHo").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(8), app.stop())
        .await
        .expect("the stop ends within its deadline");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_web_app_is_served_with_its_security_headers_and_no_source_map() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>Fila</title>",
    )
    .unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(web.path().join("assets/app.js.map"), "{}").unwrap();
    let dir = web.path().to_path_buf();
    let app = TestApp::spawn_with(move |a| a.web_dir = Some(dir)).await;
    for path in ["/", "/painel", "/fila", "/assets/app.js"] {
        let response = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
    let map = app
        .client
        .get(format!("{}/assets/app.js.map", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(map.status(), StatusCode::NOT_FOUND);
    let api = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

/// The peak and current resident memory of a process, in KiB (`/proc/PID/status`).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// The memory bound the login flood must stay under (peak resident set of the whole process).
pub const LOGIN_FLOOD_PEAK_MIB: u64 = 128;

#[tokio::test]
async fn a_concurrent_login_flood_stays_under_the_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("fila.db").display());
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_fila"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db])
        .arg("--web-dir")
        .arg(dir.path().join("no-web"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = server.id().unwrap();
    let mut out = server.stdout.take().unwrap();
    let mut printed = String::new();
    let base = loop {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(15), out.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "the server exited: {printed}");
        printed.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(at) = printed.find("http://")
            && let Some(line) = printed[at..].lines().next()
            && printed[at..].contains('\n')
        {
            break line.trim().to_string();
        }
    };
    let (_, idle) = memory_kib(pid);
    // 300 logins at once with unknown emails, from 60 networks (so the per-network limit
    // does not hide the hashing bound), three rounds.
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut peak_seen = 0;
    for round in 0..3 {
        let mut flood = Vec::new();
        for i in 0..300u32 {
            let base = base.clone();
            flood.push(tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, (i % 60 + 10) as u8)))
                    .build()
                    .unwrap();
                client
                    .post(format!("{base}/api/auth/login"))
                    .json(
                        &json!({"email": format!("nobody{round}-{i}@flood.test"), "password": "x"}),
                    )
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }));
        }
        let sampling = async {
            for _ in 0..100 {
                let (_, rss) = memory_kib(pid);
                peak_seen = peak_seen.max(rss);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let (answers, ()) = tokio::join!(futures_join_all(flood), sampling);
        for status in answers {
            *statuses.entry(status.unwrap()).or_default() += 1;
        }
    }
    let (peak, _) = memory_kib(pid);
    let _ = server.start_kill();
    let peak_mib = peak.max(peak_seen) / 1024;
    println!(
        "login flood: idle {} MiB, peak {peak_mib} MiB, answers {statuses:?}",
        idle / 1024
    );
    assert!(
        statuses.keys().all(|s| [401, 429, 503].contains(s)),
        "only 401, 429 and 503: {statuses:?}"
    );
    assert!(statuses.get(&401).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(
        peak_mib < LOGIN_FLOOD_PEAK_MIB,
        "peak {peak_mib} MiB over the {LOGIN_FLOOD_PEAK_MIB} MiB bound"
    );
}

/// Awaits every future (no extra crate for it).
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
