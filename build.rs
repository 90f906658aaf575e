//! Rebuilds the binary when the built web app changes, so the copy embedded in `fila` (see
//! `src/http/web.rs`) is always the one in `web/dist`.

fn main() {
    println!("cargo:rerun-if-changed=web/dist");
}
