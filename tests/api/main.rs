//! Integration tests through the public API: each test starts the real server on port 0 with
//! a fresh SQLite file and talks to it over HTTP.

mod auth;
mod bad_input;
mod events;
mod helpers;
mod ops;
mod resources;
mod status;
