//! The stylesheet and the script, embedded in the binary and served with a year-long cache:
//! their URLs carry a hash of their content (`/static/cairn.css?v=HASH`), so a new version
//! has a new URL and caches never serve a stale one.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cairn_core::crypto;

/// The stylesheet.
pub(crate) const CSS: &str = include_str!("../../static/cairn.css");
/// The script.
pub(crate) const JS: &str = include_str!("../../static/cairn.js");

fn versioned(path: &str, content: &str) -> String {
    let hash = crypto::token_hash(content);
    format!("{path}?v={}", hash.get(..12).unwrap_or(&hash))
}

/// The versioned URLs of the stylesheet and the script, worked out once when the state is
/// built (there are no globals) and shared by every page.
#[derive(Debug, Clone)]
pub struct AssetUrls {
    pub css: std::sync::Arc<str>,
    pub js: std::sync::Arc<str>,
}

impl AssetUrls {
    /// Hashes the embedded files.
    pub fn new() -> Self {
        Self {
            css: versioned("/static/cairn.css", CSS).into(),
            js: versioned("/static/cairn.js", JS).into(),
        }
    }
}

impl Default for AssetUrls {
    fn default() -> Self {
        Self::new()
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

/// `/static/cairn.css` and `/static/cairn.js`.
pub(crate) fn routes() -> Router {
    Router::new()
        .route("/static/cairn.css", get(css))
        .route("/static/cairn.js", get(js))
}
