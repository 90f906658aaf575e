//! `GET /events?since=`: the durable log, to fill a `seq` gap after a reconnect.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use crate::auth::PanelOrStaff;
use crate::domain::time::format_ms;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store;

use super::Page;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(since))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SinceQuery {
    /// The last `seq` the client has; answers the events after it.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// Default 100, at most 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// One logged event, as it was broadcast.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedEvent {
    pub seq: i64,
    pub event: String,
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
    pub at: String,
}

/// The account's events after `since`, in order; 410 when the log no longer reaches back there.
#[utoipa::path(get, operation_id = "listEventsSince", path = "/api/events", tag = "events", security(("bearer" = [])), params(SinceQuery),
    responses((status = 200, body = [LoggedEvent]), (status = 400), (status = 410, description = "Older than the log keeps: reload")))]
pub async fn since(
    State(state): State<AppState>,
    user: PanelOrStaff,
    ApiQuery(query): ApiQuery<SinceQuery>,
) -> ApiResult<ApiJson<Vec<LoggedEvent>>> {
    let (limit, _) = Page {
        limit: query.limit,
        offset: None,
    }
    .resolve(100)?;
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::Validation(vec![
            "since must not be less than 0".into(),
        ]));
    }
    let mut tx = state.store.begin_read().await?;
    let last = store::events::last_seq(&mut tx, user.account_id).await?;
    let first_kept = store::events::first_kept_seq(&mut tx, user.account_id).await?;
    let pruned_through = first_kept.map_or(last, |first| first - 1);
    if since < pruned_through {
        return Err(ApiError::Gone(format!(
            "events after {since} are no longer kept (the log starts after {pruned_through}): reload"
        )));
    }
    let rows = store::events::since(&mut tx, user.account_id, since, limit).await?;
    let panel_style = if user.is_panel() {
        Some(store::accounts::panel_name_style(&mut tx, user.account_id).await?)
    } else {
        None
    };
    tx.commit().await?;
    let events = rows
        .into_iter()
        .map(|row| {
            Ok(LoggedEvent {
                seq: row.seq,
                event: row.event,
                data: RawValue::from_string(if let Some(style) = &panel_style {
                    crate::model::panel_payload(&row.data, style)
                        .ok_or_else(|| anyhow::anyhow!("stored event {} is not JSON", row.seq))?
                } else {
                    row.data
                })
                .map_err(anyhow::Error::from)?,
                at: format_ms(row.at),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ApiJson(events))
}
