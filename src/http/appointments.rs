//! Appointments: create (one per procedure), list, queue, calls, get, edit, delete, reschedule.
//! Status moves live in `status.rs`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, patch};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{PanelOrStaff, StaffUser};
use crate::domain::ids::FlexId;
use crate::domain::status::{ACTIONS, Status};
use crate::domain::time::{now_ms, parse_day, parse_time_of_day};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Problems};
use crate::events::flow;
use crate::model::Appointment;
use crate::state::AppState;
use crate::store::{
    self, Tx,
    appointments::{AppointmentFilter, AppointmentRow, NewAppointment, Slot},
};

use super::Page;
use super::idempotency::idempotent;
use super::patients::{self, PatientBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/appointments", get(list).post(idempotent(create)))
        .route("/api/appointments/queue", get(queue))
        .route("/api/appointments/calls", get(calls))
        .route(
            "/api/appointments/{id}",
            get(get_one).patch(edit).delete(remove),
        )
        .route("/api/appointments/{id}/reschedule", patch(reschedule))
}

/// The header carrying the account's latest event `seq` when a list was read.
pub const SEQ_HEADER: &str = "x-event-seq";

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProcedureItem {
    pub id: FlexId,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateAppointmentBody {
    /// A new patient (reused when its CPF is already registered in the account).
    pub patient: Option<PatientBody>,
    pub patient_id: Option<FlexId>,
    pub procedures: Vec<ProcedureItem>,
    pub doctor_id: Option<FlexId>,
    #[schema(example = "2025-01-23")]
    pub date: String,
    #[schema(example = "09:00")]
    pub start_time: String,
    #[schema(example = "09:15")]
    pub end_time: String,
    pub notes: Option<String>,
}

fn check_slot(problems: &mut Problems, date: &str, start: &str, end: &str) {
    problems.check(parse_day(date).is_some(), "date must be YYYY-MM-DD");
    let (s, e) = (parse_time_of_day(start), parse_time_of_day(end));
    problems.check(s.is_some(), "startTime must be HH:mm");
    problems.check(e.is_some(), "endTime must be HH:mm");
    if let (Some(s), Some(e)) = (s, e) {
        problems.check(s < e, "startTime must be before endTime");
    }
}

fn check_notes(problems: &mut Problems, notes: Option<&str>) {
    problems.check(
        notes.is_none_or(|n| n.chars().count() <= 2000),
        "notes must have at most 2000 characters",
    );
}

pub(super) async fn doctor_exists(tx: &mut Tx, account_id: i64, id: i64) -> ApiResult<()> {
    match store::doctors::get(tx, account_id, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("doctor")),
    }
}

/// The appointment's payload, read inside `tx`.
pub(super) async fn load(tx: &mut Tx, account_id: i64, id: i64) -> ApiResult<AppointmentRow> {
    store::appointments::get(tx, account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment"))
}

/// Creates one appointment per procedure, in one transaction; broadcasts `appointments.created`.
#[utoipa::path(post, operation_id = "createAppointment", path = "/api/appointments", tag = "appointments", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body within 24 h get the first answer again (`Idempotent-Replayed: true`)")),
    request_body = CreateAppointmentBody,
    responses((status = 201, body = [Appointment]), (status = 400), (status = 404), (status = 409, description = "A transition not allowed, or a retry while the first request with its Idempotency-Key still runs"), (status = 422, description = "The Idempotency-Key was used with another body or endpoint")))]
pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(body): ApiJson<CreateAppointmentBody>,
) -> ApiResult<(StatusCode, ApiJson<Vec<Appointment>>)> {
    let mut problems = Problems::new();
    check_slot(&mut problems, &body.date, &body.start_time, &body.end_time);
    check_notes(&mut problems, body.notes.as_deref());
    problems.check(!body.procedures.is_empty(), "procedures must not be empty");
    problems.check(
        body.procedures.len() <= 20,
        "procedures must have at most 20 items",
    );
    problems.check(
        body.patient.is_some() != body.patient_id.is_some(),
        "give either patient or patientId",
    );
    problems.into_result()?;
    let account = user.account_id;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let patient_id = match (body.patient_id, body.patient) {
        (Some(id), _) => {
            store::patients::get(&mut tx, account, id.0)
                .await?
                .ok_or_else(|| ApiError::not_found("patient"))?
                .id
        }
        (None, Some(patient)) => {
            let today = state.clinic_day(&mut tx, account).await?.today;
            find_or_insert_patient(&mut tx, account, patient, today).await?
        }
        (None, None) => {
            return Err(ApiError::Validation(vec![
                "give either patient or patientId".into(),
            ]));
        }
    };
    let doctor_id = body.doctor_id.map(|d| d.0);
    if let Some(id) = doctor_id {
        doctor_exists(&mut tx, account, id).await?;
    }
    let now = now_ms();
    let mut created = Vec::with_capacity(body.procedures.len());
    for item in &body.procedures {
        if store::procedures::get(&mut tx, account, item.id.0)
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound(format!(
                "procedure {} not found",
                item.id.0
            )));
        }
        let new = NewAppointment {
            patient_id,
            doctor_id,
            procedure_id: item.id.0,
            day: body.date.clone(),
            start_time: body.start_time.clone(),
            end_time: body.end_time.clone(),
            notes: body.notes.clone(),
        };
        let id = store::appointments::insert(&mut tx, account, &new, now).await?;
        created.push(load(&mut tx, account, id).await?.view());
    }
    state
        .events
        .commit(tx, account, &flow::appointments_created(&created)?)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// A patient given inline: the registered one with the same CPF, or a new one (`today` is the
/// clinic's, for the birth date).
async fn find_or_insert_patient(
    tx: &mut Tx,
    account_id: i64,
    patient: PatientBody,
    today: NaiveDate,
) -> ApiResult<i64> {
    if let Some(digits) = patient
        .cpf
        .as_deref()
        .and_then(crate::domain::cpf::normalize)
    {
        let filter = store::patients::PatientFilter {
            cpf: Some(digits),
            ..Default::default()
        };
        if let Some(existing) = store::patients::list(tx, account_id, &filter, 1, 0)
            .await?
            .pop()
        {
            return Ok(existing.id);
        }
    }
    Ok(patients::insert(tx, account_id, patient, today).await?.id)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    /// An action string, e.g. `check-in`.
    pub status: Option<String>,
    pub doctor_id: Option<i64>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

fn seq_headers(seq: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(SEQ_HEADER, HeaderValue::from(seq));
    headers
}

/// The given day, or the clinic's today (in its time zone) when none is given.
pub(super) async fn day_or_today(
    state: &AppState,
    account_id: i64,
    date: Option<String>,
) -> ApiResult<String> {
    match date.filter(|d| !d.is_empty()) {
        Some(d) if parse_day(&d).is_some() => Ok(d),
        Some(_) => Err(ApiError::Validation(vec!["date must be YYYY-MM-DD".into()])),
        None => {
            let mut conn = state.store.acquire().await?;
            Ok(state.clinic_day(&mut conn, account_id).await?.today_text())
        }
    }
}

/// Lists appointments by day, status and doctor; `X-Event-Seq` tells the log position read.
#[utoipa::path(get, operation_id = "listAppointments", path = "/api/appointments", tag = "appointments", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = [Appointment], headers(("x-event-seq" = i64))), (status = 400)))]
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<(HeaderMap, ApiJson<Vec<Appointment>>)> {
    let (limit, offset) = Page {
        limit: query.limit,
        offset: query.offset,
    }
    .resolve(20)?;
    let mut problems = Problems::new();
    let status = query.status.as_deref().and_then(|action| {
        let parsed = Status::from_action(action);
        problems.check(
            parsed.is_some(),
            format!("status must be one of: {ACTIONS}"),
        );
        parsed
    });
    if let Some(date) = &query.date {
        problems.check(parse_day(date).is_some(), "date must be YYYY-MM-DD");
    }
    problems.into_result()?;
    let filter = AppointmentFilter {
        day: query.date,
        status,
        doctor_id: query.doctor_id,
    };
    let mut tx = state.store.begin_read().await?;
    let seq = store::events::last_seq(&mut tx, user.account_id).await?;
    let rows = store::appointments::list(&mut tx, user.account_id, &filter, limit, offset).await?;
    tx.commit().await?;
    Ok((
        seq_headers(seq),
        ApiJson(rows.iter().map(AppointmentRow::view).collect()),
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// `YYYY-MM-DD`; the clinic's today when absent.
    pub date: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// `YYYY-MM-DD`; the clinic's today when absent.
    pub date: Option<String>,
    /// Default 5.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The appointments as the caller gets them: reduced for the TV panel under the clinic's panel
/// name style (see `Appointment::for_panel`).
async fn views_for(
    tx: &mut Tx,
    user: &PanelOrStaff,
    rows: &[AppointmentRow],
) -> ApiResult<Vec<Appointment>> {
    let views = rows.iter().map(AppointmentRow::view);
    if !user.is_panel() {
        return Ok(views.collect());
    }
    let style = store::accounts::panel_name_style(tx, user.account_id).await?;
    Ok(views.map(|view| view.for_panel(&style)).collect())
}

/// The waiting queue: CHECKIN by priority tier then check-in time, then EM_ATENDIMENTO.
#[utoipa::path(get, operation_id = "listQueue", path = "/api/appointments/queue", tag = "appointments", security(("bearer" = [])), params(DayQuery),
    responses((status = 200, body = [Appointment], headers(("x-event-seq" = i64))), (status = 400)))]
pub async fn queue(
    State(state): State<AppState>,
    user: PanelOrStaff,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> ApiResult<(HeaderMap, ApiJson<Vec<Appointment>>)> {
    let day = day_or_today(&state, user.account_id, query.date).await?;
    let mut tx = state.store.begin_read().await?;
    let seq = store::events::last_seq(&mut tx, user.account_id).await?;
    let rows = store::appointments::queue(&mut tx, user.account_id, &day).await?;
    let views = views_for(&mut tx, &user, &rows).await?;
    tx.commit().await?;
    Ok((seq_headers(seq), ApiJson(views)))
}

/// The latest calls of the day, newest first (the TV panel).
#[utoipa::path(get, operation_id = "listCalls", path = "/api/appointments/calls", tag = "appointments", security(("bearer" = [])), params(CallsQuery),
    responses((status = 200, body = [Appointment], headers(("x-event-seq" = i64))), (status = 400)))]
pub async fn calls(
    State(state): State<AppState>,
    user: PanelOrStaff,
    ApiQuery(query): ApiQuery<CallsQuery>,
) -> ApiResult<(HeaderMap, ApiJson<Vec<Appointment>>)> {
    let (limit, _) = Page {
        limit: query.limit,
        offset: None,
    }
    .resolve(5)?;
    let day = day_or_today(&state, user.account_id, query.date).await?;
    let mut tx = state.store.begin_read().await?;
    let seq = store::events::last_seq(&mut tx, user.account_id).await?;
    let rows = store::appointments::calls(&mut tx, user.account_id, &day, limit).await?;
    let views = views_for(&mut tx, &user, &rows).await?;
    tx.commit().await?;
    Ok((seq_headers(seq), ApiJson(views)))
}

/// One appointment.
#[utoipa::path(get, operation_id = "getAppointment", path = "/api/appointments/{id}", tag = "appointments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Appointment), (status = 404)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Appointment>> {
    let mut conn = state.store.acquire().await?;
    let row = store::appointments::get(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment"))?;
    Ok(ApiJson(row.view()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditBody {
    pub patient: Option<PatientBody>,
    pub notes: Option<String>,
}

/// Edits the patient's data or the notes; broadcasts `appointments.updated`.
#[utoipa::path(patch, operation_id = "updateAppointment", path = "/api/appointments/{id}", tag = "appointments", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = EditBody, responses((status = 200, body = Appointment), (status = 400), (status = 404), (status = 409)))]
pub async fn edit(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EditBody>,
) -> ApiResult<ApiJson<Appointment>> {
    let mut problems = Problems::new();
    check_notes(&mut problems, body.notes.as_deref());
    problems.into_result()?;
    let account = user.account_id;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = load(&mut tx, account, id).await?;
    if let Some(patient) = body.patient {
        let today = state.clinic_day(&mut tx, account).await?.today;
        patients::update_in(&mut tx, account, row.patient_id, patient, today).await?;
    }
    if let Some(notes) = &body.notes {
        let notes = notes.trim();
        let notes = (!notes.is_empty()).then_some(notes);
        store::appointments::set_notes(&mut tx, account, id, notes, now_ms()).await?;
    }
    let view = load(&mut tx, account, id).await?.view();
    state
        .events
        .commit(tx, account, &flow::appointment_updated(&view)?)
        .await?;
    Ok(ApiJson(view))
}

/// Soft-deletes an appointment (not while it is being served); broadcasts `appointments.updated`.
#[utoipa::path(delete, operation_id = "deleteAppointment", path = "/api/appointments/{id}", tag = "appointments", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Appointment), (status = 404), (status = 409)))]
pub async fn remove(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Appointment>> {
    let account = user.account_id;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = load(&mut tx, account, id).await?;
    if row.status() == Status::EmAtendimento {
        return Err(ApiError::Conflict(
            "the patient is being served: finish or return them to the queue first".into(),
        ));
    }
    store::appointments::soft_delete(&mut tx, account, id, now_ms()).await?;
    let view = store::appointments::get_any(&mut tx, account, id)
        .await?
        .ok_or_else(|| ApiError::not_found("appointment"))?
        .view();
    state
        .events
        .commit(tx, account, &flow::appointment_updated(&view)?)
        .await?;
    Ok(ApiJson(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RescheduleBody {
    pub doctor_id: FlexId,
    pub date: String,
    pub start_time: String,
    pub end_time: String,
}

/// Moves an appointment to another doctor, day or time; it starts over as AGENDADO.
#[utoipa::path(patch, operation_id = "rescheduleAppointment", path = "/api/appointments/{id}/reschedule", tag = "appointments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = RescheduleBody,
    responses((status = 200, body = Appointment), (status = 400), (status = 404), (status = 409)))]
pub async fn reschedule(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RescheduleBody>,
) -> ApiResult<ApiJson<Appointment>> {
    let mut problems = Problems::new();
    check_slot(&mut problems, &body.date, &body.start_time, &body.end_time);
    problems.into_result()?;
    let account = user.account_id;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = load(&mut tx, account, id).await?;
    if row.status() == Status::EmAtendimento {
        return Err(ApiError::Conflict(
            "the patient is being served: finish or return them to the queue first".into(),
        ));
    }
    doctor_exists(&mut tx, account, body.doctor_id.0).await?;
    let slot = Slot {
        doctor_id: body.doctor_id.0,
        day: body.date,
        start_time: body.start_time,
        end_time: body.end_time,
    };
    let now = now_ms();
    store::appointments::reschedule(&mut tx, account, id, &slot, now).await?;
    if row.status() != Status::Agendado {
        let recorded = store::history::Move {
            appointment_id: id,
            doctor_id: Some(slot.doctor_id),
            from: Some(row.status()),
            to: Status::Agendado,
            at: now,
            user_id: Some(user.user_id),
            api_key_id: user.api_key_id,
        };
        store::history::record(&mut tx, account, &recorded).await?;
    }
    let view = load(&mut tx, account, id).await?.view();
    state
        .events
        .commit(tx, account, &flow::appointment_updated(&view)?)
        .await?;
    Ok(ApiJson(view))
}
