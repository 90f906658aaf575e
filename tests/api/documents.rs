//! The OpenAPI and AsyncAPI documents say what the server does: every operation is named once,
//! declares its security (and the server enforces it), documents its error answers with the
//! error body, and every field an answer always carries is required. The validators and the
//! typed client run in `tests/openapi/` (Node); these tests hold the rules in Rust.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// The operations anyone may call, without a token.
const PUBLIC: [&str; 7] = [
    "login",
    "exchangeApiKey",
    "getPublicStatus",
    "getHealth",
    "getReadiness",
    "getMetrics",
    "getAsyncApi",
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(method, path, operation)` of every operation of the document.
fn operations(doc: &Value) -> Vec<(&'static str, String, &Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut all = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                all.push((method, path.clone(), operation));
            }
        }
    }
    all
}

async fn openapi(app: &TestApp) -> Value {
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

#[tokio::test]
async fn every_operation_has_a_unique_operation_id_and_the_document_a_server() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/");
    let mut seen = BTreeMap::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        if let Some(other) = seen.insert(id.to_string(), format!("{method} {path}")) {
            panic!("{id}: both {other} and {method} {path}");
        }
    }
    for id in [
        "listPatients",
        "createAppointment",
        "changeAppointmentStatus",
    ] {
        assert!(seen.contains_key(id), "{id}");
    }
}

#[tokio::test]
async fn every_operation_declares_its_security_and_the_server_enforces_it() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let mut public = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        let security = operation["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no security"));
        if security.is_empty() {
            public.insert(id.to_string());
        } else {
            assert_eq!(security, &[json!({"bearer": []})], "{id}");
        }
        // Without a token: 401 exactly where the document says a token is needed.
        let url = path.replace("{id}", "1").replace("{token}", "unknown");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (status, body) = app.call(method, &url, None, None).await;
        if security.is_empty() {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{id}: {body}");
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{id}: {body}");
            assert_eq!(body["message"], "missing token", "{id}");
        }
    }
    let expected: BTreeSet<String> = PUBLIC.iter().map(|id| id.to_string()).collect();
    assert_eq!(public, expected);
}

/// The least body the schema accepts: its required fields with a value of their type.
fn least_body(doc: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return match name {
            "FlexId" => json!(1),
            _ => least_body(doc, &doc["components"]["schemas"][name]),
        };
    }
    let mut body = serde_json::Map::new();
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap_or_default();
        let property = &schema["properties"][field];
        let value = match property["type"].as_str() {
            Some("string") => json!("x"),
            Some("integer") | Some("number") => json!(1),
            Some("boolean") => json!(false),
            Some("array") => json!([]),
            _ => least_body(doc, property),
        };
        body.insert(field.to_string(), value);
    }
    Value::Object(body)
}

/// A token traded for an API key is refused (403) by exactly the operations that document a
/// 403; self check-in, which takes such a token only, refuses a staff member's.
#[tokio::test]
async fn the_documented_403s_are_the_ones_the_server_answers() {
    let app = TestApp::spawn().await;
    let staff = app.account_token("keys@clinica.test").await;
    let (status, created) = app
        .post("/api/api-keys", &staff, json!({"name": "Integração"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().expect("key").to_string();
    let doc = openapi(&app).await;
    for (method, path, operation) in operations(&doc) {
        if operation["security"]
            .as_array()
            .is_none_or(|s| s.is_empty())
        {
            continue;
        }
        let id = operation["operationId"].as_str().unwrap_or_default();
        let token = if id == "selfCheckin" {
            staff.clone()
        } else {
            let (status, token) = app.trade_key(&key).await;
            assert_eq!(status, StatusCode::OK, "{token}");
            token["accessToken"].as_str().expect("token").to_string()
        };
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        let body = (!schema.is_null()).then(|| least_body(&doc, schema));
        let url = path.replace("{id}", "1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (status, answer) = app.call(method, &url, Some(&token), body).await;
        let documented = operation["responses"].get("403").is_some();
        assert_eq!(
            status == StatusCode::FORBIDDEN,
            documented,
            "{id}: {status} {answer}"
        );
    }
}

#[tokio::test]
async fn every_error_answer_carries_the_error_body_and_retry_after_where_it_is_sent() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let error_ref = "#/components/schemas/ErrorBody";
    for (_, _, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        let responses = operation["responses"].as_object().expect("responses");
        for (code, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{id} {code}: no description"
            );
            let code: u16 = code.parse().expect("a status code");
            if code < 400 || (id == "getReadiness" && code == 503) {
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(schema, error_ref, "{id} {code}");
            if code == 429 || code == 503 {
                assert_eq!(
                    response["headers"]["Retry-After"]["schema"]["type"], "integer",
                    "{id} {code}"
                );
            }
        }
        if !["getHealth", "getMetrics", "getReadiness"].contains(&id) {
            assert!(
                responses.contains_key("503"),
                "{id}: the 503 of the database or the cap"
            );
        }
    }
    let login = &doc["paths"]["/api/auth/login"]["post"]["responses"];
    assert!(login["429"]["headers"]["Retry-After"].is_object());
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["statusCode", "message", "error"]));
}

/// The schemas of the answers: every field is always present (`null` where empty), so every
/// property is required; `Probe` alone leaves out what it does not know.
#[tokio::test]
async fn every_property_of_an_answer_is_required() {
    let app = TestApp::spawn().await;
    let doc = openapi(&app).await;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let answers = [
        "Appointment",
        "DoctorRef",
        "PatientRef",
        "Contact",
        "StatusView",
        "AppointmentProcedures",
        "ProcedureRef",
        "Priority",
        "Doctor",
        "Patient",
        "Procedure",
        "ApiKey",
        "TokenResponse",
        "LoggedEvent",
        "PublicStatus",
        "StatusMove",
        "SelfCheckinAppointment",
        "WaitRow",
        "DoctorReportRow",
        "User",
        "AccountView",
    ];
    for name in answers {
        let schema = &schemas[name];
        let properties: BTreeSet<&str> = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no properties"))
            .keys()
            .map(String::as_str)
            .collect();
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(required, properties, "{name}");
    }
}

#[tokio::test]
async fn an_appointment_answer_has_exactly_the_documented_fields() {
    let app = TestApp::spawn().await;
    let token = app.account_token("documents@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let appointment = app.book(&token, &clinic).await;
    let doc = openapi(&app).await;
    let documented: BTreeSet<&str> = doc["components"]["schemas"]["Appointment"]["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let sent: BTreeSet<&str> = appointment
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(sent, documented);
}

#[tokio::test]
async fn the_asyncapi_document_is_served_without_a_token_and_lists_every_event() {
    let app = TestApp::spawn().await;
    let (status, doc) = app
        .call(Method::GET, "/api/asyncapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["asyncapi"], "3.0.0");
    let account = &doc["channels"]["account"];
    assert_eq!(account["address"], "orders.account.{accountId}");
    let messages: BTreeSet<&str> = account["messages"]
        .as_object()
        .expect("messages")
        .keys()
        .map(String::as_str)
        .collect();
    let allowed: BTreeSet<&str> = fila::events::ALLOWED.into_iter().collect();
    assert_eq!(messages, allowed);
    let arguments = &account["messages"]["appointments.checkin"]["payload"]["items"];
    assert_eq!(arguments[0]["$ref"], "#/components/schemas/Appointment");
    assert_eq!(arguments[1]["$ref"], "#/components/schemas/EventMeta");
    assert_eq!(arguments[2]["$ref"], "#/components/schemas/EventOffset");
    assert_eq!(
        doc["components"]["schemas"]["EventOffset"]["type"],
        "string"
    );
    assert!(doc["channels"]["patientStatus"]["messages"]["patient.status"].is_object());
    // Every `$ref` points into the document.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let pointer = reference.split('"').next().unwrap_or_default();
        let pointer = pointer.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "{pointer}");
    }
}
