//! The clinic's users (master only): create, list, change, deactivate and reactivate. A
//! deactivated user can no longer log in, refresh, or use a token they already hold, and their
//! sockets are disconnected on every node (their sessions end, as on a password change).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{check_user_name, check_user_password, email_taken, valid_email};
use crate::auth::{AuthUser, MasterUser};
use crate::domain::time::now_ms;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Problems};
use crate::state::AppState;
use crate::store::{
    self, Tx,
    accounts::{UserRow, UserUpdate},
    events::ControlRow,
};

use super::idempotency::idempotent;

/// The answer to a change that would leave the clinic without an active master.
pub const LAST_MASTER: &str = "a clinic must keep at least one active master";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", get(list).post(idempotent(create)))
        .route("/api/users/{id}", get(get_one).patch(update))
}

/// A user as the API shows it (never the password).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub is_master: bool,
    pub active: bool,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            name: row.name,
            email: row.email,
            is_master: row.is_master != 0,
            active: row.active != 0,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserBody {
    pub name: String,
    /// The login; unique across the server.
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    /// Master users manage users, API keys and settings (default false: staff).
    #[serde(default)]
    pub is_master: bool,
}

/// Every field optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub is_master: Option<bool>,
    /// `false` deactivates the user (their tokens stop working at once), `true` reactivates.
    pub active: Option<bool>,
}

/// Checks again, inside the change's transaction (which holds the account's write turn), that
/// the acting user is still an active master: `MasterUser` read it before the turn, and a
/// master demoted or deactivated meanwhile by another master must not act as one.
async fn still_master(tx: &mut Tx, user: &AuthUser) -> ApiResult<()> {
    match store::accounts::user(tx, user.account_id, user.user_id).await? {
        Some(actor) if actor.is_master != 0 && actor.active != 0 => Ok(()),
        _ => Err(ApiError::Forbidden(
            "only the master user can do this".into(),
        )),
    }
}

/// Creates a user of the clinic (staff unless `isMaster`).
#[utoipa::path(post, operation_id = "createUser", path = "/api/users", tag = "users", security(("bearer" = [])), request_body = CreateUserBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body within 24 h get the first answer again (`Idempotent-Replayed: true`)")),
    responses((status = 201, body = User), (status = 403, description = "Not the master user"),
        (status = 409, description = "Email already in use, or a retry while the first request with its Idempotency-Key still runs"), (status = 422, description = "The Idempotency-Key was used with another body or endpoint")))]
pub async fn create(
    State(state): State<AppState>,
    user: MasterUser,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> ApiResult<(StatusCode, ApiJson<User>)> {
    let name = body.name.trim().to_string();
    let email = body.email.trim().to_lowercase();
    let mut problems = Problems::new();
    check_user_name(&mut problems, &name);
    problems.check(valid_email(&email), "email must be a valid email address");
    check_user_password(&mut problems, &body.password);
    problems.into_result()?;
    let hash = state.hashing.hash(body.password).await?;
    let now = now_ms();
    let mut tx = state.store.begin_write(user.account_id).await?;
    still_master(&mut tx, &user).await?;
    let id = store::accounts::insert_user(
        &mut tx,
        user.account_id,
        &name,
        &email,
        &hash,
        body.is_master,
        now,
    )
    .await
    .map_err(email_taken)?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(User {
            id,
            name,
            email,
            is_master: body.is_master,
            active: true,
        }),
    ))
}

/// The clinic's users, by name.
#[utoipa::path(get, operation_id = "listUsers", path = "/api/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [User]), (status = 403, description = "Not the master user")))]
pub async fn list(
    State(state): State<AppState>,
    user: MasterUser,
) -> ApiResult<ApiJson<Vec<User>>> {
    let mut conn = state.store.acquire().await?;
    let rows = store::accounts::users(&mut conn, user.account_id).await?;
    Ok(ApiJson(rows.into_iter().map(User::from).collect()))
}

/// One user.
#[utoipa::path(get, operation_id = "getUser", path = "/api/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 403), (status = 404)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: MasterUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<User>> {
    let mut conn = state.store.acquire().await?;
    let row = store::accounts::user(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ApiJson(row.into()))
}

/// Changes a user: name, email, password, master flag; `{"active":false}` deactivates them
/// (their tokens stop working at once), `{"active":true}` reactivates. A master cannot
/// deactivate themselves or drop their own master flag (409), and no change may deactivate or
/// demote the clinic's last active master (409, checked in the change's transaction, so two
/// masters deactivating each other at the same moment cannot both succeed).
#[utoipa::path(patch, operation_id = "updateUser", path = "/api/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = UserPatch, responses((status = 200, body = User), (status = 403), (status = 404),
        (status = 409, description = "Email already in use, a master's change to themselves that would lock them out, or a change that would leave the clinic without an active master")))]
pub async fn update(
    State(state): State<AppState>,
    user: MasterUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> ApiResult<ApiJson<User>> {
    let mut problems = Problems::new();
    let name = patch.name.map(|n| n.trim().to_string());
    let email = patch.email.map(|e| e.trim().to_lowercase());
    if let Some(name) = &name {
        check_user_name(&mut problems, name);
    }
    if let Some(email) = &email {
        problems.check(valid_email(email), "email must be a valid email address");
    }
    if let Some(password) = &patch.password {
        check_user_password(&mut problems, password);
    }
    problems.into_result()?;
    if id == user.user_id && (patch.active == Some(false) || patch.is_master == Some(false)) {
        return Err(ApiError::Conflict(
            "you cannot deactivate yourself or drop your own master access".into(),
        ));
    }
    let hash_changed = patch.password.is_some();
    let hash = match patch.password {
        Some(password) => Some(state.hashing.hash(password).await?),
        None => None,
    };
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = store::accounts::user(&mut tx, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let update = UserUpdate {
        name: name.unwrap_or(row.name),
        email: email.unwrap_or(row.email),
        password_hash: hash.unwrap_or(row.password_hash),
        is_master: patch.is_master.unwrap_or(row.is_master != 0),
        active: patch.active.unwrap_or(row.active != 0),
    };
    let was_active_master = row.is_master != 0 && row.active != 0;
    if was_active_master
        && !(update.is_master && update.active)
        && store::accounts::other_active_masters(&mut tx, user.account_id, id).await? == 0
    {
        // Dropping `tx` rolls back: nothing changes.
        return Err(ApiError::Conflict(LAST_MASTER.into()));
    }
    still_master(&mut tx, &user).await?;
    let now = now_ms();
    let cut = (row.active != 0 && !update.active) || hash_changed;
    store::accounts::update_user(&mut tx, user.account_id, id, &update, now)
        .await
        .map_err(email_taken)?;
    let row = store::accounts::user(&mut tx, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if cut {
        // Deactivated, or given a new password: the user's sessions end, REST refuses their
        // tokens and every node disconnects their sockets (a control row in the event log).
        store::sessions::end_for_user(&mut tx, user.account_id, id, None, now).await?;
        let control = ControlRow {
            account_id: user.account_id,
            user_id: Some(id),
            ..ControlRow::default()
        };
        state.events.control(tx, control).await?;
    } else {
        tx.commit().await?;
    }
    Ok(ApiJson(row.into()))
}
