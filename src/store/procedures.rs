//! Procedures (exams and consultations with a price).

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

/// The procedures of a doctor, in id order.
pub async fn of_doctor(
    conn: &mut AnyConnection,
    account_id: i64,
    doctor_id: i64,
) -> sqlx::Result<Vec<ProcedureRef>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT p.id, p.name, p.price FROM doctor_procedures dp \
         JOIN procedures p ON p.id = dp.procedure_id \
         WHERE dp.doctor_id = $1 AND p.account_id = $2 ORDER BY p.id",
    )
    .bind(doctor_id)
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, price)| ProcedureRef { id, name, price })
        .collect())
}
