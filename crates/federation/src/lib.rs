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
pub mod objects;
pub mod protocol;
pub mod publish;
mod routes;
pub mod rules;
pub mod signer;
pub mod software;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use activitypub_federation::resolver::ValidatingDnsResolver;
use cairn_core::Cairn;

pub use error::{FederationError, FederationResult};
pub use routes::{OUTBOX_SIZE, json_routes, negotiated_routes};

/// How this instance reaches other servers.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Allow plain http, explicit ports and loopback addresses: for development and tests
    /// only, never the default.
    pub insecure: bool,
    /// With `insecure`, host names that resolve to loopback (alpha.test, beta.test, ...), so
    /// several instances on one machine federate under real-looking names: `name` resolves to
    /// 127.0.0.1, `name=127.0.0.N` to that address (see `dev_host`).
    pub dev_hosts: Vec<String>,
}

/// Reads one `dev_hosts` entry, `name` or `name=ADDRESS`, into the name and the loopback address
/// it stands for; `None` when it is neither. Other implementations under test listen on
/// addresses of their own (127.0.0.2, ...), and they cannot be named by address because
/// ActivityPub ids must have a domain.
pub fn dev_host(entry: &str) -> Option<(&str, std::net::Ipv4Addr)> {
    let (name, address) = match entry.split_once('=') {
        Some((name, address)) => (name.trim(), address.trim().parse().ok()?),
        None => (entry.trim(), std::net::Ipv4Addr::LOCALHOST),
    };
    let is_name = !name.is_empty()
        && name.parse::<std::net::IpAddr>().is_err()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    (is_name && address.is_loopback()).then_some((name, address))
}

impl Network {
    /// The HTTP client for outgoing requests. Redirects are not followed automatically unless
    /// `redirects` says so (the federation library handles one itself, after checking it).
    /// Outside insecure mode every name is checked not to resolve to a private or loopback
    /// address, so another server cannot make this one reach into its own network.
    pub fn client(&self, redirects: usize) -> Result<reqwest::Client, String> {
        let timeout = std::time::Duration::from_secs(10);
        let mut builder = reqwest::Client::builder()
            .redirect(match redirects {
                0 => reqwest::redirect::Policy::none(),
                n => reqwest::redirect::Policy::limited(n),
            })
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Cairn/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(ValidatingDnsResolver::new(vec![], !self.insecure));
        if self.insecure {
            for (name, address) in self.dev_hosts.iter().filter_map(|h| dev_host(h)) {
                builder = builder.resolve(name, std::net::SocketAddr::from((address, 0)));
            }
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// Builds the federation configuration for an instance.
///
/// Every outgoing GET is signed by the instance actor, so servers in authorized-fetch mode
/// (Mastodon's secure mode, bovine) answer. The instance key pair must exist (`site::ensure`).
pub async fn config(ctx: Cairn, network: &Network) -> Result<FederationConfig<Cairn>, String> {
    let insecure = network.insecure;
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
        .client(network.client(0)?.into())
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
