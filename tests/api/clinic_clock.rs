//! The clinic's clock: with the server's default zone on UTC, a clinic in another zone gets its
//! own today everywhere a day is meant (the account, booking a patient born today, the slots,
//! the queue and the calls, self check-in, the end of a status link's day, the reports' range),
//! even when the server's UTC day is another.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{DEFAULT_ZONE, TestApp, today_in};

/// UTC+14, UTC-3 and UTC-11: at any instant, one of them is on another day than UTC.
const ZONES: [Tz; 3] = [
    Tz::Pacific__Kiritimati,
    Tz::America__Sao_Paulo,
    Tz::Pacific__Pago_Pago,
];

/// The next local midnight of `day`'s day in `zone`, as the API writes instants.
fn end_of(zone: Tz, day: &str) -> String {
    let next = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() + Duration::days(1);
    zone.from_local_datetime(&next.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Waits past the next midnight of any of the zones when it is less than a minute away, so
/// that a test's expected days stay the days of the whole test.
async fn away_from_midnight() {
    let now = Utc::now();
    for zone in ZONES.into_iter().chain([DEFAULT_ZONE]) {
        let end = DateTime::parse_from_rfc3339(&end_of(zone, &today_in(zone))).unwrap();
        let left = end.with_timezone(&Utc) - now;
        if left < Duration::seconds(60) {
            tokio::time::sleep((left + Duration::seconds(1)).to_std().unwrap_or_default()).await;
        }
    }
}

/// A token traded for a new API key of the master's account (the totem's).
async fn totem(app: &TestApp, master: &str) -> String {
    let (s, key) = app
        .post("/api/api-keys", master, json!({"name": "Totem"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let (s, token) = app.trade_key(key["key"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{token}");
    token["accessToken"].as_str().unwrap().to_string()
}

/// A clinic in `zone` with a doctor working every day and a patient born on the clinic's
/// today, booked at 08:00 of that day; answers (master token, doctor id, appointment id).
async fn clinic_in(app: &TestApp, zone: Tz, email: &str, day: &str) -> (String, i64, i64) {
    let token = app.account_token(email).await;
    let (s, account) = app
        .patch("/api/account", &token, json!({"timeZone": zone.name()}))
        .await;
    assert_eq!(s, StatusCode::OK, "{account}");
    assert_eq!(account["timeZone"], zone.name());
    assert_eq!(account["today"], day, "{zone}'s today");
    let (_, procedure) = app
        .post(
            "/api/procedures",
            &token,
            json!({"name": "Consulta", "price": "1"}),
        )
        .await;
    let (s, doctor) = app
        .post(
            "/api/doctors",
            &token,
            json!({"name": "Dr. Fuso", "procedureIds": [procedure["id"]], "startTime": "08:00", "endTime": "09:00",
                   "intervalMinutes": 30, "workingDays": ["Segunda, Terca, Quarta, Quinta, Sexta, Sabado, Domingo"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{doctor}");
    // Born on the clinic's today: not in the future there, whatever the server's day.
    let (s, patient) = app
        .post(
            "/api/patients",
            &token,
            json!({"name": "Ana Hoje", "cpf": "529.982.247-25", "dateBirth": day}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{zone}: {patient}");
    let (s, created) = app
        .post(
            "/api/appointments",
            &token,
            json!({"patientId": patient["id"], "procedures": [{"id": procedure["id"]}],
                   "doctorId": doctor["id"], "date": day, "startTime": "08:00", "endTime": "08:30"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    (
        token,
        doctor["id"].as_i64().unwrap(),
        created[0]["id"].as_i64().unwrap(),
    )
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_clinic_in_another_zone_than_the_server_has_its_own_today_everywhere() {
    away_from_midnight().await;
    let app = TestApp::spawn().await;
    let server_day = today_in(DEFAULT_ZONE);
    let days: Vec<String> = ZONES.iter().map(|z| today_in(*z)).collect();
    assert!(
        days.iter().any(|d| *d != server_day),
        "one of the zones is on another day than the server ({server_day}): {days:?}"
    );
    for (i, (zone, day)) in ZONES.into_iter().zip(&days).enumerate() {
        let (master, doctor, id) = clinic_in(&app, zone, &format!("z{i}@fuso.test"), day).await;

        // A patient born tomorrow (the clinic's) is still refused.
        let tomorrow = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() + Duration::days(1);
        let (s, body) = app
            .post(
                "/api/patients",
                &master,
                json!({"name": "Ainda Não", "dateBirth": tomorrow.format("%Y-%m-%d").to_string()}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{zone}: {body}");

        // The slots of the clinic's today: the booked one is taken.
        let (s, slots) = app
            .get(&format!("/api/doctors/{doctor}/slots"), &master)
            .await;
        assert_eq!(s, StatusCode::OK, "{slots}");
        assert_eq!(slots[0]["free"], false, "{zone}: {slots}");
        assert_eq!(slots[1]["free"], true, "{zone}: {slots}");

        // Self check-in finds the appointment of the clinic's today.
        let totem = totem(&app, &master).await;
        let (s, answer) = app
            .post(
                "/api/self-checkin",
                &totem,
                json!({"cpf": "52998224725", "dateBirth": day}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{zone}: {answer}");
        assert_eq!(ids(&answer["appointments"]), [id]);
        assert_eq!(answer["appointments"][0]["status"], "Check-in");
        assert!(answer["appointments"][0]["url"].is_string());

        // The queue and the calls of the clinic's today.
        let (_, queue) = app.get("/api/appointments/queue", &master).await;
        assert_eq!(ids(&queue), [id], "{zone}: the queue of {day}");
        app.set_status(&master, id, "em atendimento").await;
        let (_, calls) = app.get("/api/appointments/calls", &master).await;
        assert_eq!(ids(&calls), [id], "{zone}: the calls of {day}");

        // A status link lasts until the clinic's midnight; so did the totem's.
        let (s, link) = app
            .post(
                &format!("/api/appointments/{id}/status-link"),
                &master,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{link}");
        assert_eq!(link["expiresAt"], end_of(zone, day).as_str(), "{zone}");
        let expiries: Vec<i64> = sqlx::query_scalar(
            "SELECT l.expires_at FROM status_links l JOIN appointments a ON a.id = l.appointment_id \
             WHERE a.id = $1",
        )
        .bind(id)
        .fetch_all(app.store.pool())
        .await
        .unwrap();
        let end = DateTime::parse_from_rfc3339(&end_of(zone, day))
            .unwrap()
            .timestamp_millis();
        assert_eq!(expiries, [end, end], "{zone}: both links");

        // The reports' default range ends on the clinic's today.
        let response = app
            .client
            .get(format!("{}/api/reports/waits?format=csv", app.base))
            .bearer_auth(&master)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let first = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() - Duration::days(29);
        let disposition = response.headers()["content-disposition"].to_str().unwrap();
        assert_eq!(
            disposition,
            format!(
                "attachment; filename=\"waits-{}-{day}.csv\"",
                first.format("%Y-%m-%d")
            ),
            "{zone}"
        );
    }
}

#[tokio::test]
async fn the_servers_default_zone_is_a_setting() {
    away_from_midnight().await;
    let app = TestApp::spawn_with(|args| args.time_zone = Some("Pacific/Kiritimati".into())).await;
    let token = app.account_token("padrao@fuso.test").await;
    let (_, account) = app.get("/api/account", &token).await;
    assert_eq!(account["timeZone"], "Pacific/Kiritimati");
    assert_eq!(account["today"], today_in(Tz::Pacific__Kiritimati).as_str());
    // The account's own zone wins over the default, and "" goes back to it.
    let (_, account) = app
        .patch(
            "/api/account",
            &token,
            json!({"timeZone": "America/Sao_Paulo"}),
        )
        .await;
    assert_eq!(account["today"], today_in(Tz::America__Sao_Paulo).as_str());
    let (_, account) = app
        .patch("/api/account", &token, json!({"timeZone": ""}))
        .await;
    assert_eq!(account["timeZone"], "Pacific/Kiritimati");

    let mut args = crate::helpers::serve_args("sqlite::memory:");
    args.time_zone = Some("BRT3".into());
    let refused = fila::startup::Application::build(&args).await;
    assert!(
        refused.is_err(),
        "a zone that is not an IANA name stops the start"
    );
}

#[tokio::test]
async fn the_demo_clinic_is_seeded_on_its_own_today() {
    away_from_midnight().await;
    let zone = Tz::Pacific__Kiritimati;
    let app = TestApp::spawn_with(|args| args.time_zone = Some(zone.name().into())).await;
    // As `fila serve --demo` does, with the server's default zone.
    fila::demo::seed_if_empty(&app.store, zone, false)
        .await
        .unwrap()
        .expect("the demo login");
    let token = app.login(fila::demo::EMAIL, fila::demo::PASSWORD).await;
    let day = today_in(zone);
    let (_, account) = app.get("/api/account", &token).await;
    assert_eq!(account["today"], day.as_str());
    let (_, queue) = app.get("/api/appointments/queue", &token).await;
    assert!(!queue.as_array().unwrap().is_empty(), "today's demo queue");
    let (_, listed) = app
        .get(&format!("/api/appointments?date={day}&limit=100"), &token)
        .await;
    assert!(listed.as_array().unwrap().len() >= 12, "{listed}");
    let yesterday = NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap() - Duration::days(1);
    let (_, past) = app
        .get(
            &format!(
                "/api/appointments?date={}&limit=5",
                yesterday.format("%Y-%m-%d")
            ),
            &token,
        )
        .await;
    assert!(
        !past.as_array().unwrap().is_empty(),
        "the past days end yesterday"
    );
}
