//! Doctors, their procedures and their busy flag.

use sqlx::{AnyConnection, FromRow};

use crate::domain::time::format_ms;
use crate::model::Doctor;

use super::procedures;

#[derive(Debug, Clone, FromRow)]
pub struct DoctorRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub room: Option<String>,
    pub is_busy: i64,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub interval_minutes: Option<i64>,
    pub working_days: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

/// The fields a create or an update writes.
#[derive(Debug, Clone)]
pub struct DoctorFields {
    pub name: String,
    pub room: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub interval_minutes: Option<i64>,
    pub working_days: Vec<String>,
    pub procedure_ids: Vec<i64>,
}

const COLUMNS: &str = "id, account_id, name, room, is_busy, start_time, end_time, \
                       interval_minutes, working_days, created_at, updated_at, deleted_at";

impl DoctorRow {
    /// The fields as stored, to start an update from.
    pub fn fields(&self, procedure_ids: Vec<i64>) -> DoctorFields {
        DoctorFields {
            name: self.name.clone(),
            room: self.room.clone(),
            start_time: self.start_time.clone(),
            end_time: self.end_time.clone(),
            interval_minutes: self.interval_minutes,
            working_days: split_days(&self.working_days),
            procedure_ids,
        }
    }
}

fn split_days(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    fields: &DoctorFields,
    now: i64,
) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO doctors (account_id, name, room, start_time, end_time, interval_minutes, \
         working_days, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(account_id)
    .bind(&fields.name)
    .bind(&fields.room)
    .bind(&fields.start_time)
    .bind(&fields.end_time)
    .bind(fields.interval_minutes)
    .bind(fields.working_days.join(","))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    set_procedures(conn, id, &fields.procedure_ids).await?;
    Ok(id)
}

pub async fn update(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    fields: &DoctorFields,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE doctors SET name = $3, room = $4, start_time = $5, end_time = $6, \
         interval_minutes = $7, working_days = $8, updated_at = $9 \
         WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(&fields.name)
    .bind(&fields.room)
    .bind(&fields.start_time)
    .bind(&fields.end_time)
    .bind(fields.interval_minutes)
    .bind(fields.working_days.join(","))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    set_procedures(conn, id, &fields.procedure_ids).await
}

async fn set_procedures(conn: &mut AnyConnection, doctor_id: i64, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM doctor_procedures WHERE doctor_id = $1")
        .bind(doctor_id)
        .execute(&mut *conn)
        .await?;
    for procedure_id in ids {
        sqlx::query("INSERT INTO doctor_procedures (doctor_id, procedure_id) VALUES ($1, $2)")
            .bind(doctor_id)
            .bind(procedure_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A doctor that is not deleted.
pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<DoctorRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM doctors WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A doctor, deleted or not (to report a deletion).
pub async fn get_any(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<DoctorRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM doctors WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn list(
    conn: &mut AnyConnection,
    account_id: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<DoctorRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM doctors WHERE account_id = $1 AND deleted_at IS NULL \
         ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}

pub async fn soft_delete(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE doctors SET deleted_at = $3, updated_at = $3, is_busy = 0 \
         WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(account_id)
    .bind(id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Sets the busy flag; answers whether it changed.
pub async fn set_busy(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    busy: bool,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE doctors SET is_busy = $3, updated_at = $4 \
         WHERE account_id = $1 AND id = $2 AND is_busy <> $3",
    )
    .bind(account_id)
    .bind(id)
    .bind(super::flag(busy))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The full doctors, with their procedures, as the API shows them (two queries in all).
pub async fn views(conn: &mut AnyConnection, rows: Vec<DoctorRow>) -> sqlx::Result<Vec<Doctor>> {
    let Some(account_id) = rows.first().map(|r| r.account_id) else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut procedures = procedures::of_doctors(conn, account_id, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| Doctor {
            id: row.id,
            working_days: split_days(&row.working_days),
            procedures: procedures.remove(&row.id).unwrap_or_default(),
            name: row.name,
            room: row.room,
            is_busy: row.is_busy != 0,
            start_time: row.start_time,
            end_time: row.end_time,
            interval_minutes: row.interval_minutes,
            account_id: row.account_id,
            created_at: format_ms(row.created_at),
            updated_at: format_ms(row.updated_at),
            deleted_at: row.deleted_at.map(format_ms),
        })
        .collect())
}

/// The full doctor, with procedures, as the API shows it.
pub async fn view(conn: &mut AnyConnection, row: DoctorRow) -> sqlx::Result<Doctor> {
    views(conn, vec![row])
        .await?
        .pop()
        .ok_or(sqlx::Error::RowNotFound)
}
