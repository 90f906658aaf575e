//! Login, API-key exchange, token refresh, `me`, and the master user's API keys.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, api_key, password};
use crate::domain::time::{format_ms, now_ms};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Problems};
use crate::model::{ApiKey, TokenResponse};
use crate::state::AppState;
use crate::store::{self, api_keys::ApiKeyRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/token", post(token))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/me", get(me))
        .route("/api/api-keys", post(create_key).get(list_keys))
        .route("/api/api-keys/{id}", delete(revoke_key))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody {
    pub api_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyBody {
    pub name: String,
}

/// A new key: the only time `key` is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    pub id: i64,
    pub name: String,
    pub key: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user_id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub is_master: bool,
    pub api_key_id: Option<i64>,
}

fn token_response(state: &AppState, user: AuthUser) -> ApiResult<ApiJson<TokenResponse>> {
    Ok(ApiJson(TokenResponse {
        access_token: state
            .tokens
            .issue(user.user_id, user.account_id, user.api_key_id)?,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
    }))
}

/// Email and password for an access token.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Wrong email or password, or the user is deactivated"),
        (status = 429, description = "Too many wrong passwords for this email: wait 15 minutes")))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let email = body.email.trim().to_lowercase();
    if !state.login_throttle.allows(&email) {
        return Err(ApiError::TooManyRequests);
    }
    let user =
        store::accounts::user_by_email(&mut *state.store.pool().acquire().await?, &email).await?;
    let stored = match &user {
        Some(u) => u.password_hash.clone(),
        None => password::dummy_hash().await.to_string(),
    };
    let matches = password::verify(body.password, stored)
        .await
        .unwrap_or(false);
    match user {
        Some(u) if matches && u.active == 0 => {
            state.login_throttle.succeeded(&email);
            Err(ApiError::Unauthorized(crate::auth::DEACTIVATED.into()))
        }
        Some(u) if matches => {
            state.login_throttle.succeeded(&email);
            token_response(
                &state,
                AuthUser {
                    user_id: u.id,
                    account_id: u.account_id,
                    api_key_id: None,
                },
            )
        }
        _ => {
            state.login_throttle.failed(&email);
            Err(ApiError::Unauthorized("invalid email or password".into()))
        }
    }
}

/// An API key for an access token (integrations, the TV panel).
#[utoipa::path(post, path = "/api/auth/token", tag = "auth", request_body = TokenBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Unknown or revoked key")))]
pub async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let digest = api_key::digest(body.api_key.trim());
    let mut conn = state.store.pool().acquire().await?;
    let key = store::api_keys::use_by_hash(&mut conn, &digest, now_ms())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("invalid api key".into()))?;
    token_response(
        &state,
        AuthUser {
            user_id: key.user_id,
            account_id: key.account_id,
            api_key_id: Some(key.id),
        },
    )
}

/// A fresh token for a valid one (a key's token only while the key is not revoked).
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TokenResponse), (status = 401, description = "Token invalid or expired")))]
pub async fn refresh(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<TokenResponse>> {
    if let Some(key_id) = user.api_key_id {
        let mut conn = state.store.pool().acquire().await?;
        let key = store::api_keys::get(&mut conn, user.account_id, key_id).await?;
        if key.is_none_or(|k| k.revoked_at.is_some()) {
            return Err(ApiError::Unauthorized("api key revoked".into()));
        }
    }
    token_response(&state, user)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<ApiJson<Me>> {
    let mut conn = state.store.pool().acquire().await?;
    let row = store::accounts::user(&mut conn, user.account_id, user.user_id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("invalid token".into()))?;
    Ok(ApiJson(Me {
        user_id: row.id,
        account_id: row.account_id,
        name: row.name,
        email: row.email,
        is_master: row.is_master != 0 && user.api_key_id.is_none(),
        api_key_id: user.api_key_id,
    }))
}

/// Refuses anyone but the account's master user, logged in with a password.
pub async fn require_master(state: &AppState, user: &AuthUser) -> ApiResult<()> {
    if user.api_key_id.is_some() {
        return Err(ApiError::Forbidden(
            "API keys cannot manage the account".into(),
        ));
    }
    let mut conn = state.store.pool().acquire().await?;
    match store::accounts::user(&mut conn, user.account_id, user.user_id).await? {
        Some(u) if u.is_master != 0 => Ok(()),
        _ => Err(ApiError::Forbidden(
            "only the master user can do this".into(),
        )),
    }
}

fn key_view(row: ApiKeyRow) -> ApiKey {
    ApiKey {
        id: row.id,
        name: row.name,
        prefix: row.key_prefix,
        created_at: format_ms(row.created_at),
        last_used_at: row.last_used_at.map(format_ms),
        revoked_at: row.revoked_at.map(format_ms),
    }
}

/// Releases API access: a new key, shown once.
#[utoipa::path(post, path = "/api/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKey), (status = 403, description = "Not the master user")))]
pub async fn create_key(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> ApiResult<(StatusCode, ApiJson<CreatedKey>)> {
    require_master(&state, &user).await?;
    let name = body.name.trim();
    let mut problems = Problems::new();
    problems.check(!name.is_empty(), "name must not be empty");
    problems.check(
        name.chars().count() <= 100,
        "name must have at most 100 characters",
    );
    problems.into_result()?;
    let key = api_key::generate();
    let now = now_ms();
    let mut tx = state.store.begin_write(user.account_id).await?;
    let id = store::api_keys::insert(
        &mut tx,
        user.account_id,
        user.user_id,
        name,
        &api_key::display_prefix(&key),
        &api_key::digest(&key),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedKey {
            id,
            name: name.to_string(),
            key,
            created_at: format_ms(now),
        }),
    ))
}

/// The account's keys (never the keys themselves).
#[utoipa::path(get, path = "/api/api-keys", tag = "api-keys", security(("bearer" = [])), responses((status = 200, body = [ApiKey])))]
pub async fn list_keys(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<Vec<ApiKey>>> {
    require_master(&state, &user).await?;
    let mut conn = state.store.pool().acquire().await?;
    let rows = store::api_keys::list(&mut conn, user.account_id).await?;
    Ok(ApiJson(rows.into_iter().map(key_view).collect()))
}

/// Revokes a key: it can no longer be traded or refreshed.
#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ApiKey), (status = 404)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<ApiKey>> {
    require_master(&state, &user).await?;
    let mut tx = state.store.begin_write(user.account_id).await?;
    if !store::api_keys::revoke(&mut tx, user.account_id, id, now_ms()).await? {
        return Err(ApiError::not_found("api key"));
    }
    let row = store::api_keys::get(&mut tx, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("api key"))?;
    tx.commit().await?;
    Ok(ApiJson(key_view(row)))
}
