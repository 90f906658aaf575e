//! The patient in the loop: status links (creation, the public view, expiry, revocation,
//! isolation), calling again, and self check-in at the totem.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Clinic, TestApp, names};

/// A token traded for a new API key of the token's account (as the totem has).
async fn key_token(app: &TestApp, master: &str) -> String {
    let (s, key) = app
        .post("/api/api-keys", master, json!({"name": "Totem da entrada"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let (s, token) = app.trade_key(key["key"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{token}");
    token["accessToken"].as_str().unwrap().to_string()
}

async fn link(app: &TestApp, token: &str, id: i64) -> Value {
    let (s, body) = app
        .call(
            Method::POST,
            &format!("/api/appointments/{id}/status-link"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body
}

async fn public(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.call(
        Method::GET,
        &format!("/api/public/status/{token}"),
        None,
        None,
    )
    .await
}

/// Another patient of the clinic, booked for today with the same doctor.
async fn another_patient(
    app: &TestApp,
    token: &str,
    clinic: &Clinic,
    name: &str,
    cpf: &str,
) -> i64 {
    let (s, patient) = app
        .post(
            "/api/patients",
            token,
            json!({"name": name, "phone": "(81) 98888-0000", "dateBirth": "1990-01-02", "cpf": cpf}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{patient}");
    let other = Clinic {
        patient_id: patient["id"].as_i64().unwrap(),
        ..*clinic
    };
    app.book(token, &other).await["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_status_link_shows_the_patient_only_their_own_reduced_status() {
    let app = TestApp::spawn().await;
    let token = app.account_token("link@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let first = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let second = another_patient(
        &app,
        &token,
        &clinic,
        "Valentina Alves Souza",
        "123.456.789-09",
    )
    .await;
    let third = another_patient(
        &app,
        &token,
        &clinic,
        "José Carlos de Oliveira Filho",
        "111.444.777-35",
    )
    .await;
    for id in [first, second, third] {
        assert_eq!(
            app.set_status(&token, id, "check-in").await.0,
            StatusCode::OK
        );
    }

    let created = link(&app, &token, third).await;
    let secret = created["token"].as_str().unwrap();
    assert!(secret.len() >= 22, "at least 128 bits: {secret}");
    assert!(
        created["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/p/{secret}"))
    );
    assert!(created["expiresAt"].as_str().unwrap().ends_with('Z'));
    // Only the digest is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM status_links")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], secret);

    let (s, view) = public(&app, secret).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let mut keys: Vec<&String> = view.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ahead",
            "calledAt",
            "doctor",
            "estimate",
            "firstName",
            "status"
        ]
    );
    assert_eq!(view["firstName"], "José");
    assert_eq!(view["doctor"], json!({"name": "Dr. Victor", "room": null}));
    assert_eq!(
        view["status"],
        json!({"id": 2, "key": "CHECKIN", "name": "Check-in"})
    );
    assert_eq!(view["ahead"], 2);
    assert_eq!(view["estimate"], Value::Null, "no history yet");
    assert_eq!(view["calledAt"], Value::Null);
    let text = view.to_string();
    for other in ["João", "Valentina", "Silva", "Oliveira", "529", "99999"] {
        assert!(!text.contains(other), "{other} leaked: {text}");
    }

    // The doctor calls the first patient, then the second: the third moves up.
    assert_eq!(
        app.set_status(&token, first, "em atendimento").await.0,
        StatusCode::OK
    );
    assert_eq!(public(&app, secret).await.1["ahead"], 1);
    assert_eq!(
        app.set_status(&token, first, "finalizado").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.set_status(&token, second, "em atendimento").await.0,
        StatusCode::OK
    );
    assert_eq!(public(&app, secret).await.1["ahead"], 0);
    assert_eq!(
        app.set_status(&token, second, "finalizado").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.set_status(&token, third, "em atendimento").await.0,
        StatusCode::OK
    );
    let (_, called) = public(&app, secret).await;
    assert_eq!(called["status"]["key"], "EM_ATENDIMENTO");
    assert!(called["calledAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn unknown_revoked_and_expired_links_answer_404() {
    let app = TestApp::spawn().await;
    let token = app.account_token("revoke@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();

    let (s, body) = public(&app, "not-a-token").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["statusCode"], 404);

    // Revoked: every link of the appointment.
    let a = link(&app, &token, id).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let b = link(&app, &token, id).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(a, b);
    assert_eq!(public(&app, &a).await.0, StatusCode::OK);
    let (s, revoked) = app
        .delete(&format!("/api/appointments/{id}/status-link"), &token)
        .await;
    assert_eq!(s, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["revoked"], 2);
    assert_eq!(public(&app, &a).await.0, StatusCode::NOT_FOUND);
    assert_eq!(public(&app, &b).await.0, StatusCode::NOT_FOUND);

    // Expired: the end of its day has passed.
    let c = link(&app, &token, id).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(public(&app, &c).await.0, StatusCode::OK);
    sqlx::query("UPDATE status_links SET expires_at = 1000")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(public(&app, &c).await.0, StatusCode::NOT_FOUND);

    // A link for a day that is over is refused.
    let (s, past) = app
        .post(
            "/api/appointments",
            &token,
            json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}],
                   "doctorId": clinic.doctor_id, "date": "2020-01-02", "startTime": "09:00", "endTime": "09:15"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{past}");
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/appointments/{}/status-link", past[0]["id"]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn another_account_cannot_make_or_revoke_a_link_nor_recall() {
    let app = TestApp::spawn().await;
    let a = app.account_token("a@clinica.test").await;
    let b = app.account_token("b@clinica.test").await;
    let clinic = app.seed_clinic(&a, "529.982.247-25").await;
    let id = app.book(&a, &clinic).await["id"].as_i64().unwrap();
    for (method, path) in [
        (Method::POST, format!("/api/appointments/{id}/status-link")),
        (
            Method::DELETE,
            format!("/api/appointments/{id}/status-link"),
        ),
        (Method::POST, format!("/api/appointments/{id}/recall")),
    ] {
        let (s, body) = app.call(method, &path, Some(&b), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/appointments/{id}/status-link"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn recalling_a_patient_being_served_logs_appointments_recalled() {
    let app = TestApp::spawn().await;
    let token = app.account_token("recall@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let path = format!("/api/appointments/{id}/recall");
    let (s, _) = app.call(Method::POST, &path, Some(&token), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "not called yet");
    app.set_status(&token, id, "check-in").await;
    app.set_status(&token, id, "em atendimento").await;
    let before = app.events(&token).await.len();
    let (s, body) = app.call(Method::POST, &path, Some(&token), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["status"]["name"], "Em atendimento");
    let events = app.events(&token).await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(names(&events).last().unwrap(), "appointments.recalled");
    assert_eq!(events.last().unwrap()["data"]["id"], id);
}

#[tokio::test]
async fn self_checkin_with_the_right_data_checks_the_patient_in() {
    let app = TestApp::spawn().await;
    let master = app.account_token("totem@clinica.test").await;
    let clinic = app.seed_clinic(&master, "529.982.247-25").await;
    let earlier =
        another_patient(&app, &master, &clinic, "Valentina Alves", "123.456.789-09").await;
    app.set_status(&master, earlier, "check-in").await;
    let id = app.book(&master, &clinic).await["id"].as_i64().unwrap();
    let totem = key_token(&app, &master).await;
    let body =
        json!({"cpf": "52998224725", "dateBirth": "1980-05-17", "priorityFlags": ["gestante"]});

    // A staff login is not a totem.
    let (s, _) = app.post("/api/self-checkin", &master, body.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // First step: a dry run shows the appointment and checks nothing in.
    let mut dry = body.clone();
    dry["dryRun"] = json!(true);
    let (s, preview) = app.post("/api/self-checkin", &totem, dry).await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    assert_eq!(preview["appointments"][0]["status"], "Agendado");
    assert_eq!(preview["appointments"][0]["url"], Value::Null);
    let (_, still) = app.get(&format!("/api/appointments/{id}"), &master).await;
    assert_eq!(still["status"]["name"], "Agendado");

    let (s, answer) = app.post("/api/self-checkin", &totem, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    let list = answer["appointments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{answer}");
    let a = &list[0];
    let mut keys: Vec<&String> = a.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "doctor",
            "estimate",
            "firstName",
            "id",
            "position",
            "startTime",
            "status",
            "url"
        ]
    );
    assert_eq!(a["id"], id);
    assert_eq!(a["firstName"], "João");
    assert_eq!(a["doctor"]["name"], "Dr. Victor");
    assert_eq!(a["startTime"], "09:00");
    // Valentina checked in first, but the declared priority puts João ahead of her.
    assert_eq!(a["position"], 1);
    assert_eq!(a["estimate"], Value::Null);
    let url = a["url"].as_str().unwrap();
    let secret = url.rsplit('/').next().unwrap();
    let (s, view) = public(&app, secret).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(view["ahead"], 0);
    let (_, valentina) = app
        .call(
            Method::POST,
            &format!("/api/appointments/{earlier}/status-link"),
            Some(&master),
            None,
        )
        .await;
    let (_, behind) = public(&app, valentina["token"].as_str().unwrap()).await;
    assert_eq!(behind["ahead"], 1);

    // Staff see the check-in, its flags as the patient's declaration, and the event.
    let (_, row) = app.get(&format!("/api/appointments/{id}"), &master).await;
    assert_eq!(row["status"]["name"], "Check-in");
    assert_eq!(row["priority"]["reasons"], json!(["gestante"]));
    assert_eq!(row["priority"]["declaredByPatient"], true);
    let events = app.events(&master).await;
    assert_eq!(names(&events).last().unwrap(), "appointments.checkin");

    // Again: already checked in, listed as such, nothing new emitted.
    let (s, again) = app.post("/api/self-checkin", &totem, body).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["appointments"][0]["status"], "Check-in");
    assert_eq!(app.events(&master).await.len(), events.len());
}

#[tokio::test]
async fn wrong_data_gets_one_neutral_answer_whether_or_not_the_cpf_exists() {
    let app = TestApp::spawn().await;
    let a = app.account_token("a@clinica.test").await;
    let b = app.account_token("b@clinica.test").await;
    let clinic = app.seed_clinic(&a, "529.982.247-25").await;
    app.book(&a, &clinic).await;
    // B's patient, with an appointment today at B.
    let clinic_b = app.seed_clinic(&b, "123.456.789-09").await;
    app.book(&b, &clinic_b).await;
    let totem = key_token(&app, &a).await;

    let attempts = [
        // Registered CPF, wrong birth date.
        json!({"cpf": "529.982.247-25", "dateBirth": "1980-05-18"}),
        // Valid CPF nobody has.
        json!({"cpf": "111.444.777-35", "dateBirth": "1980-05-17"}),
        // Another account's patient, with their right data.
        json!({"cpf": "123.456.789-09", "dateBirth": "1980-05-17"}),
    ];
    let mut answers = Vec::new();
    for body in attempts {
        answers.push(app.post("/api/self-checkin", &totem, body).await);
    }
    for (status, body) in &mut answers {
        assert_eq!(*status, StatusCode::NOT_FOUND, "{body}");
        // Each answer has its own request id; everything else must be the same.
        let id = body.as_object_mut().and_then(|o| o.remove("requestId"));
        assert!(id.is_some_and(|id| id.is_string()), "{body}");
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);
    // Nothing was checked in anywhere.
    let (_, rows) = app.get("/api/appointments/queue", &b).await;
    assert_eq!(rows, json!([]));
    let (_, rows) = app.get("/api/appointments/queue", &a).await;
    assert_eq!(rows, json!([]));

    // A malformed CPF is a plain 400.
    let (s, body) = app
        .post(
            "/api/self-checkin",
            &totem,
            json!({"cpf": "123", "dateBirth": "1980-05-17"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn self_checkin_is_rate_limited_per_key() {
    let app = TestApp::spawn().await;
    let master = app.account_token("limit@clinica.test").await;
    let totem = key_token(&app, &master).await;
    let other = key_token(&app, &master).await;
    let wrong = json!({"cpf": "111.444.777-35", "dateBirth": "1980-05-17"});
    for _ in 0..fila_burst() {
        let (s, _) = app.post("/api/self-checkin", &totem, wrong.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let response = app
        .client
        .post(format!("{}/api/self-checkin", app.base))
        .bearer_auth(&totem)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusCode"], 429);
    // Another key has its own budget.
    let (s, _) = app.post("/api/self-checkin", &other, wrong).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

fn fila_burst() -> u32 {
    fila::http::SELF_CHECKIN_BURST
}

/// The status and `Retry-After` of a public status read.
async fn public_retry(app: &TestApp, token: &str) -> (StatusCode, Option<u64>, Value) {
    let response = app
        .client
        .get(format!("{}/api/public/status/{token}", app.base))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_status_link_read_past_its_limit_answers_429_with_retry_after() {
    let app = TestApp::spawn().await;
    let token = app.account_token("flood@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let status_token = link(&app, &token, id).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let other = link(&app, &token, id).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..fila::auth::throttle::PUBLIC_LINK_BURST {
        let (s, body) = public(&app, &status_token).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (s, retry, body) = public_retry(&app, &status_token).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let retry = retry.expect("Retry-After");
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    assert_eq!(body["statusCode"], 429);
    assert_eq!(body["error"], "Too Many Requests");
    // Another link of the same appointment, from the same address, has its own budget.
    let (s, body) = public(&app, &other).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn public_status_reads_from_one_address_past_its_limit_answer_429_with_retry_after() {
    let app = TestApp::spawn().await;
    for n in 0..fila::auth::throttle::PUBLIC_NETWORK_BURST {
        let (s, body) = public(&app, &format!("guess-{n}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    }
    let (s, retry, body) = public_retry(&app, "guess-next").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(retry, Some(1));
    assert_eq!(body["statusCode"], 429);
}
