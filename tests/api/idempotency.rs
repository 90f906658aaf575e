//! `Idempotency-Key` on `POST /api/appointments`, `/api/patients`, `/api/self-checkin` and
//! `/api/users`: a retry gets the first answer again and writes nothing.

use std::sync::Arc;

use fila::http::idempotency::{KEY_HEADER, REPLAYED_HEADER, fingerprint};
use fila::store::idempotency::{self as keys, Answer, Claim, KEPT_MS, LEASE_MS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::helpers::{Clinic, TestApp, names, today};

/// One answer: status, whether it is marked as a replay, the body as sent and as JSON.
#[derive(Debug)]
struct Keyed {
    status: StatusCode,
    replayed: bool,
    raw: String,
    body: Value,
}

/// `POST path` with `Idempotency-Key: key` (given as raw bytes, to send malformed keys too).
async fn post_keyed(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    key: &[u8],
    body: &Value,
) -> Keyed {
    let mut request = client
        .post(url)
        .header(
            KEY_HEADER,
            reqwest::header::HeaderValue::from_bytes(key).unwrap(),
        )
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let replayed = match response.headers().get(REPLAYED_HEADER) {
        None => false,
        Some(value) => {
            assert_eq!(value, "true");
            true
        }
    };
    let raw = response.text().await.expect("body");
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Keyed {
        status,
        replayed,
        raw,
        body,
    }
}

/// `POST path` as `token` with the key `key`.
async fn post_key(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> Keyed {
    let url = format!("{}{path}", app.base);
    post_keyed(&app.client, &url, Some(token), key.as_bytes(), body).await
}

/// How many rows a list answers.
async fn count(app: &TestApp, path: &str, token: &str) -> usize {
    let (s, rows) = app.get(path, token).await;
    assert_eq!(s, StatusCode::OK, "{rows}");
    rows.as_array().map_or(0, Vec::len)
}

fn booking(clinic: &Clinic) -> Value {
    json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}],
           "doctorId": clinic.doctor_id, "date": today(), "startTime": "09:00", "endTime": "09:15"})
}

fn appointments_of_today() -> String {
    format!("/api/appointments?date={}", today())
}

fn assert_error(answer: &Keyed, status: StatusCode) {
    assert_eq!(answer.status, status, "{}", answer.raw);
    assert_eq!(answer.body["statusCode"], status.as_u16(), "{}", answer.raw);
    assert!(answer.body["message"].is_string(), "{}", answer.raw);
    assert!(!answer.replayed);
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_gets_the_first_answer_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let body = booking(&clinic);

    let first = post_key(&app, "/api/appointments", &token, "order-1", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    assert!(!first.replayed);
    let events = app.events(&token).await;

    let again = post_key(&app, "/api/appointments", &token, "order-1", &body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.raw);
    assert!(again.replayed);
    assert_eq!(again.raw, first.raw);
    assert_eq!(count(&app, &appointments_of_today(), &token).await, 1);
    assert_eq!(app.events(&token).await, events);
    assert_eq!(
        names(&events)
            .iter()
            .filter(|n| *n == "appointments.created")
            .count(),
        1
    );

    // The same object serialized in another key order is the same request.
    let reordered: Value =
        serde_json::from_str(&format!(r#"{{"endTime":"09:15","startTime":"09:00","date":"{}","doctorId":{},"procedures":[{{"id":{}}}],"patientId":{}}}"#,
            today(), clinic.doctor_id, clinic.procedure_id, clinic.patient_id)).unwrap();
    let shuffled = post_key(&app, "/api/appointments", &token, "order-1", &reordered).await;
    assert!(shuffled.replayed, "{}", shuffled.raw);
    assert_eq!(count(&app, &appointments_of_today(), &token).await, 1);
}

#[tokio::test]
async fn without_a_key_the_same_request_twice_creates_twice() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    app.book(&token, &clinic).await;
    app.book(&token, &clinic).await;
    assert_eq!(count(&app, &appointments_of_today(), &token).await, 2);
}

#[tokio::test]
async fn the_same_key_with_another_body_or_on_another_endpoint_is_422() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let ana = json!({"name": "Ana", "phone": "(81) 99999-0000"});
    let first = post_key(&app, "/api/patients", &token, "k", &ana).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);

    let bia = json!({"name": "Bia", "phone": "(81) 99999-0000"});
    let other_body = post_key(&app, "/api/patients", &token, "k", &bia).await;
    assert_error(&other_body, StatusCode::UNPROCESSABLE_ENTITY);
    let user = json!({"name": "Ana", "email": "ana@clinica.test", "password": "long enough"});
    let other_endpoint = post_key(&app, "/api/users", &token, "k", &user).await;
    assert_error(&other_endpoint, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(count(&app, "/api/patients", &token).await, 1);
    assert_eq!(count(&app, "/api/users", &token).await, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_row_and_the_other_gets_409_or_the_replay() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let body = booking(&clinic);
    let url = format!("{}/api/appointments", app.base);
    for round in 0..5 {
        let key = format!("concurrent-{round}");
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (barrier, client) = (barrier.clone(), app.client.clone());
                let (url, token, key, body) =
                    (url.clone(), token.clone(), key.clone(), body.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    post_keyed(&client, &url, Some(&token), key.as_bytes(), &body).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers.sort_by_key(|a| (a.replayed, a.status != StatusCode::CREATED));
        let (first, second) = (&answers[0], &answers[1]);
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
        assert!(!first.replayed);
        if second.replayed {
            assert_eq!(second.status, StatusCode::CREATED);
            assert_eq!(second.raw, first.raw);
        } else {
            assert_error(second, StatusCode::CONFLICT);
        }
        assert_eq!(
            count(&app, &appointments_of_today(), &token).await,
            round + 1
        );
    }
    let created = names(&app.events(&token).await)
        .iter()
        .filter(|n| *n == "appointments.created")
        .count();
    assert_eq!(created, 5);
}

#[tokio::test]
async fn a_key_whose_first_request_is_still_running_answers_409_and_runs_once_released() {
    let app = TestApp::spawn().await;
    let email = "a@clinica.test";
    let (account, _) = app.create_account("Clínica", email).await;
    let token = app.login(email, crate::helpers::PASSWORD).await;
    let ana = json!({"name": "Ana"});
    // The state a first request is in while its handler runs: claimed, no answer yet.
    let print = fingerprint(
        &Method::POST,
        "/api/patients",
        &serde_json::to_vec(&ana).unwrap(),
    );
    let mut tx = app.store.begin_write(account).await.unwrap();
    let claim = keys::claim(
        &mut tx,
        account,
        "busy",
        &print,
        fila::domain::time::now_ms(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let Claim::Claimed { claimed_at } = claim else {
        panic!("{claim:?}");
    };

    let retry = post_key(&app, "/api/patients", &token, "busy", &ana).await;
    assert_error(&retry, StatusCode::CONFLICT);
    let other = post_key(
        &app,
        "/api/patients",
        &token,
        "busy",
        &json!({"name": "Bia"}),
    )
    .await;
    assert_error(&other, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&app, "/api/patients", &token).await, 0);

    let mut tx = app.store.begin_write(account).await.unwrap();
    keys::release(&mut tx, account, "busy", claimed_at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let ran = post_key(&app, "/api/patients", &token, "busy", &ana).await;
    assert_eq!(ran.status, StatusCode::CREATED, "{}", ran.raw);
    assert!(!ran.replayed);
    assert_eq!(count(&app, "/api/patients", &token).await, 1);
}

#[tokio::test]
async fn two_accounts_use_the_same_key_independently() {
    let app = TestApp::spawn().await;
    let a = app.account_token("a@clinica.test").await;
    let b = app.account_token("b@clinica.test").await;
    let ana = json!({"name": "Ana"});
    for token in [&a, &b] {
        let answer = post_key(&app, "/api/patients", token, "shared", &ana).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.raw);
        assert!(!answer.replayed);
        assert_eq!(count(&app, "/api/patients", token).await, 1);
    }
    // And B's key answers B's patient, not A's.
    let again = post_key(&app, "/api/patients", &b, "shared", &ana).await;
    assert!(again.replayed);
    let (_, listed) = app.get("/api/patients", &b).await;
    assert_eq!(again.body["id"], listed[0]["id"]);
}

#[tokio::test]
async fn a_malformed_key_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let url = format!("{}/api/patients", app.base);
    let ana = json!({"name": "Ana"});
    let too_long = "k".repeat(256);
    let cases: [&[u8]; 4] = [b"", too_long.as_bytes(), "chave-ç".as_bytes(), b"tab\there"];
    for key in cases {
        let answer = post_keyed(&app.client, &url, Some(&token), key, &ana).await;
        assert_error(&answer, StatusCode::BAD_REQUEST);
    }
    // Given twice.
    let response = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header(KEY_HEADER, "a")
        .header(KEY_HEADER, "b")
        .json(&ana)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(&app, "/api/patients", &token).await, 0);

    // The longest key and every printable character are fine.
    let longest = "k".repeat(255);
    let printable: String = (b' '..=b'~').map(char::from).collect();
    for key in [longest, printable] {
        let answer = post_keyed(&app.client, &url, Some(&token), key.as_bytes(), &ana).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.raw);
    }
}

#[tokio::test]
async fn the_token_is_checked_first_and_a_refused_request_keeps_no_key() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let url = format!("{}/api/patients", app.base);
    let ana = json!({"name": "Ana"});
    for key in [&b"k"[..], b""] {
        let answer = post_keyed(&app.client, &url, None, key, &ana).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED);
        let answer = post_keyed(&app.client, &url, Some("nonsense"), key, &ana).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED);
    }
    let answer = post_key(&app, "/api/patients", &token, "k", &ana).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.raw);
    assert!(!answer.replayed);

    // A body over the limit is refused before the key is taken.
    let huge = json!({"name": "x".repeat(300 * 1024)});
    let answer = post_key(&app, "/api/patients", &token, "big", &huge).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE);
    let answer = post_key(
        &app,
        "/api/patients",
        &token,
        "big",
        &json!({"name": "Bia"}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.raw);
}

#[tokio::test]
async fn a_4xx_answer_is_replayed_without_running_the_request_again() {
    let app = TestApp::spawn().await;
    let master = app.account_token("a@clinica.test").await;
    let (s, key) = app
        .post("/api/api-keys", &master, json!({"name": "Totem"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let (s, traded) = app.trade_key(key["key"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{traded}");
    let totem = traded["accessToken"].as_str().unwrap().to_string();
    let clinic = app.seed_clinic(&master, "529.982.247-25").await;
    let checkin = json!({"cpf": "52998224725", "dateBirth": "1980-05-17"});

    // No appointment today yet: the neutral 404, kept.
    let first = post_key(&app, "/api/self-checkin", &totem, "totem-1", &checkin).await;
    assert_error(&first, StatusCode::NOT_FOUND);
    let id = app.book(&master, &clinic).await["id"].as_i64().unwrap();
    let again = post_key(&app, "/api/self-checkin", &totem, "totem-1", &checkin).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.replayed);
    assert_eq!(again.raw, first.raw);
    let (_, still) = app.get(&format!("/api/appointments/{id}"), &master).await;
    assert_eq!(still["status"]["name"], "Agendado");

    // A new key checks in, once.
    let done = post_key(&app, "/api/self-checkin", &totem, "totem-2", &checkin).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.raw);
    let events = app.events(&master).await;
    let replay = post_key(&app, "/api/self-checkin", &totem, "totem-2", &checkin).await;
    assert!(replay.replayed);
    assert_eq!(replay.raw, done.raw);
    assert_eq!(app.events(&master).await, events);
    assert_eq!(
        names(&events)
            .iter()
            .filter(|n| *n == "appointments.checkin")
            .count(),
        1
    );
}

#[tokio::test]
async fn the_users_endpoint_replays_its_answer() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let user = json!({"name": "Bia", "email": "bia@clinica.test", "password": "long enough"});
    let first = post_key(&app, "/api/users", &token, "u1", &user).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.raw);
    let again = post_key(&app, "/api/users", &token, "u1", &user).await;
    assert!(again.replayed);
    assert_eq!((again.status, again.raw), (first.status, first.raw));
    assert_eq!(count(&app, "/api/users", &token).await, 2);
}

/// The store's rules over time, with the clock as a parameter.
#[tokio::test]
async fn a_key_is_kept_24_hours_and_an_unanswered_claim_for_its_lease() {
    let app = TestApp::spawn().await;
    let (account, _) = app.create_account("Clínica", "a@clinica.test").await;
    let store = app.store.clone();
    let claim = |key: &'static str, print: &'static str, now: i64| {
        let store = store.clone();
        async move {
            let mut tx = store.begin_write(account).await.unwrap();
            let claim = keys::claim(&mut tx, account, key, print, now)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            claim
        }
    };
    let t0 = 1_800_000_000_000;
    assert_eq!(claim("k", "f", t0).await, Claim::Claimed { claimed_at: t0 });
    assert_eq!(claim("k", "f", t0 + 1).await, Claim::InProgress);
    assert_eq!(claim("k", "g", t0 + 1).await, Claim::Mismatch);
    let answer = Answer {
        status: 201,
        content_type: Some("application/json".into()),
        body: "{}".into(),
    };
    let mut tx = store.begin_write(account).await.unwrap();
    assert!(
        keys::complete(&mut tx, account, "k", t0, &answer)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert_eq!(
        claim("k", "f", t0 + KEPT_MS - 1).await,
        Claim::Answered(answer.clone())
    );
    // 24 h after the first request the key is new again.
    let later = t0 + KEPT_MS;
    assert_eq!(
        claim("k", "g", later).await,
        Claim::Claimed { claimed_at: later }
    );

    // A claim without an answer holds its key for its lease only.
    assert_eq!(
        claim("stuck", "f", t0).await,
        Claim::Claimed { claimed_at: t0 }
    );
    assert_eq!(
        claim("stuck", "f", t0 + LEASE_MS - 1).await,
        Claim::InProgress
    );
    let after = t0 + LEASE_MS;
    assert_eq!(
        claim("stuck", "f", after).await,
        Claim::Claimed { claimed_at: after }
    );

    // The prune deletes what is older than 24 h, on every account.
    let mut conn = store.pool().acquire().await.unwrap();
    assert_eq!(keys::prune(&mut conn, after + KEPT_MS).await.unwrap(), 1);
    assert_eq!(keys::prune(&mut conn, later + KEPT_MS).await.unwrap(), 1);
}

#[tokio::test]
async fn the_openapi_document_names_the_header_on_the_four_operations() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/appointments",
        "/api/patients",
        "/api/self-checkin",
        "/api/users",
    ] {
        let params = doc["paths"][path]["post"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "{path}: {params:?}"
        );
    }
}
