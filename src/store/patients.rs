//! Patients: CPF unique per account.

use sqlx::{AnyConnection, FromRow};

use crate::domain::{cpf, time::format_ms};
use crate::model::Patient;

#[derive(Debug, Clone, FromRow)]
pub struct PatientRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub date_birth: Option<String>,
    pub cpf: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Patient fields as written (CPF already normalised to 11 digits).
#[derive(Debug, Clone)]
pub struct PatientFields {
    pub name: String,
    pub phone: Option<String>,
    pub date_birth: Option<String>,
    pub cpf: Option<String>,
}

impl PatientRow {
    pub fn fields(&self) -> PatientFields {
        PatientFields {
            name: self.name.clone(),
            phone: self.phone.clone(),
            date_birth: self.date_birth.clone(),
            cpf: self.cpf.clone(),
        }
    }
}

impl From<PatientRow> for Patient {
    fn from(r: PatientRow) -> Self {
        Patient {
            id: r.id,
            name: r.name,
            phone: r.phone,
            date_birth: r.date_birth,
            cpf: r.cpf.as_deref().map(cpf::format),
            account_id: r.account_id,
            created_at: format_ms(r.created_at),
            updated_at: format_ms(r.updated_at),
        }
    }
}

/// Filters of `GET /patients`.
#[derive(Debug, Clone, Default)]
pub struct PatientFilter {
    pub name: Option<String>,
    pub cpf: Option<String>,
    pub phone: Option<String>,
}

const COLUMNS: &str = "id, account_id, name, phone, date_birth, cpf, created_at, updated_at";

/// Inserts a patient; a duplicate CPF in the account is a unique violation.
pub async fn insert(
    conn: &mut AnyConnection,
    account_id: i64,
    fields: &PatientFields,
    now: i64,
) -> sqlx::Result<PatientRow> {
    sqlx::query_as(&format!(
        "INSERT INTO patients (account_id, name, phone, date_birth, cpf, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(account_id)
    .bind(&fields.name)
    .bind(&fields.phone)
    .bind(&fields.date_birth)
    .bind(&fields.cpf)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
    fields: &PatientFields,
    now: i64,
) -> sqlx::Result<PatientRow> {
    sqlx::query_as(&format!(
        "UPDATE patients SET name = $3, phone = $4, date_birth = $5, cpf = $6, updated_at = $7 \
         WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    ))
    .bind(account_id)
    .bind(id)
    .bind(&fields.name)
    .bind(&fields.phone)
    .bind(&fields.date_birth)
    .bind(&fields.cpf)
    .bind(now)
    .fetch_one(conn)
    .await
}

pub async fn get(
    conn: &mut AnyConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<PatientRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM patients WHERE account_id = $1 AND id = $2"
    ))
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn list(
    conn: &mut AnyConnection,
    account_id: i64,
    filter: &PatientFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<PatientRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM patients WHERE account_id = $1 \
         AND (CAST($2 AS TEXT) IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\') \
         AND (CAST($3 AS TEXT) IS NULL OR cpf = $3) \
         AND (CAST($4 AS TEXT) IS NULL OR phone LIKE $4 ESCAPE '\\') \
         ORDER BY name, id LIMIT $5 OFFSET $6"
    ))
    .bind(account_id)
    .bind(
        filter
            .name
            .as_ref()
            .map(|n| super::contains_pattern(&n.to_lowercase())),
    )
    .bind(&filter.cpf)
    .bind(filter.phone.as_deref().map(super::contains_pattern))
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await
}
