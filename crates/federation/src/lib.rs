//! Cairn's ActivityPub side: wire types, conversions from domain types, and the endpoints other
//! servers read (actors, objects, collections, WebFinger, NodeInfo).
//!
//! Built on `activitypub_federation`; handlers get the [`cairn_core::Cairn`] handle through its
//! `Data` extractor, which the [`FederationMiddleware`] layer from [`middleware`] provides.

pub mod convert;
pub mod deliver;
mod error;
pub mod inbound;
pub mod inbox;
pub mod negotiate;
pub mod objects;
pub mod protocol;
pub mod publish;
mod routes;
pub mod signer;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use cairn_core::Cairn;

pub use error::{FederationError, FederationResult};
pub use routes::{OUTBOX_SIZE, json_routes, negotiated_routes};

/// Builds the federation configuration for an instance.
///
/// `insecure` allows plain http, explicit ports and loopback addresses: for development and
/// tests only, never the default.
pub async fn config(ctx: Cairn, insecure: bool) -> Result<FederationConfig<Cairn>, String> {
    let domain = ctx.settings().domain.clone();
    FederationConfig::builder()
        .domain(domain)
        .app_data(ctx)
        .debug(insecure)
        .allow_http_urls(insecure)
        .http_signature_compat(true)
        .build()
        .await
        .map_err(|e| e.to_string())
}

/// The layer that gives handlers their `Data<Cairn>`.
pub fn middleware(config: FederationConfig<Cairn>) -> FederationMiddleware<Cairn> {
    FederationMiddleware::new(config)
}
