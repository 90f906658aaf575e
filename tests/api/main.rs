//! Integration tests through the public API: each test starts the real server on port 0 with
//! a fresh database (an SQLite file, or a PostgreSQL database of its own when
//! `FILA_TEST_POSTGRES_URL` is set: `scripts/with-postgres cargo test --test api`) and talks to
//! it over HTTP.

mod auth;
mod bad_input;
mod clinic_clock;
mod clinic_day;
mod cors;
mod documents;
mod events;
mod fuzz;
mod helpers;
mod idempotency;
mod ops;
mod patient_loop;
mod proxies;
mod reports;
mod reports_bounds;
mod resources;
mod safety;
mod scopes;
mod sessions;
mod status;
mod upgrades;
mod users;
