//! The reports' bounds (`fila::fairness`) through the API: a clinic that fires many year-long
//! reports at once runs at most two of them; the others wait their patience and answer 503 with
//! `Retry-After`, and the rest of the server (another clinic's session check, the same
//! clinic's light requests) keeps answering meanwhile.
//!
//! How long a report runs depends on the machine, so the test makes the running reports last
//! as long as it needs instead: it holds what they read on (see [`Stall`]) until the waiting
//! ones have been answered, then lets them finish.

use std::time::Instant;

use chrono::NaiveDate;
use fila::fairness::{PATIENCE, PER_ACCOUNT, RETRY_AFTER};
use fila::history_seed::{self, Plan};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER as RETRY_AFTER_HEADER;
use serde_json::{Value, json};
use sqlx::pool::PoolConnection;
use sqlx::{Any, Transaction};
use tokio::sync::mpsc;

use crate::helpers::{DEFAULT_ZONE, PASSWORD, TestApp, today};

/// Reports fired at once by one clinic.
const FLOOD: usize = 10;
const REPORTS: [&str; 4] = ["waits", "attendance", "doctors", "arrivals"];

/// Keeps the reports that have their turn from finishing while it lives.
enum Stall {
    /// SQLite: readers never wait for a lock (WAL), so the reports' own connections are taken.
    Connections(Vec<PoolConnection<Any>>),
    /// PostgreSQL: every report reads `appointments` or `appointment_visits`, locked here; a
    /// report waiting for a pooled connection instead would give up after the pool's acquire
    /// timeout.
    Lock(Transaction<'static, Any>),
}

impl Stall {
    async fn start(app: &TestApp) -> Stall {
        if app.db_path.is_some() {
            let mut held = Vec::new();
            for _ in 0..app.store.report_connections() {
                let conn = app.store.reports_pool().acquire().await;
                held.push(conn.expect("a connection of the reports' pool"));
            }
            return Stall::Connections(held);
        }
        let mut tx = app.store.pool().begin().await.expect("a transaction");
        sqlx::query("LOCK TABLE appointments, appointment_visits IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .expect("locking the appointments and their visits");
        Stall::Lock(tx)
    }

    async fn end(self) {
        match self {
            Stall::Connections(held) => drop(held),
            Stall::Lock(tx) => tx.rollback().await.expect("releasing the lock"),
        }
    }
}

/// What one report answered.
struct Answer {
    path: String,
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

/// `GET path` as the token, sent on its own task; the answer goes to `answers`.
fn fire(app: &TestApp, token: &str, path: String, answers: mpsc::UnboundedSender<Answer>) {
    let request = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token);
    tokio::spawn(async move {
        let response = request.send().await.expect("a report's answer");
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.expect("a report's body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let _ = answers.send(Answer {
            path,
            status,
            retry_after,
            body,
        });
    });
}

async fn next(answers: &mut mpsc::UnboundedReceiver<Answer>) -> Answer {
    tokio::time::timeout(PATIENCE * 5, answers.recv())
        .await
        .expect("a report answered in time")
        .expect("the reports' senders are alive")
}

#[tokio::test]
async fn a_clinic_runs_two_reports_at_once_and_the_rest_answer_503_while_others_are_served() {
    let app = TestApp::spawn().await;
    let (account, _) = app
        .create_account("Clínica Cheia", "cheia@clinica.test")
        .await;
    let token = app.login("cheia@clinica.test", PASSWORD).await;
    let plan = Plan {
        days: 365,
        per_day: 12,
        per_doctor: 30,
        seed: 16,
    };
    let seeded = history_seed::generate(&app.store, account, DEFAULT_ZONE, plan)
        .await
        .expect("a year of history");
    assert!(seeded.appointments > 1000, "{seeded:?}");
    let other = app.account_token("vizinha@clinica.test").await;

    let to = NaiveDate::parse_from_str(&today(), "%Y-%m-%d").unwrap();
    let from = to - chrono::Duration::days(365);
    let stall = Stall::start(&app).await;
    let started = Instant::now();
    let (sender, mut answers) = mpsc::unbounded_channel();
    for i in 0..FLOOD {
        let path = format!("/api/reports/{}?from={from}&to={to}", REPORTS[i % 4]);
        fire(&app, &token, path, sender.clone());
    }
    drop(sender);

    // Two reports have their turn and are held; every other one waits its patience, then is
    // refused in the contract's error shape with a Retry-After.
    for _ in 0..FLOOD - PER_ACCOUNT {
        let refused = next(&mut answers).await;
        assert_eq!(
            refused.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}: {}",
            refused.path,
            refused.body
        );
        assert!(refused.body["requestId"].is_string(), "{}", refused.body);
        let mut body = refused.body.clone();
        body.as_object_mut().map(|b| b.remove("requestId"));
        assert_eq!(
            body,
            json!({"statusCode": 503, "message": "too many reports are running: try again shortly",
                   "error": "Service Unavailable"}),
            "{}",
            refused.path
        );
        assert_eq!(
            refused.retry_after,
            Some(RETRY_AFTER.as_secs().to_string()),
            "{}",
            refused.path
        );
    }
    assert!(
        started.elapsed() >= PATIENCE,
        "the refused reports waited their patience first ({:?})",
        started.elapsed()
    );

    // While the clinic's two reports still run, the neighbour's session check and the clinic's
    // own light requests answer.
    let (s, me) = app.get("/api/me", &other).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["email"], "vizinha@clinica.test");
    let (s, me) = app.get("/api/me", &token).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let (s, body) = app.get("/api/doctors", &token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        answers.try_recv().is_err(),
        "those answered before the running reports did"
    );

    stall.end().await;
    for _ in 0..PER_ACCOUNT {
        let ran = next(&mut answers).await;
        assert_eq!(ran.status, StatusCode::OK, "{}: {}", ran.path, ran.body);
        let rows = ran.body.as_array().map_or(0, Vec::len);
        assert!(rows > 0, "{}: the year's rows", ran.path);
    }
    assert!(answers.recv().await.is_none(), "every report answered once");

    // The turns were given back: the clinic's next report runs.
    let (s, body) = app
        .get(&format!("/api/reports/waits?from={from}&to={to}"), &token)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
