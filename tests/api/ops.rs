use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = TestApp::spawn().await;
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, body["database"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let token = app.account_token("metrics@clinica.test").await;
    app.post("/api/doctors", &token, json!({"name": "Dr. M"}))
        .await;
    app.get("/api/doctors/999", &token).await;
    // Events are counted as this node emits them to its sockets (there are none here; the
    // protocol suite checks the count with sockets).
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("fila_sockets_connected 0"), "{text}");
    assert!(
        text.contains(r#"route="/api/doctors/{id}",status="404""#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/auth/login",status="200""#),
        "{text}"
    );
}

#[tokio::test]
async fn the_openapi_document_and_swagger_ui_are_served() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/appointments/{id}/status",
        "/api/auth/login",
        "/api/events",
        "/api/api-keys",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    let response = app
        .client
        .get(format!("{}/api/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("swagger")
    );
}

#[tokio::test]
async fn an_unknown_api_route_is_404_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call(Method::GET, "/api/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["statusCode"], 404);
}

#[tokio::test]
async fn a_storage_fault_makes_readiness_503_until_the_probe_write_commits() {
    let app = TestApp::spawn().await;
    app.store
        .storage_failed(fila::store::StorageFault::Full, "a test's full disk");
    let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (status, body["storage"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("full"))
    );
    // The disk is fine: the probe's first write (after a second) commits on either backend.
    let started = std::time::Instant::now();
    loop {
        let (status, body) = app.call(Method::GET, "/readyz", None, None).await;
        if status == StatusCode::OK {
            assert_eq!(body.get("storage"), None);
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "/readyz still {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.store.storage_fault(), None);
}
