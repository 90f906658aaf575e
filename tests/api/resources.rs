use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, names, today};

#[tokio::test]
async fn doctors_split_working_days_accept_string_ids_and_are_broadcast() {
    let app = TestApp::spawn().await;
    let token = app.account_token("doc@clinica.test").await;
    let (_, p1) = app
        .post(
            "/api/procedures",
            &token,
            json!({"name": "Consulta", "price": 150}),
        )
        .await;
    let (_, p2) = app
        .post(
            "/api/procedures",
            &token,
            json!({"name": "Raio-X", "price": "99.9"}),
        )
        .await;
    assert_eq!(p1["price"], "150");
    assert_eq!(p2["price"], "99.90");
    let ids = [p1["id"].to_string(), p2["id"].to_string()];
    let (status, doctor) = app
        .post(
            "/api/doctors",
            &token,
            json!({"name": "Dr. Victor", "procedureIds": ids, "startTime": "08:00", "endTime": "16:00",
                   "intervalMinutes": 30, "workingDays": ["Segunda, Terca, Quarta, Quinta, Sexta"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{doctor}");
    assert_eq!(
        doctor["workingDays"],
        json!(["Segunda", "Terça", "Quarta", "Quinta", "Sexta"])
    );
    assert_eq!(doctor["isBusy"], false);
    assert_eq!(doctor["procedures"].as_array().unwrap().len(), 2);
    for field in [
        "id",
        "name",
        "isBusy",
        "startTime",
        "endTime",
        "intervalMinutes",
        "workingDays",
        "procedures",
        "accountId",
        "createdAt",
        "updatedAt",
        "deletedAt",
    ] {
        assert!(doctor.get(field).is_some(), "{field}");
    }
    let id = doctor["id"].as_i64().unwrap();
    let (_, other) = app
        .post(
            "/api/doctors",
            &token,
            json!({"name": "Dra. Sem Procedimentos", "procedureIds": [ids[1].clone()]}),
        )
        .await;
    let (_, listed) = app.get("/api/doctors", &token).await;
    let procedures_of = |i: usize| listed[i]["procedures"].as_array().map(Vec::len);
    assert_eq!(
        (listed[0]["id"].as_i64(), procedures_of(0)),
        (Some(id), Some(2))
    );
    assert_eq!(
        (listed[1]["id"].clone(), procedures_of(1)),
        (other["id"].clone(), Some(1))
    );
    app.delete(&format!("/api/doctors/{}", other["id"]), &token)
        .await;
    let (status, updated) = app
        .patch(
            &format!("/api/doctors/{id}"),
            &token,
            json!({"room": "Sala 4"}),
        )
        .await;
    assert_eq!(
        (status, updated["room"].as_str()),
        (StatusCode::OK, Some("Sala 4"))
    );
    let (status, _) = app.delete(&format!("/api/doctors/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get(&format!("/api/doctors/{id}"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/api/doctors", &token).await;
    assert_eq!(list, json!([]));
    assert_eq!(
        names(&app.events(&token).await),
        [
            "doctors.created",
            "doctors.created",
            "doctors.deleted",
            "doctors.updated",
            "doctors.deleted"
        ]
    );
    let deleted = &app.events(&token).await[4];
    assert_eq!(deleted["data"], json!({"doctorId": id}));
}

#[tokio::test]
async fn a_second_patient_with_the_same_cpf_is_409_with_the_documented_message() {
    let app = TestApp::spawn().await;
    let token = app.account_token("cpf@clinica.test").await;
    let body =
        json!({"name": "Ana", "phone": "1", "dateBirth": "1990-01-01", "cpf": "123.456.789-09"});
    let (status, patient) = app.post("/api/patients", &token, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(patient["cpf"], "123.456.789-09");
    let same_digits = json!({"name": "Ana 2", "cpf": "12345678909"});
    let (status, error) = app.post("/api/patients", &token, same_digits).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["message"], "Já existe um paciente com esse CPF");
    // Another account may register the same person.
    let other = app.account_token("cpf2@clinica.test").await;
    let (status, _) = app.post("/api/patients", &other, body).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, found) = app.get("/api/patients?cpf=123.456.789-09", &token).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, found) = app.get("/api/patients?name=an", &token).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn booking_creates_one_appointment_per_procedure_with_the_payload_shape() {
    let app = TestApp::spawn().await;
    let token = app.account_token("book@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let (_, second) = app
        .post(
            "/api/procedures",
            &token,
            json!({"name": "Hemograma", "price": "35.50"}),
        )
        .await;
    let (status, created) = app
        .post(
            "/api/appointments",
            &token,
            json!({"patientId": clinic.patient_id.to_string(),
                   "procedures": [{"id": clinic.procedure_id}, {"id": second["id"].to_string()}],
                   "doctorId": clinic.doctor_id, "date": "2025-01-23", "startTime": "09:00", "endTime": "09:15",
                   "notes": "Observações sobre o agendamento"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let created = created.as_array().unwrap();
    assert_eq!(created.len(), 2);
    let a = &created[0];
    assert_eq!(a["date"], "2025-01-23T00:00:00.000Z");
    assert_eq!(
        a["status"],
        json!({"id": 1, "name": "Agendado", "color": "#6c757d"})
    );
    assert_eq!(a["patient"]["contact"]["phone"], "(81) 99999-9999");
    assert_eq!(a["appointmentProcedures"]["procedure"]["price"], "100");
    assert_eq!(a["doctor"]["name"], "Dr. Victor");
    assert_eq!(a["deletedAt"], json!(null));
    assert_eq!(
        created[1]["appointmentProcedures"]["procedure"]["price"],
        "35.50"
    );
    assert_eq!(
        names(&app.events(&token).await),
        [
            "doctors.created",
            "appointments.created",
            "appointments.created"
        ]
    );
}

#[tokio::test]
async fn a_booking_with_one_unknown_procedure_creates_nothing() {
    let app = TestApp::spawn().await;
    let token = app.account_token("atomic@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let before = app.events(&token).await.len();
    let (status, error) = app
        .post(
            "/api/appointments",
            &token,
            json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}, {"id": 999}],
                   "doctorId": clinic.doctor_id, "date": today(), "startTime": "09:00", "endTime": "09:15"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (_, list) = app.get("/api/appointments", &token).await;
    assert_eq!(list, json!([]));
    assert_eq!(app.events(&token).await.len(), before);
}

#[tokio::test]
async fn booking_with_a_new_patient_registers_them_once() {
    let app = TestApp::spawn().await;
    let token = app.account_token("newpat@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let body = json!({"patient": {"name": "Nova Paciente", "cpf": "123.456.789-09", "dateBirth": "1950-02-03"},
                      "procedures": [{"id": clinic.procedure_id}], "doctorId": clinic.doctor_id,
                      "date": today(), "startTime": "10:00", "endTime": "10:20"});
    let (status, first) = app.post("/api/appointments", &token, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = app.post("/api/appointments", &token, body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first[0]["patient"]["id"], second[0]["patient"]["id"]);
    let (_, patients) = app.get("/api/patients?cpf=12345678909", &token).await;
    assert_eq!(patients.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_queue_orders_by_priority_tier_then_check_in_time() {
    let app = TestApp::spawn().await;
    let token = app.account_token("queue@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let today = today();
    let year: i32 = today[..4].parse().unwrap();
    let mut ids = Vec::new();
    // Checked in in this order: a 30-year-old, an 85-year-old, a 65-year-old, a pregnant woman.
    for (i, age) in [30, 85, 65, 30].into_iter().enumerate() {
        let birth = format!("{}-01-01", year - age - 1);
        let (status, created) = app
            .post(
                "/api/appointments",
                &token,
                json!({"patient": {"name": format!("Paciente {i}"), "dateBirth": birth},
                       "procedures": [{"id": clinic.procedure_id}], "doctorId": clinic.doctor_id,
                       "date": today, "startTime": "09:00", "endTime": "09:15"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created[0]["id"].as_i64().unwrap());
    }
    for (i, id) in ids.iter().enumerate() {
        let flags = if i == 3 {
            json!(["gestante"])
        } else {
            json!([])
        };
        let (status, body) = app
            .patch(
                &format!("/api/appointments/{id}/status"),
                &token,
                json!({"action": "check-in", "priorityFlags": flags}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["checkedInAt"].is_string());
    }
    let (status, queue) = app.get("/api/appointments/queue", &token).await;
    assert_eq!(status, StatusCode::OK);
    let order: Vec<i64> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![ids[1], ids[2], ids[3], ids[0]]);
    let tiers: Vec<i64> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["priority"]["tier"].as_i64().unwrap())
        .collect();
    assert_eq!(tiers, vec![1, 2, 2, 3]);
    assert_eq!(queue[2]["priority"]["reasons"], json!(["gestante"]));
}

#[tokio::test]
async fn list_filters_and_paging_follow_the_rules() {
    let app = TestApp::spawn().await;
    let token = app.account_token("list@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.book(&token, &clinic).await["id"].as_i64().unwrap());
    }
    app.set_status(&token, ids[0], "check-in").await;
    let (_, checked) = app.get("/api/appointments?status=check-in", &token).await;
    assert_eq!(checked.as_array().unwrap().len(), 1);
    let (_, page) = app.get("/api/appointments?limit=2&offset=1", &token).await;
    let page: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page, vec![ids[1], ids[2]]);
    let (_, by_doctor) = app
        .get(
            &format!(
                "/api/appointments?doctorId={}&date={}",
                clinic.doctor_id,
                today()
            ),
            &token,
        )
        .await;
    assert_eq!(by_doctor.as_array().unwrap().len(), 3);
    let (status, _) = app.get("/api/appointments?limit=100", &token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn edit_reschedule_and_delete_are_broadcast_as_updates() {
    let app = TestApp::spawn().await;
    let token = app.account_token("edit@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let (status, edited) = app
        .patch(
            &format!("/api/appointments/{id}"),
            &token,
            json!({"notes": "Jejum de 8h", "patient": {"phone": "(81) 3333-4444"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["notes"], "Jejum de 8h");
    assert_eq!(edited["patient"]["contact"]["phone"], "(81) 3333-4444");
    app.set_status(&token, id, "check-in").await;
    let (status, moved) = app
        .patch(&format!("/api/appointments/{id}/reschedule"), &token,
               json!({"doctorId": clinic.doctor_id, "date": "2030-02-01", "startTime": "10:00", "endTime": "10:30"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["status"]["name"], "Agendado");
    assert_eq!(moved["date"], "2030-02-01T00:00:00.000Z");
    assert_eq!(moved["checkedInAt"], json!(null));
    let (status, deleted) = app.delete(&format!("/api/appointments/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(deleted["deletedAt"].is_string());
    let (status, _) = app.get(&format!("/api/appointments/{id}"), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        names(&app.events(&token).await)[2..],
        [
            "appointments.updated",
            "appointments.checkin",
            "appointments.updated",
            "appointments.updated"
        ]
    );
}

#[tokio::test]
async fn account_settings_are_the_masters_and_today_comes_from_the_server() {
    let app = TestApp::spawn().await;
    let token = app.account_token("settings@clinica.test").await;
    let (status, account) = app.get("/api/account", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["today"], today());
    assert_eq!(account["waitWarnMinutes"], 15);
    let (status, account) = app
        .patch(
            "/api/account",
            &token,
            json!({"waitWarnMinutes": 10, "waitAlertMinutes": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            account["waitWarnMinutes"].as_i64(),
            account["waitAlertMinutes"].as_i64()
        ),
        (Some(10), Some(20))
    );
    let (status, _) = app
        .patch("/api/account", &token, json!({"waitWarnMinutes": 30}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn renaming_a_patient_updates_their_appointments_of_today_on_every_screen() {
    let app = TestApp::spawn().await;
    let token = app.account_token("rename@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let id = app.book(&token, &clinic).await["id"].as_i64().unwrap();
    let (status, _) = app
        .patch(
            &format!("/api/patients/{}", clinic.patient_id),
            &token,
            json!({"name": "João da Silva"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = app.events(&token).await;
    let last = events.last().unwrap();
    assert_eq!(last["event"], "appointments.updated");
    assert_eq!(last["data"]["id"], id);
    assert_eq!(last["data"]["patient"]["name"], "João da Silva");
}
