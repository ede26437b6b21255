//! How this instance reaches other servers, and the rules that keep another server from turning
//! those requests against this one or its network.
//!
//! There is one HTTP client, built by [`Network::outbound`]. The federation library fetches
//! through it (it is the client of the `FederationConfig`), and Cairn's own requests (NodeInfo,
//! WebFinger for `cairn inspect`) go through [`Outbound::get`]. The client never follows a
//! redirect by itself, because a redirect it followed could not be checked: the library follows
//! one and checks it first, and [`Outbound::get`] follows at most [`MAX_REDIRECTS`], checking
//! each hop with [`allowed`] as it checks the first URL.
//!
//! Names are checked where they are resolved: outside insecure mode the client's DNS resolver
//! (the library's `ValidatingDnsResolver`) refuses a name that resolves to a private, loopback
//! or otherwise internal address, at the moment of connecting, so DNS rebinding cannot slip
//! past. An address written in the URL itself is never resolved, so the resolver never sees it;
//! [`allowed`] refuses those.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use activitypub_federation::config::{Data, UrlVerifier};
use activitypub_federation::resolver::ValidatingDnsResolver;
use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use url::{Host, Url};

/// How long connecting to another server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a whole request may take, from connecting until the last byte of the body: a
/// server that drips its answer out is cut off here.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How many redirects [`Outbound::get`] follows. NodeInfo and WebFinger sit behind one now and
/// then (http to https, a `www` host); two allow both at once, and more are a loop or a trap.
pub const MAX_REDIRECTS: usize = 2;

/// The largest JSON document read, the same as the federation library's limit for the objects
/// it fetches. Bodies are read chunk by chunk and refused as soon as they pass it, so a huge or
/// endless answer costs at most this much memory.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

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
pub fn dev_host(entry: &str) -> Option<(&str, Ipv4Addr)> {
    let (name, address) = match entry.split_once('=') {
        Some((name, address)) => (name.trim(), address.trim().parse().ok()?),
        None => (entry.trim(), Ipv4Addr::LOCALHOST),
    };
    let is_name = !name.is_empty()
        && name.parse::<IpAddr>().is_err()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    (is_name && address.is_loopback()).then_some((name, address))
}

/// Why a URL may not be requested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not https (or, in insecure mode, http).
    #[error("the scheme `{0}` is not allowed; other servers are reached over https")]
    Scheme(String),
    /// No host at all.
    #[error("the URL names no host")]
    NoHost,
    /// User name or password in the URL, which no ActivityPub server needs.
    #[error("the URL carries credentials")]
    Credentials,
    /// An explicit port, outside insecure mode: federation uses the default ports, and other
    /// ports would let a sender probe services on public hosts.
    #[error("the explicit port {0} is not allowed")]
    Port(u16),
    /// A name that always means this machine.
    #[error("the host `{0}` is this machine")]
    LocalName(String),
    /// An address instead of a name: it is never resolved, so the resolver's checks cannot
    /// see it. Outside insecure mode every address is refused, since ActivityPub servers are
    /// named by domain; in insecure mode only loopback addresses are allowed.
    #[error("the address {address} is not allowed{}", if *internal { " (it is private, loopback or otherwise internal)" } else { "; servers are reached by name" })]
    Address {
        /// The address in the URL.
        address: IpAddr,
        /// Whether it is in a private, loopback or other non-public range.
        internal: bool,
    },
}

/// Whether a request to `url` is allowed: the pure part of the checks, made on every URL
/// before it is requested and on every redirect hop. Outside insecure mode only https on the
/// default port to a host name is allowed; insecure mode (development and tests on one
/// machine) also allows http, explicit ports and loopback addresses, and nothing else by
/// address. Names are checked again where they resolve (see the module documentation).
pub fn allowed(url: &Url, insecure: bool) -> Result<(), Refusal> {
    match url.scheme() {
        "https" => {}
        "http" if insecure => {}
        other => return Err(Refusal::Scheme(other.to_owned())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let host = url.host().ok_or(Refusal::NoHost)?;
    if let Some(port) = url.port()
        && !insecure
    {
        return Err(Refusal::Port(port));
    }
    let address = match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name.is_empty() {
                return Err(Refusal::NoHost);
            }
            if !insecure && (name == "localhost" || name.ends_with(".localhost")) {
                return Err(Refusal::LocalName(name));
            }
            return Ok(());
        }
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
    };
    let canonical = address.to_canonical();
    if insecure && canonical.is_loopback() {
        return Ok(());
    }
    Err(Refusal::Address {
        address,
        internal: is_internal(canonical),
    })
}

/// Whether an address is in a range another server has no business making this one reach:
/// private, loopback, link-local, unique-local, shared (CGNAT), multicast, unspecified,
/// broadcast, documentation or reserved, or an IPv6 form that embeds such an IPv4 address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4_internal(v4),
        IpAddr::V6(v6) => v6_internal(v6),
    }
}

fn v4_internal(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_multicast()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_documentation()
        // 0.0.0.0/8: connecting to 0.x.x.x reaches this machine on Linux.
        || a == 0
        // 100.64.0.0/10, shared address space (CGNAT), where cloud providers put internal services.
        || (a == 100 && (b & 0xc0) == 0x40)
        // 240.0.0.0/4, reserved.
        || a >= 240
}

fn v6_internal(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        v4_internal(Ipv4Addr::new(a, b, c, d))
    };
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || v6.is_unique_local()
        || v6.is_unicast_link_local()
        // Documentation, 2001:db8::/32.
        || (s[0] == 0x2001 && s[1] == 0xdb8)
        // IPv4-compatible addresses (::a.b.c.d), deprecated and never public.
        || s[..6] == [0; 6]
        // NAT64 (64:ff9b::/96) reaches the IPv4 address in its low bits.
        || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && embedded(s[6], s[7]))
        // 6to4 (2002::/16) embeds an IPv4 address in its second and third segments.
        || (s[0] == 0x2002 && embedded(s[1], s[2]))
}

/// The federation library's hook for checking URLs: every URL it fetches or sends to, and the
/// id of every activity it parses, passes [`allowed`] too, so the library and Cairn's own
/// requests follow one rule.
#[derive(Debug, Clone)]
pub(crate) struct UrlGuard {
    pub(crate) insecure: bool,
}

#[async_trait::async_trait]
impl UrlVerifier for UrlGuard {
    async fn verify(&self, url: &Url) -> Result<(), activitypub_federation::error::Error> {
        allowed(url, self.insecure)
            .map_err(|r| activitypub_federation::error::Error::Other(format!("{url}: {r}")))
    }
}

/// Why an outgoing request failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL, or a redirect's target, may not be requested.
    #[error("{url} may not be requested: {why}")]
    Refused { url: Url, why: Refusal },
    /// More redirects than [`MAX_REDIRECTS`].
    #[error("{0} redirects more than {MAX_REDIRECTS} times")]
    TooManyRedirects(Url),
    /// The body is larger than allowed.
    #[error("{url} answered with more than {limit} bytes")]
    TooLarge { url: Url, limit: usize },
    /// An answer other than success.
    #[error("{url} answered {status}")]
    Status { url: Url, status: StatusCode },
    /// The request could not be made, signed or completed (DNS, connection, timeout).
    #[error("{url}: {message}")]
    Failed { url: Url, message: String },
}

/// What [`Outbound::get`] read: the URL it finally came from (after redirects) and the body.
#[derive(Debug)]
pub struct Fetched {
    pub url: Url,
    pub body: Vec<u8>,
}

/// The one HTTP client for outgoing requests, with the rules of its [`Network`].
#[derive(Clone)]
pub struct Outbound {
    client: ClientWithMiddleware,
    network: Network,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// Builds the HTTP client for outgoing requests: timeouts on connecting and on the whole
    /// request, no automatic redirects, a user agent, and outside insecure mode the validating
    /// resolver; in insecure mode the `dev_hosts` names resolve to their loopback addresses.
    pub fn outbound(&self) -> Result<Outbound, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("Cairn/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(ValidatingDnsResolver::new(vec![], !self.insecure));
        if self.insecure {
            for (name, address) in self.dev_hosts.iter().filter_map(|h| dev_host(h)) {
                builder = builder.resolve(name, std::net::SocketAddr::from((address, 0)));
            }
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Outbound {
            client: reqwest_middleware::ClientBuilder::new(client).build(),
            network: self.clone(),
        })
    }

    /// [`allowed`] with this network's mode.
    pub fn allowed(&self, url: &Url) -> Result<(), Refusal> {
        allowed(url, self.insecure)
    }
}

impl Outbound {
    /// The client, for the federation library's configuration.
    pub(crate) fn client(&self) -> ClientWithMiddleware {
        self.client.clone()
    }

    /// The rules this client follows.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// GETs `url` with `Accept: accept`, signed by the instance actor of `signer` when given
    /// (servers in authorized-fetch mode refuse anonymous requests), following at most
    /// [`MAX_REDIRECTS`] redirects, each checked as the first URL is and signed afresh, and
    /// reading at most `max_bytes` of the body.
    pub async fn get<T: Clone>(
        &self,
        url: &Url,
        accept: &str,
        signer: Option<&Data<T>>,
        max_bytes: usize,
    ) -> Result<Fetched, OutboundError> {
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.network
                .allowed(&url)
                .map_err(|why| OutboundError::Refused {
                    url: url.clone(),
                    why,
                })?;
            let failed = |url: &Url, e: &dyn std::fmt::Display| OutboundError::Failed {
                url: url.clone(),
                message: e.to_string(),
            };
            let builder = self
                .client
                .get(url.as_str())
                .header(reqwest::header::ACCEPT, accept);
            let request = match signer {
                Some(data) => data
                    .sign_request(builder, Default::default())
                    .await
                    .map_err(|e| failed(&url, &e))?,
                None => builder.build().map_err(|e| failed(&url, &e))?,
            };
            let response = self
                .client
                .execute(request)
                .await
                .map_err(|e| failed(&url, &e))?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok());
                match next {
                    Some(next) => {
                        url = next;
                        continue;
                    }
                    None => return Err(OutboundError::Status { url, status }),
                }
            }
            if !status.is_success() {
                return Err(OutboundError::Status { url, status });
            }
            let body = read_capped(response, &url, max_bytes).await?;
            return Ok(Fetched { url, body });
        }
        Err(OutboundError::TooManyRedirects(url))
    }
}

/// Reads a body chunk by chunk, refusing it as soon as it passes `limit`, or at once when its
/// declared length does.
async fn read_capped(
    mut response: reqwest::Response,
    url: &Url,
    limit: usize,
) -> Result<Vec<u8>, OutboundError> {
    let too_large = || OutboundError::TooLarge {
        url: url.clone(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| OutboundError::Failed {
        url: url.clone(),
        message: e.to_string(),
    })? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Every URL, and whether it is allowed outside insecure mode and in insecure mode.
    #[test]
    fn allowed_urls() {
        let table: &[(&str, bool, bool)] = &[
            ("https://lemmy.example/c/main", true, true),
            ("https://lemmy.example./c/main", true, true),
            ("https://lemmy.example:443/c/main", true, true),
            ("http://lemmy.example/c/main", false, true),
            ("https://lemmy.example:8443/c/main", false, true),
            ("http://localhost:8080/u/x", false, true),
            ("https://localhost/u/x", false, true),
            ("https://cairn.localhost/u/x", false, true),
            ("ftp://lemmy.example/x", false, false),
            ("file:///etc/passwd", false, false),
            ("gopher://lemmy.example/", false, false),
            ("https://user:pw@lemmy.example/", false, false),
            // Addresses: only loopback, and only in insecure mode.
            ("https://127.0.0.1/", false, true),
            ("http://127.0.0.2:9000/", false, true),
            ("http://[::1]/", false, true),
            ("http://[::ffff:127.0.0.1]/", false, true),
            ("http://10.0.0.1/", false, false),
            ("http://172.16.5.4/", false, false),
            ("http://192.168.1.1/", false, false),
            ("http://169.254.169.254/latest/meta-data/", false, false),
            ("http://100.64.0.1/", false, false),
            ("http://0.0.0.0/", false, false),
            ("http://0.1.2.3/", false, false),
            ("http://224.0.0.1/", false, false),
            ("http://255.255.255.255/", false, false),
            ("http://[fc00::1]/", false, false),
            ("http://[fe80::1]/", false, false),
            ("http://[::]/", false, false),
            ("http://[ff02::1]/", false, false),
            ("http://[::ffff:10.0.0.1]/", false, false),
            ("http://[64:ff9b::a00:1]/", false, false),
            ("http://[2002:a00:1::]/", false, false),
            // Public addresses are still addresses: servers are named by domain.
            ("https://93.184.215.14/", false, false),
            ("https://[2606:4700::1]/", false, false),
            // Decimal, octal and hexadecimal spellings are parsed as the addresses they are.
            ("http://2130706433/", false, true),
            ("http://0x7f.1/", false, true),
            ("http://0177.0.0.1/", false, true),
            ("http://167772161/", false, false),
        ];
        for (u, secure, insecure) in table {
            let parsed = url(u);
            assert_eq!(
                allowed(&parsed, false).is_ok(),
                *secure,
                "{u} outside insecure mode: {:?}",
                allowed(&parsed, false)
            );
            assert_eq!(
                allowed(&parsed, true).is_ok(),
                *insecure,
                "{u} in insecure mode: {:?}",
                allowed(&parsed, true)
            );
        }
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            allowed(&url("http://10.0.0.1/"), false),
            Err(Refusal::Scheme("http".into()))
        );
        assert_eq!(
            allowed(&url("https://10.0.0.1/"), false),
            Err(Refusal::Address {
                address: "10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")),
                internal: true
            })
        );
        assert!(matches!(
            allowed(&url("https://8.8.8.8/"), false),
            Err(Refusal::Address {
                internal: false,
                ..
            })
        ));
        assert_eq!(
            allowed(&url("https://lemmy.example:22/"), false),
            Err(Refusal::Port(22))
        );
        assert!(
            allowed(&url("https://[::1]/"), false)
                .unwrap_err()
                .to_string()
                .contains("internal")
        );
    }

    #[test]
    fn internal_addresses() {
        for ip in [
            "10.1.2.3",
            "127.0.0.1",
            "169.254.1.1",
            "172.31.255.255",
            "192.168.0.1",
            "100.127.0.1",
            "0.0.0.0",
            "224.1.1.1",
            "240.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd12::1",
            "fe80::2",
            "ff05::1",
            "::ffff:192.168.0.1",
            "::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:c0a8:101::",
            "2001:db8::1",
        ] {
            let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert!(is_internal(parsed), "{ip} is internal");
        }
        for ip in [
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert!(!is_internal(parsed), "{ip} is public");
        }
    }
}
