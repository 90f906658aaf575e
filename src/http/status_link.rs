//! The patient's live status link, and calling a patient again on the TVs.
//!
//! - `POST /api/appointments/{id}/status-link` (staff) → `{"token","url","expiresAt"}`: a new
//!   opaque token for the appointment, valid until the end of its day;
//! - `DELETE /api/appointments/{id}/status-link` (staff) revokes every link of the appointment
//!   and disconnects their sockets;
//! - `GET /api/public/status/{token}` (no login) → the patient's reduced view;
//! - `POST /api/appointments/{id}/recall` (staff) → `appointments.recalled` on every TV.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::StaffUser;
use crate::domain::status::Status;
use crate::domain::time::{format_ms, now_ms};
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::events::flow;
use crate::model::Appointment;
use crate::public::{self, PublicStatus};
use crate::state::AppState;
use crate::store::{self, Tx, appointments::AppointmentRow};

use super::appointments::load;
use super::forwarded::ClientAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/appointments/{id}/status-link",
            post(create_link).delete(revoke_links),
        )
        .route("/api/appointments/{id}/recall", post(recall))
        .route("/api/public/status/{token}", get(public_status))
}

/// A new status link: the token is shown here only (the server keeps its digest).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusLink {
    pub token: String,
    /// The patient's page, `{origin}/p/{token}`: the origin the caller reached the server at
    /// (`Host`, or a trusted proxy's `X-Forwarded-Proto` and `X-Forwarded-Host`).
    pub url: String,
    pub expires_at: String,
}

/// How many links were revoked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: usize,
}

/// Creates a link for `row` inside `tx`, valid until the end of its day in the clinic's `zone`;
/// refuses an appointment whose day is over.
pub(super) async fn new_link(
    tx: &mut Tx,
    account_id: i64,
    zone: Tz,
    row: &AppointmentRow,
    origin: &str,
    now: i64,
) -> ApiResult<StatusLink> {
    let expires_at = public::end_of_day_ms(zone, &row.day)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bad stored day {}", row.day)))?;
    if expires_at <= now {
        return Err(ApiError::Conflict(
            "the appointment's day is over: its status link would already be expired".into(),
        ));
    }
    let token = public::new_token();
    store::status_links::insert(
        tx,
        account_id,
        row.id,
        &public::token_digest(&token),
        expires_at,
        now,
    )
    .await?;
    Ok(StatusLink {
        url: format!("{origin}/p/{token}"),
        token,
        expires_at: format_ms(expires_at),
    })
}

/// A new status link for the appointment (each call makes another; earlier ones stay valid
/// until revoked or expired).
#[utoipa::path(post, operation_id = "createStatusLink", path = "/api/appointments/{id}/status-link", tag = "patients' status", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 201, body = StatusLink), (status = 404), (status = 409, description = "The appointment's day is over")))]
pub async fn create_link(
    State(state): State<AppState>,
    user: StaffUser,
    client: ClientAddr,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, ApiJson<StatusLink>)> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = load(&mut tx, user.account_id, id).await?;
    let zone = state.clinic_day(&mut tx, user.account_id).await?.zone;
    let link = new_link(
        &mut tx,
        user.account_id,
        zone,
        &row,
        &client.origin(),
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(link)))
}

/// Revokes every status link of the appointment: their pages answer 404 and their sockets are
/// disconnected.
#[utoipa::path(delete, operation_id = "revokeStatusLinks", path = "/api/appointments/{id}/status-link", tag = "patients' status", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Revoked), (status = 404)))]
pub async fn revoke_links(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Revoked>> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    load(&mut tx, user.account_id, id).await?;
    let ids = store::status_links::revoke_all(&mut tx, user.account_id, id, now_ms()).await?;
    tx.commit().await?;
    let revoked = ids.len();
    state.status_feed.revoked(ids);
    Ok(ApiJson(Revoked { revoked }))
}

/// The patient's view of their appointment. An unknown, revoked or expired token is 404.
/// Limited per link and per client network (429 with `Retry-After`, see `auth::throttle`).
#[utoipa::path(get, operation_id = "getPublicStatus", path = "/api/public/status/{token}", tag = "patients' status",
    params(("token" = String, Path)),
    responses((status = 200, body = PublicStatus), (status = 404), (status = 429, description = "Too many reads of this link or from this network")))]
pub async fn public_status(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<ApiJson<PublicStatus>> {
    state
        .throttle
        .public_status(token.trim(), client.ip)
        .map_err(ApiError::TooManyRequests)?;
    let now = now_ms();
    let mut conn = state.store.acquire().await?;
    let gone = || ApiError::NotFound("this status link is unknown or has expired".into());
    let link = store::status_links::find_live(&mut conn, &public::token_digest(token.trim()), now)
        .await?
        .ok_or_else(gone)?;
    // Reused while the clinic's log stands still (`public::StatusAnswers`).
    let seq = store::events::last_seq(&mut conn, link.account_id).await?;
    if let Some(status) = state
        .status_answers
        .get(link.account_id, link.appointment_id, seq)
    {
        return Ok(ApiJson(status));
    }
    let status = public::status_of(
        &mut conn,
        &state.service_times,
        link.account_id,
        link.appointment_id,
        state.default_zone,
        now,
    )
    .await?
    .ok_or_else(gone)?;
    state
        .status_answers
        .put(link.account_id, link.appointment_id, seq, status.clone());
    Ok(ApiJson(status))
}

/// Calls a patient who is being served again on every TV of the clinic
/// (`appointments.recalled`, with the appointment as payload). Changes nothing else.
#[utoipa::path(post, operation_id = "recallPatient", path = "/api/appointments/{id}/recall", tag = "appointments", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Appointment), (status = 404), (status = 409, description = "The patient has not been called")))]
pub async fn recall(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Appointment>> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = load(&mut tx, user.account_id, id).await?;
    if row.status() != Status::EmAtendimento {
        return Err(ApiError::Conflict(
            "only a patient being served (called) can be called again".into(),
        ));
    }
    let view = row.view();
    state
        .events
        .commit(tx, user.account_id, &flow::appointment_recalled(&view)?)
        .await?;
    Ok(ApiJson(view))
}
