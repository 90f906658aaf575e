//! A clinic's day: a doctor's free slots, the clinic's time zone, a doctor busy while any of
//! their patients is being served, and a patient's appointments.

use chrono::{NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

// 2030-01-07 is a Monday, 2030-01-06 a Sunday.
const MONDAY: &str = "2030-01-07";
const SUNDAY: &str = "2030-01-06";

/// A doctor working Monday to Friday, 08:00–10:00 in 30-minute slots; answers (procedure,
/// doctor, patient) ids.
async fn weekday_doctor(app: &TestApp, token: &str) -> (i64, i64, i64) {
    let (_, procedure) = app
        .post(
            "/api/procedures",
            token,
            json!({"name": "Consulta", "price": "150"}),
        )
        .await;
    let (s, doctor) = app
        .post(
            "/api/doctors",
            token,
            json!({"name": "Dra. Lúcia", "procedureIds": [procedure["id"]], "startTime": "08:00",
                   "endTime": "10:00", "intervalMinutes": 30, "workingDays": ["Segunda, Terca, Quarta, Quinta, Sexta"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{doctor}");
    let (_, patient) = app
        .post(
            "/api/patients",
            token,
            json!({"name": "Marta Reis", "cpf": "529.982.247-25"}),
        )
        .await;
    (
        procedure["id"].as_i64().unwrap(),
        doctor["id"].as_i64().unwrap(),
        patient["id"].as_i64().unwrap(),
    )
}

async fn book_at(
    app: &TestApp,
    token: &str,
    ids: (i64, i64, i64),
    day: &str,
    start: &str,
    end: &str,
) -> i64 {
    let (procedure, doctor, patient) = ids;
    let (s, created) = app
        .post(
            "/api/appointments",
            token,
            json!({"patientId": patient, "procedures": [{"id": procedure}], "doctorId": doctor,
                   "date": day, "startTime": start, "endTime": end}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created[0]["id"].as_i64().unwrap()
}

fn free_map(slots: &Value) -> Vec<(String, String, bool)> {
    slots
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| {
            (
                s["startTime"].as_str().unwrap().to_string(),
                s["endTime"].as_str().unwrap().to_string(),
                s["free"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn slot(start: &str, end: &str, free: bool) -> (String, String, bool) {
    (start.to_string(), end.to_string(), free)
}

#[tokio::test]
async fn slots_of_a_working_day_and_none_on_a_day_off() {
    let app = TestApp::spawn().await;
    let token = app.account_token("slots@clinica.test").await;
    let ids = weekday_doctor(&app, &token).await;
    let doctor = ids.1;

    let (s, body) = app
        .get(
            &format!("/api/doctors/{doctor}/slots?date={MONDAY}"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body[0],
        json!({"startTime": "08:00", "endTime": "08:30", "free": true})
    );
    assert_eq!(
        free_map(&body),
        [
            slot("08:00", "08:30", true),
            slot("08:30", "09:00", true),
            slot("09:00", "09:30", true),
            slot("09:30", "10:00", true)
        ]
    );

    let (s, body) = app
        .get(
            &format!("/api/doctors/{doctor}/slots?date={SUNDAY}"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, json!([]));

    // A doctor without hours has no slots either.
    let (_, bare) = app
        .post("/api/doctors", &token, json!({"name": "Dr. Sem Agenda"}))
        .await;
    let (s, body) = app
        .get(
            &format!("/api/doctors/{}/slots?date={MONDAY}", bare["id"]),
            &token,
        )
        .await;
    assert_eq!((s, body), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn taken_slots_are_those_overlapped_by_an_appointment_not_cancelled_nor_deleted() {
    let app = TestApp::spawn().await;
    let token = app.account_token("taken@clinica.test").await;
    let ids = weekday_doctor(&app, &token).await;
    let doctor = ids.1;
    // 08:10–08:20 takes 08:00; 08:30–09:15 takes 08:30 and 09:00.
    book_at(&app, &token, ids, MONDAY, "08:10", "08:20").await;
    let long = book_at(&app, &token, ids, MONDAY, "08:30", "09:15").await;
    let cancelled = book_at(&app, &token, ids, MONDAY, "09:30", "10:00").await;
    // Another day and a cancelled or deleted appointment leave the slot free.
    book_at(&app, &token, ids, "2030-01-08", "09:30", "10:00").await;
    let (s, _) = app.set_status(&token, cancelled, "cancelado").await;
    assert_eq!(s, StatusCode::OK);
    let path = format!("/api/doctors/{doctor}/slots?date={MONDAY}");
    assert_eq!(
        free_map(&app.get(&path, &token).await.1),
        [
            slot("08:00", "08:30", false),
            slot("08:30", "09:00", false),
            slot("09:00", "09:30", false),
            slot("09:30", "10:00", true)
        ]
    );
    let (s, _) = app
        .delete(&format!("/api/appointments/{long}"), &token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let after: Vec<bool> = free_map(&app.get(&path, &token).await.1)
        .into_iter()
        .map(|(_, _, free)| free)
        .collect();
    assert_eq!(after, [false, true, true, true]);

    // Booking stays permissive: a taken slot and a Sunday night are both accepted.
    book_at(&app, &token, ids, MONDAY, "08:00", "08:30").await;
    book_at(&app, &token, ids, SUNDAY, "22:30", "23:00").await;
}

#[tokio::test]
async fn slots_refuse_a_bad_date_and_another_accounts_doctor() {
    let app = TestApp::spawn().await;
    let token = app.account_token("a@clinica.test").await;
    let other = app.account_token("b@clinica.test").await;
    let doctor = weekday_doctor(&app, &token).await.1;
    for bad in ["2030-13-01", "07/01/2030", "amanha", "2030-02-30"] {
        let (s, body) = app
            .get(&format!("/api/doctors/{doctor}/slots?date={bad}"), &token)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["statusCode"], 400);
        assert!(body["message"].is_array() || body["message"].is_string());
    }
    let (s, body) = app
        .get(
            &format!("/api/doctors/{doctor}/slots?date={MONDAY}"),
            &other,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["statusCode"], 404);
    let (s, _) = app
        .get(&format!("/api/doctors/999999/slots?date={MONDAY}"), &token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

fn today_in(zone: chrono_tz::Tz) -> String {
    Utc::now()
        .with_timezone(&zone)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn the_clinics_time_zone_sets_its_today_for_the_account_the_queue_and_the_slots() {
    let app = TestApp::spawn().await;
    let token = app.account_token("zone@clinica.test").await;
    let (_, before) = app.get("/api/account", &token).await;
    assert_eq!(
        before["timeZone"],
        crate::helpers::DEFAULT_ZONE.name(),
        "the server's zone by default"
    );

    // Kiritimati (UTC+14) and Pago Pago (UTC-11) are always on different days.
    let (s, east) = app
        .patch(
            "/api/account",
            &token,
            json!({"timeZone": "Pacific/Kiritimati"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{east}");
    assert_eq!(east["timeZone"], "Pacific/Kiritimati");
    let east_day = today_in(chrono_tz::Tz::Pacific__Kiritimati);
    assert_eq!(east["today"], east_day.as_str());

    // The doctor works every day, so the zone's today has slots.
    let (_, procedure) = app
        .post(
            "/api/procedures",
            &token,
            json!({"name": "Consulta", "price": "1"}),
        )
        .await;
    let (_, doctor) = app
        .post(
            "/api/doctors",
            &token,
            json!({"name": "Dr. Tempo", "procedureIds": [procedure["id"]], "startTime": "08:00", "endTime": "09:00",
                   "intervalMinutes": 30, "workingDays": ["Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo"]}),
        )
        .await;
    let (_, patient) = app
        .post("/api/patients", &token, json!({"name": "Ana Fuso"}))
        .await;
    let ids = (
        procedure["id"].as_i64().unwrap(),
        doctor["id"].as_i64().unwrap(),
        patient["id"].as_i64().unwrap(),
    );
    let id = book_at(&app, &token, ids, &east_day, "08:00", "08:30").await;
    app.set_status(&token, id, "check-in").await;
    let slots_path = format!("/api/doctors/{}/slots", ids.1);
    assert_eq!(
        free_map(&app.get(&slots_path, &token).await.1),
        [slot("08:00", "08:30", false), slot("08:30", "09:00", true)]
    );
    let (_, queue) = app.get("/api/appointments/queue", &token).await;
    assert_eq!(queue[0]["id"], id, "the queue is the zone's today");

    // The other side of the date line: another today, where nothing is booked.
    let (s, west) = app
        .patch(
            "/api/account",
            &token,
            json!({"timeZone": "Pacific/Pago_Pago"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let west_day = today_in(chrono_tz::Tz::Pacific__Pago_Pago);
    assert_eq!(west["today"], west_day.as_str());
    assert!(
        NaiveDate::parse_from_str(&west_day, "%Y-%m-%d").unwrap()
            < NaiveDate::parse_from_str(&east_day, "%Y-%m-%d").unwrap()
    );
    assert_eq!(
        free_map(&app.get(&slots_path, &token).await.1),
        [slot("08:00", "08:30", true), slot("08:30", "09:00", true)]
    );
    assert_eq!(
        app.get("/api/appointments/queue", &token).await.1,
        json!([])
    );
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = app.account_token("badzone@clinica.test").await;
    let (s, _) = app
        .patch(
            "/api/account",
            &token,
            json!({"timeZone": "America/Sao_Paulo", "name": "Clínica Sul"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for bad in [
        json!("Brasil/Recife"),
        json!("GMT+3 "),
        json!("america/sao_paulo"),
        json!(3),
    ] {
        let (s, body) = app
            .patch(
                "/api/account",
                &token,
                json!({"timeZone": bad, "name": "Outro Nome"}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["statusCode"], 400);
    }
    let (_, account) = app.get("/api/account", &token).await;
    assert_eq!(account["timeZone"], "America/Sao_Paulo");
    assert_eq!(account["name"], "Clínica Sul");
    // An empty name goes back to the server's zone.
    let (s, account) = app
        .patch("/api/account", &token, json!({"timeZone": ""}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(account["timeZone"], crate::helpers::DEFAULT_ZONE.name());
}

#[tokio::test]
async fn a_doctor_stays_busy_while_any_of_their_patients_is_being_served() {
    let app = TestApp::spawn().await;
    let token = app.account_token("room@clinica.test").await;
    let ids = weekday_doctor(&app, &token).await;
    let today = crate::helpers::today();
    let first = book_at(&app, &token, ids, &today, "08:00", "08:30").await;
    let second = book_at(&app, &token, ids, &today, "08:30", "09:00").await;
    let doctor_path = format!("/api/doctors/{}", ids.1);
    for id in [first, second] {
        app.set_status(&token, id, "check-in").await;
        let (s, _) = app.set_status(&token, id, "em atendimento").await;
        assert_eq!(s, StatusCode::OK);
    }
    assert_eq!(app.get(&doctor_path, &token).await.1["isBusy"], true);
    let events_before = app.events(&token).await.len();

    let (s, _) = app.set_status(&token, first, "finalizado").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        app.get(&doctor_path, &token).await.1["isBusy"],
        true,
        "still serving the second patient"
    );
    let events = app.events(&token).await;
    assert!(
        events[events_before..]
            .iter()
            .all(|e| e["event"] != "doctors.busy"),
        "no doctors.busy while the room is still in use"
    );

    // Back to the queue is leaving the room too; then the doctor is free.
    let (s, _) = app.set_status(&token, second, "check-in").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.get(&doctor_path, &token).await.1["isBusy"], false);
    let events = app.events(&token).await;
    assert_eq!(
        events.last().unwrap()["data"],
        json!({"doctorId": ids.1, "isBusy": false})
    );
}

#[tokio::test]
async fn a_patients_appointments_latest_first_and_only_in_their_account() {
    let app = TestApp::spawn().await;
    let token = app.account_token("hist@clinica.test").await;
    let other = app.account_token("hist2@clinica.test").await;
    let ids = weekday_doctor(&app, &token).await;
    let old = book_at(&app, &token, ids, "2029-05-02", "08:00", "08:30").await;
    let new = book_at(&app, &token, ids, MONDAY, "09:00", "09:30").await;
    let path = format!("/api/patients/{}/appointments", ids.2);
    let (s, list) = app.get(&path, &token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let got: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [new, old]);
    assert_eq!(list[0]["patient"]["id"], ids.2);
    assert_eq!(app.get(&path, &other).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("{path}?limit=0"), &token).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_openapi_document_describes_slots_patient_history_and_the_time_zone() {
    let app = TestApp::spawn().await;
    let (status, doc) = app
        .call(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let slots = &doc["paths"]["/api/doctors/{id}/slots"]["get"];
    let params: Vec<&str> = slots["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(params, ["id", "date"]);
    assert!(slots["responses"]["400"].is_object() && slots["responses"]["404"].is_object());
    let slot = &doc["components"]["schemas"]["SlotView"]["properties"];
    for field in ["startTime", "endTime", "free"] {
        assert!(slot[field].is_object(), "SlotView.{field}");
    }
    assert!(doc["paths"]["/api/patients/{id}/appointments"]["get"].is_object());
    for schema in ["AccountView", "AccountPatch"] {
        assert!(
            doc["components"]["schemas"][schema]["properties"]["timeZone"].is_object(),
            "{schema}.timeZone"
        );
    }
}
