//! `TestApp`: the real server on port 0 with a fresh database, and helpers to drive it.
//!
//! The database is a fresh SQLite file, or, when `FILA_TEST_POSTGRES_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`, see `scripts/with-postgres`), a fresh
//! PostgreSQL database created on that server for this test alone, so tests stay independent
//! and run in parallel on either backend.

use std::path::PathBuf;

use fila::config::ServeArgs;
use fila::startup::Application;
use fila::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse";

/// The server holding the test databases, when the suite runs on PostgreSQL.
pub const POSTGRES_URL_VAR: &str = "FILA_TEST_POSTGRES_URL";

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    /// The database URL, on either backend (a restart or a second node uses it again).
    pub db_url: String,
    /// The SQLite file; `None` on PostgreSQL.
    pub db_path: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    db: Option<TestDb>,
}

/// What a test database needs to be cleaned up: the SQLite file's folder, or the PostgreSQL
/// database to drop.
struct TestDb {
    _dir: Option<TempDir>,
    _postgres: Option<PostgresDb>,
}

impl TestDb {
    /// A fresh database for one test: answers it with its URL and, on SQLite, its file.
    async fn create() -> (TestDb, String, Option<PathBuf>) {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(admin_url) if !admin_url.trim().is_empty() => {
                let postgres = PostgresDb::create(admin_url.trim()).await;
                let url = postgres.url.clone();
                let db = TestDb {
                    _dir: None,
                    _postgres: Some(postgres),
                };
                (db, url, None)
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let db_path = dir.path().join("fila.db");
                let db_url = format!("sqlite://{}?mode=rwc", db_path.display());
                let db = TestDb {
                    _dir: Some(dir),
                    _postgres: None,
                };
                (db, db_url, Some(db_path))
            }
        }
    }
}

/// A database of its own on the PostgreSQL server of `FILA_TEST_POSTGRES_URL`, dropped when
/// the test is done with it.
struct PostgresDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDb {
    async fn create(admin_url: &str) -> PostgresDb {
        let name = format!("fila_test_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {POSTGRES_URL_VAR} ({admin_url}): {e}"));
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        let _ = admin.close().await;
        PostgresDb {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_string(),
            name,
        }
    }
}

impl Drop for PostgresDb {
    /// Drops the database (best effort: the throwaway server of `scripts/with-postgres` goes
    /// anyway, but a long-lived server should not fill up with test databases). `WITH (FORCE)`
    /// closes the connections the stopped server's pool still holds.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin.execute(sql.as_str()).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropping.join();
    }
}

/// `url` with its database (the path) replaced by `name`, keeping any `?query`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{name}{query}", &base[..path])
}

/// What a test needs to book an appointment.
#[derive(Debug, Clone, Copy)]
pub struct Clinic {
    pub procedure_id: i64,
    pub doctor_id: i64,
    pub patient_id: i64,
}

pub fn serve_args(db_url: &str) -> ServeArgs {
    ServeArgs {
        config: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db_url.to_string(),
        token_ttl: 3600,
        jwt_secret: None,
        demo: false,
        web_dir: None,
        event_retention_hours: 72,
        // The clinics' default zone is fixed, whatever the zone of the machine running the
        // tests: a test of another zone sets the account's `timeZone`.
        time_zone: Some(DEFAULT_ZONE.name().to_string()),
        safety: Default::default(),
        backups: Default::default(),
        tls: Default::default(),
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server with adjusted settings on a fresh database.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let (db, db_url, db_path) = TestDb::create().await;
        let mut args = serve_args(&db_url);
        adjust(&mut args);
        Self::start(db, db_path, db_url, args).await
    }

    async fn start(
        db: TestDb,
        db_path: Option<PathBuf>,
        db_url: String,
        args: ServeArgs,
    ) -> TestApp {
        let app = Application::build(&args).await.expect("build app");
        let addr = app.local_addr().expect("local addr");
        let store = app.state().store.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
            db_url,
            db_path,
            stop: Some(stop),
            task: Some(task),
            db: Some(db),
        }
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let db = self.db.take().expect("the test database");
        let args = serve_args(&self.db_url);
        Self::start(db, self.db_path.clone(), self.db_url.clone(), args).await
    }

    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub async fn create_account(&self, name: &str, email: &str) -> (i64, i64) {
        let created = fila::accounts::create(&self.store, name, email, PASSWORD)
            .await
            .expect("create account");
        (created.account_id, created.user_id)
    }

    /// A new account with its master user, logged in; answers the token.
    pub async fn account_token(&self, email: &str) -> String {
        self.create_account("Clínica", email).await;
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login: {body}");
        body["accessToken"].as_str().expect("token").to_string()
    }

    /// Sends a request and answers the status and the JSON body (Null when empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// `POST /api/auth/token` with an API key.
    pub async fn trade_key(&self, key: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/auth/token",
            None,
            Some(json!({"apiKey": key})),
        )
        .await
    }

    /// A procedure, a doctor and a patient in the token's account.
    pub async fn seed_clinic(&self, token: &str, cpf: &str) -> Clinic {
        let (s, procedure) = self
            .post(
                "/api/procedures",
                token,
                json!({"name": "Ultrassom: Tireoide", "price": "100"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{procedure}");
        let procedure_id = procedure["id"].as_i64().unwrap();
        let (s, doctor) = self
            .post(
                "/api/doctors",
                token,
                json!({"name": "Dr. Victor", "procedureIds": [procedure_id.to_string()], "startTime": "08:00",
                       "endTime": "16:00", "intervalMinutes": 30, "workingDays": ["Segunda, Terca, Quarta"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{doctor}");
        let (s, patient) = self
            .post(
                "/api/patients",
                token,
                json!({"name": "João Silva", "phone": "(81) 99999-9999", "dateBirth": "1980-05-17", "cpf": cpf}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{patient}");
        Clinic {
            procedure_id,
            doctor_id: doctor["id"].as_i64().unwrap(),
            patient_id: patient["id"].as_i64().unwrap(),
        }
    }

    /// One appointment for today; answers its payload.
    pub async fn book(&self, token: &str, clinic: &Clinic) -> Value {
        let (s, created) = self
            .post(
                "/api/appointments",
                token,
                json!({"patientId": clinic.patient_id, "procedures": [{"id": clinic.procedure_id}],
                       "doctorId": clinic.doctor_id, "date": today(), "startTime": "09:00", "endTime": "09:15"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        created[0].clone()
    }

    pub async fn set_status(&self, token: &str, id: i64, action: &str) -> (StatusCode, Value) {
        self.patch(
            &format!("/api/appointments/{id}/status"),
            token,
            json!({"action": action}),
        )
        .await
    }

    /// The account's whole event log.
    pub async fn events(&self, token: &str) -> Vec<Value> {
        let (s, body) = self.get("/api/events?since=0&limit=100", token).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The default zone of the test servers (`--time-zone`).
pub const DEFAULT_ZONE: chrono_tz::Tz = chrono_tz::Tz::UTC;

/// The today of a clinic without a zone of its own, as the server computes it.
pub fn today() -> String {
    today_in(DEFAULT_ZONE)
}

/// The day it is now in `zone`, `YYYY-MM-DD`.
pub fn today_in(zone: chrono_tz::Tz) -> String {
    chrono::Utc::now()
        .with_timezone(&zone)
        .format("%Y-%m-%d")
        .to_string()
}

/// Names of the logged events, in order.
pub fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect()
}
