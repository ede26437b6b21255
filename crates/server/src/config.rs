//! Configuration: documented defaults, an optional TOML file, then `CAIRN_*` environment
//! variables, which win. Every value is checked at start-up and a bad one stops the server with a
//! message naming the key.

use std::net::SocketAddr;
use std::path::Path;

use cairn_core::clients::ClientAddresses;
use cairn_core::limits::LimitSettings;
use cairn_core::{Capacity, InstanceSettings, RegistrationMode, default_crypto_concurrency};
use cairn_storage::DatabaseUrl;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Every configuration key, as in config/cairn.toml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// A SQLite file path (`cairn.sqlite3`, `sqlite://path`) or a `postgres://` URL.
    pub database_url: String,
    /// Largest number of database connections.
    pub database_pool_size: u32,
    /// Address and port to listen on.
    pub bind: String,
    /// Public host and optional port, used in every ActivityPub id. Never change it once other
    /// servers know the instance.
    pub domain: String,
    /// Whether public URLs use https. Unset: https, except for `localhost` domains.
    pub https: Option<bool>,
    /// open, approval or closed.
    pub registration_mode: String,
    /// The instance's name.
    pub site_name: String,
    /// A short description of the instance.
    pub site_description: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Seconds between refreshes of the stored "hot" rank.
    pub hot_rank_refresh_seconds: u64,
    /// Sign-ups allowed per address per hour.
    pub register_per_hour: u32,
    /// Sign-in attempts allowed per address per minute.
    pub login_per_minute: u32,
    /// Days a session (a web sign-in or an API token) may go unused before it ends.
    pub session_idle_days: u32,
    /// Posts per account, and per client address, per minute.
    pub rate_limit_posts_per_minute: u32,
    /// Comments per account, and per client address, per minute.
    pub rate_limit_comments_per_minute: u32,
    /// Votes per account, and per client address, per minute.
    pub rate_limit_votes_per_minute: u32,
    /// New communities per account, and per client address, per hour.
    pub rate_limit_communities_per_hour: u32,
    /// Joins, leaves, follows and unfollows per account, and per client address, per minute.
    pub rate_limit_follows_per_minute: u32,
    /// Edits, deletions, moderation and profile changes per account, and per client address,
    /// per minute.
    pub rate_limit_edits_per_minute: u32,
    /// Inbox deliveries per other server (host) per minute.
    pub rate_limit_inbox_per_host_per_minute: u32,
    /// Inbox deliveries per sending address per minute, before the signature is checked.
    pub rate_limit_inbox_per_address_per_minute: u32,
    /// Networks (CIDR, or single addresses) of reverse proxies whose `X-Forwarded-For` names
    /// the client. A list, or one comma-separated string.
    #[serde(deserialize_with = "name_list")]
    pub trusted_proxies: Vec<String>,
    /// RSA key generations and password hashes running at once; 0 means one fewer than the
    /// processor cores, at least 1.
    pub crypto_concurrency: usize,
    /// Log filter in `RUST_LOG` syntax; `RUST_LOG` itself wins when set.
    pub log: String,
    /// Requests in flight to one other instance at most.
    pub delivery_per_host: usize,
    /// Outgoing deliveries in flight overall at most.
    pub delivery_concurrency: usize,
    /// Seconds before the first retry of a failed delivery; each later retry waits twice as long.
    pub delivery_retry_base_seconds: u64,
    /// Seconds a delivery taken by a worker stays its own; after a crash, the deliveries that
    /// were in flight are sent again once this has passed. Longer than a request may take.
    pub delivery_lease_seconds: u64,
    /// Seconds before a received activity that could not be applied (a fetch it needs failed,
    /// or it waits for an activity that has not arrived) is tried again; each later try waits
    /// twice as long, up to an hour. The lease of a received activity is `delivery_lease_seconds`.
    pub inbox_retry_base_seconds: u64,
    /// Development and tests only: allow plain http, explicit ports and loopback addresses in
    /// federation. Never enable it on a public instance.
    #[serde(deserialize_with = "lenient_bool")]
    pub dev_insecure_federation: bool,
    /// Development and tests only, with `dev_insecure_federation`: host names that resolve to
    /// loopback for outgoing requests, so several instances on one machine can federate under
    /// names such as alpha.test and beta.test. `name` means 127.0.0.1 and `name=127.0.0.N` that
    /// address. A list, or one comma-separated string.
    #[serde(deserialize_with = "name_list")]
    pub dev_hosts: Vec<String>,
    /// Whether this process runs the background workers (publisher, delivery, rank refresh).
    /// Several processes sharing PostgreSQL may all run them; turn them off for processes that
    /// should only answer HTTP.
    #[serde(deserialize_with = "lenient_bool")]
    pub background_workers: bool,
    /// Where `/metrics` is served. Empty (the default): on the main address, to administrators
    /// only (a bearer token of an admin account). An address such as `127.0.0.1:9090`: on a
    /// listener of its own, without authentication, for a scraper on a private network; the
    /// main address then has no `/metrics`.
    pub metrics_address: String,
}

/// Reads a list of names written as a list or, as environment variables such as
/// CAIRN_DEV_HOSTS=alpha.test,beta.test arrive, as one comma-separated string.
fn name_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let names = match Raw::deserialize(d)? {
        Raw::List(l) => l,
        Raw::Text(t) => t.split(',').map(str::to_owned).collect(),
    };
    Ok(names
        .into_iter()
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect())
}

/// Reads a switch written as a boolean, 0/1, or yes/no/true/false/on/off, since environment
/// variables such as CAIRN_DEV_INSECURE_FEDERATION=1 arrive as numbers or strings.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Bool(b) => Ok(b),
        Raw::Int(0) => Ok(false),
        Raw::Int(1) => Ok(true),
        Raw::Int(n) => Err(serde::de::Error::custom(format!(
            "`{n}` is not a switch; use true or false"
        ))),
        Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a switch; use true or false"
            ))),
        },
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "cairn.sqlite3".into(),
            database_pool_size: 8,
            bind: "127.0.0.1:8080".into(),
            domain: "localhost:8080".into(),
            https: None,
            registration_mode: "open".into(),
            site_name: "Cairn".into(),
            site_description: None,
            max_body_bytes: 1024 * 1024,
            hot_rank_refresh_seconds: 300,
            register_per_hour: 10,
            login_per_minute: 20,
            session_idle_days: 30,
            rate_limit_posts_per_minute: 10,
            rate_limit_comments_per_minute: 30,
            rate_limit_votes_per_minute: 120,
            rate_limit_communities_per_hour: 10,
            rate_limit_follows_per_minute: 60,
            rate_limit_edits_per_minute: 60,
            rate_limit_inbox_per_host_per_minute: 1800,
            rate_limit_inbox_per_address_per_minute: 3600,
            trusted_proxies: Vec::new(),
            crypto_concurrency: 0,
            log: "info".into(),
            delivery_per_host: 4,
            delivery_concurrency: 64,
            delivery_retry_base_seconds: 30,
            inbox_retry_base_seconds: 10,
            delivery_lease_seconds: 120,
            dev_insecure_federation: false,
            dev_hosts: Vec::new(),
            background_workers: true,
            metrics_address: String::new(),
        }
    }
}

/// The keys, for matching environment variables: `CAIRN_` plus the upper-cased key.
const KEYS: &[&str] = &[
    "database_url",
    "database_pool_size",
    "bind",
    "domain",
    "https",
    "registration_mode",
    "site_name",
    "site_description",
    "max_body_bytes",
    "hot_rank_refresh_seconds",
    "register_per_hour",
    "login_per_minute",
    "session_idle_days",
    "rate_limit_posts_per_minute",
    "rate_limit_comments_per_minute",
    "rate_limit_votes_per_minute",
    "rate_limit_communities_per_hour",
    "rate_limit_follows_per_minute",
    "rate_limit_edits_per_minute",
    "rate_limit_inbox_per_host_per_minute",
    "rate_limit_inbox_per_address_per_minute",
    "trusted_proxies",
    "crypto_concurrency",
    "log",
    "delivery_per_host",
    "delivery_concurrency",
    "delivery_retry_base_seconds",
    "inbox_retry_base_seconds",
    "delivery_lease_seconds",
    "dev_insecure_federation",
    "dev_hosts",
    "background_workers",
    "metrics_address",
];

/// A configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Validated {
    pub raw: Config,
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    pub instance: InstanceSettings,
    /// The separate listen address of `/metrics`, when `metrics_address` names one.
    pub metrics: Option<SocketAddr>,
    /// The rate limits and the crypto pool's size.
    pub capacity: Capacity,
    /// The parsed `trusted_proxies`.
    pub trusted_proxies: Vec<IpNet>,
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "the configuration file `{}` does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only known keys are taken from the environment: other CAIRN_* variables (CAIRN_CONFIG,
        // test switches) belong to other tools and must not break start-up.
        // Figment hands the filter the key as written (upper case), so compare without case.
        figment = figment.merge(
            Env::prefixed("CAIRN_")
                .filter(|k| KEYS.iter().any(|key| k.as_str().eq_ignore_ascii_case(key))),
        );
        figment.extract().map_err(|e| ConfigError(describe(e)))
    }

    /// Checks every value and derives the typed settings.
    pub fn validate(self) -> Result<Validated, ConfigError> {
        let key = |k: &str, msg: String| ConfigError(format!("`{k}` {msg}"));
        let database =
            DatabaseUrl::parse(&self.database_url).map_err(|m| key("database_url", m))?;
        let bind: SocketAddr = self.bind.parse().map_err(|_| {
            key(
                "bind",
                format!(
                    "is `{}`, which is not an address:port such as 127.0.0.1:8080",
                    self.bind
                ),
            )
        })?;
        check_domain(&self.domain).map_err(|m| key("domain", m))?;
        let registration_mode: RegistrationMode = self
            .registration_mode
            .parse()
            .map_err(|m| key("registration_mode", m))?;
        if !self.dev_hosts.is_empty() && !self.dev_insecure_federation {
            return Err(key(
                "dev_hosts",
                "is only for development and tests: it needs dev_insecure_federation = true".into(),
            ));
        }
        if let Some(bad) = self
            .dev_hosts
            .iter()
            .find(|h| cairn_federation::dev_host(h).is_none())
        {
            return Err(key(
                "dev_hosts",
                format!(
                    "holds `{bad}`, which is not a host name such as alpha.test, \
                     or a name with a loopback address such as peer.test=127.0.0.2"
                ),
            ));
        }
        if self.database_pool_size == 0 {
            return Err(key("database_pool_size", "must be at least 1".into()));
        }
        if self.max_body_bytes < 1024 {
            return Err(key("max_body_bytes", "must be at least 1024".into()));
        }
        if self.hot_rank_refresh_seconds == 0 {
            return Err(key("hot_rank_refresh_seconds", "must be at least 1".into()));
        }
        if self.delivery_per_host == 0 {
            return Err(key("delivery_per_host", "must be at least 1".into()));
        }
        if self.delivery_concurrency == 0 {
            return Err(key("delivery_concurrency", "must be at least 1".into()));
        }
        if self.delivery_retry_base_seconds == 0 {
            return Err(key(
                "delivery_retry_base_seconds",
                "must be at least 1".into(),
            ));
        }
        if self.inbox_retry_base_seconds == 0 {
            return Err(key("inbox_retry_base_seconds", "must be at least 1".into()));
        }
        // A request may take ten seconds; a lease shorter than that would let a second worker
        // send what the first is still sending.
        if self.delivery_lease_seconds < 15 {
            return Err(key(
                "delivery_lease_seconds",
                "must be at least 15 (a request may take 10)".into(),
            ));
        }
        // Ten years is far beyond any sensible idle limit and keeps the day count well inside
        // what date arithmetic can represent.
        if !(1..=3650).contains(&self.session_idle_days) {
            return Err(key(
                "session_idle_days",
                "must be a number of days from 1 to 3650".into(),
            ));
        }
        let metrics = match self.metrics_address.trim() {
            "" => None,
            address => Some(address.parse::<SocketAddr>().map_err(|_| {
                key(
                    "metrics_address",
                    format!("is `{address}`, not empty or an address such as 127.0.0.1:9090"),
                )
            })?),
        };
        if metrics.is_some_and(|m| m == bind) {
            return Err(key(
                "metrics_address",
                "must differ from `bind`; leave it empty to serve /metrics there".into(),
            ));
        }
        let rates = [
            (
                "rate_limit_posts_per_minute",
                self.rate_limit_posts_per_minute,
            ),
            (
                "rate_limit_comments_per_minute",
                self.rate_limit_comments_per_minute,
            ),
            (
                "rate_limit_votes_per_minute",
                self.rate_limit_votes_per_minute,
            ),
            (
                "rate_limit_communities_per_hour",
                self.rate_limit_communities_per_hour,
            ),
            (
                "rate_limit_follows_per_minute",
                self.rate_limit_follows_per_minute,
            ),
            (
                "rate_limit_edits_per_minute",
                self.rate_limit_edits_per_minute,
            ),
            (
                "rate_limit_inbox_per_host_per_minute",
                self.rate_limit_inbox_per_host_per_minute,
            ),
            (
                "rate_limit_inbox_per_address_per_minute",
                self.rate_limit_inbox_per_address_per_minute,
            ),
        ];
        if let Some((name, _)) = rates.iter().find(|(_, n)| *n == 0) {
            return Err(key(
                name,
                "must be at least 1 (set a large number to limit less)".into(),
            ));
        }
        // Tokio's blocking pool, which the database shares, has 512 threads.
        if self.crypto_concurrency > 256 {
            return Err(key(
                "crypto_concurrency",
                format!(
                    "is {}; at most 256 (0 picks one fewer than the processor cores)",
                    self.crypto_concurrency
                ),
            ));
        }
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| parse_network(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| key("trusted_proxies", m))?;
        if self.site_name.trim().is_empty() {
            return Err(key("site_name", "must not be empty".into()));
        }
        let host = self
            .domain
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let https = self
            .https
            .unwrap_or(!(host == "localhost" || host.ends_with(".localhost")));
        let instance = InstanceSettings {
            domain: self.domain.to_ascii_lowercase(),
            https,
            registration_mode,
            site_name: self.site_name.trim().to_owned(),
            site_description: self
                .site_description
                .clone()
                .filter(|d| !d.trim().is_empty()),
            federation_insecure: self.dev_insecure_federation,
            session_idle_days: self.session_idle_days,
        };
        let capacity = Capacity {
            limits: LimitSettings {
                posts_per_minute: self.rate_limit_posts_per_minute,
                comments_per_minute: self.rate_limit_comments_per_minute,
                votes_per_minute: self.rate_limit_votes_per_minute,
                communities_per_hour: self.rate_limit_communities_per_hour,
                follows_per_minute: self.rate_limit_follows_per_minute,
                edits_per_minute: self.rate_limit_edits_per_minute,
                register_per_hour: self.register_per_hour,
                login_per_minute: self.login_per_minute,
                inbox_per_host_per_minute: self.rate_limit_inbox_per_host_per_minute,
                inbox_per_address_per_minute: self.rate_limit_inbox_per_address_per_minute,
                ..LimitSettings::default()
            },
            crypto_concurrency: match self.crypto_concurrency {
                0 => default_crypto_concurrency(),
                n => n,
            },
            clients: ClientAddresses {
                trusted_proxies: trusted_proxies.clone(),
            },
        };
        Ok(Validated {
            raw: self,
            database,
            bind,
            instance,
            metrics,
            capacity,
            trusted_proxies,
        })
    }
}

/// A network in CIDR form (`10.0.0.0/8`, `fd00::/8`) or a single address.
fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!(
                "holds `{text}`, which is neither a network such as 10.0.0.0/8 or fd00::/8 nor \
                 an address such as 127.0.0.1"
            )
        })
}

/// A domain is a host name with an optional port: no scheme, path or IP literal, since
/// ActivityPub ids need a name other servers can check against.
fn check_domain(domain: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "is `{domain}`, {why}; give a host name with an optional port, such as example.org or localhost:8080"
        ))
    };
    if domain.is_empty() {
        return bad("which is empty");
    }
    if domain.contains("://") || domain.contains('/') {
        return bad("which has a scheme or a path");
    }
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain, None),
    };
    if let Some(p) = port
        && p.parse::<u16>().map(|n| n == 0).unwrap_or(true)
    {
        return bad("whose port is not a number from 1 to 65535");
    }
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return bad("which is an IP address");
    }
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.len() > 253 || !host.split('.').all(valid_label) {
        return bad("which is not a valid host name");
    }
    Ok(())
}

/// Rewords figment's errors so each names the key and where its value came from.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(s) => format!(" (from {s})"),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            if key.is_empty() {
                format!("{}{source}", e.kind)
            } else {
                format!("`{key}`: {}{source}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let v = Config::default().validate().unwrap();
        assert_eq!(v.instance.base_url(), "http://localhost:8080");
        assert_eq!(v.bind.port(), 8080);
    }

    #[test]
    fn limits_and_proxies_are_checked() {
        let c = Config {
            rate_limit_votes_per_minute: 0,
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("`rate_limit_votes_per_minute`"), "{err}");
        let c = Config {
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1".into(), "nonsense".into()],
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("`trusted_proxies`") && err.contains("nonsense"),
            "{err}"
        );
        let c = Config {
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1".into()],
            crypto_concurrency: 0,
            ..Config::default()
        };
        let v = c.validate().unwrap();
        assert_eq!(v.trusted_proxies.len(), 2);
        assert!(v.capacity.crypto_concurrency >= 1);
        let c = Config {
            crypto_concurrency: 10_000,
            ..Config::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`crypto_concurrency`")
        );
    }

    #[test]
    fn domains() {
        assert!(check_domain("example.org").is_ok());
        assert!(check_domain("alpha.test:8001").is_ok());
        assert!(check_domain("127.0.0.1:80").is_err());
        assert!(check_domain("https://x.org").is_err());
        assert!(check_domain("x.org:99999").is_err());
        assert!(check_domain("bad_host").is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        let c = Config {
            bind: "nonsense".into(),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("`bind`"));
        let c = Config {
            registration_mode: "sometimes".into(),
            ..Config::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`registration_mode`")
        );
        for days in [0, 3651] {
            let c = Config {
                session_idle_days: days,
                ..Config::default()
            };
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("`session_idle_days`"), "{days}: {err}");
        }
    }

    #[test]
    fn metrics_address_is_empty_or_another_address() {
        let with = |address: &str| Config {
            bind: "127.0.0.1:8080".into(),
            metrics_address: address.into(),
            ..Config::default()
        };
        assert_eq!(with("").validate().map(|v| v.metrics).ok(), Some(None));
        let separate = with("127.0.0.1:9090").validate().map(|v| v.metrics);
        assert_eq!(separate.ok().flatten().map(|a| a.port()), Some(9090));
        for bad in ["9090", "metrics.local:9090", "127.0.0.1:8080"] {
            let err = with(bad).validate().unwrap_err().to_string();
            assert!(err.contains("`metrics_address`"), "{bad}: {err}");
        }
    }

    #[test]
    fn dev_hosts_need_insecure_mode_and_host_names() {
        let c = Config {
            dev_hosts: vec!["alpha.test".into()],
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("`dev_hosts`") && err.contains("dev_insecure_federation"),
            "{err}"
        );
        let c = Config {
            dev_insecure_federation: true,
            dev_hosts: vec!["127.0.0.1".into()],
            ..Config::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("`dev_hosts`"), "{err}");
        // A name may carry its own loopback address, but not any other.
        let with = |h: &str| Config {
            dev_insecure_federation: true,
            dev_hosts: vec![h.into()],
            ..Config::default()
        };
        assert!(with("peer.test=127.0.0.2").validate().is_ok());
        let err = with("peer.test=10.0.0.2")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("`dev_hosts`"), "{err}");
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn environment_keys_are_recognised() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CAIRN_SITE_NAME", "From env");
            jail.set_env("CAIRN_BIND", "127.0.0.1:9999");
            jail.set_env("CAIRN_UNRELATED_SWITCH", "1");
            jail.set_env("CAIRN_DEV_INSECURE_FEDERATION", "1");
            jail.set_env("CAIRN_DEV_HOSTS", "Alpha.test, beta.test");
            jail.set_env("CAIRN_TRUSTED_PROXIES", "10.0.0.0/8, ::1");
            jail.set_env("CAIRN_RATE_LIMIT_POSTS_PER_MINUTE", "3");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.site_name, "From env");
            assert_eq!(c.bind, "127.0.0.1:9999");
            assert!(c.dev_insecure_federation);
            assert_eq!(c.dev_hosts, ["alpha.test", "beta.test"]);
            assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "::1"]);
            assert_eq!(c.rate_limit_posts_per_minute, 3);
            c.validate().map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn documented_defaults_are_the_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/cairn.toml");
        let from_file: Config = toml_file(&path);
        assert_eq!(
            from_file,
            Config::default(),
            "config/cairn.toml must list the defaults"
        );
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/example-postgres.toml");
        let example: Config = toml_file(&example);
        example.validate().expect("the PostgreSQL example is valid");
    }

    fn toml_file(path: &std::path::Path) -> Config {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file_exact(path))
            .extract()
            .expect("parses")
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn file_then_env() {
        // Run inside a Jail: it serialises tests that touch the environment, and another test
        // sets CAIRN_* variables.
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "site_name = \"From file\"\nbind = \"127.0.0.1:9000\"\n",
            )?;
            let path = jail.directory().join("c.toml");
            let c = Config::load(Some(&path)).map_err(|e| e.to_string())?;
            assert_eq!(c.site_name, "From file");
            assert_eq!(c.bind, "127.0.0.1:9000");
            jail.set_env("CAIRN_BIND", "127.0.0.1:9001");
            let c = Config::load(Some(&path)).map_err(|e| e.to_string())?;
            assert_eq!(
                c.bind, "127.0.0.1:9001",
                "the environment wins over the file"
            );
            jail.create_file("c.toml", "sitename = 1\n")?;
            let err = Config::load(Some(&path)).unwrap_err().to_string();
            assert!(err.contains("sitename"), "{err}");
            Ok(())
        });
    }
}
