//! The JSON shapes of the API and of the event payloads (contract §4). Every field is always
//! present, `null` where empty; fields are only ever added, never renamed.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::priority::Priority;
use crate::domain::status::StatusView;

/// The appointment payload (AppointmentResponseDto), also the first argument of appointment events.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: i64,
    /// The day at midnight UTC, e.g. `2025-01-23T00:00:00.000Z`.
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    #[schema(required)]
    pub notes: Option<String>,
    pub account_id: i64,
    pub created_at: String,
    pub updated_at: String,
    #[schema(required)]
    pub deleted_at: Option<String>,
    #[schema(required)]
    pub doctor: Option<DoctorRef>,
    pub patient: PatientRef,
    pub status: StatusView,
    #[schema(required)]
    pub appointment_procedures: Option<AppointmentProcedures>,
    pub priority: Priority,
    #[schema(required)]
    pub checked_in_at: Option<String>,
    #[schema(required)]
    pub called_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DoctorRef {
    pub id: i64,
    pub name: String,
    #[schema(required)]
    pub room: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientRef {
    pub id: i64,
    pub name: String,
    pub contact: Contact,
    #[schema(required)]
    pub date_birth: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    #[schema(required)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentProcedures {
    pub procedure: ProcedureRef,
}

/// A procedure as nested in doctors and appointments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcedureRef {
    pub id: i64,
    pub name: String,
    /// Decimal string, e.g. `"100"` or `"99.90"`.
    pub price: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Procedure {
    pub id: i64,
    pub name: String,
    pub price: String,
    pub account_id: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Doctor {
    pub id: i64,
    pub name: String,
    #[schema(required)]
    pub room: Option<String>,
    pub is_busy: bool,
    #[schema(required)]
    pub start_time: Option<String>,
    #[schema(required)]
    pub end_time: Option<String>,
    #[schema(required)]
    pub interval_minutes: Option<i64>,
    pub working_days: Vec<String>,
    pub procedures: Vec<ProcedureRef>,
    pub account_id: i64,
    pub created_at: String,
    pub updated_at: String,
    #[schema(required)]
    pub deleted_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: i64,
    pub name: String,
    #[schema(required)]
    pub phone: Option<String>,
    #[schema(required)]
    pub date_birth: Option<String>,
    /// Formatted `123.456.789-09`, or null.
    #[schema(required)]
    pub cpf: Option<String>,
    pub account_id: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// `doctors.busy` payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorBusy {
    pub doctor_id: i64,
    pub is_busy: bool,
}

/// `doctors.deleted` payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoctorDeleted {
    pub doctor_id: i64,
}

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_at: String,
    #[schema(required)]
    pub last_used_at: Option<String>,
    #[schema(required)]
    pub revoked_at: Option<String>,
    /// What the key may do: `kiosk`, `panel` or `integration`.
    pub scope: crate::auth::KeyScope,
}

/// Both token answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

/// The fields a public screen (the TV panel's `panel` key) never gets: they are sent as `null`,
/// so every field stays present.
pub const PANEL_HIDDEN_FIELDS: [&str; 4] = ["cpf", "phone", "dateBirth", "notes"];

impl Appointment {
    /// The appointment as the TV panel gets it: without the patient's phone and birth date, nor
    /// the notes, and the patient's name as the panel writes it under `style` (see
    /// `crate::domain::names::panel_name`).
    pub fn for_panel(mut self, style: &str) -> Appointment {
        self.patient.name = crate::domain::names::panel_name(&self.patient.name, style);
        self.notes = None;
        self.patient.contact.phone = None;
        self.patient.date_birth = None;
        self
    }
}

/// Sets every field named in [`PANEL_HIDDEN_FIELDS`], at any depth, to `null`, and writes a
/// `patient`'s `name` as the panel does under `style`: a logged event's payload as the TV panel
/// gets it.
pub fn hide_for_panel(value: &mut serde_json::Value, style: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if PANEL_HIDDEN_FIELDS.contains(&key.as_str()) {
                    *field = serde_json::Value::Null;
                    continue;
                }
                if key == "patient"
                    && let Some(serde_json::Value::String(name)) = field.get_mut("name")
                {
                    *name = crate::domain::names::panel_name(name, style);
                }
                hide_for_panel(field, style);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                hide_for_panel(item, style);
            }
        }
        _ => {}
    }
}

/// A stored event payload (JSON text) as the TV panel gets it under the clinic's panel name
/// `style`, or `None` when it is not JSON.
pub fn panel_payload(data: &str, style: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(data).ok()?;
    hide_for_panel(&mut value, style);
    serde_json::to_string(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_payload_nulls_contact_data_at_any_depth_and_keeps_every_field() {
        let data = r#"{"id":1,"notes":"x","patient":{"name":"Ana Maria Souza","contact":{"phone":"119"},"dateBirth":"1990-01-01","cpf":"1"},"list":[{"notes":"y"}]}"#;
        let out: serde_json::Value =
            serde_json::from_str(&panel_payload(data, "short").expect("json")).expect("json");
        assert_eq!(
            out,
            serde_json::json!({"id":1,"notes":null,"patient":{"name":"Ana S.","contact":{"phone":null},"dateBirth":null,"cpf":null},"list":[{"notes":null}]})
        );
        let full: serde_json::Value =
            serde_json::from_str(&panel_payload(data, "full").expect("json")).expect("json");
        assert_eq!(full["patient"]["name"], "Ana Maria Souza");
        assert_eq!(panel_payload("not json", "short"), None);
    }
}
