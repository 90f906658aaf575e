//! `POST /procedures`, `GET /procedures`, and `GET`/`PATCH`/`DELETE /procedures/{id}`. A change
//! or removal reaches the screens as `doctors.updated` of each doctor who offers the procedure
//! (their payload nests it).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::StaffUser;
use crate::domain::{price, time::now_ms};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Problems};
use crate::events::flow;
use crate::model::Procedure;
use crate::state::AppState;
use crate::store::{self, Tx};

use super::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/procedures", post(create).get(list))
        .route(
            "/api/procedures/{id}",
            get(get_one).patch(update).delete(remove),
        )
}

/// A price in a body: `100`, `99.9` or `"99.90"` (always a decimal string on output).
fn price_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::String))
        .description(Some(
            "A number or a decimal string, at most two decimals (`100`, `\"99.90\"`)",
        ))
        .into()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProcedureBody {
    pub name: String,
    #[schema(schema_with = price_schema, example = "100")]
    pub price: serde_json::Value,
}

/// Creates a procedure.
#[utoipa::path(post, operation_id = "createProcedure", path = "/api/procedures", tag = "procedures", security(("bearer" = [])), request_body = ProcedureBody,
    responses((status = 201, body = Procedure), (status = 400)))]
pub async fn create(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(body): ApiJson<ProcedureBody>,
) -> ApiResult<(StatusCode, ApiJson<Procedure>)> {
    let name = body.name.trim();
    let price = price::normalize(&body.price);
    let mut problems = Problems::new();
    check_name(&mut problems, name);
    check_price(&mut problems, &price);
    problems.into_result()?;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = store::procedures::insert(
        &mut tx,
        user.account_id,
        name,
        &price.unwrap_or_default(),
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ApiJson(row.into())))
}

/// Lists procedures.
#[utoipa::path(get, operation_id = "listProcedures", path = "/api/procedures", tag = "procedures", security(("bearer" = [])), params(Page),
    responses((status = 200, body = [Procedure])))]
pub async fn list(
    State(state): State<AppState>,
    user: StaffUser,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Vec<Procedure>>> {
    let (limit, offset) = page.resolve(20)?;
    let mut conn = state.store.acquire().await?;
    let rows = store::procedures::list(&mut conn, user.account_id, limit, offset).await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}

fn check_name(problems: &mut Problems, name: &str) {
    problems.check(!name.is_empty(), "name must not be empty");
    problems.check(
        name.chars().count() <= 200,
        "name must have at most 200 characters",
    );
}

fn check_price(problems: &mut Problems, price: &Option<String>) {
    problems.check(
        price.is_some(),
        "price must be a non-negative number with at most 2 decimals",
    );
}

/// Every field optional.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProcedurePatch {
    pub name: Option<String>,
    #[schema(schema_with = price_schema, example = "120.50")]
    pub price: Option<serde_json::Value>,
}

/// One procedure.
#[utoipa::path(get, operation_id = "getProcedure", path = "/api/procedures/{id}", tag = "procedures", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Procedure), (status = 404)))]
pub async fn get_one(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Procedure>> {
    let mut conn = state.store.acquire().await?;
    let row = store::procedures::get(&mut conn, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("procedure"))?;
    Ok(ApiJson(row.into()))
}

/// Commits `tx` with a `doctors.updated` for each doctor who offers the procedure.
async fn commit_with_doctors(
    state: &AppState,
    mut tx: Tx,
    account_id: i64,
    doctors: Vec<i64>,
) -> ApiResult<()> {
    let mut events = Vec::new();
    for doctor_id in doctors {
        if let Some(row) = store::doctors::get(&mut tx, account_id, doctor_id).await? {
            let doctor = store::doctors::view(&mut tx, row).await?;
            events.extend(flow::doctor_saved(&doctor, false)?);
        }
    }
    state.events.commit(tx, account_id, &events).await?;
    Ok(())
}

/// Renames a procedure or changes its price; each doctor who offers it is broadcast as
/// `doctors.updated`.
#[utoipa::path(patch, operation_id = "updateProcedure", path = "/api/procedures/{id}", tag = "procedures", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = ProcedurePatch, responses((status = 200, body = Procedure), (status = 400), (status = 404)))]
pub async fn update(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<ProcedurePatch>,
) -> ApiResult<ApiJson<Procedure>> {
    let mut problems = Problems::new();
    let name = patch.name.map(|n| n.trim().to_string());
    if let Some(name) = &name {
        check_name(&mut problems, name);
    }
    let price = patch.price.as_ref().map(price::normalize);
    if let Some(price) = &price {
        check_price(&mut problems, price);
    }
    problems.into_result()?;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let current = store::procedures::get(&mut tx, user.account_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("procedure"))?;
    let name = name.unwrap_or(current.name);
    let price = price.flatten().unwrap_or(current.price);
    let row = store::procedures::update(&mut tx, user.account_id, id, &name, &price, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("procedure"))?;
    let doctors = store::procedures::doctors_offering(&mut tx, user.account_id, id).await?;
    commit_with_doctors(&state, tx, user.account_id, doctors).await?;
    Ok(ApiJson(row.into()))
}

/// Removes a procedure (soft delete): it leaves the list and every doctor who offered it
/// (broadcast as `doctors.updated`); past appointments keep it.
#[utoipa::path(delete, operation_id = "deleteProcedure", path = "/api/procedures/{id}", tag = "procedures", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Procedure), (status = 404)))]
pub async fn remove(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Procedure>> {
    let mut tx = state.store.begin_write(user.account_id).await?;
    let doctors = store::procedures::doctors_offering(&mut tx, user.account_id, id).await?;
    let row = store::procedures::soft_delete(&mut tx, user.account_id, id, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("procedure"))?;
    commit_with_doctors(&state, tx, user.account_id, doctors).await?;
    Ok(ApiJson(row.into()))
}
