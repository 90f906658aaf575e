//! Login, API-key exchange, token refresh, logout, password change, `me`, and the master
//! user's API keys.
//!
//! Every login and key exchange opens a session; its tokens (refreshes included) name it in
//! `sid`. Logout ends it, a password change ends the user's other password sessions, revoking
//! a key ends the key's sessions: REST refuses their tokens at once, and a control row in the
//! log has every node disconnect their sockets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::forwarded::ClientAddr;
use crate::auth::jwt::Claims;
use crate::auth::password::HashError;
use crate::auth::{
    AuthUser, KeyScope, MasterUser, PasswordUser, SessionId, SessionUser, StaffUser, api_key,
    password, session,
};
use crate::domain::time::{format_ms, now_ms};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Problems};
use crate::limits::{API_KEY_MAX, EMAIL_MAX, KEY_NAME_MAX, PASSWORD_MAX, check_len};
use crate::model::{ApiKey, TokenResponse};
use crate::state::AppState;
use crate::store::events::ControlRow;
use crate::store::{self, api_keys::ApiKeyRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/token", post(token))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/password", post(change_password))
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
#[serde(rename_all = "camelCase")]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyBody {
    pub name: String,
    /// What the key may do: `kiosk` (the totem), `panel` (the TV panel) or `integration` (a
    /// full staff credential without master rights, the default).
    #[schema(value_type = Option<KeyScope>)]
    pub scope: Option<String>,
}

/// A new key: the only time `key` is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    pub id: i64,
    pub name: String,
    pub key: String,
    pub created_at: String,
    pub scope: KeyScope,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user_id: i64,
    pub account_id: i64,
    pub name: String,
    pub email: String,
    pub is_master: bool,
    #[schema(required)]
    pub api_key_id: Option<i64>,
}

impl From<HashError> for ApiError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => ApiError::Busy(
                "the server is busy checking passwords: try again shortly".into(),
                std::time::Duration::from_secs(1),
            ),
            HashError::Failed(e) => ApiError::Internal(e),
        }
    }
}

/// A token of session `sid` for the user.
fn token_response(
    state: &AppState,
    user: AuthUser,
    sid: &str,
) -> ApiResult<ApiJson<TokenResponse>> {
    let access_token = match (user.api_key_id, user.key_scope) {
        (Some(key_id), Some(scope)) => {
            state
                .tokens
                .issue_for_key_session(user.user_id, user.account_id, key_id, scope, sid)?
        }
        _ => state
            .tokens
            .issue_for_session(user.user_id, user.account_id, None, sid)?,
    };
    Ok(ApiJson(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl_secs(),
    }))
}

/// Opens a session for the user and answers its first token.
async fn start_session(state: &AppState, user: AuthUser) -> ApiResult<ApiJson<TokenResponse>> {
    let sid = session::new_id();
    let mut conn = state.store.acquire().await?;
    store::sessions::insert(
        &mut conn,
        &sid,
        user.account_id,
        user.user_id,
        user.api_key_id,
        now_ms(),
    )
    .await?;
    token_response(state, user, &sid)
}

/// Email and password for an access token.
#[utoipa::path(post, operation_id = "login", path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Wrong email or password, or the user is deactivated"),
        (status = 429, description = "Too many wrong passwords from this network or for this email: wait `Retry-After` seconds"),
        (status = 503, description = "Too many password checks at once: wait `Retry-After` seconds")))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let mut problems = Problems::new();
    check_len(&mut problems, "email", &body.email, EMAIL_MAX);
    check_len(&mut problems, "password", &body.password, PASSWORD_MAX);
    problems.into_result()?;
    let email = body.email.trim().to_lowercase();
    let attempt = state
        .throttle
        .login(&email, client.ip)
        .map_err(ApiError::TooManyRequests)?;
    let user = store::accounts::user_by_email(&mut *state.store.acquire().await?, &email).await?;
    let stored = match &user {
        Some(u) => u.password_hash.clone(),
        None => password::dummy_hash().await.to_string(),
    };
    let matches = match state.hashing.verify(body.password, stored).await {
        Ok(matches) => matches,
        Err(HashError::Failed(_)) => false,
        Err(busy) => return Err(busy.into()),
    };
    match user {
        Some(u) if matches && u.active == 0 => {
            attempt.succeeded();
            Err(ApiError::Unauthorized(crate::auth::DEACTIVATED.into()))
        }
        Some(u) if matches => {
            attempt.succeeded();
            start_session(
                &state,
                AuthUser {
                    user_id: u.id,
                    account_id: u.account_id,
                    api_key_id: None,
                    key_scope: None,
                },
            )
            .await
        }
        _ => {
            attempt.failed();
            Err(ApiError::Unauthorized("invalid email or password".into()))
        }
    }
}

/// An API key for an access token (integrations, the TV panel).
#[utoipa::path(post, operation_id = "exchangeApiKey", path = "/api/auth/token", tag = "auth", request_body = TokenBody,
    responses((status = 200, body = TokenResponse), (status = 401, description = "Unknown or revoked key"),
        (status = 429, description = "Too many unknown keys from this network or with this prefix: wait `Retry-After` seconds")))]
pub async fn token(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<ApiJson<TokenResponse>> {
    let mut problems = Problems::new();
    check_len(&mut problems, "apiKey", &body.api_key, API_KEY_MAX);
    problems.into_result()?;
    let api_key = body.api_key.trim();
    let attempt = state
        .throttle
        .token(api_key, client.ip)
        .map_err(ApiError::TooManyRequests)?;
    let digest = api_key::digest(api_key);
    let mut conn = state.store.acquire().await?;
    let Some(key) = store::api_keys::use_by_hash(&mut conn, &digest, now_ms()).await? else {
        attempt.failed();
        return Err(ApiError::Unauthorized("invalid api key".into()));
    };
    attempt.succeeded();
    drop(conn);
    start_session(
        &state,
        AuthUser {
            user_id: key.user_id,
            account_id: key.account_id,
            api_key_id: Some(key.id),
            key_scope: Some(KeyScope::from_stored(&key.scope)),
        },
    )
    .await
}

/// A fresh token of the same session for a valid one (refused once the session ended or its
/// key was revoked: the `AuthUser` check refuses the token first).
#[utoipa::path(post, operation_id = "refreshToken", path = "/api/auth/refresh", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TokenResponse), (status = 401, description = "Token invalid or expired, session ended, key revoked")))]
pub async fn refresh(
    State(state): State<AppState>,
    // The extractor refuses an ended session, a revoked key or a user outside the account.
    _user: SessionUser,
    Extension(SessionId(sid)): Extension<SessionId>,
    Extension(claims): Extension<Claims>,
) -> ApiResult<ApiJson<TokenResponse>> {
    state.tokens.check_session(&claims)?;
    let mut conn = state.store.acquire().await?;
    store::sessions::touch(&mut conn, &sid, now_ms()).await?;
    Ok(ApiJson(TokenResponse {
        access_token: state.tokens.refresh(&claims)?,
        token_type: "Bearer",
        expires_in: state.tokens.refreshed_lifetime(&claims),
    }))
}

/// Ends this token's session: its tokens are refused from now on, and its sockets on every
/// node are disconnected.
#[utoipa::path(post, operation_id = "logout", path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Session ended"), (status = 401, description = "Token invalid or expired")))]
pub async fn logout(
    State(state): State<AppState>,
    user: SessionUser,
    Extension(SessionId(sid)): Extension<SessionId>,
) -> ApiResult<StatusCode> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    store::sessions::end(&mut tx, &sid, now_ms()).await?;
    state
        .events
        .control(
            tx,
            ControlRow {
                account_id: user.account_id,
                session_id: Some(sid),
                ..ControlRow::default()
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password (`currentPassword` must match) and ends the user's other
/// password sessions on every node; this session stays. API keys keep working.
#[utoipa::path(post, operation_id = "changePassword", path = "/api/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordBody,
    responses((status = 204, description = "Password changed; other sessions ended"),
        (status = 400, description = "New password too short"),
        (status = 401, description = "Token invalid, or wrong current password"),
        (status = 403, description = "An API key's token"),
        (status = 429, description = "Too many wrong passwords")))]
pub async fn change_password(
    State(state): State<AppState>,
    user: PasswordUser,
    client: ClientAddr,
    Extension(SessionId(sid)): Extension<SessionId>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let mut problems = Problems::new();
    problems.check(
        body.new_password.chars().count() >= 8,
        "newPassword must have at least 8 characters",
    );
    problems.check(
        body.new_password.chars().count() <= 256,
        "newPassword must have at most 256 characters",
    );
    problems.into_result()?;
    let row = {
        let mut conn = state.store.acquire().await?;
        store::accounts::user(&mut conn, user.account_id, user.user_id)
            .await?
            .ok_or_else(|| ApiError::Unauthorized("invalid token".into()))?
    };
    let attempt = state
        .throttle
        .login(&row.email, client.ip)
        .map_err(ApiError::TooManyRequests)?;
    let matches = match state
        .hashing
        .verify(body.current_password, row.password_hash)
        .await
    {
        Ok(matches) => matches,
        Err(HashError::Failed(_)) => false,
        Err(busy) => return Err(busy.into()),
    };
    if !matches {
        attempt.failed();
        return Err(ApiError::Unauthorized("current password is wrong".into()));
    }
    attempt.succeeded();
    let hash = state.hashing.hash(body.new_password).await?;
    let now = now_ms();
    let mut tx = state.store.begin_write(user.account_id).await?;
    store::accounts::set_password(&mut tx, user.account_id, user.user_id, &hash).await?;
    store::sessions::end_for_user(&mut tx, user.account_id, user.user_id, Some(&sid), now).await?;
    state
        .events
        .control(
            tx,
            ControlRow {
                account_id: user.account_id,
                user_id: Some(user.user_id),
                keep_session_id: Some(sid),
                ..ControlRow::default()
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, operation_id = "getMe", path = "/api/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, user: StaffUser) -> ApiResult<ApiJson<Me>> {
    let mut conn = state.store.acquire().await?;
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

fn key_view(row: ApiKeyRow) -> ApiKey {
    ApiKey {
        id: row.id,
        name: row.name,
        prefix: row.key_prefix,
        created_at: format_ms(row.created_at),
        last_used_at: row.last_used_at.map(format_ms),
        revoked_at: row.revoked_at.map(format_ms),
        scope: KeyScope::from_stored(&row.scope),
    }
}

/// Releases API access: a new key, shown once.
#[utoipa::path(post, operation_id = "createApiKey", path = "/api/api-keys", tag = "api-keys", security(("bearer" = [])), request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKey), (status = 400, description = "Empty or long name, unknown scope"), (status = 403, description = "Not the master user")))]
pub async fn create_key(
    State(state): State<AppState>,
    user: MasterUser,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> ApiResult<(StatusCode, ApiJson<CreatedKey>)> {
    let name = body.name.trim();
    let scope = match body.scope.as_deref().map(str::trim) {
        None => Some(KeyScope::Integration),
        Some(name) => KeyScope::parse(name),
    };
    let mut problems = Problems::new();
    problems.check(
        scope.is_some(),
        "scope must be one of: kiosk, panel, integration",
    );
    problems.check(!name.is_empty(), "name must not be empty");
    problems.check(
        name.chars().count() <= KEY_NAME_MAX,
        format!("name must have at most {KEY_NAME_MAX} characters"),
    );
    problems.into_result()?;
    let scope = scope.unwrap_or_default();
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
        scope.as_str(),
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
            scope,
        }),
    ))
}

/// The account's keys (never the keys themselves).
#[utoipa::path(get, operation_id = "listApiKeys", path = "/api/api-keys", tag = "api-keys", security(("bearer" = [])),
    responses((status = 200, body = [ApiKey]), (status = 403, description = "Not the master user")))]
pub async fn list_keys(
    State(state): State<AppState>,
    user: MasterUser,
) -> ApiResult<ApiJson<Vec<ApiKey>>> {
    let mut conn = state.store.acquire().await?;
    let rows = store::api_keys::list(&mut conn, user.account_id).await?;
    Ok(ApiJson(rows.into_iter().map(key_view).collect()))
}

/// Revokes a key: it can no longer be traded, its tokens are refused at once (refresh
/// included), and every socket it opened, on every node, is disconnected.
#[utoipa::path(delete, operation_id = "revokeApiKey", path = "/api/api-keys/{id}", tag = "api-keys", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ApiKey), (status = 403, description = "Not the master user"), (status = 404)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    user: MasterUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<ApiKey>> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    if !store::api_keys::revoke(&mut tx, user.account_id, id, now_ms()).await? {
        return Err(ApiError::not_found("api key"));
    }
    let row = store::api_keys::get(&mut tx, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("api key"))?;
    store::sessions::end_for_key(&mut tx, user.account_id, id, now_ms()).await?;
    state
        .events
        .control(
            tx,
            ControlRow {
                account_id: user.account_id,
                api_key_id: Some(id),
                ..ControlRow::default()
            },
        )
        .await?;
    Ok(ApiJson(key_view(row)))
}
