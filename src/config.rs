//! The command line: every setting of `fila serve` with its environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

/// The default database: an SQLite file in the working folder, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://fila.db";

#[derive(Debug, Parser)]
#[command(name = "fila", version, about = "Real-time clinic queue server")]
pub struct Cli {
    /// Log lines on stderr: `text` (coloured only when stderr is a terminal) or `json` (one
    /// object per line).
    #[arg(long, env = "FILA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Parsed once at start: the size of `Serve` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, the Socket.IO gateway, the event delivery and the web app.
    Serve(ServeArgs),
    /// Manage accounts (clinic licences).
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Manage an account's users (recover a clinic left without an active master).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The demo clinic.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Copy the SQLite database to a new file while the server runs (a consistent, checked
    /// copy); prints `{"backup":..,"bytes":..,"schema":..,"integrity":"ok",..}`.
    Backup(BackupArgs),
    /// Replace the SQLite database with a backup (refused while a `fila serve` uses it; the
    /// replaced database is kept beside it as `<file>.replaced-<time>`).
    Restore(RestoreArgs),
    /// Apply the database's pending migrations and exit; `--check` only says what this binary
    /// would apply. Prints `{"status":..,"schema":..,"binarySchema":..,"pending":[..]}`.
    Migrate(MigrateArgs),
    /// The token signing secret.
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist yet).
    #[arg(long)]
    pub to: PathBuf,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The backup to restore (a file `fila backup` or `--backup-dir` wrote).
    #[arg(long)]
    pub from: PathBuf,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Apply nothing: say what this binary would apply. Exits 0 when the database is up to
    /// date, 10 when migrations are pending, 2 when this binary refuses the database (a newer
    /// Fila upgraded it).
    #[arg(long)]
    pub check: bool,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Write a new signing secret to the database and end every session (all tokens answer
    /// 401); restart the servers afterwards so they sign with it.
    Rotate(RotateSecretArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RotateSecretArgs {
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Scheduled snapshots of an SQLite database, taken by `fila serve`.
#[derive(Debug, Clone, Args)]
pub struct SnapshotArgs {
    /// Take a checked snapshot of the SQLite database into this folder every `--backup-every`
    /// (`fila-YYYYMMDDTHHMMSSZ.db`). Off by default.
    #[arg(long, env = "FILA_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How often to take a snapshot (`1h`, `30m`, `1d`; at least `1s`).
    #[arg(long, env = "FILA_BACKUP_EVERY", default_value = "1h", value_parser = crate::backup::schedule::parse_every)]
    pub backup_every: humantime::Duration,
    /// How many snapshots to keep (the newest; older ones are deleted).
    #[arg(long, env = "FILA_BACKUP_KEEP", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub backup_keep: u64,
}

impl Default for SnapshotArgs {
    /// The command line's defaults: no snapshots.
    fn default() -> Self {
        SnapshotArgs {
            backup_dir: None,
            backup_every: Duration::from_secs(3600).into(),
            backup_keep: 24,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Fill the days before today with a busy clinic's appointments and status history (for the
    /// reports); creates the demo clinic first on an empty database. Days that already have
    /// appointments are left as they are.
    SeedHistory(SeedHistoryArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SeedHistoryArgs {
    /// How many days before today to fill.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=3_660))]
    pub days: i64,
    /// Appointments on a weekday (Mondays 10% more, Saturdays half, Sundays closed).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..=5_000))]
    pub per_day: i64,
    /// The login of a user of the clinic to fill (default: the demo clinic's).
    #[arg(long, default_value = crate::demo::EMAIL)]
    pub email: String,
    /// Seed of the random generator (the same seed gives the same history).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The clinics' default time zone (IANA, e.g. `America/Sao_Paulo`): the day of every
    /// account without its own `timeZone` setting. Default: the server's `TZ`, else the
    /// system's zone, else `UTC`.
    #[arg(long, env = "FILA_TIME_ZONE")]
    pub time_zone: Option<String>,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account and its master user; prints `{"accountId":..,"userId":..}`.
    Create(CreateAccountArgs),
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user of an account (`--master` for a master user); prints `{"userId":..}`.
    Create(CreateUserArgs),
    /// Print the account's users, one JSON line each: id, name, email, isMaster, active.
    List(ListUsersArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CreateUserArgs {
    /// The account (clinic) id, as `fila accounts create` printed it.
    #[arg(long)]
    pub account: i64,
    /// The user's email (login; unique across the server).
    #[arg(long)]
    pub email: String,
    /// The user's name.
    #[arg(long)]
    pub name: String,
    /// The user's password (8 to 200 characters).
    #[arg(long)]
    pub password: SecretString,
    /// Make the user a master (manages users, API keys and settings).
    #[arg(long)]
    pub master: bool,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ListUsersArgs {
    /// The account (clinic) id.
    #[arg(long)]
    pub account: i64,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML file of settings: every flag of `fila serve` is a key (its long name, e.g.
    /// `listen = "0.0.0.0:3000"`); a flag or an environment variable overrides the file.
    #[arg(long, env = "FILA_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "FILA_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// `sqlite://path` (embedded; the file is created if missing) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Access token lifetime in seconds.
    #[arg(long, env = "FILA_TOKEN_TTL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub token_ttl: u64,

    /// HS256 signing secret; by default one is generated once and kept in the database.
    #[arg(long, env = "FILA_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// On an empty database, create a demo clinic and print its login.
    #[arg(long, env = "FILA_DEMO")]
    pub demo: bool,

    /// Serve the web app from this folder instead of the copy built into the binary (for
    /// working on the web app: `scripts/build-web` then reload).
    #[arg(long, env = "FILA_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// How long the event log keeps events, in hours (`GET /api/events` answers 410 past it).
    #[arg(long, env = "FILA_EVENT_RETENTION_HOURS", default_value_t = 72, value_parser = clap::value_parser!(u64).range(1..=8_760))]
    pub event_retention_hours: u64,

    /// The clinics' default time zone (IANA, e.g. `America/Sao_Paulo`): the day of every
    /// account without its own `timeZone` setting. Default: the server's `TZ`, else the
    /// system's zone, else `UTC`.
    #[arg(long, env = "FILA_TIME_ZONE")]
    pub time_zone: Option<String>,

    #[command(flatten)]
    pub safety: SafetyArgs,

    #[command(flatten)]
    pub backups: SnapshotArgs,

    #[command(flatten)]
    pub tls: TlsArgs,
}

/// Fila's own TLS, for a clinic without a proxy in front (both or neither).
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// PEM certificate chain: serve https on `--listen` (with `--tls-key`); read again on
    /// SIGHUP.
    #[arg(long, env = "FILA_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `--tls-cert`; read again on SIGHUP.
    #[arg(long, env = "FILA_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// Where the secret comes from and the bounds a hostile or careless client meets.
#[derive(Debug, Clone, Args)]
pub struct SafetyArgs {
    /// File holding the HS256 signing secret (first line; 16+ characters), instead of
    /// `--jwt-secret` or the secret kept in the database.
    #[arg(long, env = "FILA_JWT_SECRET_FILE", conflicts_with = "jwt_secret")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Longest session in hours: refresh answers 401 once this long has passed since the
    /// login (or API-key trade), and no token of the session outlives it.
    #[arg(long, env = "FILA_MAX_SESSION_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub max_session_hours: u64,

    /// Most HTTP connections at once, websockets included (a few more are kept for
    /// `/healthz`, `/readyz` and `/metrics`): 10 000 screens and the REST clients beside them.
    #[arg(long, env = "FILA_MAX_CONNECTIONS", default_value_t = 12_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Seconds a connection may take to send a request's headers (also how long an idle
    /// kept-alive connection stays open).
    #[arg(long, env = "FILA_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,

    /// Seconds a request may take, body included, before it answers 408 and the connection
    /// closes (Socket.IO long polls excepted).
    #[arg(long, env = "FILA_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout: u64,

    /// Seconds a graceful stop waits for open requests before closing what is left.
    #[arg(long, env = "FILA_SHUTDOWN_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub shutdown_timeout: u64,

    /// Also serve `GET /metrics` on this address (e.g. `127.0.0.1:9100`, reachable by the
    /// monitoring only).
    #[arg(long, env = "FILA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Whether `GET /metrics` answers on the main address too (`false` with `--metrics-listen`
    /// moves it).
    #[arg(long, env = "FILA_METRICS_ON_MAIN_PORT", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics_on_main_port: bool,

    /// A browser origin (`https://host[:port]`) allowed to call the API and the Socket.IO
    /// endpoint across origins (CORS); repeat the flag, or separate them with commas. None by
    /// default. When set, a websocket from any other origin but this server's own is refused.
    #[arg(long = "cors-origin", env = "FILA_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// A reverse proxy (an address, or a CIDR such as `10.0.0.0/8`) whose `X-Forwarded-For`,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` are believed; repeat the flag, or separate
    /// them with commas. None by default: the client is the TCP peer.
    #[arg(
        long = "trusted-proxy",
        env = "FILA_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
}

impl Default for SafetyArgs {
    /// The command line's defaults.
    fn default() -> Self {
        SafetyArgs {
            jwt_secret_file: None,
            max_session_hours: 24,
            max_connections: 12_000,
            header_timeout: 10,
            request_timeout: 30,
            shutdown_timeout: 10,
            metrics_listen: None,
            metrics_on_main_port: true,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// The zone `--time-zone` names, else the server's (`TZ`, else the system's, else `UTC`).
pub fn default_zone(flag: Option<&str>) -> anyhow::Result<chrono_tz::Tz> {
    match flag.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => crate::domain::clinic_clock::parse_zone(name).ok_or_else(|| {
            anyhow::anyhow!(
                "--time-zone (FILA_TIME_ZONE) must be an IANA time zone name such as America/Sao_Paulo (got '{name}')"
            )
        }),
        None => Ok(crate::domain::clinic_clock::server_default_zone()),
    }
}

#[derive(Debug, Clone, Args)]
pub struct CreateAccountArgs {
    /// The clinic's name.
    #[arg(long)]
    pub name: String,
    /// The master user's email (login).
    #[arg(long)]
    pub email: String,
    /// The master user's password (at least 8 characters).
    #[arg(long)]
    pub password: SecretString,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_safety_defaults_match_the_command_line() {
        let cli = Cli::try_parse_from(["fila", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        let defaults = SafetyArgs::default();
        assert_eq!(
            format!("{:?}", args.safety),
            format!("{defaults:?}"),
            "SafetyArgs::default() and the flags' defaults agree"
        );
        assert_eq!(
            format!("{:?}", args.backups),
            format!("{:?}", SnapshotArgs::default()),
            "SnapshotArgs::default() and the flags' defaults agree"
        );
    }

    #[test]
    fn the_default_zone_is_an_iana_name_or_a_start_up_error() {
        assert_eq!(
            default_zone(Some("Pacific/Kiritimati")).unwrap(),
            chrono_tz::Tz::Pacific__Kiritimati
        );
        assert!(default_zone(Some("BRT3")).is_err());
        assert!(default_zone(None).is_ok());
    }
}
