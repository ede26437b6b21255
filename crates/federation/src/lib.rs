//! Cairn's ActivityPub side: wire types, conversions from domain types, and the endpoints other
//! servers read (actors, objects, collections, WebFinger, NodeInfo).
//!
//! Built on `activitypub_federation`; handlers get the [`cairn_core::Cairn`] handle through its
//! `Data` extractor, which the [`FederationMiddleware`] layer from [`middleware`] provides.

pub mod content;
pub mod convert;
pub mod deliver;
mod error;
pub mod fetch;
pub mod inbox;
pub mod inspect;
pub mod negotiate;
pub mod network;
pub mod objects;
pub mod protocol;
pub mod publish;
mod routes;
pub mod rules;
pub mod signer;
pub mod software;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use cairn_core::Cairn;

pub use error::{FederationError, FederationResult};
pub use network::{Network, Outbound, dev_host};
pub use routes::{OUTBOX_SIZE, json_routes, negotiated_routes};

/// Builds the federation configuration for an instance.
///
/// Every outgoing GET is signed by the instance actor, so servers in authorized-fetch mode
/// (Mastodon's secure mode, bovine) answer. The instance key pair must exist (`site::ensure`).
/// The library fetches through `outbound`'s client and checks every URL with its rules.
pub async fn config(ctx: Cairn, outbound: &Outbound) -> Result<FederationConfig<Cairn>, String> {
    let insecure = outbound.network().insecure;
    let domain = ctx.settings().domain.clone();
    let instance_id = url::Url::parse(&ctx.urls().instance()).map_err(|e| e.to_string())?;
    let instance = signer::LocalSigner::load(&ctx, &instance_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the instance key pair is missing")?;
    // The builder parses the key and panics on a bad one; check it first so a corrupt key is an
    // error message, not a crash.
    instance
        .check_private_key()
        .map_err(|e| format!("the instance private key is unusable: {e}"))?;
    FederationConfig::builder()
        .domain(domain)
        .app_data(ctx)
        .client(outbound.client())
        .url_verifier(Box::new(network::UrlGuard { insecure }))
        .debug(insecure)
        .allow_http_urls(insecure)
        .http_signature_compat(true)
        .signed_fetch_actor(&instance)
        .build()
        .await
        .map_err(|e| e.to_string())
}

/// The layer that gives handlers their `Data<Cairn>`.
pub fn middleware(config: FederationConfig<Cairn>) -> FederationMiddleware<Cairn> {
    FederationMiddleware::new(config)
}
