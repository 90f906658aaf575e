use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, names};

/// (path of actions to reach the status, its name)
const REACH: [(&[&str], &str); 7] = [
    (&[], "Agendado"),
    (&["confirmado"], "Confirmado"),
    (&["check-in"], "Check-in"),
    (&["check-in", "em atendimento"], "Em atendimento"),
    (&["check-in", "em atendimento", "finalizado"], "Finalizado"),
    (&["cancelado"], "Cancelado"),
    (&["faltou"], "Faltou"),
];

const ACTIONS: [(&str, &str); 7] = [
    ("agendado", "Agendado"),
    ("confirmado", "Confirmado"),
    ("check-in", "Check-in"),
    ("em atendimento", "Em atendimento"),
    ("finalizado", "Finalizado"),
    ("cancelado", "Cancelado"),
    ("faltou", "Faltou"),
];

fn allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        (
            "Agendado",
            "Confirmado" | "Check-in" | "Cancelado" | "Faltou"
        ) | (
            "Confirmado",
            "Agendado" | "Check-in" | "Cancelado" | "Faltou"
        ) | ("Check-in", "Em atendimento" | "Agendado" | "Cancelado")
            | ("Em atendimento", "Finalizado" | "Check-in" | "Cancelado")
    )
}

#[tokio::test]
async fn every_move_follows_the_transition_table() {
    let app = TestApp::spawn().await;
    let token = app.account_token("table@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    for (path, from) in REACH {
        for (action, to) in ACTIONS {
            let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
            for step in path {
                let (s, body) = app.set_status(&token, id, step).await;
                assert_eq!(s, StatusCode::OK, "{step}: {body}");
            }
            let before = app.events(&token).await.len();
            let (status, body) = app.set_status(&token, id, action).await;
            let after = app.events(&token).await.len();
            if from == to {
                assert_eq!(status, StatusCode::OK, "{from} -> {to}");
                assert_eq!(after, before, "same status again emits nothing ({from})");
            } else if allowed(from, to) {
                assert_eq!(status, StatusCode::OK, "{from} -> {to}: {body}");
                assert_eq!(body["status"]["name"], to);
                assert!(after > before, "{from} -> {to} emits");
            } else {
                assert_eq!(status, StatusCode::CONFLICT, "{from} -> {to}: {body}");
                assert_eq!(body["error"], "Conflict");
                assert_eq!(
                    after, before,
                    "an illegal move emits nothing ({from} -> {to})"
                );
                let (_, now) = app.get(&format!("/api/appointments/{id}"), &token).await;
                assert_eq!(now["status"]["name"], from);
            }
        }
    }
}

#[tokio::test]
async fn enum_keys_and_documented_aliases_are_accepted() {
    let app = TestApp::spawn().await;
    let token = app.account_token("keys@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    for (action, name) in [
        ("CHECKIN", "Check-in"),
        ("EM_ATENDIMENTO", "Em atendimento"),
        ("finalizados", "Finalizado"),
    ] {
        let (status, body) = app.set_status(&token, id, action).await;
        assert_eq!(
            (status, body["status"]["name"].as_str()),
            (StatusCode::OK, Some(name))
        );
    }
}

#[tokio::test]
async fn serving_marks_the_doctor_busy_and_links_them_and_finishing_frees_them() {
    let app = TestApp::spawn().await;
    let token = app.account_token("busy@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let (_, other) = app
        .post("/api/doctors", &token, json!({"name": "Dra. Helena"}))
        .await;
    let other_id = other["id"].as_i64().unwrap();
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    app.set_status(&token, id, "check-in").await;
    let (status, serving) = app
        .patch(
            &format!("/api/appointments/{id}/status"),
            &token,
            json!({"action": "em atendimento", "doctorId": other_id.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{serving}");
    assert_eq!(serving["doctor"]["id"], other_id);
    assert!(serving["calledAt"].is_string());
    let (_, doctor) = app.get(&format!("/api/doctors/{other_id}"), &token).await;
    assert_eq!(doctor["isBusy"], true);
    app.set_status(&token, id, "finalizado").await;
    let (_, doctor) = app.get(&format!("/api/doctors/{other_id}"), &token).await;
    assert_eq!(doctor["isBusy"], false);

    let events = app.events(&token).await;
    let tail = names(&events[events.len() - 6..]);
    assert_eq!(
        tail,
        [
            "appointments.checkin",
            "appointments.serving",
            "doctors.busy",
            "appointmnents.finished",
            "appointments.finished",
            "doctors.busy"
        ]
    );
    assert_eq!(
        events[events.len() - 4]["data"],
        json!({"doctorId": other_id, "isBusy": true})
    );
    assert_eq!(
        events[events.len() - 1]["data"],
        json!({"doctorId": other_id, "isBusy": false})
    );
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn cancelling_while_serving_or_returning_to_the_queue_frees_the_doctor() {
    let app = TestApp::spawn().await;
    let token = app.account_token("cancel@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let doctor_path = format!("/api/doctors/{}", clinic.doctor_id);
    for last in ["cancelado", "check-in"] {
        let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
        app.set_status(&token, id, "check-in").await;
        app.set_status(&token, id, "em atendimento").await;
        assert_eq!(app.get(&doctor_path, &token).await.1["isBusy"], true);
        let (status, _) = app.set_status(&token, id, last).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            app.get(&doctor_path, &token).await.1["isBusy"],
            false,
            "{last}"
        );
    }
    let events = app.events(&token).await;
    // Back to the queue is an update, not a new check-in.
    assert_eq!(
        names(&events[events.len() - 2..]),
        ["appointments.updated", "doctors.busy"]
    );
}

#[tokio::test]
async fn serving_an_appointment_without_a_doctor_needs_a_doctor_id() {
    let app = TestApp::spawn().await;
    let token = app.account_token("nodoc@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let (_, created) = app
        .post(
            "/api/appointments",
            &token,
            json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}],
                     "date": crate::helpers::today(), "startTime": "09:00", "endTime": "09:15"}),
        )
        .await;
    let id = created[0]["id"].as_i64().unwrap();
    assert_eq!(created[0]["doctor"], json!(null));
    app.set_status(&token, id, "check-in").await;
    let (status, _) = app.set_status(&token, id, "em atendimento").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, still) = app.get(&format!("/api/appointments/{id}"), &token).await;
    assert_eq!(still["status"]["name"], "Check-in");
}

#[tokio::test]
async fn concurrent_moves_of_one_appointment_never_both_pass_the_transition_check() {
    let app = TestApp::spawn().await;
    let token = app.account_token("race@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let doctor_path = format!("/api/doctors/{}", clinic.doctor_id);
    for round in 0..15 {
        let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
        app.set_status(&token, id, "check-in").await;
        // From Check-in both moves are legal, but not one after the other.
        let ((serve, _), (undo, _)) = tokio::join!(
            app.set_status(&token, id, "em atendimento"),
            app.set_status(&token, id, "agendado"),
        );
        let passed = [serve, undo]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert_eq!(passed, 1, "round {round}: {serve} and {undo}");
        let (_, now) = app.get(&format!("/api/appointments/{id}"), &token).await;
        let busy = app.get(&doctor_path, &token).await.1["isBusy"] == true;
        assert_eq!(
            busy,
            now["status"]["name"] == "Em atendimento",
            "round {round}: {now}"
        );
        if busy {
            app.set_status(&token, id, "finalizado").await;
        }
    }
}

/// Sends one status change without borrowing the app (for spawned tasks).
async fn send_status(
    client: reqwest::Client,
    base: String,
    token: String,
    id: i64,
    action: &'static str,
) -> (StatusCode, serde_json::Value) {
    let response = client
        .patch(format!("{base}/api/appointments/{id}/status"))
        .bearer_auth(token)
        .json(&json!({ "action": action }))
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_burst_of_concurrent_check_ins_all_commit_each_with_one_event_in_seq_order() {
    let app = TestApp::spawn().await;
    let token = app.account_token("burst@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let mut ids = Vec::new();
    for _ in 0..24 {
        ids.push(app.book(&token, &clinic).await["id"].as_i64().unwrap());
    }
    let last_seq = app.events(&token).await.last().unwrap()["seq"]
        .as_i64()
        .unwrap();
    // Every appointment is checked in by one task, and refused a move the table forbids by
    // another, all at once; a refused request must not take a neighbour's change with it.
    let mut tasks = Vec::new();
    for &id in &ids {
        for action in ["check-in", "finalizado"] {
            let call = send_status(
                app.client.clone(),
                app.base.clone(),
                token.clone(),
                id,
                action,
            );
            tasks.push((id, action, tokio::spawn(call)));
        }
    }
    tasks.push((
        0,
        "check-in",
        tokio::spawn(send_status(
            app.client.clone(),
            app.base.clone(),
            token.clone(),
            i64::MAX,
            "check-in",
        )),
    ));
    let mut answered = Vec::new();
    for (id, action, task) in tasks {
        let (status, body) = task.await.unwrap();
        match (id, action) {
            (0, _) => assert_eq!(status, StatusCode::NOT_FOUND, "{body}"),
            (_, "check-in") => {
                assert_eq!(status, StatusCode::OK, "{id}: {body}");
                assert_eq!(body["status"]["name"], "Check-in", "{id}");
                assert!(body["checkedInAt"].is_string(), "{id}: {body}");
                answered.push((id, body));
            }
            _ => assert_eq!(status, StatusCode::CONFLICT, "{id}: {body}"),
        }
    }

    let events: Vec<_> = app
        .events(&token)
        .await
        .into_iter()
        .filter(|e| e["seq"].as_i64().unwrap() > last_seq)
        .collect();
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (last_seq + 1..=last_seq + ids.len() as i64).collect();
    assert_eq!(
        seqs, expected,
        "one event per check-in, in seq order, no gap"
    );
    assert!(
        names(&events).iter().all(|n| n == "appointments.checkin"),
        "{events:?}"
    );
    let mut checked_in: Vec<i64> = events
        .iter()
        .map(|e| e["data"]["id"].as_i64().unwrap())
        .collect();
    checked_in.sort_unstable();
    assert_eq!(checked_in, ids, "each appointment's event exactly once");
    // Each answer is the appointment as committed.
    for (id, body) in answered {
        let (_, now) = app.get(&format!("/api/appointments/{id}"), &token).await;
        assert_eq!(now["status"]["name"], "Check-in", "{id}");
        assert_eq!(body, now, "{id}");
    }
}

#[tokio::test]
async fn a_write_waits_its_turn_while_reads_go_on() {
    let app = TestApp::spawn().await;
    let (account_id, _) = app.create_account("Clínica", "turn@clinica.test").await;
    let token = app
        .login("turn@clinica.test", crate::helpers::PASSWORD)
        .await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();

    // Another writer holds the account's write turn (on SQLite, the writer connection itself).
    let held = app.store.begin_write(account_id).await.unwrap();
    let patch = tokio::spawn(send_status(
        app.client.clone(),
        app.base.clone(),
        token.clone(),
        id,
        "check-in",
    ));
    // Reads, the token check included, do not wait for the writer.
    for _ in 0..3 {
        let (status, now) = app.get(&format!("/api/appointments/{id}"), &token).await;
        assert_eq!(status, StatusCode::OK, "{now}");
        assert_eq!(now["status"]["name"], "Agendado");
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!patch.is_finished(), "the write waits for the held turn");
    held.rollback().await.unwrap();

    let (status, body) = patch.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["name"], "Check-in");
    let events = app.events(&token).await;
    assert_eq!(names(&events).last().unwrap(), "appointments.checkin");
}
