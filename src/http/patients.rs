//! Patients: CPF with check digits, unique per account.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::StaffUser;
use crate::domain::cpf;
use crate::domain::time::{now_ms, parse_day};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Problems};
use crate::events::flow;
use crate::model::{Appointment, Patient};
use crate::state::AppState;
use crate::store::{
    self, Tx,
    patients::{PatientFields, PatientFilter, PatientRow},
};

use super::Page;
use super::idempotency::idempotent;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/patients", get(list).post(idempotent(create)))
        .route("/api/patients/{id}", get(get_one).patch(update))
        .route("/api/patients/{id}/appointments", get(appointments_of))
}

/// A patient's fields; all required fields are checked on create, all optional on update.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientBody {
    pub name: Option<String>,
    pub phone: Option<String>,
    #[schema(example = "1980-05-17")]
    pub date_birth: Option<String>,
    #[schema(example = "123.456.789-09")]
    pub cpf: Option<String>,
}

pub const DUPLICATE_CPF: &str = "Já existe um paciente com esse CPF";

impl PatientBody {
    /// Applies the body onto `fields`, checking every value.
    pub fn apply(self, mut fields: PatientFields, today: NaiveDate) -> ApiResult<PatientFields> {
        let mut problems = Problems::new();
        if let Some(name) = self.name {
            fields.name = name.trim().to_string();
        }
        problems.check(!fields.name.is_empty(), "patient name must not be empty");
        problems.check(
            fields.name.chars().count() <= 200,
            "patient name must have at most 200 characters",
        );
        if let Some(phone) = self.phone {
            let phone = phone.trim().to_string();
            problems.check(
                phone.chars().count() <= 40,
                "phone must have at most 40 characters",
            );
            fields.phone = (!phone.is_empty()).then_some(phone);
        }
        if let Some(day) = self.date_birth {
            match parse_day(&day) {
                Some(d) if d <= today => fields.date_birth = Some(day),
                Some(_) => problems.push("dateBirth must not be in the future"),
                None => problems.push("dateBirth must be YYYY-MM-DD"),
            }
        }
        if let Some(raw) = self.cpf {
            if raw.trim().is_empty() {
                fields.cpf = None;
            } else {
                match cpf::normalize(&raw) {
                    Some(digits) => fields.cpf = Some(digits),
                    None => problems.push("cpf must be a valid CPF (123.456.789-09 or 11 digits)"),
                }
            }
        }
        problems.into_result()?;
        Ok(fields)
    }
}

fn empty_fields() -> PatientFields {
    PatientFields {
        name: String::new(),
        phone: None,
        date_birth: None,
        cpf: None,
    }
}

fn duplicate_cpf(err: sqlx::Error) -> ApiError {
    if store::is_unique_violation(&err) {
        ApiError::Conflict(DUPLICATE_CPF.into())
    } else {
        err.into()
    }
}

/// Inserts a new patient in `tx` (used by `POST /appointments` too); `today` is the clinic's.
pub async fn insert(
    tx: &mut Tx,
    account_id: i64,
    body: PatientBody,
    today: NaiveDate,
) -> ApiResult<PatientRow> {
    let fields = body.apply(empty_fields(), today)?;
    store::patients::insert(tx, account_id, &fields, now_ms())
        .await
        .map_err(duplicate_cpf)
}

/// Updates a patient in `tx` (used by `PATCH /appointments/{id}` too); `today` is the clinic's.
pub async fn update_in(
    tx: &mut Tx,
    account_id: i64,
    id: i64,
    body: PatientBody,
    today: NaiveDate,
) -> ApiResult<PatientRow> {
    let row = store::patients::get(tx, account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    let fields = body.apply(row.fields(), today)?;
    store::patients::update(tx, account_id, id, &fields, now_ms())
        .await
        .map_err(duplicate_cpf)
}

/// Creates a patient.
#[utoipa::path(post, operation_id = "createPatient", path = "/api/patients", tag = "patients", security(("bearer" = [])), request_body = PatientBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body within 24 h get the first answer again (`Idempotent-Replayed: true`)")),
    responses((status = 201, body = Patient), (status = 400), (status = 409, description = "Duplicate CPF, or a retry while the first request with its Idempotency-Key still runs"), (status = 422, description = "The Idempotency-Key was used with another body or endpoint")))]
pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(body): ApiJson<PatientBody>,
) -> ApiResult<(StatusCode, ApiJson<Patient>)> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    let today = state.clinic_day(&mut tx, user.account_id).await?.today;
    let row = insert(&mut tx, user.account_id, body, today).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    pub name: Option<String>,
    pub cpf: Option<String>,
    pub phone: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Searches patients by name (part), CPF or phone (part).
#[utoipa::path(get, operation_id = "listPatients", path = "/api/patients", tag = "patients", security(("bearer" = [])), params(PatientQuery),
    responses((status = 200, body = [Patient]), (status = 400)))]
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    ApiQuery(query): ApiQuery<PatientQuery>,
) -> ApiResult<ApiJson<Vec<Patient>>> {
    let (limit, offset) = Page {
        limit: query.limit,
        offset: query.offset,
    }
    .resolve(20)?;
    let cpf = match query
        .cpf
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(raw) => Some(cpf::normalize(raw).ok_or_else(|| {
            ApiError::Validation(vec![
                "cpf must be a valid CPF (123.456.789-09 or 11 digits)".into(),
            ])
        })?),
        None => None,
    };
    let filter = PatientFilter {
        name: query
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        cpf,
        phone: query
            .phone
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty()),
    };
    let mut conn = state.store.acquire().await?;
    let rows = store::patients::list(&mut conn, user.account_id, &filter, limit, offset).await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

/// One patient.
#[utoipa::path(get, operation_id = "getPatient", path = "/api/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Patient), (status = 404)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Patient>> {
    let mut conn = state.store.acquire().await?;
    let row = store::patients::get(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    Ok(ApiJson(row.into()))
}

/// Updates a patient; their appointments of today are broadcast as `appointments.updated`, so
/// no screen keeps showing the old name.
#[utoipa::path(patch, operation_id = "updatePatient", path = "/api/patients/{id}", tag = "patients", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = PatientBody, responses((status = 200, body = Patient), (status = 400), (status = 404), (status = 409)))]
pub async fn update(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatientBody>,
) -> ApiResult<ApiJson<Patient>> {
    let account = user.account_id;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let clinic = state.clinic_day(&mut tx, account).await?;
    let row = update_in(&mut tx, account, id, body, clinic.today).await?;
    let day = clinic.today_text();
    let mut events = Vec::new();
    for appointment in store::appointments::of_patient_on(&mut tx, account, id, &day).await? {
        events.extend(flow::appointment_updated(&appointment.view())?);
    }
    state.events.commit(tx, account, &events).await?;
    Ok(ApiJson(row.into()))
}

/// The patient's appointments (not deleted), latest day first.
#[utoipa::path(get, operation_id = "listPatientAppointments", path = "/api/patients/{id}/appointments", tag = "patients", security(("bearer" = [])),
    params(("id" = i64, Path), Page), responses((status = 200, body = [Appointment]), (status = 404)))]
pub async fn appointments_of(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Vec<Appointment>>> {
    let (limit, offset) = page.resolve(20)?;
    let mut conn = state.store.acquire().await?;
    store::patients::get(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("patient"))?;
    let rows =
        store::appointments::of_patient(&mut conn, user.account_id, id, limit, offset).await?;
    Ok(ApiJson(rows.iter().map(|r| r.view()).collect()))
}
