//! `/healthz` and `/readyz`, for load balancers and orchestrators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use cairn_core::{Cairn, health};

/// The two routes. `/healthz` says the process answers; `/readyz` also that the database does
/// and that its schema is this build's, so traffic goes elsewhere while it is not.
pub fn routes(ctx: Cairn) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(ctx)
}

async fn readyz(State(ctx): State<Cairn>) -> (StatusCode, String) {
    match health::ready(&ctx).await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}
