//! CORS for browser front ends served from other origins (`--cors-origin`), on the API and on
//! the Socket.IO polling transport, and the refusal of websockets from other origins.

use reqwest::StatusCode;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS,
};

use crate::helpers::TestApp;

const SPA: &str = "https://recepcao.clinica.example";

async fn with_cors() -> TestApp {
    TestApp::spawn_with(|args| {
        args.safety.cors_origins = vec![SPA.to_string(), "http://localhost:5173".to_string()]
    })
    .await
}

#[tokio::test]
async fn a_preflight_from_a_listed_origin_is_answered_with_the_methods_and_headers() {
    let app = with_cors().await;
    let response = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/appointments", app.base),
        )
        .header("Origin", SPA)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type, idempotency-key, x-request-id",
        )
        .send()
        .await
        .expect("preflight");
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], SPA);
    let methods = headers[ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .expect("ascii")
        .to_ascii_uppercase();
    for method in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allowed = headers[ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    for header in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(allowed.contains(header), "{allowed}");
    }
}

#[tokio::test]
async fn answers_to_a_listed_origin_carry_its_name_and_expose_the_seq_and_retry_after() {
    let app = with_cors().await;
    let response = app
        .client
        .post(format!("{}/api/auth/login", app.base))
        .header("Origin", SPA)
        .json(&serde_json::json!({"email": "nobody@example.com", "password": "wrong-password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], SPA);
    let exposed = headers[ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(exposed.contains("x-event-seq"), "{exposed}");
    assert!(exposed.contains("retry-after"), "{exposed}");
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[tokio::test]
async fn an_unlisted_origin_gets_no_cors_header_and_none_is_sent_by_default() {
    let app = with_cors().await;
    let response = app
        .client
        .get(format!("{}/api/healthz", app.base))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("healthz");
    assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));

    let plain = TestApp::spawn().await;
    let response = plain
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/patients", plain.base),
        )
        .header("Origin", SPA)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .expect("preflight");
    assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn the_polling_transport_answers_a_listed_origin() {
    let app = with_cors().await;
    let response = app
        .client
        .get(format!("{}/socket.io/?EIO=4&transport=polling", app.base))
        .header("Origin", SPA)
        .send()
        .await
        .expect("handshake");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], SPA);
    let body = response.text().await.expect("body");
    assert!(body.starts_with("0{\"sid\""), "{body}");
}

/// A websocket upgrade request, as a browser on `origin` sends it.
async fn upgrade(app: &TestApp, origin: Option<&str>, host: Option<&str>) -> StatusCode {
    let mut request = app
        .client
        .get(format!("{}/socket.io/?EIO=4&transport=websocket", app.base))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if let Some(host) = host {
        request = request.header("Host", host);
    }
    request.send().await.expect("upgrade").status()
}

#[tokio::test]
async fn a_websocket_from_an_unlisted_origin_is_refused_once_the_list_is_set() {
    let app = with_cors().await;
    assert_eq!(
        upgrade(&app, Some("https://evil.example"), None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upgrade(&app, Some(SPA), None).await,
        StatusCode::SWITCHING_PROTOCOLS
    );
    // The server's own web app, and clients that are not browsers (no Origin).
    let own = app.base.trim_start_matches("http://").to_string();
    assert_eq!(
        upgrade(&app, Some(&app.base), Some(&own)).await,
        StatusCode::SWITCHING_PROTOCOLS
    );
    assert_eq!(
        upgrade(&app, None, None).await,
        StatusCode::SWITCHING_PROTOCOLS
    );

    let plain = TestApp::spawn().await;
    assert_eq!(
        upgrade(&plain, Some("https://evil.example"), None).await,
        StatusCode::SWITCHING_PROTOCOLS
    );
}
