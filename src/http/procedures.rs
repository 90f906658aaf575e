//! `POST /procedures`, `GET /procedures`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::domain::{price, time::now_ms};
use crate::error::{ApiJson, ApiQuery, ApiResult, Problems};
use crate::model::Procedure;
use crate::state::AppState;
use crate::store;

use super::Page;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/procedures", post(create).get(list))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProcedureBody {
    pub name: String,
    /// A number or a decimal string.
    #[schema(value_type = String, example = "100")]
    pub price: serde_json::Value,
}

/// Creates a procedure.
#[utoipa::path(post, path = "/api/procedures", tag = "procedures", security(("bearer" = [])), request_body = ProcedureBody,
    responses((status = 201, body = Procedure), (status = 400)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<ProcedureBody>,
) -> ApiResult<(StatusCode, ApiJson<Procedure>)> {
    let name = body.name.trim();
    let price = price::normalize(&body.price);
    let mut problems = Problems::new();
    problems.check(!name.is_empty(), "name must not be empty");
    problems.check(
        name.chars().count() <= 200,
        "name must have at most 200 characters",
    );
    problems.check(
        price.is_some(),
        "price must be a non-negative number with at most 2 decimals",
    );
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
#[utoipa::path(get, path = "/api/procedures", tag = "procedures", security(("bearer" = [])), params(Page),
    responses((status = 200, body = [Procedure])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<ApiJson<Vec<Procedure>>> {
    let (limit, offset) = page.resolve(20)?;
    let mut conn = state.store.pool().acquire().await?;
    let rows = store::procedures::list(&mut conn, user.account_id, limit, offset).await?;
    Ok(ApiJson(rows.into_iter().map(Into::into).collect()))
}
