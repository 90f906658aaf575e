//! Builds the application (store, tokens, socket gateway, delivery, router), binds, and serves.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::RngCore;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::auth::jwt::Tokens;
use crate::auth::password::{Hashing, HashingLimits};
use crate::auth::throttle::SelfCheckinLimiter;
use crate::auth::throttle::Throttle;
use crate::config::{
    self, CreateAccountArgs, CreateUserArgs, ListUsersArgs, SeedHistoryArgs, ServeArgs,
};
use crate::error::ApiError;
use crate::events::EventLog;
use crate::events::delivery::{Delivery, LogHealth};
use crate::fairness::{self, ReportGate};
use crate::metrics::Metrics;
use crate::public::ServiceTimesCache;
use crate::realtime::public::{StatusFeed, StatusGate};
use crate::realtime::{self, GatewayState, Io};
use crate::serve::{self, ServeLimits};
use crate::state::AppState;
use crate::store::{self, Store};
use crate::tls::Tls;
use crate::{accounts, backup, demo, history_seed, http};

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    delivery: Delivery,
    io: Io,
    state: AppState,
    limits: ServeLimits,
    metrics_listener: Option<TcpListener>,
    tls: Option<Tls>,
}

impl Application {
    /// Connects the database, prepares the server and binds the address (port 0 picks one).
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Application> {
        let default_zone = config::default_zone(args.time_zone.as_deref())?;
        let tls = match (&args.tls.tls_cert, &args.tls.tls_key) {
            (Some(cert), Some(key)) => Some(Tls::load(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!(
                "--tls-cert (FILA_TLS_CERT) and --tls-key (FILA_TLS_KEY) go together: give both or neither"
            ),
        };
        let proxies = http::forwarded::TrustedProxies::parse(&args.safety.trusted_proxies)
            .map_err(anyhow::Error::msg)?;
        let store = Store::connect(&args.database_url).await?;
        let secret = jwt_secret(&store, args).await?;
        let tokens = Arc::new(
            Tokens::new(&secret, args.token_ttl)
                .with_max_session(args.safety.max_session_hours * 3600),
        );
        let metrics = Arc::new(Metrics::new());
        metrics.set_on_main_port(args.safety.metrics_on_main_port);
        let (mut gateway, expirations) =
            GatewayState::new(tokens.clone(), metrics.clone(), store.clone());
        let service_times = ServiceTimesCache::default();
        gateway.status_gate = Some(StatusGate::new(
            store.clone(),
            default_zone,
            service_times.clone(),
        ));
        let (status_feed, status_worker) = StatusFeed::new();
        let events = EventLog::new(store.backend());
        let log_health = Arc::new(LogHealth::default());
        let state = AppState {
            store: store.clone(),
            tokens,
            events: events.clone(),
            metrics: metrics.clone(),
            throttle: Arc::new(Throttle::new()),
            hashing: Arc::new(Hashing::new(HashingLimits::for_this_machine())),
            status_feed: status_feed.clone(),
            self_checkin_limiter: Arc::new(SelfCheckinLimiter::new()),
            service_times: service_times.clone(),
            status_answers: Default::default(),
            reports: Arc::new(ReportGate::new(
                store.report_connections(),
                fairness::PER_ACCOUNT,
                fairness::PATIENCE,
            )),
            log_health: log_health.clone(),
            default_zone,
        };
        let web = match &args.web_dir {
            Some(dir) => http::web::Source::Folder(dir),
            None => http::web::Source::Embedded,
        };
        let router = http::router(state.clone(), web);
        let (layer, io) = realtime::local(gateway, expirations);
        // The gateway wraps the finished router as one service. `Router::layer` would apply
        // it to each route and to the fallback instead, and a handler fallback (the embedded
        // web app) is layered again on every request: each request would meet a new
        // Engine.IO server that knows no session, and polling would fail after the handshake.
        let origins = args
            .safety
            .cors_origins
            .iter()
            .map(|origin| http::edge::parse_origin(origin.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        let gate = http::edge::Gate {
            origins: Arc::new(origins.clone()),
            health: log_health.clone(),
        };
        let gateway = tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(proxies),
                http::forwarded::resolve,
            ))
            .layer(http::edge::cors(&origins))
            .layer(axum::middleware::from_fn_with_state(
                gate,
                http::edge::socket_gate,
            ))
            .layer(axum::middleware::map_request(realtime::detach_handshake))
            .layer(layer)
            .service(router);
        let router = axum::Router::new().fallback_service(gateway);
        let counted = io.clone();
        metrics.count_sockets_with(move || counted.connected_by_transport());
        let pools = store.clone();
        metrics.watch_pools(move || pools.pool_states());
        metrics.show_wait_times(store.wait_times());
        let retention_ms =
            i64::try_from(args.event_retention_hours * 3_600_000).unwrap_or(i64::MAX);
        status_worker.spawn(store.clone(), io.clone(), default_zone, service_times);
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
        let metrics_listener = match args.safety.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding --metrics-listen {addr}"))?,
            ),
            None => None,
        };
        let limits = ServeLimits {
            max_connections: usize::try_from(args.safety.max_connections).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(args.safety.header_timeout),
            request_timeout: Duration::from_secs(args.safety.request_timeout),
            shutdown_timeout: Duration::from_secs(args.safety.shutdown_timeout),
            ..ServeLimits::default()
        };
        Ok(Application {
            listener,
            router,
            delivery,
            io,
            state,
            limits,
            metrics_listener,
            tls,
        })
    }

    /// Whether the main address serves https (`--tls-cert`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The address of `--metrics-listen`, when set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops in an order that cannot lose or misfire an
    /// event: the listener closes; the delivery stops (the log keeps every row: clients read
    /// what they missed from `GET /api/events` after reconnecting elsewhere); only then are the
    /// sockets closed, so nothing emits into a closed gateway; open requests finish within
    /// `--shutdown-timeout`.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let delivery_task = tokio::spawn(self.delivery.run());
        let throttle = self.state.throttle.clone();
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                throttle.sweep();
            }
        });
        let stopped = tokio_util::sync::CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            let stopped = stopped.clone();
            tokio::spawn(serve::serve(
                listener,
                http::metrics_only(self.state.metrics.clone()),
                ServeLimits {
                    max_connections: 64,
                    reserve_connections: 0,
                    ..self.limits
                },
                self.state.metrics.clone(),
                None,
                async move { stopped.cancelled().await },
            ))
        });
        let io = self.io.clone();
        let shutdown = async move {
            shutdown.await;
            delivery_task.abort();
            let _ = delivery_task.await;
            // Open sockets would hold a graceful shutdown forever: close them once the delivery
            // can no longer emit to them.
            io.close().await;
        };
        let tls = self.tls.as_ref().map(|tls| tls.acceptor().clone());
        crate::tls::reload_on_sighup(self.tls.clone())?;
        serve::serve(
            self.listener,
            self.router,
            self.limits,
            self.state.metrics.clone(),
            tls,
            shutdown,
        )
        .await;
        sweeper.abort();
        stopped.cancel();
        if let Some(task) = metrics_server {
            let _ = task.await;
        }
        Ok(())
    }
}

/// The signing secret: from `--jwt-secret` (or `FILA_JWT_SECRET`), from the first line of
/// `--jwt-secret-file`, or else generated once and kept in the database (so nodes share it).
async fn jwt_secret(store: &Store, args: &ServeArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &args.jwt_secret {
        let bytes = secret.expose_secret().as_bytes().to_vec();
        anyhow::ensure!(
            bytes.len() >= 16,
            "--jwt-secret must have at least 16 characters"
        );
        return Ok(bytes);
    }
    if let Some(path) = &args.safety.jwt_secret_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --jwt-secret-file {}", path.display()))?;
        let bytes = text.lines().next().unwrap_or("").trim().as_bytes().to_vec();
        anyhow::ensure!(
            bytes.len() >= 16,
            "--jwt-secret-file must hold at least 16 characters"
        );
        return Ok(bytes);
    }
    let candidate = generate_secret();
    let mut conn = store.acquire().await?;
    let kept = store::accounts::setting_or_insert(&mut conn, "jwt_secret", &candidate)
        .await
        .context("keeping the JWT secret")?;
    Ok(kept.into_bytes())
}

/// A new random signing secret (32 bytes, hex), as the database keeps it.
pub fn generate_secret() -> String {
    let mut random = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut random);
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// `fila serve`.
pub async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    // Held until the server stops: `fila restore` refuses to replace the database meanwhile.
    let _in_use = backup::lock_for_serving(&args.database_url)?;
    let snapshots = backup::schedule::Schedule::from_args(&args.database_url, &args.backups)?;
    let open_files = serve::raise_open_file_limit();
    // Room for the database, the log and the metrics listener besides the connections.
    let room = open_files.saturating_sub(256).max(16);
    if args.safety.max_connections > room {
        tracing::warn!(
            max_connections = args.safety.max_connections,
            open_files,
            "--max-connections is over what the open-file limit allows: using {room}"
        );
        args.safety.max_connections = room;
    }
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
        demo::seed_if_empty(&app.state().store, app.state().default_zone, true).await?
    } else {
        None
    };
    let scheme = if app.is_tls() { "https" } else { "http" };
    println!("Fila is running at {scheme}://{addr}");
    if let Some(metrics) = app.metrics_addr() {
        println!("Metrics at http://{metrics}/metrics");
    }
    if let Some(login) = demo_login {
        println!(
            "Demo clinic ready. Log in at {scheme}://{addr}/entrar with {} / {}",
            login.email, login.password
        );
    }
    let snapshots = snapshots.map(|schedule| tokio::spawn(schedule.run()));
    let served = app.run_until(shutdown_signal()).await;
    if let Some(task) = snapshots {
        task.abort();
    }
    served
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
    .map_err(cli_error)?;
    println!(
        "{}",
        serde_json::json!({"accountId": created.account_id, "userId": created.user_id})
    );
    Ok(())
}

/// `fila users create`.
pub async fn create_user(args: CreateUserArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url).await?;
    let user_id = accounts::create_user(
        &store,
        args.account,
        &args.name,
        &args.email,
        args.password.expose_secret(),
        args.master,
    )
    .await
    .map_err(cli_error)?;
    println!("{}", serde_json::json!({ "userId": user_id }));
    Ok(())
}

/// `fila users list`: one JSON line per user, never the password hash.
pub async fn list_users(args: ListUsersArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url).await?;
    let users = accounts::list_users(&store, args.account)
        .await
        .map_err(cli_error)?;
    for user in users {
        let line = serde_json::json!({
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "isMaster": user.is_master != 0,
            "active": user.active != 0,
        });
        println!("{line}");
    }
    Ok(())
}

/// An operator's mistake as one plain line (`main` prefixes `fila: error: `); our own failures
/// keep their cause chain.
fn cli_error(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Validation(problems) => anyhow::anyhow!(problems.join("; ")),
        ApiError::BadRequest(m) | ApiError::NotFound(m) | ApiError::Conflict(m) => {
            anyhow::anyhow!(m)
        }
        ApiError::Internal(err) => err,
        other => anyhow::anyhow!("{other}"),
    }
}

/// `fila demo seed-history`.
pub async fn seed_history(args: SeedHistoryArgs) -> anyhow::Result<()> {
    let default_zone = config::default_zone(args.time_zone.as_deref())?;
    let store = Store::connect(&args.database_url).await?;
    if args.email == demo::EMAIL {
        demo::seed_if_empty(&store, default_zone, false).await?;
    }
    let email = args.email.trim().to_lowercase();
    let user = store::accounts::user_by_email(&mut *store.acquire().await?, &email)
        .await?
        .with_context(|| format!("no user {email}"))?;
    let started = std::time::Instant::now();
    let plan = history_seed::Plan {
        days: args.days,
        per_day: args.per_day,
        per_doctor: 30,
        seed: args.seed,
    };
    let seeded = history_seed::generate(&store, user.account_id, default_zone, plan).await?;
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
