//! The reports over a small history whose answers are worked out by hand: the moves are made
//! through the API (so the history is the real one), then their times are set to known values.

use chrono::TimeZone;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Clinic, TestApp};

const MONDAY: &str = "2026-03-02";
const TUESDAY: &str = "2026-03-03";

/// Milliseconds of a time on a day (`HH:MM`) in the test servers' zone.
fn at(day: &str, time: &str) -> i64 {
    let d: Vec<u32> = day.split('-').map(|p| p.parse().unwrap()).collect();
    let t: Vec<u32> = time.split(':').map(|p| p.parse().unwrap()).collect();
    crate::helpers::DEFAULT_ZONE
        .with_ymd_and_hms(d[0] as i32, d[1], d[2], t[0], t[1], 0)
        .earliest()
        .unwrap()
        .timestamp_millis()
}

struct History {
    token: String,
    clinic: Clinic,
    doctor2: i64,
    procedure2: i64,
}

/// Books an appointment, moves it through `actions` and sets the moves' times to `times`.
async fn visit(
    app: &TestApp,
    token: &str,
    (doctor, procedure, patient): (i64, i64, i64),
    day: &str,
    start: &str,
    moves: &[(&str, &str)],
) -> i64 {
    let (s, created) = app
        .post(
            "/api/appointments",
            token,
            json!({"patientId": patient, "procedures": [{"id": procedure}], "doctorId": doctor,
                   "date": day, "startTime": start, "endTime": "23:59"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created[0]["id"].as_i64().unwrap();
    for (action, _) in moves {
        let (s, body) = app.set_status(token, id, action).await;
        assert_eq!(s, StatusCode::OK, "{action}: {body}");
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM appointment_status_history WHERE appointment_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(ids.len(), moves.len(), "one history row per move");
    for (row, (_, time)) in ids.iter().zip(moves) {
        sqlx::query("UPDATE appointment_status_history SET at = $1 WHERE id = $2")
            .bind(at(day, time))
            .bind(row)
            .execute(app.store.pool())
            .await
            .unwrap();
    }
    id
}

/// Monday: three served visits, one still waiting, a no-show and a cancellation (doctor 1);
/// Tuesday: one visit with doctor 2 and procedure 2.
async fn history(app: &TestApp) -> History {
    let token = app.account_token("reports@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    let (_, p2) = app
        .post(
            "/api/procedures",
            &token,
            json!({"name": "Raio-X", "price": "80"}),
        )
        .await;
    let procedure2 = p2["id"].as_i64().unwrap();
    let (_, d2) = app
        .post(
            "/api/doctors",
            &token,
            json!({"name": "Dra. Helena", "procedureIds": [procedure2]}),
        )
        .await;
    let doctor2 = d2["id"].as_i64().unwrap();
    let one = (clinic.doctor_id, clinic.procedure_id, clinic.patient_id);
    let two = (doctor2, procedure2, clinic.patient_id);
    let served = |c: &'static str, call: &'static str, done: &'static str| {
        vec![
            ("check-in", c),
            ("em atendimento", call),
            ("finalizado", done),
        ]
    };
    visit(
        app,
        &token,
        one,
        MONDAY,
        "09:00",
        &served("09:00", "09:10", "09:30"),
    )
    .await;
    visit(
        app,
        &token,
        one,
        MONDAY,
        "09:05",
        &served("09:05", "09:25", "09:40"),
    )
    .await;
    visit(
        app,
        &token,
        one,
        MONDAY,
        "09:20",
        &[
            ("check-in", "09:20"),
            ("em atendimento", "09:50"),
            ("check-in", "09:55"),
            ("em atendimento", "10:00"),
            ("finalizado", "10:05"),
        ],
    )
    .await;
    visit(app, &token, one, MONDAY, "10:30", &[("check-in", "10:30")]).await;
    visit(app, &token, one, MONDAY, "11:00", &[("faltou", "11:30")]).await;
    visit(app, &token, one, MONDAY, "11:30", &[("cancelado", "08:00")]).await;
    visit(
        app,
        &token,
        two,
        TUESDAY,
        "08:00",
        &served("08:00", "08:04", "08:10"),
    )
    .await;
    History {
        token,
        clinic,
        doctor2,
        procedure2,
    }
}

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    let (s, body) = app.get(path, token).await;
    assert_eq!(s, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn waits_are_median_and_90th_percentile_per_day() {
    let app = TestApp::spawn().await;
    let h = history(&app).await;
    let range = format!("from={MONDAY}&to={TUESDAY}");
    let body = report(&app, &h.token, &format!("/api/reports/waits?{range}")).await;
    assert_eq!(
        body,
        json!([
            {"day": MONDAY, "waitCount": 3, "waitMedianSeconds": 1200, "waitP90Seconds": 1800,
             "waitMeanSeconds": 1200, "serviceCount": 3, "serviceMedianSeconds": 900,
             "serviceP90Seconds": 1200, "serviceMeanSeconds": 800},
            {"day": TUESDAY, "waitCount": 1, "waitMedianSeconds": 240, "waitP90Seconds": 240,
             "waitMeanSeconds": 240, "serviceCount": 1, "serviceMedianSeconds": 360,
             "serviceP90Seconds": 360, "serviceMeanSeconds": 360},
        ])
    );
    let only_monday = report(
        &app,
        &h.token,
        &format!("/api/reports/waits?from={MONDAY}&to={MONDAY}"),
    )
    .await;
    assert_eq!(only_monday.as_array().unwrap().len(), 1);
    let by_doctor = report(
        &app,
        &h.token,
        &format!("/api/reports/waits?{range}&doctorId={}", h.doctor2),
    )
    .await;
    assert_eq!(by_doctor.as_array().unwrap().len(), 1);
    assert_eq!(by_doctor[0]["day"], TUESDAY);
    let by_procedure = report(
        &app,
        &h.token,
        &format!(
            "/api/reports/waits?{range}&procedureId={}",
            h.clinic.procedure_id
        ),
    )
    .await;
    assert_eq!(by_procedure.as_array().unwrap().len(), 1);
    assert_eq!(by_procedure[0]["day"], MONDAY);
}

#[tokio::test]
async fn attendance_doctors_and_arrivals_match_the_history() {
    let app = TestApp::spawn().await;
    let h = history(&app).await;
    let range = format!("from={MONDAY}&to={TUESDAY}");
    let attendance = report(&app, &h.token, &format!("/api/reports/attendance?{range}")).await;
    assert_eq!(
        attendance,
        json!([
            {"day": MONDAY, "appointments": 6, "finished": 3, "noShows": 1, "cancellations": 1,
             "noShowRate": 0.1667, "cancellationRate": 0.1667},
            {"day": TUESDAY, "appointments": 1, "finished": 1, "noShows": 0, "cancellations": 0,
             "noShowRate": 0.0, "cancellationRate": 0.0},
        ])
    );
    let doctors = report(&app, &h.token, &format!("/api/reports/doctors?{range}")).await;
    assert_eq!(
        doctors,
        json!([
            {"doctorId": h.clinic.doctor_id, "doctorName": "Dr. Victor", "appointments": 6,
             "finished": 3, "noShows": 1, "cancellations": 1, "waitMedianSeconds": 1200,
             "serviceMedianSeconds": 900},
            {"doctorId": h.doctor2, "doctorName": "Dra. Helena", "appointments": 1, "finished": 1,
             "noShows": 0, "cancellations": 0, "waitMedianSeconds": 240,
             "serviceMedianSeconds": 360},
        ])
    );
    let arrivals = report(&app, &h.token, &format!("/api/reports/arrivals?{range}")).await;
    let cells = arrivals.as_array().unwrap();
    assert_eq!(cells.len(), 7 * 24);
    let count = |weekday: i64, hour: i64| {
        cells
            .iter()
            .find(|c| c["weekday"] == weekday && c["hour"] == hour)
            .map(|c| c["arrivals"].as_i64().unwrap())
            .unwrap()
    };
    // Monday 09:00, 09:05, 09:20 (the return to the queue at 09:55 is not an arrival), 10:30;
    // Tuesday 08:00.
    assert_eq!(count(1, 9), 3);
    assert_eq!(count(1, 10), 1);
    assert_eq!(count(2, 8), 1);
    let total: i64 = cells.iter().map(|c| c["arrivals"].as_i64().unwrap()).sum();
    assert_eq!(total, 5);
    assert_eq!(cells[0]["weekdayName"], "Segunda");
    let procedure2 = report(
        &app,
        &h.token,
        &format!("/api/reports/arrivals?{range}&procedureId={}", h.procedure2),
    )
    .await;
    let total: i64 = procedure2
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["arrivals"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1);
}

/// A CSV cell next to its JSON value: `null` is empty, a string is itself, a number is equal.
fn same(cell: &str, value: &Value) -> bool {
    match value {
        Value::Null => cell.is_empty(),
        Value::String(s) => cell == s,
        Value::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => cell == b.to_string(),
        _ => false,
    }
}

#[tokio::test]
async fn every_report_downloads_as_csv_equal_to_its_json() {
    let app = TestApp::spawn().await;
    let h = history(&app).await;
    let range = format!("from={MONDAY}&to={TUESDAY}");
    for name in ["waits", "attendance", "doctors", "arrivals"] {
        let path = format!("/api/reports/{name}?{range}");
        let json = report(&app, &h.token, &path).await;
        for csv_request in [
            app.client
                .get(format!("{}{path}&format=csv", app.base))
                .bearer_auth(&h.token),
            app.client
                .get(format!("{}{path}", app.base))
                .bearer_auth(&h.token)
                .header("Accept", "text/csv"),
        ] {
            let response = csv_request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let kind = response.headers()["content-type"].to_str().unwrap();
            assert!(kind.starts_with("text/csv"), "{kind}");
            let disposition = response.headers()["content-disposition"].to_str().unwrap();
            assert_eq!(
                disposition,
                format!("attachment; filename=\"{name}-{MONDAY}-{TUESDAY}.csv\"")
            );
            let text = response.text().await.unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader
                .headers()
                .unwrap()
                .iter()
                .map(str::to_string)
                .collect();
            let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            let objects = json.as_array().unwrap();
            assert_eq!(rows.len(), objects.len(), "{name}: as many rows");
            for (row, object) in rows.iter().zip(objects) {
                let keys: Vec<&String> = object.as_object().unwrap().keys().collect();
                assert_eq!(header.iter().collect::<Vec<_>>(), keys, "{name}: columns");
                for (cell, key) in row.iter().zip(&header) {
                    assert!(
                        same(cell, &object[key]),
                        "{name}.{key}: {cell} vs {}",
                        object[key]
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn reports_check_their_input_and_stay_in_the_account() {
    let app = TestApp::spawn().await;
    let h = history(&app).await;
    for bad in [
        "from=2026-13-01",
        "from=2026-03-05&to=2026-03-01",
        "from=2024-01-01&to=2026-01-01",
        "format=xml",
        "doctorId=abc",
    ] {
        let (s, body) = app
            .get(&format!("/api/reports/waits?{bad}"), &h.token)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["statusCode"], 400);
    }
    let (s, _) = app
        .call(reqwest::Method::GET, "/api/reports/waits", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let other = app.account_token("other@clinica.test").await;
    let range = format!("from={MONDAY}&to={TUESDAY}");
    for name in ["waits", "attendance", "doctors"] {
        let body = report(&app, &other, &format!("/api/reports/{name}?{range}")).await;
        assert_eq!(body, json!([]), "{name} of another clinic");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_reports_users_and_history() {
    let app = TestApp::spawn().await;
    let (s, doc) = app
        .call(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    for name in ["waits", "attendance", "doctors", "arrivals"] {
        let ok = &doc["paths"][format!("/api/reports/{name}")]["get"]["responses"]["200"];
        let content = ok["content"].as_object().expect("content");
        assert!(content.contains_key("application/json"), "{name}: {ok}");
        assert!(content.contains_key("text/csv"), "{name}: {ok}");
    }
    for path in [
        "/api/users",
        "/api/users/{id}",
        "/api/appointments/{id}/history",
        "/api/procedures/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    assert!(doc["components"]["schemas"]["WaitRow"].is_object());
}

/// Doctor names a spreadsheet would run as formulas (OWASP's CSV injection examples), with the
/// cell each must come out as. A name cannot start with a tab or a carriage return through the
/// API (names are trimmed), so those two are written to the database directly, as data from
/// an import or an older version would be.
const FORMULA_NAMES: [&str; 6] = [
    "=HYPERLINK(\"http://x\",\"y\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
];

#[tokio::test]
async fn csv_cells_that_start_a_formula_are_prefixed_with_a_quote() {
    let app = TestApp::spawn().await;
    let token = app.account_token("csv@clinica.test").await;
    let clinic = app.seed_clinic(&token, "529.982.247-25").await;
    for (i, name) in FORMULA_NAMES.iter().enumerate() {
        let (s, doctor) = app
            .post(
                "/api/doctors",
                &token,
                json!({"name": format!("Dr. {i}"), "procedureIds": [clinic.procedure_id]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{doctor}");
        let doctor_id = doctor["id"].as_i64().unwrap();
        if name.starts_with(['\t', '\r']) {
            sqlx::query("UPDATE doctors SET name = $1 WHERE id = $2")
                .bind(*name)
                .bind(doctor_id)
                .execute(app.store.pool())
                .await
                .unwrap();
        } else {
            let (s, doctor) = app
                .patch(
                    &format!("/api/doctors/{doctor_id}"),
                    &token,
                    json!({"name": name}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{doctor}");
            assert_eq!(doctor["name"], *name, "kept as typed");
        }
        // Doctor i gets i + 1 appointments, so the report's order (most first) is known.
        for slot in 0..=i {
            let (s, created) = app
                .post(
                    "/api/appointments",
                    &token,
                    json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}],
                           "doctorId": doctor_id, "date": MONDAY,
                           "startTime": format!("{:02}:00", 8 + slot), "endTime": format!("{:02}:30", 8 + slot)}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{created}");
        }
    }

    let path = format!("/api/reports/doctors?from={MONDAY}&to={MONDAY}");
    let json = report(&app, &token, &path).await;
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["doctorName"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = FORMULA_NAMES.iter().rev().copied().collect();
    assert_eq!(names, expected, "JSON keeps the names as they are");

    let response = app
        .client
        .get(format!("{}{path}&format=csv", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "doctorName")
        .expect("a doctorName column");
    let cells: Vec<String> = reader
        .records()
        .map(|row| row.unwrap()[column].to_string())
        .collect();
    let quoted: Vec<String> = expected.iter().map(|name| format!("'{name}")).collect();
    assert_eq!(cells, quoted, "{text}");
    // The figures beside them stay plain numbers.
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(&first[2], "6", "appointments of the busiest doctor");
}

#[tokio::test]
async fn a_visit_follows_its_appointment_to_another_day_doctor_or_deletion() {
    let app = TestApp::spawn().await;
    let h = history(&app).await;
    let range = format!("from={MONDAY}&to={TUESDAY}");
    let tuesday: i64 = sqlx::query_scalar("SELECT id FROM appointments WHERE day = $1")
        .bind(TUESDAY)
        .fetch_one(app.store.pool())
        .await
        .unwrap();

    // Moved to Monday (whichever code moves it): its visit counts on Monday.
    sqlx::query("UPDATE appointments SET day = $1 WHERE id = $2")
        .bind(MONDAY)
        .bind(tuesday)
        .execute(app.store.pool())
        .await
        .unwrap();
    let body = report(&app, &h.token, &format!("/api/reports/waits?{range}")).await;
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body[0]["day"], MONDAY);
    assert_eq!(body[0]["waitCount"], 4);

    // Given to the first doctor: the second has no visit left.
    sqlx::query("UPDATE appointments SET doctor_id = $1 WHERE id = $2")
        .bind(h.clinic.doctor_id)
        .bind(tuesday)
        .execute(app.store.pool())
        .await
        .unwrap();
    let second = report(
        &app,
        &h.token,
        &format!("/api/reports/waits?{range}&doctorId={}", h.doctor2),
    )
    .await;
    assert_eq!(second, json!([]));

    // Deleted through the API: its visit leaves the report.
    let (s, body) = app
        .delete(&format!("/api/appointments/{tuesday}"), &h.token)
        .await;
    assert!(s.is_success(), "{s}: {body}");
    let body = report(&app, &h.token, &format!("/api/reports/waits?{range}")).await;
    assert_eq!(body[0]["waitCount"], 3, "{body}");
}
