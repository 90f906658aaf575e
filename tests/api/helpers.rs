//! `TestApp`: the real server on port 0 with a fresh SQLite file, and helpers to drive it.

use std::path::PathBuf;

use fila::config::ServeArgs;
use fila::startup::Application;
use fila::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse";

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub db_url: String,
    pub db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: TempDir,
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
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: db_url.to_string(),
        redis_url: None,
        token_ttl: 3600,
        jwt_secret: None,
        demo: false,
        web_dir: PathBuf::from("web/dist"),
        event_retention_hours: 72,
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server with adjusted settings on a fresh database.
    pub async fn spawn_with(adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("fila.db");
        let db_url = format!("sqlite://{}?mode=rwc", db_path.display());
        let mut args = serve_args(&db_url);
        adjust(&mut args);
        Self::start(dir, db_path, db_url, args).await
    }

    async fn start(dir: TempDir, db_path: PathBuf, db_url: String, args: ServeArgs) -> TestApp {
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
            _dir: dir,
        }
    }

    /// Stops the server and starts a new one on the same database file.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("temp dir"));
        let args = serve_args(&self.db_url);
        Self::start(dir, self.db_path.clone(), self.db_url.clone(), args).await
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

/// The clinic's today, as the server computes it.
pub fn today() -> String {
    fila::domain::time::today().format("%Y-%m-%d").to_string()
}

/// Names of the logged events, in order.
pub fn names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_string())
        .collect()
}
