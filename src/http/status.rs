//! `PATCH /appointments/{id}/status`: the status machine, the doctor's busy flag and the
//! event-log rows, all in one transaction.

use axum::Router;
use axum::extract::State;
use axum::routing::patch;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::StaffUser;
use crate::domain::ids::FlexId;
use crate::domain::priority::FLAGS;
use crate::domain::status::{ACTIONS, Status};
use crate::domain::time::now_ms;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Problems};
use crate::events::flow::{self, StatusChange};
use crate::model::{Appointment, DoctorBusy};
use crate::state::AppState;
use crate::store::{
    self, Tx,
    appointments::{AppointmentRow, StatusWrite},
};

use super::appointments::{doctor_exists, load};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/appointments/{id}/status", patch(change_status))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusBody {
    /// `agendado`, `check-in`, `em atendimento`, `finalizado(s)`, `cancelado`, `confirmado`,
    /// `faltou`, or the enum keys.
    #[schema(example = "check-in")]
    pub action: String,
    /// The doctor who starts serving (EM_ATENDIMENTO); links the appointment to them.
    pub doctor_id: Option<FlexId>,
    /// With `check-in`: `gestante`, `lactante`, `crianca_colo`, `deficiencia`, `obesidade`.
    pub priority_flags: Option<Vec<String>>,
}

/// Moves an appointment's status. The same status again is 200 with no event; a move the
/// transition table does not allow is 409.
#[utoipa::path(patch, operation_id = "changeAppointmentStatus", path = "/api/appointments/{id}/status", tag = "appointments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = StatusBody,
    responses((status = 200, body = Appointment), (status = 400), (status = 404), (status = 409, description = "Transition not allowed")))]
pub async fn change_status(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<ApiJson<Appointment>> {
    let to = Status::from_action(body.action.trim())
        .ok_or_else(|| ApiError::Validation(vec![format!("action must be one of: {ACTIONS}")]))?;
    let flags = check_flags(body.priority_flags.as_deref())?;
    let account = user.account_id;
    let mut tx = state.store.begin_write(user.account_id).await?;
    let row = load(&mut tx, account, id).await?;
    let from = row.status();
    if from == to {
        tx.rollback().await?;
        return Ok(ApiJson(row.view()));
    }
    if !from.can_move_to(to) {
        return Err(ApiError::Conflict(format!(
            "cannot move an appointment from {} to {}",
            from.key(),
            to.key()
        )));
    }
    let now = now_ms();
    let requested_doctor = body.doctor_id.map(|d| d.0);
    let (write, doctor_busy) =
        plan(&mut tx, account, &row, to, requested_doctor, flags, now).await?;
    store::appointments::write_status(&mut tx, account, id, &write, now).await?;
    let staff_flags = to == Status::Checkin && body.priority_flags.is_some();
    if staff_flags {
        // Flags set by staff are no longer the patient's declaration.
        store::appointments::set_flags_declared(&mut tx, account, id, false).await?;
    }
    let recorded = store::history::Move {
        appointment_id: id,
        doctor_id: write.doctor_id,
        from: Some(from),
        to,
        at: now,
        user_id: Some(user.user_id),
        api_key_id: user.api_key_id,
    };
    store::history::record(&mut tx, account, &recorded).await?;
    let appointment = match row.after_status_write(&write, now) {
        Some(mut written) => {
            if staff_flags {
                written.flags_declared = 0;
            }
            written.view()
        }
        None => load(&mut tx, account, id).await?.view(),
    };
    let change = StatusChange {
        from,
        to,
        appointment,
        doctor_busy,
    };
    let events = flow::status_changed(&change);
    state.events.commit(tx, account, &events).await?;
    Ok(ApiJson(change.appointment))
}

/// What the move writes, and the doctor whose busy flag it flipped: EM_ATENDIMENTO marks the
/// doctor busy and links them (a given `doctorId`, else the appointment's); leaving
/// EM_ATENDIMENTO (finished, cancelled, back to the queue) frees them unless another of their
/// appointments is still EM_ATENDIMENTO. A first check-in stamps
/// `checkedInAt`; back to the queue keeps it, so the patient keeps their place.
async fn plan(
    tx: &mut Tx,
    account: i64,
    row: &AppointmentRow,
    to: Status,
    requested_doctor: Option<i64>,
    flags: Option<String>,
    now: i64,
) -> ApiResult<(StatusWrite, Option<DoctorBusy>)> {
    let from = row.status();
    let mut write = StatusWrite {
        status: to,
        doctor_id: row.doctor_id,
        priority_flags: row.priority_flags.clone(),
        checked_in_at: row.checked_in_at,
        called_at: row.called_at,
    };
    let mut busy = None;
    match to {
        Status::EmAtendimento => {
            let doctor_id = requested_doctor.or(row.doctor_id).ok_or_else(|| {
                ApiError::Validation(vec![
                    "doctorId is required: the appointment has no doctor".into(),
                ])
            })?;
            doctor_exists(tx, account, doctor_id).await?;
            write.doctor_id = Some(doctor_id);
            write.called_at = Some(now);
            if store::doctors::set_busy(tx, account, doctor_id, true, now).await? {
                busy = Some(DoctorBusy {
                    doctor_id,
                    is_busy: true,
                });
            }
        }
        Status::Checkin if from != Status::EmAtendimento => write.checked_in_at = Some(now),
        Status::Agendado => write.checked_in_at = None,
        _ => {}
    }
    if let (Status::Checkin, Some(flags)) = (to, flags) {
        write.priority_flags = flags;
    }
    // A doctor stays busy while any other of their appointments is still being served.
    if let (Status::EmAtendimento, Some(doctor_id)) = (from, row.doctor_id)
        && store::appointments::serving_count(tx, account, doctor_id, row.id).await? == 0
        && store::doctors::set_busy(tx, account, doctor_id, false, now).await?
    {
        busy = Some(DoctorBusy {
            doctor_id,
            is_busy: false,
        });
    }
    Ok((write, busy))
}

/// Checks the priority flags; answers them comma-joined for storage.
pub(super) fn check_flags(flags: Option<&[String]>) -> ApiResult<Option<String>> {
    let Some(flags) = flags else {
        return Ok(None);
    };
    let mut problems = Problems::new();
    let mut kept: Vec<&str> = Vec::new();
    for flag in flags {
        match FLAGS.iter().find(|known| **known == flag.as_str()) {
            Some(known) if !kept.contains(known) => kept.push(known),
            Some(_) => {}
            None => problems.push(format!(
                "priorityFlags items must be one of: {}",
                FLAGS.join(", ")
            )),
        }
    }
    problems.into_result()?;
    Ok(Some(kept.join(",")))
}
