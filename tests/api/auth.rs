use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

/// The claims of a token, unverified.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims json")
}

#[tokio::test]
async fn login_answers_a_one_hour_bearer_token_with_the_documented_claims() {
    let app = TestApp::spawn().await;
    let (account_id, user_id) = app.create_account("Clínica A", "a@clinica.test").await;
    let (status, body) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "a@clinica.test", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 3600);
    let c = claims(body["accessToken"].as_str().unwrap());
    assert_eq!(c["sub"], user_id.to_string());
    assert_eq!(c["accountId"], account_id);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(c["aud"], "fila");
    assert_eq!(c["iss"], "fila");
}

#[tokio::test]
async fn token_ttl_sets_the_lifetime() {
    let app = TestApp::spawn_with(|a| a.token_ttl = 120).await;
    let token = app.account_token("ttl@clinica.test").await;
    let c = claims(&token);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 120);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_401_in_the_error_shape() {
    let app = TestApp::spawn().await;
    app.create_account("Clínica", "x@clinica.test").await;
    for body in [
        json!({"email": "x@clinica.test", "password": "nope nope"}),
        json!({"email": "nobody@clinica.test", "password": PASSWORD}),
    ] {
        let (status, error) = app
            .call(Method::POST, "/api/auth/login", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error["statusCode"], 401);
        assert_eq!(error["error"], "Unauthorized");
        assert!(error["message"].is_string());
    }
}

#[tokio::test]
async fn api_calls_need_a_valid_token() {
    let app = TestApp::spawn().await;
    let (status, body) = app.call(Method::GET, "/api/doctors", None, None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing token"))
    );
    let (status, body) = app.get("/api/doctors", "garbage").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid token"))
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_with_jwt_expired() {
    let app = TestApp::spawn_with(|a| a.token_ttl = 1).await;
    let token = app.account_token("exp@clinica.test").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = app.get("/api/doctors", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let request_id = body["requestId"].as_str().unwrap_or_default().to_string();
    assert_eq!(request_id.len(), 16, "{body}");
    assert_eq!(
        body,
        json!({"statusCode": 401, "message": "jwt expired", "error": "Unauthorized", "requestId": request_id})
    );
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_invalid() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn().await;
    let token = a.account_token("forge@clinica.test").await;
    b.create_account("Other", "forge@clinica.test").await;
    let (status, body) = b.get("/api/doctors", &token).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid token"))
    );
}

#[tokio::test]
async fn the_generated_secret_is_kept_so_tokens_survive_a_restart() {
    let app = TestApp::spawn().await;
    let token = app.account_token("keep@clinica.test").await;
    let app = app.restart().await;
    let (status, _) = app.get("/api/doctors", &token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_master_releases_an_api_key_shown_once_and_traded_for_a_token() {
    let app = TestApp::spawn().await;
    let master = app.account_token("master@clinica.test").await;
    let (status, created) = app
        .post("/api/api-keys", &master, json!({"name": "Painel TV"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("fila_"));
    for field in ["id", "name", "key", "createdAt"] {
        assert!(created.get(field).is_some(), "{field}");
    }
    let (_, listed) = app.get("/api/api-keys", &master).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("key").is_none());
    assert!(!listed.iter().any(|k| k.to_string().contains(&key)));

    let (status, token) = app.trade_key(&key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["expiresIn"], 3600);
    let key_token = token["accessToken"].as_str().unwrap().to_string();
    let (status, _) = app.get("/api/appointments", &key_token).await;
    assert_eq!(status, StatusCode::OK);
    // A key's token cannot manage keys.
    let (status, _) = app.get("/api/api-keys", &key_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let id = created["id"].as_i64().unwrap();
    let (status, revoked) = app.delete(&format!("/api/api-keys/{id}"), &master).await;
    assert_eq!(status, StatusCode::OK);
    assert!(revoked["revokedAt"].is_string());
    let (status, _) = app.trade_key(&key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call(Method::POST, "/api/auth/refresh", Some(&key_token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn only_the_master_user_manages_api_keys() {
    let app = TestApp::spawn().await;
    let (account_id, _) = app.create_account("Clínica", "boss@clinica.test").await;
    let hash = fila::auth::password::hash(PASSWORD.to_string())
        .await
        .unwrap();
    let mut conn = app.store.pool().acquire().await.unwrap();
    fila::store::accounts::insert_user(
        &mut conn,
        account_id,
        "Recepção",
        "desk@clinica.test",
        &hash,
        false,
        0,
    )
    .await
    .unwrap();
    drop(conn);
    let desk = app.login("desk@clinica.test", PASSWORD).await;
    let (status, body) = app.post("/api/api-keys", &desk, json!({"name": "x"})).await;
    assert_eq!(
        (status, body["statusCode"].as_i64()),
        (StatusCode::FORBIDDEN, Some(403))
    );
    let (status, _) = app.get("/api/api-keys", &desk).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = app.get("/api/me", &desk).await;
    assert_eq!(me["isMaster"], false);
}

#[tokio::test]
async fn refresh_answers_a_fresh_token_for_the_same_user() {
    let app = TestApp::spawn().await;
    let token = app.account_token("refresh@clinica.test").await;
    let (status, body) = app
        .call(Method::POST, "/api/auth/refresh", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = claims(body["accessToken"].as_str().unwrap());
    assert_eq!(fresh["sub"], claims(&token)["sub"]);
    assert_eq!(fresh["accountId"], claims(&token)["accountId"]);
}

#[tokio::test]
async fn accounts_create_refuses_a_duplicate_email() {
    let app = TestApp::spawn().await;
    app.create_account("A", "dup@clinica.test").await;
    let err = fila::accounts::create(&app.store, "B", "DUP@clinica.test", PASSWORD)
        .await
        .unwrap_err();
    assert!(matches!(err, fila::error::ApiError::Conflict(_)), "{err:?}");
}

#[tokio::test]
async fn wrong_passwords_past_the_burst_back_off_with_429_and_the_right_one_gets_in_after_the_wait()
{
    let app = TestApp::spawn().await;
    app.create_account("Clínica", "guess@clinica.test").await;
    app.create_account("Outra", "other@clinica.test").await;
    let attempt = |email: &'static str, password: &'static str| {
        app.client
            .post(format!("{}/api/auth/login", app.base))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    for _ in 0..fila::auth::throttle::EMAIL_NETWORK_BURST {
        let response = attempt("guess@clinica.test", "wrong guess").await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = attempt("guess@clinica.test", PASSWORD).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let period = fila::auth::throttle::EMAIL_NETWORK_PERIOD.as_secs();
    assert!((1..=period).contains(&wait), "Retry-After {wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    assert_eq!(body["error"], "Too Many Requests");
    let other = attempt("other@clinica.test", PASSWORD).await.unwrap();
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another email is not slowed"
    );
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    // A fresh connection: the server closes one left idle that long (`--header-timeout`).
    let after = reqwest::Client::new()
        .post(format!("{}/api/auth/login", app.base))
        .json(&json!({"email": "guess@clinica.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "the right password gets in once the wait is over, not 15 minutes later"
    );
}
