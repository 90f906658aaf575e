//! Procedures (exams and consultations with a price).

use std::collections::HashMap;

use sqlx::{AnyConnection, FromRow};

use crate::domain::time::format_ms;
use crate::model::{Procedure, ProcedureRef};

#[derive(Debug, Clone, FromRow)]
pub struct ProcedureRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub price: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<ProcedureRow> for Procedure {
    fn from(r: ProcedureRow) -> Self {
        Procedure {
            id: r.id,
            name: r.name,
            price: r.price,
            account_id: r.account_id,
            created_at: format_ms(r.created_at),
            updated_at: format_ms(r.updated_at),
        }
    }
}

const COLUMNS: &str = "id, account_id, name, price, created_at, updated_at";

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    name: &str,
    price: &str,
    now: i64,
) -> sqlx::Result<ProcedureRow> {
    sqlx::query_as(&format!(
        "INSERT INTO procedures (account_id, name, price, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
    ))
    .bind(account_id)
    .bind(name)
    .bind(price)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn list(
    conn: &mut AnyConnection,
    account_id: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<ProcedureRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM procedures WHERE account_id = $1 AND deleted_at IS NULL \
         ORDER BY id LIMIT $2 OFFSET $3"
    ))
    .bind(account_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}

pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<ProcedureRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM procedures WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The procedures of each of these doctors, in id order, in one query (the ids come from the
/// database, so they are formatted into the SQL).
pub async fn of_doctors(
    conn: &mut AnyConnection,
    account_id: i64,
    doctor_ids: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<ProcedureRef>>> {
    let mut by_doctor: HashMap<i64, Vec<ProcedureRef>> = HashMap::new();
    if doctor_ids.is_empty() {
        return Ok(by_doctor);
    }
    let ids: Vec<String> = doctor_ids.iter().map(i64::to_string).collect();
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(&format!(
        "SELECT dp.doctor_id, p.id, p.name, p.price FROM doctor_procedures dp \
         JOIN procedures p ON p.id = dp.procedure_id \
         WHERE dp.doctor_id IN ({}) AND p.account_id = $1 ORDER BY dp.doctor_id, p.id",
        ids.join(",")
    ))
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    for (doctor_id, id, name, price) in rows {
        by_doctor
            .entry(doctor_id)
            .or_default()
            .push(ProcedureRef { id, name, price });
    }
    Ok(by_doctor)
}

pub async fn update(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    name: &str,
    price: &str,
    now: i64,
) -> sqlx::Result<Option<ProcedureRow>> {
    sqlx::query_as(&format!(
        "UPDATE procedures SET name = $3, price = $4, updated_at = $5 \
         WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(account_id)
    .bind(id)
    .bind(name)
    .bind(price)
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Soft-deletes a procedure and takes it off every doctor; answers it, or `None` when it was
/// not found.
pub async fn soft_delete(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    now: i64,
) -> sqlx::Result<Option<ProcedureRow>> {
    let row: Option<ProcedureRow> = sqlx::query_as(&format!(
        "UPDATE procedures SET deleted_at = $3, updated_at = $3 \
         WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING {COLUMNS}"
    ))
    .bind(account_id)
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_some() {
        sqlx::query("DELETE FROM doctor_procedures WHERE procedure_id = $1")
            .bind(id)
            .execute(conn)
            .await?;
    }
    Ok(row)
}

/// The doctors (not deleted) who offer a procedure.
pub async fn doctors_offering(
    conn: &mut AnyConnection,
    account_id: i64,
    procedure_id: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT d.id FROM doctor_procedures dp JOIN doctors d ON d.id = dp.doctor_id \
         WHERE dp.procedure_id = $1 AND d.account_id = $2 AND d.deleted_at IS NULL ORDER BY d.id",
    )
    .bind(procedure_id)
    .bind(account_id)
    .fetch_all(conn)
    .await
}
