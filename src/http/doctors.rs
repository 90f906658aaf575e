//! Doctors: create, list, get, update, soft delete — each save is broadcast.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::StaffUser;
use crate::domain::ids::FlexId;
use crate::domain::slots::{self, Hours};
use crate::domain::time::{now_ms, parse_day, parse_time_of_day};
use crate::domain::weekdays;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Problems};
use crate::events::flow;
use crate::model::Doctor;
use crate::state::AppState;
use crate::store::{self, Tx, doctors::DoctorFields};

use super::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/doctors", get(list).post(create))
        .route(
            "/api/doctors/{id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/api/doctors/{id}/slots", get(slots_of_day))
}

/// Body of `POST /doctors`; every field optional on `PATCH`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorBody {
    pub name: Option<String>,
    /// Room or office shown on the TV panel, e.g. "Sala 3".
    pub room: Option<String>,
    pub procedure_ids: Option<Vec<FlexId>>,
    #[schema(example = "08:00")]
    pub start_time: Option<String>,
    #[schema(example = "16:00")]
    pub end_time: Option<String>,
    pub interval_minutes: Option<i64>,
    #[schema(example = json!(["Segunda, Terca, Quarta, Quinta, Sexta"]))]
    pub working_days: Option<Vec<String>>,
}

/// Applies the body onto `fields`, checking every value.
async fn apply(
    tx: &mut Tx,
    account_id: i64,
    body: DoctorBody,
    mut fields: DoctorFields,
) -> ApiResult<DoctorFields> {
    let mut problems = Problems::new();
    if let Some(name) = body.name {
        fields.name = name.trim().to_string();
    }
    problems.check(!fields.name.is_empty(), "name must not be empty");
    problems.check(
        fields.name.chars().count() <= 200,
        "name must have at most 200 characters",
    );
    if let Some(room) = body.room {
        let room = room.trim().to_string();
        problems.check(
            room.chars().count() <= 50,
            "room must have at most 50 characters",
        );
        fields.room = (!room.is_empty()).then_some(room);
    }
    for (value, target, label) in [
        (body.start_time, &mut fields.start_time, "startTime"),
        (body.end_time, &mut fields.end_time, "endTime"),
    ] {
        if let Some(value) = value {
            problems.check(
                parse_time_of_day(&value).is_some(),
                format!("{label} must be HH:mm"),
            );
            *target = Some(value);
        }
    }
    if let (Some(start), Some(end)) = (&fields.start_time, &fields.end_time) {
        problems.check(start < end, "startTime must be before endTime");
    }
    if let Some(interval) = body.interval_minutes {
        problems.check(
            (1..=720).contains(&interval),
            "intervalMinutes must be between 1 and 720",
        );
        fields.interval_minutes = Some(interval);
    }
    if let Some(days) = body.working_days {
        match weekdays::parse(&days) {
            Ok(days) => fields.working_days = days.into_iter().map(str::to_string).collect(),
            Err(message) => problems.push(message),
        }
    }
    problems.into_result()?;
    if let Some(ids) = body.procedure_ids {
        let mut unique: Vec<i64> = ids.into_iter().map(|id| id.0).collect();
        unique.sort_unstable();
        unique.dedup();
        for id in &unique {
            if store::procedures::get(tx, account_id, *id).await?.is_none() {
                return Err(ApiError::NotFound(format!("procedure {id} not found")));
            }
        }
        fields.procedure_ids = unique;
    }
    Ok(fields)
}

async fn view(tx: &mut Tx, account_id: i64, id: i64) -> ApiResult<Doctor> {
    let row = store::doctors::get_any(tx, account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    Ok(store::doctors::view(tx, row).await?)
}

/// Creates a doctor; broadcasts `doctors.created`.
#[utoipa::path(post, operation_id = "createDoctor", path = "/api/doctors", tag = "doctors", security(("bearer" = [])), request_body = DoctorBody,
    responses((status = 201, body = Doctor), (status = 400), (status = 404, description = "Unknown procedure")))]
pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(body): ApiJson<DoctorBody>,
) -> ApiResult<(StatusCode, ApiJson<Doctor>)> {
    if body.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(ApiError::Validation(vec!["name must not be empty".into()]));
    }
    let mut tx = state.store.begin_write(user.account_id).await?;
    let empty = DoctorFields {
        name: String::new(),
        room: None,
        start_time: None,
        end_time: None,
        interval_minutes: None,
        working_days: Vec::new(),
        procedure_ids: Vec::new(),
    };
    let fields = apply(&mut tx, user.account_id, body, empty).await?;
    let id = store::doctors::insert(&mut tx, user.account_id, &fields, now_ms()).await?;
    let doctor = view(&mut tx, user.account_id, id).await?;
    state
        .events
        .commit(tx, user.account_id, &flow::doctor_saved(&doctor, true)?)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(doctor)))
}

/// Lists doctors that are not deleted.
#[utoipa::path(get, operation_id = "listDoctors", path = "/api/doctors", tag = "doctors", security(("bearer" = [])), params(Page), responses((status = 200, body = [Doctor])))]
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Vec<Doctor>>> {
    let (limit, offset) = page.resolve(20)?;
    let mut conn = state.store.acquire().await?;
    let rows = store::doctors::list(&mut conn, user.account_id, limit, offset).await?;
    Ok(ApiJson(store::doctors::views(&mut conn, rows).await?))
}

/// One doctor.
#[utoipa::path(get, operation_id = "getDoctor", path = "/api/doctors/{id}", tag = "doctors", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Doctor), (status = 404)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Doctor>> {
    let mut conn = state.store.acquire().await?;
    let row = store::doctors::get(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    Ok(ApiJson(store::doctors::view(&mut conn, row).await?))
}

/// Updates a doctor; broadcasts `doctors.updated`.
#[utoipa::path(patch, operation_id = "updateDoctor", path = "/api/doctors/{id}", tag = "doctors", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = DoctorBody, responses((status = 200, body = Doctor), (status = 400), (status = 404)))]
pub async fn update(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DoctorBody>,
) -> ApiResult<ApiJson<Doctor>> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = store::doctors::get(&mut tx, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    let current: Vec<i64> = store::procedures::of_doctors(&mut tx, user.account_id, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.id)
        .collect();
    let fields = apply(&mut tx, user.account_id, body, row.fields(current)).await?;
    store::doctors::update(&mut tx, user.account_id, id, &fields, now_ms()).await?;
    let doctor = view(&mut tx, user.account_id, id).await?;
    state
        .events
        .commit(tx, user.account_id, &flow::doctor_saved(&doctor, false)?)
        .await?;
    Ok(ApiJson(doctor))
}

/// Soft-deletes a doctor; broadcasts `doctors.deleted`.
#[utoipa::path(delete, operation_id = "deleteDoctor", path = "/api/doctors/{id}", tag = "doctors", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Doctor), (status = 404)))]
pub async fn remove(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Doctor>> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    if !store::doctors::soft_delete(&mut tx, user.account_id, id, now_ms()).await? {
        return Err(ApiError::not_found("doctor"));
    }
    let doctor = view(&mut tx, user.account_id, id).await?;
    state
        .events
        .commit(tx, user.account_id, &flow::doctor_deleted(id)?)
        .await?;
    Ok(ApiJson(doctor))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsQuery {
    /// `YYYY-MM-DD`; the clinic's today when absent.
    pub date: Option<String>,
}

/// One slot of a doctor's day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    #[schema(example = "08:00")]
    pub start_time: String,
    #[schema(example = "08:30")]
    pub end_time: String,
    /// False when an appointment that is neither cancelled nor deleted overlaps the slot.
    pub free: bool,
}

/// The doctor's slots of a day, from `startTime` to `endTime` in steps of `intervalMinutes`;
/// an empty list on a day the doctor does not work (or without hours set).
#[utoipa::path(get, operation_id = "listDoctorSlots", path = "/api/doctors/{id}/slots", tag = "doctors", security(("bearer" = [])),
    params(("id" = i64, Path), SlotsQuery),
    responses((status = 200, body = [SlotView]), (status = 400, description = "date is not YYYY-MM-DD"), (status = 404)))]
pub async fn slots_of_day(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<SlotsQuery>,
) -> ApiResult<ApiJson<Vec<SlotView>>> {
    let day = super::appointments::day_or_today(&state, user.account_id, query.date).await?;
    let date = parse_day(&day)
        .ok_or_else(|| ApiError::Validation(vec!["date must be YYYY-MM-DD".into()]))?;
    let mut conn = state.store.acquire().await?;
    let row = store::doctors::get(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("doctor"))?;
    let hours = match (
        row.start_time.as_deref().and_then(parse_time_of_day),
        row.end_time.as_deref().and_then(parse_time_of_day),
        row.interval_minutes.and_then(|m| u32::try_from(m).ok()),
    ) {
        (Some(start), Some(end), Some(interval_minutes)) => Hours {
            start,
            end,
            interval_minutes,
        },
        _ => return Ok(ApiJson(Vec::new())),
    };
    let works = row
        .working_days
        .split(',')
        .any(|d| d == slots::day_name(date));
    if !works {
        return Ok(ApiJson(Vec::new()));
    }
    let booked: Vec<_> = store::appointments::booked_times(&mut conn, user.account_id, id, &day)
        .await?
        .iter()
        .filter_map(|(s, e)| Some((parse_time_of_day(s)?, parse_time_of_day(e)?)))
        .collect();
    Ok(ApiJson(
        slots::slots(hours, &booked)
            .into_iter()
            .map(|s| SlotView {
                start_time: slots::hhmm(s.start),
                end_time: slots::hhmm(s.end),
                free: s.free,
            })
            .collect(),
    ))
}
