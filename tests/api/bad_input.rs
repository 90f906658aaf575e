//! A table of bad requests: each gets a 4xx in the contract's error shape, nothing changes, and
//! the server stays healthy.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, today};

enum Body {
    None,
    Json(Value),
    Raw(&'static str, String),
}

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    body: Body,
    /// Which token: A's, B's, a forged one, or none.
    token: Token,
    expect: u16,
}

#[derive(Clone, Copy)]
enum Token {
    A,
    Forged,
}

fn case(what: &'static str, method: Method, path: String, body: Body, expect: u16) -> Case {
    Case {
        what,
        method,
        path,
        body,
        token: Token::A,
        expect,
    }
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_change_nothing() {
    let app = TestApp::spawn().await;
    let a = app.account_token("a@bad.test").await;
    let b = app.account_token("b@bad.test").await;
    let clinic_a = app.seed_clinic(&a, "529.982.247-25").await;
    let clinic_b = app.seed_clinic(&b, "529.982.247-25").await;
    let mine = app.book(&a, &clinic_a).await["id"].as_i64().unwrap();
    let theirs = app.book(&b, &clinic_b).await["id"].as_i64().unwrap();
    let (_, key) = app
        .post("/api/api-keys", &b, json!({"name": "B key"}))
        .await;
    let their_key = key["id"].as_i64().unwrap();

    let status_path = format!("/api/appointments/{mine}/status");
    let book = |patient: i64, procedure: i64, doctor: i64| {
        json!({"patientId": patient, "procedures": [{"id": procedure}], "doctorId": doctor,
               "date": today(), "startTime": "09:00", "endTime": "09:15"})
    };
    let cases = vec![
        case(
            "malformed JSON",
            Method::PATCH,
            status_path.clone(),
            Body::Raw("application/json", r#"{"action": "#.into()),
            400,
        ),
        case(
            "action of the wrong type",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": 3})),
            400,
        ),
        case(
            "unknown action",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": "dançar"})),
            400,
        ),
        case(
            "display name is not an action",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": "Check-in"})),
            400,
        ),
        case(
            "unknown priority flag",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": "check-in", "priorityFlags": ["voador"]})),
            400,
        ),
        case(
            "doctorId not an id",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": "check-in", "doctorId": "abc"})),
            400,
        ),
        case(
            "not JSON at all",
            Method::PATCH,
            status_path.clone(),
            Body::Raw("text/plain", "check-in".into()),
            415,
        ),
        case(
            "empty body",
            Method::PATCH,
            status_path.clone(),
            Body::Raw("application/json", String::new()),
            400,
        ),
        case(
            "a 2 MB body",
            Method::POST,
            "/api/patients".into(),
            Body::Raw(
                "application/json",
                format!(r#"{{"name":"{}"}}"#, "x".repeat(2 * 1024 * 1024)),
            ),
            413,
        ),
        case(
            "limit=101",
            Method::GET,
            "/api/appointments?limit=101".into(),
            Body::None,
            400,
        ),
        case(
            "limit=0",
            Method::GET,
            "/api/patients?limit=0".into(),
            Body::None,
            400,
        ),
        case(
            "limit not a number",
            Method::GET,
            "/api/doctors?limit=many".into(),
            Body::None,
            400,
        ),
        case(
            "negative offset",
            Method::GET,
            "/api/procedures?offset=-1".into(),
            Body::None,
            400,
        ),
        case(
            "unknown status filter",
            Method::GET,
            "/api/appointments?status=dormindo".into(),
            Body::None,
            400,
        ),
        case(
            "bad date filter",
            Method::GET,
            "/api/appointments/queue?date=2025-13-01".into(),
            Body::None,
            400,
        ),
        case(
            "negative since",
            Method::GET,
            "/api/events?since=-1".into(),
            Body::None,
            400,
        ),
        case(
            "id not a number",
            Method::GET,
            "/api/appointments/abc".into(),
            Body::None,
            400,
        ),
        case(
            "id out of range",
            Method::GET,
            "/api/appointments/99999999999999999999".into(),
            Body::None,
            400,
        ),
        case(
            "an array instead of an object",
            Method::PATCH,
            format!("/api/appointments/{mine}"),
            Body::Json(json!([])),
            400,
        ),
        case(
            "a NUL character in a body",
            Method::POST,
            "/api/patients".into(),
            Body::Raw("application/json", r#"{"name":"a\u0000b"}"#.into()),
            400,
        ),
        case(
            "a NUL character in a query",
            Method::GET,
            "/api/patients?name=a%00b".into(),
            Body::None,
            400,
        ),
        case(
            "invalid CPF",
            Method::POST,
            "/api/patients".into(),
            Body::Json(json!({"name": "X", "cpf": "123.456.789-00"})),
            400,
        ),
        case(
            "duplicate CPF",
            Method::POST,
            "/api/patients".into(),
            Body::Json(json!({"name": "X", "cpf": "52998224725"})),
            409,
        ),
        case(
            "birth date in the future",
            Method::POST,
            "/api/patients".into(),
            Body::Json(json!({"name": "X", "dateBirth": "2999-01-01"})),
            400,
        ),
        case(
            "negative price",
            Method::POST,
            "/api/procedures".into(),
            Body::Json(json!({"name": "X", "price": -5})),
            400,
        ),
        case(
            "name of the wrong type",
            Method::POST,
            "/api/procedures".into(),
            Body::Json(json!({"name": 5, "price": "1"})),
            400,
        ),
        case(
            "unknown working day",
            Method::POST,
            "/api/doctors".into(),
            Body::Json(json!({"name": "X", "workingDays": ["Funday"]})),
            400,
        ),
        case(
            "end before start",
            Method::POST,
            "/api/appointments".into(),
            Body::Json(
                json!({"patientId": clinic_a.patient_id, "procedures": [{"id": clinic_a.procedure_id}],
                               "date": today(), "startTime": "10:00", "endTime": "09:00"}),
            ),
            400,
        ),
        case(
            "both patient and patientId",
            Method::POST,
            "/api/appointments".into(),
            Body::Json(
                json!({"patientId": clinic_a.patient_id, "patient": {"name": "Y"}, "procedures": [{"id": clinic_a.procedure_id}],
                               "date": today(), "startTime": "09:00", "endTime": "09:15"}),
            ),
            400,
        ),
        case(
            "no procedures",
            Method::POST,
            "/api/appointments".into(),
            Body::Json(
                json!({"patientId": clinic_a.patient_id, "procedures": [], "date": today(), "startTime": "09:00", "endTime": "09:15"}),
            ),
            400,
        ),
        case(
            "illegal transition",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": "finalizado"})),
            409,
        ),
        case(
            "another account's appointment",
            Method::GET,
            format!("/api/appointments/{theirs}"),
            Body::None,
            404,
        ),
        case(
            "another account's appointment status",
            Method::PATCH,
            format!("/api/appointments/{theirs}/status"),
            Body::Json(json!({"action": "check-in"})),
            404,
        ),
        case(
            "another account's appointment edit",
            Method::PATCH,
            format!("/api/appointments/{theirs}"),
            Body::Json(json!({"notes": "x"})),
            404,
        ),
        case(
            "another account's appointment delete",
            Method::DELETE,
            format!("/api/appointments/{theirs}"),
            Body::None,
            404,
        ),
        case(
            "another account's doctor",
            Method::PATCH,
            format!("/api/doctors/{}", clinic_b.doctor_id),
            Body::Json(json!({"name": "Hacked"})),
            404,
        ),
        case(
            "another account's patient",
            Method::GET,
            format!("/api/patients/{}", clinic_b.patient_id),
            Body::None,
            404,
        ),
        case(
            "booking another account's patient",
            Method::POST,
            "/api/appointments".into(),
            Body::Json(book(
                clinic_b.patient_id,
                clinic_a.procedure_id,
                clinic_a.doctor_id,
            )),
            404,
        ),
        case(
            "booking another account's procedure",
            Method::POST,
            "/api/appointments".into(),
            Body::Json(book(
                clinic_a.patient_id,
                clinic_b.procedure_id,
                clinic_a.doctor_id,
            )),
            404,
        ),
        case(
            "booking another account's doctor",
            Method::POST,
            "/api/appointments".into(),
            Body::Json(book(
                clinic_a.patient_id,
                clinic_a.procedure_id,
                clinic_b.doctor_id,
            )),
            404,
        ),
        case(
            "serving with another account's doctor",
            Method::PATCH,
            status_path.clone(),
            Body::Json(json!({"action": "check-in", "doctorId": clinic_b.doctor_id})),
            200,
        ),
        case(
            "revoking another account's key",
            Method::DELETE,
            format!("/api/api-keys/{their_key}"),
            Body::None,
            404,
        ),
        Case {
            what: "forged token",
            method: Method::GET,
            path: "/api/appointments".into(),
            body: Body::None,
            token: Token::Forged,
            expect: 401,
        },
    ];

    let snapshot = |events_a: usize, events_b: usize, theirs: Value| (events_a, events_b, theirs);
    let take = async || {
        snapshot(
            app.events(&a).await.len(),
            app.events(&b).await.len(),
            app.get(&format!("/api/appointments/{theirs}"), &b).await.1,
        )
    };
    let forged = forge_token();
    for case in cases {
        let before = take().await;
        let token = match case.token {
            Token::A => a.as_str(),
            Token::Forged => forged.as_str(),
        };
        let mut request = app
            .client
            .request(case.method.clone(), format!("{}{}", app.base, case.path))
            .bearer_auth(token);
        request = match case.body {
            Body::None => request,
            Body::Json(value) => request.json(&value),
            Body::Raw(content_type, text) => {
                request.header("content-type", content_type).body(text)
            }
        };
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, case.expect, "{}: {body}", case.what);
        if case.expect == 200 {
            // Check-in ignores a doctorId (only serving links one); revert for the next cases.
            let (_, now) = app.get(&format!("/api/appointments/{mine}"), &a).await;
            assert_eq!(now["doctor"]["id"], clinic_a.doctor_id, "{}", case.what);
            app.set_status(&a, mine, "agendado").await;
            continue;
        }
        assert_eq!(body["statusCode"], case.expect, "{}: {body}", case.what);
        assert!(body["error"].is_string(), "{}: {body}", case.what);
        assert!(
            body["message"].is_string() || body["message"].is_array(),
            "{}: {body}",
            case.what
        );
        assert_eq!(take().await, before, "{} changed something", case.what);
        let health = app
            .client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK, "{}", case.what);
    }
    let (_, untouched) = app.get(&format!("/api/appointments/{theirs}"), &b).await;
    assert_eq!(untouched["status"]["name"], "Agendado");
    let (_, doctor) = app
        .get(&format!("/api/doctors/{}", clinic_b.doctor_id), &b)
        .await;
    assert_eq!(doctor["name"], "Dr. Victor");
}

/// A well-formed token signed with a secret the server does not have.
fn forge_token() -> String {
    fila::auth::jwt::Tokens::new(b"not the server's secret at all", 3600)
        .issue(1, 1, None)
        .unwrap()
}
