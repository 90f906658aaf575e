//! Property tests (proptest), bounded so they run in every `cargo test`: the domain rules
//! (CPF, days and times, working days, the status machine) against arbitrary input, random
//! request bodies against the real server (never a 5xx, always the error shape), the status
//! machine through the API against a model, and random interleavings of two accounts'
//! operations, which must never show one account's row or event to the other.
//!
//! `PROPTEST_CASES` raises the number of cases for a longer run.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use fila::domain::status::Status;
use fila::domain::{cpf, time, weekdays};

use crate::helpers::{Clinic, TestApp, today};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` values drawn from `strategy` (for async tests, where proptest's runner cannot drive
/// the requests itself; a failing value is printed by the assertion).
fn sample<S: Strategy>(strategy: S, n: u32) -> Vec<S::Value> {
    let mut runner = TestRunner::default();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn cpf_normalize_and_format_never_panic(input in any::<String>()) {
        if let Some(digits) = cpf::normalize(&input) {
            prop_assert_eq!(digits.len(), 11);
            prop_assert_eq!(cpf::normalize(&cpf::format(&digits)), Some(digits));
        }
        let _ = cpf::format(&input);
    }

    #[test]
    fn every_completed_cpf_is_valid_and_a_changed_check_digit_is_not(base in 0u32..1_000_000_000, at in 9usize..11, by in 1u8..10) {
        let digits = cpf::complete(base);
        let all_same = digits.bytes().all(|b| b == digits.as_bytes()[0]);
        prop_assume!(!all_same);
        prop_assert_eq!(cpf::normalize(&digits), Some(digits.clone()));
        prop_assert_eq!(cpf::normalize(&cpf::format(&digits)), Some(digits.clone()));
        let mut changed = digits.clone().into_bytes();
        changed[at] = b'0' + (changed[at] - b'0' + by) % 10;
        let changed = String::from_utf8(changed).unwrap();
        prop_assert_eq!(cpf::normalize(&changed), None, "{} accepted", changed);
    }

    #[test]
    fn days_parse_strictly_and_round_trip(input in any::<String>(), y in 1900i32..2100, m in 1u32..13, d in 1u32..32) {
        let _ = time::parse_day(&input);
        let text = format!("{y:04}-{m:02}-{d:02}");
        match chrono::NaiveDate::from_ymd_opt(y, m, d) {
            Some(day) => prop_assert_eq!(time::parse_day(&text), Some(day)),
            None => prop_assert_eq!(time::parse_day(&text), None),
        }
    }

    #[test]
    fn times_of_day_parse_strictly(input in any::<String>(), h in 0u32..100, m in 0u32..100) {
        let _ = time::parse_time_of_day(&input);
        let parsed = time::parse_time_of_day(&format!("{h:02}:{m:02}"));
        prop_assert_eq!(parsed.is_some(), h < 24 && m < 60);
    }

    #[test]
    fn working_days_accept_known_names_in_any_order_and_case(
        picks in proptest::collection::vec((0usize..7, any::<bool>()), 0..10),
        junk in proptest::collection::vec(any::<String>(), 0..4),
    ) {
        const NAMES: [&str; 7] = ["Segunda", "Terca", "Quarta", "Quinta", "Sexta", "Sábado", "Domingo"];
        let names: Vec<String> = picks
            .iter()
            .map(|(i, upper)| if *upper { NAMES[*i].to_uppercase() } else { NAMES[*i].to_lowercase() })
            .collect();
        let parsed = weekdays::parse(&[names.join(", ")]).expect("known names");
        let wanted: BTreeSet<usize> = picks.iter().map(|(i, _)| *i).collect();
        prop_assert_eq!(parsed.len(), wanted.len());
        let _ = weekdays::parse(&junk);
    }

    #[test]
    fn the_status_machine_only_moves_along_the_table(start in 0usize..7, steps in proptest::collection::vec(0usize..7, 0..20), action in any::<String>()) {
        let _ = Status::from_action(&action);
        let mut at = Status::ALL[start];
        for step in steps {
            let to = Status::ALL[step];
            if at.can_move_to(to) {
                prop_assert!(!matches!(at, Status::Finalizado | Status::Cancelado | Status::Faltou),
                    "{:?} is final", at);
                at = to;
            }
            prop_assert_eq!(Status::from_id(at.id()), Some(at));
            prop_assert_eq!(Status::from_action(at.key()), Some(at));
        }
    }
}

/// Field names of the API, so random bodies hit real validation paths.
const FIELDS: [&str; 24] = [
    "name",
    "price",
    "procedureIds",
    "startTime",
    "endTime",
    "intervalMinutes",
    "workingDays",
    "room",
    "phone",
    "dateBirth",
    "cpf",
    "patientId",
    "procedures",
    "doctorId",
    "date",
    "notes",
    "action",
    "priorityFlags",
    "email",
    "password",
    "apiKey",
    "waitWarnMinutes",
    "waitAlertMinutes",
    "id",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,24}".prop_map(Value::from),
        proptest::sample::select(vec![
            "2025-01-23",
            "2025-02-30",
            "09:00",
            "24:00",
            "9:5",
            "529.982.247-25",
            "111.111.111-11",
            "check-in",
            "em atendimento",
            "finalizado",
            "Segunda, Terca",
            "Funday",
            "",
            " ",
            "1",
            "-1",
            "1e309",
            "NaN",
            "\u{202e}",
            "%00",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(FIELDS.to_vec()).prop_map(str::to_string),
        1 => "[a-zA-Z]{0,8}",
    ]
}

/// A body: mostly an object of API fields, sometimes anything at all.
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::vec((field_name(), json_value()), 0..8)
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

/// Asserts a client-facing answer: no 5xx, and an error in the contract's shape.
fn assert_answer(what: &str, status: StatusCode, body: &Value) {
    assert!(!status.is_server_error(), "{what} → {status} {body}");
    if status.is_client_error() {
        assert_eq!(body["statusCode"], status.as_u16(), "{what} → {body}");
        assert!(body["error"].is_string(), "{what} → {body}");
        assert!(
            body["message"].is_string() || body["message"].is_array(),
            "{what} → {body}"
        );
    }
}

#[tokio::test]
async fn random_request_bodies_never_get_a_5xx() {
    let app = TestApp::spawn().await;
    let token = app.account_token("fuzz@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let appointment = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let targets = [
        (Method::POST, "/api/procedures".to_string()),
        (Method::POST, "/api/doctors".to_string()),
        (Method::PATCH, format!("/api/doctors/{}", clinic.doctor_id)),
        (Method::POST, "/api/patients".to_string()),
        (
            Method::PATCH,
            format!("/api/patients/{}", clinic.patient_id),
        ),
        (Method::POST, "/api/appointments".to_string()),
        (Method::PATCH, format!("/api/appointments/{appointment}")),
        (
            Method::PATCH,
            format!("/api/appointments/{appointment}/status"),
        ),
        (
            Method::PATCH,
            format!("/api/appointments/{appointment}/reschedule"),
        ),
        (Method::PATCH, "/api/account".to_string()),
        (Method::POST, "/api/api-keys".to_string()),
        (Method::POST, "/api/auth/token".to_string()),
    ];
    let bodies = sample(body(), cases(240));
    for (i, body) in bodies.into_iter().enumerate() {
        let (method, path) = &targets[i % targets.len()];
        let (status, answer) = app
            .call(method.clone(), path, Some(&token), Some(body.clone()))
            .await;
        assert_answer(&format!("{method} {path} {body}"), status, &answer);
    }
    let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_status_machine_through_the_api_matches_the_table() {
    let app = TestApp::spawn().await;
    let token = app.account_token("machine@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let walks = sample(
        proptest::collection::vec(0usize..Status::ALL.len(), 1..12),
        cases(12).min(200),
    );
    for walk in walks {
        let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
        let mut model = Status::Agendado;
        for step in &walk {
            let to = Status::ALL[*step];
            let (status, body) = app.set_status(&token, id, to.key()).await;
            if to == model || model.can_move_to(to) {
                assert_eq!(status, StatusCode::OK, "{model:?} → {to:?}: {body}");
                model = to;
            } else {
                assert_eq!(status, StatusCode::CONFLICT, "{model:?} → {to:?}: {body}");
            }
            assert_answer(&format!("{model:?} → {to:?}"), status, &body);
        }
        let (_, now) = app.get(&format!("/api/appointments/{id}"), &token).await;
        assert_eq!(now["status"]["id"], model.id(), "walk {walk:?}");
        if model == Status::EmAtendimento {
            // Free the doctor for the next walk.
            app.set_status(&token, id, Status::Finalizado.key()).await;
        }
    }
}

/// One step of a random interleaving.
#[derive(Debug, Clone)]
enum Step {
    Patient(usize),
    Book(usize),
    Move(usize, usize),
    Doctor(usize),
    PeekOther(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0usize..2).prop_map(Step::Patient),
        3 => (0usize..2).prop_map(Step::Book),
        3 => ((0usize..2), (0usize..Status::ALL.len())).prop_map(|(a, s)| Step::Move(a, s)),
        1 => (0usize..2).prop_map(Step::Doctor),
        2 => (0usize..2).prop_map(Step::PeekOther),
    ]
}

struct Tenant {
    token: String,
    account_id: i64,
    clinic: Clinic,
    appointments: Vec<i64>,
    patients: Vec<i64>,
    doctors: Vec<i64>,
}

/// Every id listed under `path` for the tenant (pages of 100).
async fn listed(app: &TestApp, token: &str, path: &str) -> BTreeSet<i64> {
    let (status, body) = app.get(path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let items = body
        .as_array()
        .cloned()
        .or_else(|| body["data"].as_array().cloned())
        .unwrap_or_default();
    items.iter().filter_map(|i| i["id"].as_i64()).collect()
}

#[tokio::test]
async fn random_interleavings_of_two_accounts_never_cross() {
    for (round, steps) in sample(proptest::collection::vec(step(), 10..30), cases(3).min(20))
        .into_iter()
        .enumerate()
    {
        let app = TestApp::spawn().await;
        let mut tenants = Vec::new();
        for (i, cpf) in ["529.982.247-25", "111.444.777-35"].into_iter().enumerate() {
            let email = format!("t{i}-{round}@clinica.test");
            let (account_id, _) = app.create_account(&format!("Clínica {i}"), &email).await;
            let token = app.login(&email, crate::helpers::PASSWORD).await;
            let clinic = app.seed_clinic(&token, cpf).await;
            tenants.push(Tenant {
                token,
                account_id,
                clinic,
                appointments: Vec::new(),
                patients: vec![clinic.patient_id],
                doctors: vec![clinic.doctor_id],
            });
        }
        for (n, step) in steps.iter().enumerate() {
            match *step {
                Step::Patient(t) => {
                    let cpf = cpf::format(&cpf::complete(100_000 + (round * 100 + n) as u32));
                    let (s, body) = app
                        .post(
                            "/api/patients",
                            &tenants[t].token,
                            json!({"name": format!("Paciente {n}"), "phone": "(81) 90000-0000",
                                   "dateBirth": "1990-01-01", "cpf": cpf}),
                        )
                        .await;
                    assert_answer("patient", s, &body);
                    if let Some(id) = body["id"].as_i64() {
                        tenants[t].patients.push(id);
                    }
                }
                Step::Book(t) => {
                    let clinic = tenants[t].clinic;
                    let slot = tenants[t].appointments.len() as u32;
                    let (h, m) = (8 + slot / 4, (slot % 4) * 15);
                    let (s, body) = app
                        .post(
                            "/api/appointments",
                            &tenants[t].token,
                            json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}],
                                   "doctorId": clinic.doctor_id, "date": today(),
                                   "startTime": format!("{h:02}:{m:02}"), "endTime": format!("{h:02}:{:02}", m + 15)}),
                        )
                        .await;
                    assert_answer("book", s, &body);
                    if let Some(id) = body[0]["id"].as_i64() {
                        tenants[t].appointments.push(id);
                    }
                }
                Step::Move(t, s) => {
                    if let Some(&id) = tenants[t].appointments.last() {
                        let (status, body) = app
                            .set_status(&tenants[t].token, id, Status::ALL[s].key())
                            .await;
                        assert_answer("move", status, &body);
                    }
                }
                Step::Doctor(t) => {
                    let procedure = tenants[t].clinic.procedure_id;
                    let (s, body) = app
                        .post(
                            "/api/doctors",
                            &tenants[t].token,
                            json!({"name": format!("Dr. {n}"), "procedureIds": [procedure.to_string()],
                                   "startTime": "08:00", "endTime": "18:00", "intervalMinutes": 15,
                                   "workingDays": ["Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo"]}),
                        )
                        .await;
                    assert_answer("doctor", s, &body);
                    if let Some(id) = body["id"].as_i64() {
                        tenants[t].doctors.push(id);
                    }
                }
                Step::PeekOther(t) => {
                    let other = &tenants[1 - t];
                    let mut paths = vec![
                        format!("/api/patients/{}", other.clinic.patient_id),
                        format!("/api/doctors/{}", other.clinic.doctor_id),
                    ];
                    if let Some(id) = other.appointments.last() {
                        paths.push(format!("/api/appointments/{id}"));
                        let (s, _) = app.set_status(&tenants[t].token, *id, "check-in").await;
                        assert_eq!(s, StatusCode::NOT_FOUND, "moved the other's appointment");
                    }
                    for path in paths {
                        let (s, body) = app.get(&path, &tenants[t].token).await;
                        assert_eq!(s, StatusCode::NOT_FOUND, "{path} read across: {body}");
                    }
                }
            }
        }
        for t in 0..2 {
            let (me, other) = (&tenants[t], &tenants[1 - t]);
            let day = today();
            let appointments = listed(
                &app,
                &me.token,
                &format!("/api/appointments?date={day}&limit=100"),
            )
            .await;
            let mine: BTreeSet<i64> = me.appointments.iter().copied().collect();
            assert_eq!(appointments, mine, "round {round}: {steps:?}");
            let patients = listed(&app, &me.token, "/api/patients?limit=100").await;
            assert!(patients.iter().all(|id| !other.patients.contains(id)));
            let doctors = listed(&app, &me.token, "/api/doctors?limit=100").await;
            assert!(doctors.iter().all(|id| !other.doctors.contains(id)));
            for event in app.events(&me.token).await {
                let text = event["data"].to_string();
                if let Some(account) = event["data"]["accountId"].as_i64() {
                    assert_eq!(account, me.account_id, "event of another account: {text}");
                }
                if let Some(id) = event["data"]["id"].as_i64()
                    && event["event"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("appointment")
                {
                    assert!(!other.appointments.contains(&id), "{text}");
                }
            }
        }
    }
}
