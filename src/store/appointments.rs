//! Appointments and the joined view that becomes the event payload.

use chrono::NaiveDate;
use sqlx::{AnyConnection, FromRow};

use crate::domain::priority::{self, Priority};
use crate::domain::status::Status;
use crate::domain::time::{day_at_midnight, format_ms, parse_day};
use crate::model::{
    Appointment, AppointmentProcedures, Contact, DoctorRef, PatientRef, ProcedureRef,
};

/// One appointment joined with its patient, doctor and procedure.
#[derive(Debug, Clone, FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub account_id: i64,
    pub day: String,
    pub start_time: String,
    pub end_time: String,
    pub notes: Option<String>,
    pub status_id: i64,
    pub priority_flags: String,
    pub checked_in_at: Option<i64>,
    pub called_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub patient_id: i64,
    pub patient_name: String,
    pub patient_phone: Option<String>,
    pub patient_date_birth: Option<String>,
    pub doctor_id: Option<i64>,
    pub doctor_name: Option<String>,
    pub doctor_room: Option<String>,
    pub procedure_id: Option<i64>,
    pub procedure_name: Option<String>,
    pub procedure_price: Option<String>,
    /// 1 when the priority flags were declared by the patient at the totem.
    pub flags_declared: i64,
}

const SELECT: &str = "SELECT a.id, a.account_id, a.day, a.start_time, a.end_time, a.notes, \
     a.status_id, a.priority_flags, a.checked_in_at, a.called_at, a.created_at, a.updated_at, \
     a.deleted_at, a.patient_id, p.name AS patient_name, p.phone AS patient_phone, \
     p.date_birth AS patient_date_birth, a.doctor_id, d.name AS doctor_name, d.room AS doctor_room, \
     a.procedure_id, pr.name AS procedure_name, pr.price AS procedure_price, \
     a.flags_declared \
     FROM appointments a \
     JOIN patients p ON p.id = a.patient_id \
     LEFT JOIN doctors d ON d.id = a.doctor_id \
     LEFT JOIN procedures pr ON pr.id = a.procedure_id";

impl AppointmentRow {
    pub fn status(&self) -> Status {
        Status::from_id(self.status_id).unwrap_or(Status::Agendado)
    }

    pub fn flags(&self) -> Vec<String> {
        priority::split_flags(&self.priority_flags)
    }

    pub fn priority(&self) -> Priority {
        let on = parse_day(&self.day).unwrap_or(NaiveDate::MIN);
        let birth = self.patient_date_birth.as_deref().and_then(parse_day);
        let flags = self.flags();
        let mut priority = priority::compute(birth, on, &flags);
        priority.declared_by_patient = self.flags_declared != 0 && !flags.is_empty();
        priority
    }

    /// The contract's payload.
    pub fn view(&self) -> Appointment {
        let doctor = match (self.doctor_id, &self.doctor_name) {
            (Some(id), Some(name)) => Some(DoctorRef {
                id,
                name: name.clone(),
                room: self.doctor_room.clone(),
            }),
            _ => None,
        };
        let procedure = match (
            self.procedure_id,
            &self.procedure_name,
            &self.procedure_price,
        ) {
            (Some(id), Some(name), Some(price)) => Some(AppointmentProcedures {
                procedure: ProcedureRef {
                    id,
                    name: name.clone(),
                    price: price.clone(),
                },
            }),
            _ => None,
        };
        Appointment {
            id: self.id,
            date: day_at_midnight(&self.day),
            start_time: self.start_time.clone(),
            end_time: self.end_time.clone(),
            notes: self.notes.clone(),
            account_id: self.account_id,
            created_at: format_ms(self.created_at),
            updated_at: format_ms(self.updated_at),
            deleted_at: self.deleted_at.map(format_ms),
            doctor,
            patient: PatientRef {
                id: self.patient_id,
                name: self.patient_name.clone(),
                contact: Contact {
                    phone: self.patient_phone.clone(),
                },
                date_birth: self.patient_date_birth.clone(),
            },
            status: self.status().view(),
            appointment_procedures: procedure,
            priority: self.priority(),
            checked_in_at: self.checked_in_at.map(format_ms),
            called_at: self.called_at.map(format_ms),
        }
    }
}

/// A new appointment's fields.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub patient_id: i64,
    pub doctor_id: Option<i64>,
    pub procedure_id: i64,
    pub day: String,
    pub start_time: String,
    pub end_time: String,
    pub notes: Option<String>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    new: &NewAppointment,
    now: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO appointments (account_id, patient_id, doctor_id, procedure_id, day, \
         start_time, end_time, notes, status_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(account_id)
    .bind(new.patient_id)
    .bind(new.doctor_id)
    .bind(new.procedure_id)
    .bind(&new.day)
    .bind(&new.start_time)
    .bind(&new.end_time)
    .bind(&new.notes)
    .bind(Status::Agendado.id())
    .bind(now)
    .fetch_one(conn)
    .await
}

/// An appointment that is not deleted.
pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<AppointmentRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.account_id = $1 AND a.id = $2 AND a.deleted_at IS NULL"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Like [`get`], also finding a deleted appointment (to report its deletion).
pub async fn get_any(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<AppointmentRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE a.account_id = $1 AND a.id = $2"))
        .bind(account_id)
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Filters of `GET /appointments`.
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    pub day: Option<String>,
    pub status: Option<Status>,
    pub doctor_id: Option<i64>,
}

pub async fn list(
    conn: &mut AnyConnection,
    account_id: i64,
    filter: &AppointmentFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<AppointmentRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.account_id = $1 AND a.deleted_at IS NULL \
         AND (CAST($2 AS TEXT) IS NULL OR a.day = $2) \
         AND (CAST($3 AS BIGINT) IS NULL OR a.status_id = $3) \
         AND (CAST($4 AS BIGINT) IS NULL OR a.doctor_id = $4) \
         ORDER BY a.day, a.start_time, a.id LIMIT $5 OFFSET $6"
    ))
    .bind(account_id)
    .bind(&filter.day)
    .bind(filter.status.map(Status::id))
    .bind(filter.doctor_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}

/// The waiting queue of a day: CHECKIN by priority tier then check-in time, then EM_ATENDIMENTO
/// by call time.
pub async fn queue(
    conn: &mut AnyConnection,
    account_id: i64,
    day: &str,
) -> sqlx::Result<Vec<AppointmentRow>> {
    let mut rows: Vec<AppointmentRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE a.account_id = $1 AND a.deleted_at IS NULL AND a.day = $2 \
         AND a.status_id IN ($3, $4)"
    ))
    .bind(account_id)
    .bind(day)
    .bind(Status::Checkin.id())
    .bind(Status::EmAtendimento.id())
    .fetch_all(conn)
    .await?;
    rows.sort_by_cached_key(|r| match r.status() {
        Status::Checkin => (0, r.priority().tier, r.checked_in_at.unwrap_or(0), r.id),
        _ => (1, 0, r.called_at.unwrap_or(0), r.id),
    });
    Ok(rows)
}

/// A patient's appointments of one day (to report a change of their data).
pub async fn of_patient_on(
    conn: &mut AnyConnection,
    account_id: i64,
    patient_id: i64,
    day: &str,
) -> sqlx::Result<Vec<AppointmentRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.account_id = $1 AND a.patient_id = $2 AND a.day = $3 \
         AND a.deleted_at IS NULL ORDER BY a.id"
    ))
    .bind(account_id)
    .bind(patient_id)
    .bind(day)
    .fetch_all(conn)
    .await
}

/// The times a doctor is booked on a day: every appointment that is neither deleted nor
/// cancelled, as `(startTime, endTime)`.
pub async fn booked_times(
    conn: &mut AnyConnection,
    account_id: i64,
    doctor_id: i64,
    day: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT start_time, end_time FROM appointments WHERE account_id = $1 AND doctor_id = $2 \
         AND day = $3 AND deleted_at IS NULL AND status_id <> $4 ORDER BY start_time",
    )
    .bind(account_id)
    .bind(doctor_id)
    .bind(day)
    .bind(Status::Cancelado.id())
    .fetch_all(conn)
    .await
}

/// How many of the doctor's appointments other than `except` are being served right now.
pub async fn serving_count(
    conn: &mut AnyConnection,
    account_id: i64,
    doctor_id: i64,
    except: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM appointments WHERE account_id = $1 AND doctor_id = $2 \
         AND id <> $3 AND status_id = $4 AND deleted_at IS NULL",
    )
    .bind(account_id)
    .bind(doctor_id)
    .bind(except)
    .bind(Status::EmAtendimento.id())
    .fetch_one(conn)
    .await
}

/// A patient's appointments, latest day first.
pub async fn of_patient(
    conn: &mut AnyConnection,
    account_id: i64,
    patient_id: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<AppointmentRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.account_id = $1 AND a.patient_id = $2 AND a.deleted_at IS NULL \
         ORDER BY a.day DESC, a.start_time DESC, a.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(account_id)
    .bind(patient_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}

/// The latest calls of a day (appointments that went EM_ATENDIMENTO), newest first.
pub async fn calls(
    conn: &mut AnyConnection,
    account_id: i64,
    day: &str,
    limit: i64,
) -> sqlx::Result<Vec<AppointmentRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE a.account_id = $1 AND a.deleted_at IS NULL AND a.day = $2 \
         AND a.called_at IS NOT NULL ORDER BY a.called_at DESC, a.id DESC LIMIT $3"
    ))
    .bind(account_id)
    .bind(day)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// What a status change writes.
#[derive(Debug, Clone)]
pub struct StatusWrite {
    pub status: Status,
    pub doctor_id: Option<i64>,
    pub priority_flags: String,
    pub checked_in_at: Option<i64>,
    pub called_at: Option<i64>,
}

impl AppointmentRow {
    /// The row as `write_status` leaves it, when the write keeps the doctor (the joined doctor
    /// name and room are then still right): saves reading the row back inside the write
    /// transaction. `None` when the doctor changes; read the row again then.
    pub fn after_status_write(mut self, write: &StatusWrite, now: i64) -> Option<AppointmentRow> {
        if write.doctor_id != self.doctor_id {
            return None;
        }
        self.status_id = write.status.id();
        self.priority_flags.clone_from(&write.priority_flags);
        self.checked_in_at = write.checked_in_at;
        self.called_at = write.called_at;
        self.updated_at = now;
        Some(self)
    }
}

pub async fn write_status(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    write: &StatusWrite,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE appointments SET status_id = $3, doctor_id = $4, priority_flags = $5, \
         checked_in_at = $6, called_at = $7, updated_at = $8 WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(write.status.id())
    .bind(write.doctor_id)
    .bind(&write.priority_flags)
    .bind(write.checked_in_at)
    .bind(write.called_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_notes(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    notes: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE appointments SET notes = $3, updated_at = $4 WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(notes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the priority flags as declared by the patient (self check-in) or set by staff.
pub async fn set_flags_declared(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    declared: bool,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE appointments SET flags_declared = $3 WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .bind(super::flag(declared))
        .execute(conn)
        .await?;
    Ok(())
}

/// Where and when an appointment takes place.
#[derive(Debug, Clone)]
pub struct Slot {
    pub doctor_id: i64,
    pub day: String,
    pub start_time: String,
    pub end_time: String,
}

/// Moves the appointment to a new slot, starting over as AGENDADO.
pub async fn reschedule(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    slot: &Slot,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE appointments SET doctor_id = $3, day = $4, start_time = $5, end_time = $6, \
         status_id = $7, priority_flags = '', checked_in_at = NULL, called_at = NULL, updated_at = $8 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(slot.doctor_id)
    .bind(&slot.day)
    .bind(&slot.start_time)
    .bind(&slot.end_time)
    .bind(Status::Agendado.id())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn soft_delete(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE appointments SET deleted_at = $3, updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(account_id)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
