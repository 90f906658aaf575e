//! Sessions: logout, password change, key revocation and the token's account, on REST.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth::claims;
use crate::helpers::{PASSWORD, TestApp};

async fn refresh(app: &TestApp, token: &str) -> StatusCode {
    app.call(Method::POST, "/api/auth/refresh", Some(token), None)
        .await
        .0
}

/// The server's signing secret (generated once and kept in the database).
async fn server_tokens(app: &TestApp) -> fila::auth::jwt::Tokens {
    let secret: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'jwt_secret'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    fila::auth::jwt::Tokens::new(secret.as_bytes(), 3600)
}

#[tokio::test]
async fn logout_ends_this_session_only_and_its_refresh() {
    let app = TestApp::spawn().await;
    let first = app.account_token("logout@clinica.test").await;
    let second = app.login("logout@clinica.test", PASSWORD).await;
    assert!(claims(&first)["sid"].is_string());
    assert_ne!(claims(&first)["sid"], claims(&second)["sid"]);
    // A refreshed token belongs to the same session.
    let (status, fresh) = app
        .call(Method::POST, "/api/auth/refresh", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = fresh["accessToken"].as_str().unwrap().to_string();
    assert_eq!(claims(&fresh)["sid"], claims(&first)["sid"]);

    let (status, _) = app
        .call(Method::POST, "/api/auth/logout", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&first, &fresh] {
        let (status, body) = app.get("/api/doctors", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["message"], "invalid token");
        assert_eq!(refresh(&app, token).await, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app
        .call(Method::POST, "/api/auth/logout", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/doctors", &second).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions_but_not_its_keys() {
    let app = TestApp::spawn().await;
    let email = "senha@clinica.test";
    let here = app.account_token(email).await;
    let elsewhere = app.login(email, PASSWORD).await;
    let (_, created) = app
        .post("/api/api-keys", &here, json!({"name": "Painel"}))
        .await;
    let (_, traded) = app.trade_key(created["key"].as_str().unwrap()).await;
    let key_token = traded["accessToken"].as_str().unwrap().to_string();

    let wrong = json!({"currentPassword": "not it", "newPassword": "a new password"});
    let (status, body) = app.post("/api/auth/password", &here, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["statusCode"], 401);
    let short = json!({"currentPassword": PASSWORD, "newPassword": "short"});
    let (status, body) = app.post("/api/auth/password", &here, short).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].to_string().contains("newPassword"));
    let (status, _) = app.get("/api/doctors", &elsewhere).await;
    assert_eq!(status, StatusCode::OK, "nothing changed yet");
    let by_key = json!({"currentPassword": PASSWORD, "newPassword": "a new password"});
    let (status, _) = app.post("/api/auth/password", &key_token, by_key).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let change = json!({"currentPassword": PASSWORD, "newPassword": "a new password"});
    let (status, _) = app.post("/api/auth/password", &here, change).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/doctors", &here).await;
    assert_eq!(status, StatusCode::OK, "the session that changed it stays");
    let (status, body) = app.get("/api/doctors", &elsewhere).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "invalid token");
    assert_eq!(refresh(&app, &elsewhere).await, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/doctors", &key_token).await;
    assert_eq!(status, StatusCode::OK, "API keys are not passwords");

    let (status, _) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.login(email, "a new password").await;
}

#[tokio::test]
async fn revoking_a_key_refuses_its_tokens_and_their_refresh_at_once() {
    let app = TestApp::spawn().await;
    let master = app.account_token("revoga@clinica.test").await;
    let (_, created) = app
        .post("/api/api-keys", &master, json!({"name": "Painel"}))
        .await;
    let key = created["key"].as_str().unwrap();
    let (_, first) = app.trade_key(key).await;
    let (_, second) = app.trade_key(key).await;
    let tokens: Vec<String> = [first, second]
        .iter()
        .map(|t| t["accessToken"].as_str().unwrap().to_string())
        .collect();
    for token in &tokens {
        let (status, _) = app.get("/api/appointments", token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(refresh(&app, token).await, StatusCode::OK);
    }
    let id = created["id"].as_i64().unwrap();
    let (status, _) = app.delete(&format!("/api/api-keys/{id}"), &master).await;
    assert_eq!(status, StatusCode::OK);
    for token in &tokens {
        let (status, body) = app.get("/api/appointments", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["message"], "invalid token");
        assert_eq!(refresh(&app, token).await, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app.get("/api/appointments", &master).await;
    assert_eq!(status, StatusCode::OK, "the master's own session stays");
}

#[tokio::test]
async fn a_token_is_refused_unless_its_user_and_session_belong_to_its_account() {
    let app = TestApp::spawn().await;
    let a = app.account_token("conta-a@clinica.test").await;
    let b = app.account_token("conta-b@clinica.test").await;
    let tokens = server_tokens(&app).await;
    let (a_claims, b_claims) = (claims(&a), claims(&b));
    let user_a: i64 = a_claims["sub"].as_str().unwrap().parse().unwrap();
    let account_b = b_claims["accountId"].as_i64().unwrap();
    let sid_a = a_claims["sid"].as_str().unwrap();
    // Properly signed, but A's user and session claiming B's account.
    let crossed = tokens
        .issue_for_session(user_a, account_b, None, sid_a)
        .unwrap();
    let (status, body) = app.get("/api/doctors", &crossed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "invalid token");
    // Properly signed, but with no session, or an unknown one.
    let sessionless = tokens
        .issue(user_a, a_claims["accountId"].as_i64().unwrap(), None)
        .unwrap();
    let unknown = tokens
        .issue_for_session(user_a, a_claims["accountId"].as_i64().unwrap(), None, "00")
        .unwrap();
    for token in [&sessionless, &unknown] {
        let (status, _) = app.get("/api/doctors", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app.get("/api/doctors", &a).await;
    assert_eq!(status, StatusCode::OK);
}
