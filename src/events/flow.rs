//! From a change to its outgoing events.
//!
//! A status change is handed to the one listener of its target status, as in the documented
//! system (`appointments.status.change` → listener → `appointments.checkin` → gateway). A
//! listener that fails is logged and produces nothing; it never fails the request.

use crate::domain::status::Status;
use crate::model::{Appointment, Doctor, DoctorBusy, DoctorDeleted};

use super::{Outgoing, names};

/// An appointment's status moved (`appointments.status.change`).
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub from: Status,
    pub to: Status,
    /// The appointment as it is after the change.
    pub appointment: Appointment,
    /// The doctor whose busy flag the change flipped, if any.
    pub doctor_busy: Option<DoctorBusy>,
}

type Listener = fn(&StatusChange) -> anyhow::Result<Vec<Outgoing>>;

/// The listener of each target status.
fn listener(to: Status) -> (&'static str, Listener) {
    match to {
        Status::Checkin => ("checkin", on_checkin),
        Status::EmAtendimento => ("serving", on_serving),
        Status::Finalizado | Status::Cancelado => ("finished", on_finished),
        Status::Agendado | Status::Confirmado | Status::Faltou => ("updated", on_updated),
    }
}

/// Dispatches the change to its listener and collects the outgoing events.
pub fn status_changed(change: &StatusChange) -> Vec<Outgoing> {
    let (name, listener) = listener(change.to);
    match listener(change) {
        Ok(events) => events,
        Err(error) => {
            tracing::error!(
                listener = name,
                appointment_id = change.appointment.id,
                error = ?error,
                "status listener failed; the change stands without its events"
            );
            Vec::new()
        }
    }
}

/// To CHECKIN: a new arrival is `appointments.checkin`; back from EM_ATENDIMENTO it is an update
/// (the patient returns to the queue and the doctor is freed).
fn on_checkin(change: &StatusChange) -> anyhow::Result<Vec<Outgoing>> {
    let mut events = Vec::with_capacity(2);
    if change.from == Status::EmAtendimento {
        events.push(Outgoing::new(
            names::APPOINTMENT_UPDATED,
            &change.appointment,
        )?);
    } else {
        events.push(Outgoing::new(
            names::APPOINTMENT_CHECKIN,
            &change.appointment,
        )?);
    }
    push_busy(&mut events, change)?;
    Ok(events)
}

/// To EM_ATENDIMENTO: `appointments.serving`, then `doctors.busy` true.
fn on_serving(change: &StatusChange) -> anyhow::Result<Vec<Outgoing>> {
    let mut events = vec![Outgoing::new(
        names::APPOINTMENT_SERVING,
        &change.appointment,
    )?];
    push_busy(&mut events, change)?;
    Ok(events)
}

/// To FINALIZADO or CANCELADO: both spellings of `finished`, then `doctors.busy` false if the
/// doctor was serving this appointment.
fn on_finished(change: &StatusChange) -> anyhow::Result<Vec<Outgoing>> {
    let mut events = vec![
        Outgoing::new(names::APPOINTMENT_FINISHED_DOCUMENTED, &change.appointment)?,
        Outgoing::new(names::APPOINTMENT_FINISHED, &change.appointment)?,
    ];
    push_busy(&mut events, change)?;
    Ok(events)
}

/// Any other move (undo, confirm, no-show): `appointments.updated`.
fn on_updated(change: &StatusChange) -> anyhow::Result<Vec<Outgoing>> {
    Ok(vec![Outgoing::new(
        names::APPOINTMENT_UPDATED,
        &change.appointment,
    )?])
}

fn push_busy(events: &mut Vec<Outgoing>, change: &StatusChange) -> anyhow::Result<()> {
    if let Some(busy) = &change.doctor_busy {
        events.push(Outgoing::new(names::DOCTOR_BUSY, busy)?);
    }
    Ok(())
}

/// Appointments were created: one `appointments.created` each.
pub fn appointments_created(appointments: &[Appointment]) -> anyhow::Result<Vec<Outgoing>> {
    appointments
        .iter()
        .map(|a| Outgoing::new(names::APPOINTMENT_CREATED, a))
        .collect()
}

/// An appointment was edited, rescheduled or deleted.
pub fn appointment_updated(appointment: &Appointment) -> anyhow::Result<Vec<Outgoing>> {
    Ok(vec![Outgoing::new(
        names::APPOINTMENT_UPDATED,
        appointment,
    )?])
}

/// A patient being served was called again.
pub fn appointment_recalled(appointment: &Appointment) -> anyhow::Result<Vec<Outgoing>> {
    Ok(vec![Outgoing::new(
        names::APPOINTMENT_RECALLED,
        appointment,
    )?])
}

/// A doctor was saved.
pub fn doctor_saved(doctor: &Doctor, created: bool) -> anyhow::Result<Vec<Outgoing>> {
    let name = if created {
        names::DOCTOR_CREATED
    } else {
        names::DOCTOR_UPDATED
    };
    Ok(vec![Outgoing::new(name, doctor)?])
}

/// A doctor was soft-deleted.
pub fn doctor_deleted(doctor_id: i64) -> anyhow::Result<Vec<Outgoing>> {
    Ok(vec![Outgoing::new(
        names::DOCTOR_DELETED,
        &DoctorDeleted { doctor_id },
    )?])
}
