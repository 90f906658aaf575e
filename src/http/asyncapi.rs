//! The AsyncAPI 3.0 document of the Socket.IO events (contract §5), at `GET /api/asyncapi.json`.
//!
//! Built once from the OpenAPI document's schemas and the event-only payloads, so an event's
//! payload is described by the same schema as the REST answer it mirrors (`Appointment`,
//! `Doctor`...). A Socket.IO event has several arguments: each message's payload is the array
//! of them, in order.

use std::sync::LazyLock;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::{OpenApi, PartialSchema, ToSchema};

use crate::error::ApiJson;
use crate::events::delivery::Meta;
use crate::events::names;
use crate::model::{DoctorBusy, DoctorDeleted};
use crate::realtime::public::EVENT as PATIENT_STATUS;
use crate::state::AppState;

use super::openapi::ApiDoc;

/// Where the document is served.
pub const ASYNCAPI_PATH: &str = "/api/asyncapi.json";

/// Every event of an account's room: its name, the schema of its first argument, and when it
/// is sent. Holds exactly the names of `events::ALLOWED` (checked by a test).
pub const ACCOUNT_EVENTS: [(&str, &str, &str); 11] = [
    (
        names::APPOINTMENT_CREATED,
        "Appointment",
        "Each appointment created",
    ),
    (
        names::APPOINTMENT_CHECKIN,
        "Appointment",
        "Status moved to CHECKIN: the patient joins the queue",
    ),
    (
        names::APPOINTMENT_SERVING,
        "Appointment",
        "Status moved to EM_ATENDIMENTO: the doctor is set busy and linked in the same \
         transaction",
    ),
    (
        names::APPOINTMENT_FINISHED_DOCUMENTED,
        "Appointment",
        "Status moved to FINALIZADO or CANCELADO (the documented spelling, sent beside \
         `appointments.finished`)",
    ),
    (
        names::APPOINTMENT_FINISHED,
        "Appointment",
        "Status moved to FINALIZADO or CANCELADO",
    ),
    (
        names::APPOINTMENT_UPDATED,
        "Appointment",
        "Any other change: undo, back to the queue, FALTOU, edit, reschedule, delete",
    ),
    (
        names::APPOINTMENT_RECALLED,
        "Appointment",
        "A patient being served is called again on the TVs",
    ),
    (
        names::DOCTOR_BUSY,
        "DoctorBusy",
        "A doctor starts (`true`) or stops (`false`) serving",
    ),
    (names::DOCTOR_CREATED, "Doctor", "A doctor was created"),
    (names::DOCTOR_UPDATED, "Doctor", "A doctor was saved"),
    (
        names::DOCTOR_DELETED,
        "DoctorDeleted",
        "A doctor was soft-deleted",
    ),
];

const INFO: &str = "Socket.IO v4 (Engine.IO 4) at path `/socket.io/`, namespace `/`, websocket \
    or polling upgraded to websocket. Events go from the server to the clients only; clients \
    send nothing. An event is emitted only after the change it reports is committed. The REST \
    API is described by the OpenAPI document at `/api/openapi.json`.";

const ACCOUNT_CHANNEL: &str = "A socket whose handshake carries an access token (`auth: \
    {token}`, see `AccountHandshake`) joins the room of its token's account. `seq` rises by one \
    per event within the account: a jump is a gap, filled from `GET /api/events?since=`. The \
    socket lives as long as its session, not its token. A `panel` API key's socket gets the same \
    events with the same `seq`, every `cpf`, `phone`, `dateBirth` and `notes` field set to null \
    and each patient's `name` as the panel shows it (`João S.`, whole under the `full` style).";

const STATUS_CHANNEL: &str = "A socket whose handshake carries `auth: {statusToken}` (see \
    `StatusHandshake`) joins only the room of its link and receives only `patient.status`.";

static DOCUMENT: LazyLock<Value> = LazyLock::new(document_json);

pub fn router() -> Router<AppState> {
    Router::new().route(ASYNCAPI_PATH, get(document))
}

/// The AsyncAPI 3.0 document of the Socket.IO events and their payloads.
#[utoipa::path(get, operation_id = "getAsyncApi", path = "/api/asyncapi.json", tag = "operations",
    responses((status = 200, description = "The AsyncAPI 3.0 document of the Socket.IO events", body = Object)))]
pub async fn document() -> impl IntoResponse {
    ApiJson(&*DOCUMENT)
}

/// The document, as JSON.
pub fn document_json() -> Value {
    let (channels, operations) = channels_and_operations();
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Fila real-time events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": INFO,
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "fila": {
                "host": "{host}",
                "protocol": "ws",
                "pathname": "/socket.io/",
                "description": "The Fila server (Socket.IO v4)",
                "variables": {"host": {
                    "default": "127.0.0.1:3000",
                    "description": "The address `fila serve` listens on (`--listen`)",
                }},
                "security": [{"$ref": "#/components/securitySchemes/accessToken"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "accessToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access token, in the handshake's `auth: {token}` or its \
                        `Authorization: Bearer` header",
                },
            },
        },
    })
}

/// The account's room and a patient's status link, and one `send` operation per event.
fn channels_and_operations() -> (Value, Map<String, Value>) {
    let mut messages = Map::new();
    let mut operations = Map::new();
    for (event, payload, summary) in ACCOUNT_EVENTS {
        let arguments = json!({
            "type": "array",
            "description": "The event's arguments: the payload, `{seq, at}`, and the offset. \
                Clients written for the one-argument form read the first alone.",
            "items": [
                {"$ref": format!("#/components/schemas/{payload}")},
                {"$ref": "#/components/schemas/EventMeta"},
                {"$ref": "#/components/schemas/EventOffset"},
            ],
            "minItems": 3,
            "maxItems": 3,
        });
        messages.insert(
            event.into(),
            json!({"name": event, "summary": summary, "payload": arguments}),
        );
        operations.insert(event.into(), send("account", event, summary));
    }
    operations.insert(
        PATIENT_STATUS.into(),
        send(
            "patientStatus",
            PATIENT_STATUS,
            "The patient's appointment changed, or the queue ahead of it moved",
        ),
    );
    let status = json!({
        "name": PATIENT_STATUS,
        "summary": "The patient's view of their appointment, as `GET /api/public/status/{token}` \
            answers",
        "payload": {
            "type": "array",
            "description": "The event's one argument.",
            "items": [{"$ref": "#/components/schemas/PublicStatus"}],
            "minItems": 1,
            "maxItems": 1,
        },
    });
    let channels = json!({
        "account": {
            "address": "orders.account.{accountId}",
            "title": "The account's room",
            "description": ACCOUNT_CHANNEL,
            "parameters": {"accountId": {"description": "The account (clinic) of the token"}},
            "messages": messages,
            "x-handshake-auth": {"$ref": "#/components/schemas/AccountHandshake"},
        },
        "patientStatus": {
            "address": "status.link.{linkId}",
            "title": "A patient's status link",
            "description": STATUS_CHANNEL,
            "parameters": {"linkId": {"description": "The status link"}},
            "messages": {PATIENT_STATUS: status},
            "x-handshake-auth": {"$ref": "#/components/schemas/StatusHandshake"},
        },
    });
    (channels, operations)
}

/// The server sends `event` on `channel`.
fn send(channel: &str, event: &str, summary: &str) -> Value {
    json!({
        "action": "send",
        "summary": summary,
        "channel": {"$ref": format!("#/channels/{channel}")},
        "messages": [{"$ref": format!("#/channels/{channel}/messages/{event}")}],
    })
}

/// The OpenAPI document's schemas, the payloads no REST answer has, and the handshakes.
fn schemas() -> Map<String, Value> {
    let mut schemas = ApiDoc::openapi()
        .components
        .and_then(|components| serde_json::to_value(components.schemas).ok())
        .and_then(|schemas| match schemas {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let event_only = [
        (Meta::name(), Meta::schema()),
        (DoctorBusy::name(), DoctorBusy::schema()),
        (DoctorDeleted::name(), DoctorDeleted::schema()),
    ];
    for (name, schema) in event_only {
        let schema = serde_json::to_value(schema).unwrap_or_default();
        schemas.insert(name.into_owned(), schema);
    }
    schemas.insert(
        "EventOffset".into(),
        json!({
            "type": "string",
            "description": "The event's offset for Socket.IO connection state recovery: its \
                `seq`, as a string. A client reconnecting with its last offset receives every \
                event it missed.",
            "examples": ["42"],
        }),
    );
    schemas.insert(
        "AccountHandshake".into(),
        json!({
            "type": "object",
            "description": "The Socket.IO handshake's `auth` of a staff or integration socket \
                (or the `Authorization: Bearer` header). A missing or invalid token is refused \
                with `connect_error` `missing token` or `invalid token`; an expired token whose \
                session has ended with `jwt expired`; a `kiosk` API key's token with \
                `forbidden: a kiosk API key cannot open a socket`.",
            "required": ["token"],
            "properties": {"token": {
                "type": "string",
                "description": "The access token, `Bearer ` prefix optional",
            }},
        }),
    );
    schemas.insert(
        "StatusHandshake".into(),
        json!({
            "type": "object",
            "description": "The Socket.IO handshake's `auth` of a patient's status page.",
            "required": ["statusToken"],
            "properties": {"statusToken": {
                "type": "string",
                "description": "The token of a live status link \
                    (`POST /api/appointments/{id}/status-link`)",
            }},
        }),
    );
    schemas
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::events::ALLOWED;

    #[test]
    fn the_document_lists_every_allowed_event_and_no_other() {
        let listed: BTreeSet<&str> = ACCOUNT_EVENTS.iter().map(|(event, ..)| *event).collect();
        let allowed: BTreeSet<&str> = ALLOWED.into_iter().collect();
        assert_eq!(listed, allowed);
        let document = document_json();
        for event in ALLOWED {
            let message = &document["channels"]["account"]["messages"][event];
            assert_eq!(message["name"], event);
            assert_eq!(document["operations"][event]["action"], "send");
        }
    }

    #[test]
    fn every_payload_names_a_schema_of_the_document() {
        let document = document_json();
        for (event, payload, _) in ACCOUNT_EVENTS {
            let schema = &document["components"]["schemas"][payload];
            assert!(schema.is_object(), "{event}: {payload}");
        }
        for schema in ["EventMeta", "EventOffset", "PublicStatus", "ErrorBody"] {
            assert!(
                document["components"]["schemas"][schema].is_object(),
                "{schema}"
            );
        }
    }
}
