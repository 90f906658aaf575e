//! Fila keeps every screen of a clinic in sync: a status change made at the reception desk
//! reaches every desk, doctor's room and waiting-room TV of the same account within
//! milliseconds.
//!
//! A map of the crate:
//! - [`config`]: the command line, every flag with its environment variable;
//!   [`config_file`]: the TOML file of `fila serve --config`, a key for every flag.
//! - [`startup`]: builds the application (store, tokens, gateway, relay, router) and serves it.
//! - [`state`]: `AppState`, what every handler can reach.
//! - [`http`]: one router per resource; [`error`] writes the contract's error shape;
//!   `http::forwarded` finds the client behind a trusted proxy, once per request.
//! - [`auth`]: passwords (argon2), API keys, HS256 access tokens, the `AuthUser` extractor.
//! - [`domain`]: rules without a database: statuses and transitions, CPF, priority, prices.
//! - [`model`]: the JSON shapes of the API and of event payloads.
//! - [`store`]: all SQL, one module per aggregate, every query scoped by account.
//! - [`backup`]: `fila backup`/`restore`/`secret rotate` and `fila serve`'s snapshots.
//! - [`migrate`]: `fila migrate [--check]`, the schema a binary would apply (see
//!   `store::schema`).
//! - [`events`]: status change → listener → outgoing events → durable log → relay.
//! - [`realtime`]: the Socket.IO gateway (handshake auth, rooms, token expiry), and the
//!   patients' status sockets.
//! - [`public`]: what a patient sees of their own appointment (status link, self check-in).
//! - [`serve`]: the HTTP server loop: connection cap, timeouts, graceful-shutdown deadline;
//!   [`tls`]: Fila's own TLS (`--tls-cert`), the certificate reloaded on SIGHUP.
//! - [`fairness`]: the reports' bounds, so no clinic slows another.
//! - [`limits`]: length limits of the text the API keeps.
//! - [`metrics`], [`telemetry`]: Prometheus metrics (text format, `process_*`) and logging
//!   (`--log-format`); `http::access` writes the access log and keeps the request ids.
//! - [`demo`]: the demo clinic of `fila serve --demo`.
//! - [`history_seed`]: past days of a busy clinic (`fila demo seed-history`), for the reports.
//! - [`demo`]: the demo clinic of `fila serve --demo`; [`simulate`]: simulated clinic days (the
//!   wait estimate's replay and the demo's history).

pub mod accounts;
pub mod auth;
pub mod backup;
pub mod config;
pub mod config_file;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod fairness;
pub mod history_seed;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod public;
pub mod realtime;
pub mod serve;
pub mod simulate;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tls;
