//! `GET /appointments/{id}/history`: every status move of an appointment, and who made it.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::StaffUser;
use crate::domain::status::{Status, StatusView};
use crate::domain::time::format_ms;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;
use crate::store::{self, history::MoveRow};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/appointments/{id}/history", get(history))
}

/// One status move.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusMove {
    pub id: i64,
    /// `null` for the first recorded move of an appointment created before the history.
    #[schema(required)]
    pub from: Option<StatusView>,
    #[schema(required)]
    pub to: Option<StatusView>,
    pub at: String,
    /// The doctor linked to the appointment after the move.
    #[schema(required)]
    pub doctor_id: Option<i64>,
    /// Who made the move: the user (for an API key, the user who released the key).
    #[schema(required)]
    pub user_id: Option<i64>,
    #[schema(required)]
    pub user_name: Option<String>,
    /// Set when the move came through an API key's token.
    #[schema(required)]
    pub api_key_id: Option<i64>,
    #[schema(required)]
    pub api_key_name: Option<String>,
}

impl From<MoveRow> for StatusMove {
    fn from(row: MoveRow) -> Self {
        let view = |id: i64| Status::from_id(id).map(Status::view);
        StatusMove {
            id: row.id,
            from: row.from_status.and_then(view),
            to: view(row.to_status),
            at: format_ms(row.at),
            doctor_id: row.doctor_id,
            user_id: row.user_id,
            user_name: row.user_name,
            api_key_id: row.api_key_id,
            api_key_name: row.api_key_name,
        }
    }
}

/// The appointment's status moves, oldest first, with who made each one.
#[utoipa::path(get, operation_id = "getAppointmentHistory", path = "/api/appointments/{id}/history", tag = "appointments", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = [StatusMove]), (status = 404)))]
pub async fn history(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ApiJson<Vec<StatusMove>>> {
    let mut conn = state.store.acquire().await?;
    if store::appointments::get_any(&mut conn, user.account_id, id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("appointment"));
    }
    let rows = store::history::of_appointment(&mut conn, user.account_id, id).await?;
    Ok(ApiJson(rows.into_iter().map(StatusMove::from).collect()))
}
