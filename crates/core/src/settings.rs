//! Instance settings the domain needs, built by the server from its configuration.

use std::fmt;
use std::str::FromStr;

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationMode {
    /// Anyone may sign up and use the account at once (the default, as on most Lemmy instances).
    #[default]
    Open,
    /// Anyone may sign up; an administrator approves the account before it can sign in.
    Approval,
    /// Only administrators create accounts (`cairn admin create-user`).
    Closed,
}

impl FromStr for RegistrationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(Self::Open),
            "approval" => Ok(Self::Approval),
            "closed" => Ok(Self::Closed),
            other => Err(format!(
                "`{other}` is not a registration mode; use open, approval or closed"
            )),
        }
    }
}

impl fmt::Display for RegistrationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Open => "open",
            Self::Approval => "approval",
            Self::Closed => "closed",
        })
    }
}

/// Settings that shape domain behaviour and the URLs of everything we publish.
#[derive(Debug, Clone)]
pub struct InstanceSettings {
    /// Public host and optional port, as used in every ActivityPub id.
    pub domain: String,
    /// Whether public URLs use https.
    pub https: bool,
    /// Who may create accounts.
    pub registration_mode: RegistrationMode,
    /// The instance's display name.
    pub site_name: String,
    /// A short description of the instance.
    pub site_description: Option<String>,
    /// Development mode (`dev_insecure_federation`): ids of other servers may use plain http
    /// and explicit ports, as instances on one machine's loopback do.
    pub federation_insecure: bool,
    /// Days a session (a web sign-in or an API token) may go unused before it ends.
    pub session_idle_days: u32,
}

impl InstanceSettings {
    /// `https://domain` or `http://domain`, without a trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.domain)
    }
}
