//! Fetching a document to inspect: a URL, signed by the instance actor as every fetch the
//! server makes is, or `name@host` through WebFinger. Nothing fetched is stored.

use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::webfinger::Webfinger;
use cairn_core::Cairn;
use serde_json::Value;
use url::Url;

use crate::network::{Outbound, UrlGuard};
use crate::rules::origin;

/// Why a document could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(String);

/// The largest WebFinger answer read.
const MAX_WEBFINGER_BYTES: usize = 256 * 1024;

enum Config {
    /// Signed by the instance actor.
    Signed(FederationConfig<Cairn>),
    /// Unsigned, when there is no instance key to sign with.
    Unsigned(FederationConfig<()>),
}

/// Fetches documents as the server would.
pub struct Fetcher {
    config: Config,
    outbound: Outbound,
    insecure: bool,
    domain: String,
}

impl Fetcher {
    /// A fetcher signing with the instance actor of `ctx`, or, without a database or before the
    /// instance has a key pair, an unsigned one; the second value says why it is unsigned.
    /// `network` is how the server reaches others (`dev_insecure_federation`, `dev_hosts`).
    pub async fn new(
        ctx: Option<&Cairn>,
        domain: &str,
        network: &crate::Network,
    ) -> Result<(Self, Option<String>), FetchError> {
        let insecure = network.insecure;
        let outbound = network
            .outbound()
            .map_err(|e| FetchError(format!("cannot set up fetching: {e}")))?;
        let unsigned_because = match ctx {
            Some(ctx) => match crate::config(ctx.clone(), &outbound).await {
                Ok(config) => {
                    let fetcher = Self {
                        config: Config::Signed(config),
                        outbound,
                        insecure,
                        domain: domain.to_owned(),
                    };
                    return Ok((fetcher, None));
                }
                Err(e) => format!("the instance actor cannot sign ({e})"),
            },
            None => "no database to take the instance actor's key from".to_owned(),
        };
        let config = FederationConfig::builder()
            .domain(domain)
            .app_data(())
            .client(outbound.client())
            .url_verifier(Box::new(UrlGuard { insecure }))
            .debug(insecure)
            .allow_http_urls(insecure)
            .http_signature_compat(true)
            .build()
            .await
            .map_err(|e| FetchError(format!("cannot set up fetching: {e}")))?;
        let note = format!(
            "Fetched without a signature: {unsigned_because}. Servers in authorized-fetch mode \
             refuse unsigned requests."
        );
        let fetcher = Self {
            config: Config::Unsigned(config),
            outbound,
            insecure,
            domain: domain.to_owned(),
        };
        Ok((fetcher, Some(note)))
    }

    /// Fetches the document at `url` with `Accept: application/activity+json`, checking the
    /// answer's content type and that its id is the URL, as the federation library does.
    pub async fn fetch(&self, url: &Url) -> Result<Value, FetchError> {
        if origin(url).as_deref() == Some(self.domain.as_str()) {
            return Err(FetchError(format!(
                "{url} is on this server ({}); inspect reads documents from other servers",
                self.domain
            )));
        }
        let fetched = match &self.config {
            Config::Signed(c) => fetch_object_http::<_, Value>(url, &c.to_request_data()).await,
            Config::Unsigned(c) => fetch_object_http::<_, Value>(url, &c.to_request_data()).await,
        };
        fetched
            .map(|r| r.object)
            .map_err(|e| FetchError(format!("cannot fetch {url}: {e}")))
    }

    /// Finds the ActivityPub id of `name@host` (a leading `@` or `!` is ignored) through
    /// WebFinger, preferring the last `self` link as the federation library does.
    pub async fn webfinger(&self, handle: &str) -> Result<Url, FetchError> {
        let handle = handle.trim_start_matches(['@', '!']);
        let Some((name, host)) = handle.split_once('@') else {
            return Err(FetchError(format!("`{handle}` is not name@host")));
        };
        let valid_host = |h: &str| {
            !h.is_empty()
                && h.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '.' || c == '-' || (self.insecure && c == ':')
                })
        };
        if name.is_empty() || !valid_host(host) {
            return Err(FetchError(format!("`{handle}` is not name@host")));
        }
        let scheme = if self.insecure { "http" } else { "https" };
        let url = Url::parse(&format!(
            "{scheme}://{host}/.well-known/webfinger?resource=acct:{handle}"
        ))
        .map_err(|e| FetchError(format!("`{handle}` gives no WebFinger URL: {e}")))?;
        let answer = match &self.config {
            Config::Signed(c) => get_jrd(&self.outbound, &url, Some(&c.to_request_data())).await,
            Config::Unsigned(_) => get_jrd::<()>(&self.outbound, &url, None).await,
        }
        .map_err(|e| FetchError(format!("WebFinger for {handle} failed: {e}")))?;
        answer
            .links
            .iter()
            .rev()
            .filter(|l| {
                l.kind
                    .as_deref()
                    .is_some_and(|k| k.starts_with("application/"))
            })
            .find_map(|l| l.href.clone())
            .ok_or_else(|| FetchError(format!("WebFinger for {handle} links no ActivityPub actor")))
    }
}

/// GETs a WebFinger document through the one outgoing client, signed when `signer` is given;
/// the client checks the URL and each redirect and caps the body, as for every fetch.
async fn get_jrd<T: Clone>(
    outbound: &Outbound,
    url: &Url,
    signer: Option<&Data<T>>,
) -> Result<Webfinger, String> {
    let fetched = outbound
        .get(url, "application/jrd+json", signer, MAX_WEBFINGER_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&fetched.body).map_err(|e| format!("{url} is not WebFinger: {e}"))
}
