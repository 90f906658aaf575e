//! Behind a reverse proxy (`--trusted-proxy`): the limits keyed by address count the forwarded
//! client, not the proxy, and status links point where the client reached the proxy; the
//! same headers from any other peer change nothing. Websocket origins (`--cors-origin`) accept
//! the host the client reached the proxy at as the server's own.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::StatusCode;
use serde_json::{Value, json};

use fila::auth::throttle;

use crate::helpers::{PASSWORD, TestApp};

/// A client whose requests come from `127.0.0.{n}`; the trusted proxy is `127.0.0.1`.
fn peer(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

async fn behind_proxy() -> TestApp {
    TestApp::spawn_with(|args| args.safety.trusted_proxies = vec!["127.0.0.1/32".into()]).await
}

/// A login sent by `client` claiming to forward for `forwarded_for`.
async fn login_as(
    app: &TestApp,
    client: &reqwest::Client,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> StatusCode {
    client
        .post(format!("{}/api/auth/login", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn trade_as(app: &TestApp, forwarded_for: &str, key: &str) -> StatusCode {
    peer(1)
        .post(format!("{}/api/auth/token", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"apiKey": key}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_guesser_locks_out_only_itself() {
    let app = behind_proxy().await;
    app.create_account("Clínica", "owner@clinica.test").await;
    let proxy = peer(1);
    let mut statuses = Vec::new();
    for i in 0..30 {
        let wrong = format!("guess {i}");
        statuses.push(login_as(&app, &proxy, "203.0.113.10", "owner@clinica.test", &wrong).await);
    }
    assert!(
        statuses[throttle::EMAIL_NETWORK_BURST as usize..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let guesser = login_as(&app, &proxy, "203.0.113.10", "owner@clinica.test", PASSWORD).await;
    assert_eq!(
        guesser,
        StatusCode::TOO_MANY_REQUESTS,
        "the guesser is held"
    );
    let colleague = login_as(&app, &proxy, "203.0.113.20", "owner@clinica.test", PASSWORD).await;
    assert_eq!(colleague, StatusCode::OK, "another client behind the proxy");
    let owner = login_as(
        &app,
        &proxy,
        "192.0.2.50, 198.51.100.7",
        "owner@clinica.test",
        PASSWORD,
    )
    .await;
    assert_eq!(
        owner,
        StatusCode::OK,
        "the owner, by the last untrusted hop"
    );
}

#[tokio::test]
async fn api_key_guesses_behind_a_trusted_proxy_hold_only_the_guesser() {
    let app = behind_proxy().await;
    // Every guess its own prefix: only the per-network limit applies.
    let guess = |i: u32| format!("fila_{i:04}{:028}", 0);
    let mut limited = 0;
    for i in 0..(throttle::TOKEN_NETWORK_BURST + 5) {
        if trade_as(&app, "203.0.113.10", &guess(i)).await == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited >= 4, "{limited} guesses limited");
    assert_eq!(
        trade_as(&app, "203.0.113.20", &guess(9_999)).await,
        StatusCode::UNAUTHORIZED,
        "another client's key is checked, not refused"
    );
}

#[tokio::test]
async fn a_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = behind_proxy().await;
    app.create_account("Clínica", "spoof@clinica.test").await;
    let spoofer = peer(2);
    for i in 0..throttle::EMAIL_NETWORK_BURST {
        let claimed = format!("203.0.113.{i}");
        let status = login_as(&app, &spoofer, &claimed, "spoof@clinica.test", "wrong one").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let claimed_elsewhere = login_as(
        &app,
        &spoofer,
        "198.51.100.99",
        "spoof@clinica.test",
        PASSWORD,
    )
    .await;
    assert_eq!(
        claimed_elsewhere,
        StatusCode::TOO_MANY_REQUESTS,
        "the limit is the peer's, whatever it claims"
    );
    let other_peer = login_as(
        &app,
        &peer(3),
        "198.51.100.99",
        "spoof@clinica.test",
        PASSWORD,
    )
    .await;
    assert_eq!(other_peer, StatusCode::OK);
}

#[tokio::test]
async fn without_the_flag_every_client_behind_a_proxy_shares_its_address() {
    let app = TestApp::spawn().await;
    app.create_account("Clínica", "shared@clinica.test").await;
    let proxy = peer(1);
    for i in 0..throttle::EMAIL_NETWORK_BURST {
        let status = login_as(
            &app,
            &proxy,
            "203.0.113.10",
            "shared@clinica.test",
            &format!("x{i}"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let other = login_as(
        &app,
        &proxy,
        "203.0.113.20",
        "shared@clinica.test",
        PASSWORD,
    )
    .await;
    assert_eq!(
        other,
        StatusCode::TOO_MANY_REQUESTS,
        "no proxy is trusted by default"
    );
}

/// A status link created by `client` with forwarded proto and host headers.
async fn link_from(app: &TestApp, client: &reqwest::Client, token: &str, id: i64) -> String {
    let response = client
        .post(format!("{}/api/appointments/{id}/status-link", app.base))
        .bearer_auth(token)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "fila.clinica.example:8443")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn status_links_take_the_forwarded_scheme_and_host_only_from_a_trusted_peer() {
    let app = behind_proxy().await;
    let token = app.account_token("links@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();

    let proxied = link_from(&app, &peer(1), &token, id).await;
    assert!(
        proxied.starts_with("https://fila.clinica.example:8443/p/"),
        "{proxied}"
    );
    let direct = link_from(&app, &peer(2), &token, id).await;
    assert!(
        direct.starts_with(&format!("{}/p/", app.base)),
        "{direct} ignores the headers of an untrusted peer"
    );
}

/// A websocket upgrade sent by `client` from a page on `origin`, forwarded for `host`.
async fn upgrade_from(
    app: &TestApp,
    client: &reqwest::Client,
    origin: &str,
    host: &str,
) -> StatusCode {
    client
        .get(format!("{}/socket.io/?EIO=4&transport=websocket", app.base))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Origin", origin)
        .header("X-Forwarded-Host", host)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_web_app_behind_a_trusted_proxy_is_its_own_origin_for_websockets() {
    let app = TestApp::spawn_with(|args| {
        args.safety.trusted_proxies = vec!["127.0.0.1".into()];
        args.safety.cors_origins = vec!["https://recepcao.clinica.example".into()];
    })
    .await;
    let (own, host) = ("https://fila.clinica.example", "fila.clinica.example");
    assert_eq!(
        upgrade_from(&app, &peer(1), own, host).await,
        StatusCode::SWITCHING_PROTOCOLS,
        "the proxy's host is the server's own origin"
    );
    assert_eq!(
        upgrade_from(&app, &peer(2), own, host).await,
        StatusCode::FORBIDDEN,
        "an untrusted peer cannot claim it"
    );
}
