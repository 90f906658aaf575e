//! Scoped API keys: every operation of the OpenAPI document, called with a token of every
//! scope (a `kiosk` key, a `panel` key, an `integration` key, a staff login and the master's),
//! answers 403 exactly where the scope does not reach; and the TV panel's answers carry no
//! CPF, phone, birth date or notes, and names as the panel writes them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, today};

/// What the totem calls (besides the public routes).
const KIOSK: &[(&str, &str)] = &[
    ("POST", "/api/self-checkin"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
];

/// What the TV panel calls (besides the public routes).
const PANEL: &[(&str, &str)] = &[
    ("GET", "/api/account"),
    ("GET", "/api/appointments/calls"),
    ("GET", "/api/appointments/queue"),
    ("GET", "/api/events"),
    ("POST", "/api/auth/refresh"),
    ("POST", "/api/auth/logout"),
];

/// Open to everyone (no token, or a token of their own): never 403 for any scope.
const PUBLIC: &[(&str, &str)] = &[
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/token"),
    ("GET", "/api/public/status/{token}"),
    ("GET", "/api/asyncapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
];

/// The master's alone (a password session of the master user).
const MASTER: &[(&str, &str)] = &[
    ("PATCH", "/api/account"),
    ("POST", "/api/api-keys"),
    ("GET", "/api/api-keys"),
    ("DELETE", "/api/api-keys/{id}"),
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("GET", "/api/users/{id}"),
    ("PATCH", "/api/users/{id}"),
];

/// A person's alone: no API key may change a password.
const PASSWORD_ONLY: &[(&str, &str)] = &[("POST", "/api/auth/password")];

/// Staff-side but refused to a person: self check-in takes a key's token.
const KEY_ONLY: &[(&str, &str)] = &[("POST", "/api/self-checkin")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Kiosk,
    Panel,
    Integration,
    Staff,
    Master,
}

fn listed(list: &[(&str, &str)], method: &str, path: &str) -> bool {
    list.iter().any(|(m, p)| *m == method && *p == path)
}

/// Whether `caller` must get 403 on the operation.
fn refused(caller: Caller, method: &str, path: &str) -> bool {
    if listed(PUBLIC, method, path) {
        return false;
    }
    let master = listed(MASTER, method, path);
    match caller {
        Caller::Kiosk => !listed(KIOSK, method, path),
        Caller::Panel => !listed(PANEL, method, path),
        Caller::Integration => master || listed(PASSWORD_ONLY, method, path),
        Caller::Staff => master || listed(KEY_ONLY, method, path),
        Caller::Master => listed(KEY_ONLY, method, path),
    }
}

async fn key_token(app: &TestApp, master: &str, scope: Option<&str>) -> (i64, String) {
    let mut body = json!({"name": format!("chave {scope:?}")});
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    let (s, key) = app.post("/api/api-keys", master, body).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    assert_eq!(key["scope"], scope.unwrap_or("integration"), "{key}");
    let (s, token) = app.trade_key(key["key"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{token}");
    (
        key["id"].as_i64().unwrap(),
        token["accessToken"].as_str().unwrap().to_string(),
    )
}

/// The path with its parameters replaced by ids of real rows.
fn concrete(path: &str, ids: &[(&str, i64)]) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        if segment.starts_with('{') {
            let resource = segments[i - 1];
            let id = ids
                .iter()
                .find(|(name, _)| *name == resource)
                .map_or_else(|| "x".to_string(), |(_, id)| id.to_string());
            out.push(id);
        } else {
            out.push((*segment).to_string());
        }
    }
    out.join("/")
}

/// Every operation of the OpenAPI document, as (method, path template).
async fn operations(app: &TestApp) -> Vec<(String, String)> {
    let (s, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    // Logout last: it ends the session the other calls use.
    ops.sort_by_key(|(_, path)| path == "/api/auth/logout");
    ops
}

#[tokio::test]
async fn every_operation_refuses_exactly_the_scopes_that_do_not_reach_it() {
    let app = TestApp::spawn().await;
    let master = app.account_token("scopes@clinica.test").await;
    let clinic = app.seed_clinic(&master, "529.982.247-25").await;
    let appointment = app.book(&master, &clinic).await["id"].as_i64().unwrap();
    let (s, staff_user) = app
        .post(
            "/api/users",
            &master,
            json!({"name": "Ana", "email": "ana@clinica.test", "password": "recepcao123", "isMaster": false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{staff_user}");
    let (spare_key, _) = key_token(&app, &master, None).await;
    let ids = [
        ("appointments", appointment),
        ("doctors", clinic.doctor_id),
        ("patients", clinic.patient_id),
        ("procedures", clinic.procedure_id),
        ("users", staff_user["id"].as_i64().unwrap()),
        ("api-keys", spare_key + 1000),
    ];
    let ops = operations(&app).await;
    assert!(ops.len() >= 40, "{} operations", ops.len());
    for list in [KIOSK, PANEL, PUBLIC, MASTER, PASSWORD_ONLY, KEY_ONLY] {
        for (method, path) in list {
            assert!(
                ops.iter().any(|(m, p)| m == method && p == path),
                "{method} {path} is not in the OpenAPI document"
            );
        }
    }
    let mut tokens = vec![
        (
            Caller::Kiosk,
            key_token(&app, &master, Some("kiosk")).await.1,
        ),
        (
            Caller::Panel,
            key_token(&app, &master, Some("panel")).await.1,
        ),
        (
            Caller::Integration,
            key_token(&app, &master, Some("integration")).await.1,
        ),
        (
            Caller::Staff,
            app.login("ana@clinica.test", "recepcao123").await,
        ),
    ];
    // The master's own session last of all (its PATCHes change the account).
    tokens.push((
        Caller::Master,
        app.login("scopes@clinica.test", crate::helpers::PASSWORD)
            .await,
    ));
    let mut wrong = Vec::new();
    for (caller, token) in &tokens {
        for (method, path) in &ops {
            let url = concrete(path, &ids);
            let method_value = Method::from_bytes(method.as_bytes()).unwrap();
            let body = (method != "GET" && method != "DELETE").then(|| json!({}));
            let (status, answer) = app.call(method_value, &url, Some(token), body).await;
            let expected = refused(*caller, method, path);
            if (status == StatusCode::FORBIDDEN) != expected {
                let answer: String = answer.to_string().chars().take(200).collect();
                wrong.push(format!("{caller:?} {method} {url}: {status} {answer}"));
            }
            if status == StatusCode::FORBIDDEN {
                assert_eq!(
                    answer["statusCode"], 403,
                    "{caller:?} {method} {url}: {answer}"
                );
                assert_eq!(answer["error"], "Forbidden", "{caller:?} {method} {url}");
                assert!(answer["message"].is_string(), "{answer}");
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn the_panel_gets_calls_queue_and_events_without_contact_data_or_notes() {
    let app = TestApp::spawn().await;
    let master = app.account_token("painel@clinica.test").await;
    let clinic = app.seed_clinic(&master, "529.982.247-25").await;
    let id = app.book(&master, &clinic).await["id"].as_i64().unwrap();
    let (s, _) = app
        .patch(
            &format!("/api/appointments/{id}"),
            &master,
            json!({"notes": "alérgico a dipirona"}),
        )
        .await;
    assert!(s.is_success(), "{s}");
    app.set_status(&master, id, "check-in").await;
    let (_, panel) = key_token(&app, &master, Some("panel")).await;
    let (s, queue) = app
        .get(&format!("/api/appointments/queue?date={}", today()), &panel)
        .await;
    assert_eq!(s, StatusCode::OK, "{queue}");
    let (_, staff_queue) = app.get("/api/appointments/queue", &master).await;
    assert_eq!(
        staff_queue[0]["patient"]["contact"]["phone"],
        "(81) 99999-9999"
    );
    app.set_status(&master, id, "em atendimento").await;
    let (s, calls) = app.get("/api/appointments/calls", &panel).await;
    assert_eq!(s, StatusCode::OK, "{calls}");
    let (s, events) = app.get("/api/events?since=0", &panel).await;
    assert_eq!(s, StatusCode::OK, "{events}");
    for (what, answer) in [("queue", &queue), ("calls", &calls)] {
        let first = &answer[0];
        assert_eq!(first["id"], id, "{what}: {answer}");
        assert_eq!(
            first["patient"]["name"], "João S.",
            "{what}: the name as the panel shows it"
        );
        assert_eq!(first["patient"]["contact"]["phone"], Value::Null, "{what}");
        assert_eq!(first["patient"]["dateBirth"], Value::Null, "{what}");
        assert_eq!(first["notes"], Value::Null, "{what}");
    }
    let text = events.to_string();
    assert!(!events.as_array().unwrap().is_empty());
    for secret in [
        "99999-9999",
        "1980-05-17",
        "dipirona",
        "529.982",
        "52998224725",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        !text.contains("João Silva"),
        "the panel's log has the short names: {text}"
    );
    let staff_events = app.events(&master).await;
    assert!(
        serde_json::to_string(&staff_events)
            .unwrap()
            .contains("99999-9999")
    );

    // A clinic whose panel writes names whole gives the panel whole names.
    let (s, _) = app
        .patch("/api/account", &master, json!({"panelNameStyle": "full"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, calls) = app.get("/api/appointments/calls", &panel).await;
    assert_eq!(calls[0]["patient"]["name"], "João Silva");
    assert_eq!(calls[0]["patient"]["contact"]["phone"], Value::Null);
}

#[tokio::test]
async fn a_key_is_integration_unless_asked_and_an_unknown_scope_is_refused() {
    let app = TestApp::spawn().await;
    let master = app.account_token("escopo@clinica.test").await;
    let (s, body) = app
        .post(
            "/api/api-keys",
            &master,
            json!({"name": "x", "scope": "master"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    key_token(&app, &master, None).await;
    key_token(&app, &master, Some("kiosk")).await;
    let (_, listed) = app.get("/api/api-keys", &master).await;
    let scopes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["integration", "kiosk"]);
    // Refresh keeps the scope.
    let (_, kiosk) = key_token(&app, &master, Some("kiosk")).await;
    let (s, next) = app
        .call(Method::POST, "/api/auth/refresh", Some(&kiosk), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let next = next["accessToken"].as_str().unwrap();
    let (s, _) = app.get("/api/patients", next).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
