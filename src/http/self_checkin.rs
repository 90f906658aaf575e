//! `POST /api/self-checkin`: the patient checks in at the totem with their CPF and birth date.
//!
//! Only a token traded for an API key (the totem's) may call it, and each key has a budget of
//! attempts (429 with `Retry-After` past it). Wrong data gets one neutral answer, the same
//! whether or not the CPF is registered. The answer carries nothing beyond the patient's first
//! name and their own appointments of today.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::TotemKey;
use crate::domain::cpf;
use crate::domain::status::Status;
use crate::domain::time::{now_ms, parse_day};
use crate::error::{ApiError, ApiJson, ApiResult, ErrorMessage, Problems, error_body};
use crate::events::flow::{self, StatusChange};
use crate::public::{DayView, Estimate, PublicDoctor, first_name};
use crate::state::AppState;
use crate::store::{self, appointments::StatusWrite};

use super::forwarded::ClientAddr;
use super::idempotency::idempotent;
use super::status::check_flags;
use super::status_link::new_link;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/self-checkin", post(idempotent(self_checkin)))
}

/// The one answer to wrong data.
pub const NEUTRAL: &str = "no appointment of today matches this CPF and birth date";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelfCheckinBody {
    /// `123.456.789-09` or 11 digits.
    pub cpf: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "1980-05-17")]
    pub date_birth: String,
    /// Legal priority the patient declares (`gestante`, `lactante`, `crianca_colo`,
    /// `deficiencia`, `obesidade`); staff see them as declared by the patient.
    pub priority_flags: Option<Vec<String>>,
    /// `true`: only show today's appointments, check nothing in (the totem's first step).
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SelfCheckinAnswer {
    pub appointments: Vec<SelfCheckinAppointment>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelfCheckinAppointment {
    pub id: i64,
    pub first_name: String,
    #[schema(required)]
    pub doctor: Option<PublicDoctor>,
    pub start_time: String,
    /// `Check-in` (waiting), `Em atendimento`, or, in a dry run, `Agendado`/`Confirmado`.
    pub status: String,
    /// The place in the doctor's queue (1 = next), while waiting.
    #[schema(required)]
    pub position: Option<i64>,
    #[schema(required)]
    pub estimate: Option<Estimate>,
    /// The live status page of the appointment (null in a dry run).
    #[schema(required)]
    pub url: Option<String>,
}

/// Checks in the patient's appointments of today that can be checked in (and lists the ones
/// already checked in), with their place, wait estimate and status link.
#[utoipa::path(post, operation_id = "selfCheckin", path = "/api/self-checkin", tag = "patients' status", security(("bearer" = [])),
    request_body = SelfCheckinBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body within 24 h get the first answer again (`Idempotent-Replayed: true`)")),
    responses((status = 200, body = SelfCheckinAnswer),
        (status = 403, description = "Not a token traded for a `kiosk` or `integration` API key"),
        (status = 404, description = "No appointment of today matches (one neutral answer)"),
        (status = 409, description = "A retry while the first request with its Idempotency-Key still runs"),
        (status = 429, description = "Too many attempts with this key: see Retry-After"), (status = 422, description = "The Idempotency-Key was used with another body or endpoint")))]
pub async fn self_checkin(
    State(state): State<AppState>,
    user: TotemKey,
    client: ClientAddr,
    ApiJson(body): ApiJson<SelfCheckinBody>,
) -> ApiResult<Response> {
    let key_id = user.api_key_id;
    if let Err(wait) = state.self_checkin_limiter.check(key_id) {
        return Ok(too_many(wait));
    }
    let digits = cpf::normalize(&body.cpf);
    let birth = body.date_birth.trim();
    let mut problems = Problems::new();
    problems.check(digits.is_some(), "cpf must be a valid CPF");
    problems.check(parse_day(birth).is_some(), "dateBirth must be YYYY-MM-DD");
    problems.into_result()?;
    let flags = check_flags(body.priority_flags.as_deref())?;
    let digits = digits.unwrap_or_default();
    let dry_run = body.dry_run.unwrap_or(false);
    let account = user.account_id;
    let now = now_ms();
    let neutral = || ApiError::NotFound(NEUTRAL.into());

    let mut tx = state.store.begin_write(account).await?;
    let clinic = state.clinic_day(&mut tx, account).await?;
    let day = clinic.today_text();
    let filter = store::patients::PatientFilter {
        cpf: Some(digits),
        ..Default::default()
    };
    let patient = store::patients::list(&mut tx, account, &filter, 1, 0)
        .await?
        .pop()
        .filter(|p| p.date_birth.as_deref() == Some(birth))
        .ok_or_else(neutral)?;
    let rows: Vec<_> = store::appointments::of_patient_on(&mut tx, account, patient.id, &day)
        .await?
        .into_iter()
        .filter(|r| {
            matches!(
                r.status(),
                Status::Agendado | Status::Confirmado | Status::Checkin | Status::EmAtendimento
            )
        })
        .collect();
    if rows.is_empty() {
        return Err(neutral());
    }
    let origin = client.origin();
    let mut ids = Vec::with_capacity(rows.len());
    let mut urls = Vec::with_capacity(rows.len());
    let mut events = Vec::new();
    for row in &rows {
        ids.push(row.id);
        if dry_run {
            urls.push(None);
            continue;
        }
        let from = row.status();
        if matches!(from, Status::Agendado | Status::Confirmado) {
            let write = StatusWrite {
                status: Status::Checkin,
                doctor_id: row.doctor_id,
                priority_flags: flags.clone().unwrap_or_else(|| row.priority_flags.clone()),
                checked_in_at: Some(now),
                called_at: row.called_at,
            };
            store::appointments::write_status(&mut tx, account, row.id, &write, now).await?;
            if flags.is_some() {
                store::appointments::set_flags_declared(&mut tx, account, row.id, true).await?;
            }
            let recorded = store::history::Move {
                appointment_id: row.id,
                doctor_id: row.doctor_id,
                from: Some(from),
                to: Status::Checkin,
                at: now,
                user_id: Some(user.user_id),
                api_key_id: Some(key_id),
            };
            store::history::record(&mut tx, account, &recorded).await?;
            let appointment = store::appointments::get(&mut tx, account, row.id)
                .await?
                .ok_or_else(neutral)?
                .view();
            events.extend(flow::status_changed(&StatusChange {
                from,
                to: Status::Checkin,
                appointment,
                doctor_busy: None,
            }));
        }
        urls.push(Some(
            new_link(&mut tx, account, clinic.zone, row, &origin, now)
                .await?
                .url,
        ));
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        state.events.commit(tx, account, &events).await?;
    }

    let mut conn = state.store.acquire().await?;
    let view = DayView::load(
        &mut conn,
        &state.service_times,
        account,
        clinic.zone,
        &day,
        now,
    )
    .await?;
    let mut appointments = Vec::with_capacity(ids.len());
    for (id, url) in ids.into_iter().zip(urls) {
        let Some(row) = store::appointments::get(&mut conn, account, id).await? else {
            continue;
        };
        let waiting = row.status() == Status::Checkin;
        appointments.push(SelfCheckinAppointment {
            id,
            first_name: first_name(&row.patient_name),
            doctor: row.doctor_name.as_ref().map(|name| PublicDoctor {
                name: name.clone(),
                room: row.doctor_room.clone(),
            }),
            start_time: row.start_time.clone(),
            status: row.status().name().to_string(),
            position: waiting.then(|| view.ahead(&row) + 1),
            estimate: view.estimate(&row),
            url,
        });
    }
    Ok(ApiJson(SelfCheckinAnswer { appointments }).into_response())
}

/// 429 in the contract's error shape, with `Retry-After` in whole seconds.
fn too_many(wait: Duration) -> Response {
    let mut response = error_body(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorMessage::One("too many self check-in attempts: try again shortly".into()),
    );
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}
