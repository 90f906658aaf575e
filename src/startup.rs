//! Builds the application (store, tokens, socket gateway, delivery, router), binds, and serves.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use rand::RngCore;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::auth::jwt::Tokens;
use crate::auth::throttle::LoginThrottle;
use crate::config::{CreateAccountArgs, SeedHistoryArgs, ServeArgs};
use crate::events::EventLog;
use crate::events::delivery::{Delivery, LogHealth};
use crate::http::SelfCheckinLimiter;
use crate::metrics::Metrics;
use crate::realtime::public::{StatusFeed, StatusGate};
use crate::realtime::{self, GatewayState, Io};
use crate::state::AppState;
use crate::store::{self, Store};
use crate::{accounts, demo, history_seed, http};

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    delivery: Delivery,
    io: Io,
    state: AppState,
}

impl Application {
    /// Connects the database, prepares the server and binds the address (port 0 picks one).
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Application> {
        let store = Store::connect(&args.database_url).await?;
        let secret = jwt_secret(&store, args).await?;
        let tokens = Arc::new(Tokens::new(&secret, args.token_ttl));
        let metrics = Arc::new(Metrics::new());
        let (mut gateway, expirations) =
            GatewayState::new(tokens.clone(), metrics.clone(), store.clone());
        gateway.status_gate = Some(StatusGate::new(store.clone()));
        let (status_feed, status_worker) = StatusFeed::new();
        let events = EventLog::new(store.backend());
        let log_health = Arc::new(LogHealth::default());
        let state = AppState {
            store: store.clone(),
            tokens,
            events: events.clone(),
            metrics: metrics.clone(),
            login_throttle: Arc::new(LoginThrottle::default()),
            status_feed: status_feed.clone(),
            self_checkin_limiter: Arc::new(SelfCheckinLimiter::new()),
            log_health: log_health.clone(),
        };
        let web = match &args.web_dir {
            Some(dir) => http::web::Source::Folder(dir),
            None => http::web::Source::Embedded,
        };
        let router = http::router(state.clone(), web);
        let (layer, io) = realtime::local(gateway, expirations);
        let router = router
            .layer(layer)
            .layer(axum::middleware::map_request(realtime::detach_handshake));
        let retention_ms =
            i64::try_from(args.event_retention_hours * 3_600_000).unwrap_or(i64::MAX);
        status_worker.spawn(store.clone(), io.clone());
        let delivery = Delivery::new(
            store,
            io.clone(),
            events.wake_handle(),
            metrics,
            log_health,
            retention_ms,
        )
        .with_status_feed(status_feed);
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        Ok(Application {
            listener,
            router,
            delivery,
            io,
            state,
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and closes the sockets.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let delivery_task = tokio::spawn(self.delivery.run());
        let io = self.io.clone();
        // Open sockets would hold a graceful shutdown forever: close them once it begins.
        let shutdown = async move {
            shutdown.await;
            io.close().await;
        };
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        delivery_task.abort();
        result
    }
}

/// The signing secret: given, or generated once and kept in the database (so nodes share it).
async fn jwt_secret(store: &Store, args: &ServeArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &args.jwt_secret {
        let bytes = secret.expose_secret().as_bytes().to_vec();
        anyhow::ensure!(
            bytes.len() >= 16,
            "--jwt-secret must have at least 16 characters"
        );
        return Ok(bytes);
    }
    let mut random = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut random);
    let candidate: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let mut conn = store.pool().acquire().await?;
    let kept = store::accounts::setting_or_insert(&mut conn, "jwt_secret", &candidate)
        .await
        .context("keeping the JWT secret")?;
    Ok(kept.into_bytes())
}

/// `fila serve`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    raise_open_files_limit();
    let app = Application::build(&args).await?;
    let addr = app.local_addr()?;
    match &args.web_dir {
        Some(dir) if !dir.join("index.html").exists() => {
            tracing::warn!(web_dir = %dir.display(), "no index.html in --web-dir: only the API is served");
        }
        None if !http::web::embedded_available() => {
            tracing::warn!(
                "this binary was built without the web app: only the API is served (scripts/build-web, then rebuild)"
            );
        }
        _ => {}
    }
    let demo_login = if args.demo {
        demo::seed_if_empty(&app.state().store, true).await?
    } else {
        None
    };
    println!("Fila is running at http://{addr}");
    if let Some(login) = demo_login {
        println!(
            "Demo clinic ready. Log in at http://{addr}/entrar with {} / {}",
            login.email, login.password
        );
    }
    app.run_until(shutdown_signal()).await
}

/// Every socket is an open file: raises the soft limit on open files to the hard limit the
/// system allows (often 1024 by default against 500 000 or more).
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(error) => tracing::warn!(error = %error, "could not raise the open files limit"),
    }
}

/// `fila accounts create`.
pub async fn create_account(args: CreateAccountArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url).await?;
    let created = accounts::create(
        &store,
        &args.name,
        &args.email,
        args.password.expose_secret(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}",
        serde_json::json!({"accountId": created.account_id, "userId": created.user_id})
    );
    Ok(())
}

/// `fila demo seed-history`.
pub async fn seed_history(args: SeedHistoryArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url).await?;
    if args.email == demo::EMAIL {
        demo::seed_if_empty(&store, false).await?;
    }
    let email = args.email.trim().to_lowercase();
    let user = store::accounts::user_by_email(&mut *store.pool().acquire().await?, &email)
        .await?
        .with_context(|| format!("no user {email}"))?;
    let started = std::time::Instant::now();
    let plan = history_seed::Plan {
        days: args.days,
        per_day: args.per_day,
        per_doctor: 30,
        seed: args.seed,
    };
    let seeded = history_seed::generate(&store, user.account_id, plan).await?;
    println!(
        "{}",
        serde_json::json!({
            "accountId": user.account_id,
            "days": seeded.days,
            "appointments": seeded.appointments,
            "moves": seeded.moves,
            "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        })
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
