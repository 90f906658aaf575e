//! Rebuilds the binary when the built web app changes, so the copy embedded in `fila` (see
//! `src/http/web.rs`) is always the one in `web/dist`, and when a migration is added (the
//! `sqlx::migrate!` macro embeds the folders' files as they were at the last build).

fn main() {
    println!("cargo:rerun-if-changed=web/dist");
    println!("cargo:rerun-if-changed=migrations");
}
