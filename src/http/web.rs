//! The web app, served from the copy of `web/dist` embedded in the binary when it was built, so
//! `fila` runs from any folder with nothing beside it. `--web-dir` serves a folder instead (for
//! development of the web app).
//!
//! Vite names every asset by its content hash, so `/assets/*` is cached for a year; any other
//! path is the single-page app's `index.html`, revalidated on each visit through its ETag.
//! Compression (brotli or gzip, as the browser asks) is added by the router's layer.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::{EmbeddedFile, RustEmbed};
use tower_http::services::{ServeDir, ServeFile};

/// The built web app, embedded at compile time (empty when `web/dist` was not built then).
#[derive(RustEmbed)]
#[folder = "web/dist/"]
#[allow_missing = true]
#[exclude = "*.map"]
struct Assets;

/// Hashed assets never change under their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html` and unhashed files: revalidate each time (answered 304 while unchanged).
const REVALIDATE: &str = "no-cache";

/// Where the web app comes from.
pub enum Source<'a> {
    Embedded,
    Folder(&'a Path),
}

/// Whether the binary carries a built web app.
pub fn embedded_available() -> bool {
    Assets::get("index.html").is_some()
}

/// The router's fallback: the web app.
pub fn router(source: Source<'_>) -> Router {
    match source {
        Source::Embedded => Router::new().fallback(serve_embedded),
        Source::Folder(dir) => Router::new().fallback_service(
            ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .fallback(ServeFile::new(dir.join("index.html"))),
        ),
    }
}

async fn serve_embedded(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let (file, cache) = match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(file) if path.starts_with("assets/") => (file, IMMUTABLE),
        Some(file) => (file, REVALIDATE),
        // A missing asset is a 404; any other path is a route of the single-page app.
        None if path.starts_with("assets/") => return StatusCode::NOT_FOUND.into_response(),
        None => match Assets::get("index.html") {
            Some(index) => (index, REVALIDATE),
            None => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    respond(file, cache, &headers, method == Method::HEAD)
}

fn respond(file: EmbeddedFile, cache: &'static str, request: &HeaderMap, head: bool) -> Response {
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(file.data))
    };
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}
