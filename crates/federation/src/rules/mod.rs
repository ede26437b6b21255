//! The inbox's trust rules, as pure functions: who may say what (ARCHITECTURE.md, "Trust
//! model").
//!
//! A received activity is parsed into a typed [`Received`] ([`parse`]), the facts stored about
//! every id it names are gathered by `cairn_core::facts::gather`, and [`decide`] turns the two
//! into a [`Decision`]: apply an [`Effect`], ignore the activity, refuse it, fetch something
//! first, or wait for something that has not arrived yet. Nothing here reads the database,
//! the network or the clock, so the inbox and `cairn inspect` decide identically and every rule
//! is tested by a table of cases and by property tests.

mod codes;
mod decide;
pub mod parse;

#[cfg(test)]
mod tests;

use url::Url;

pub use codes::Code;
pub use decide::{check_structure, decide};
pub use parse::{Announced, FollowRef, Kind, Object, ObjectRef, Received};

/// What the rules know of this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Here {
    /// The local domain as ids carry it: the host, with the port when there is one, in lower
    /// case.
    pub host: String,
    /// Development mode (`dev_insecure_federation`): plain http and explicit ports are allowed
    /// in ids.
    pub insecure: bool,
}

impl Here {
    /// The instance at `domain` (`host` or `host:port`, as configured).
    pub fn new(domain: &str, insecure: bool) -> Self {
        Self {
            host: domain.to_ascii_lowercase(),
            insecure,
        }
    }

    /// Whether `url` is on this instance: the same host and port. This is the one comparison
    /// of hosts the inbox makes; comparing without the port would make every server on the
    /// same host name look local (and all of them do, in tests on loopback).
    pub fn is_local(&self, url: &Url) -> bool {
        origin(url).is_some_and(|o| o == self.host)
    }
}

/// `host` or `host:port` of a URL, in lower case, as domains are compared.
pub fn origin(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Whether two URLs are on the same host and port.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    origin(a).is_some() && origin(a) == origin(b)
}

/// A verdict: its code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub code: Code,
    pub message: String,
}

impl Verdict {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// How a Delete takes effect.
pub use cairn_core::inbound::DeleteAs;

/// What applying an activity does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A person follows a local community.
    FollowCommunity { community: Url },
    /// A person follows a local person.
    FollowPerson { person: Url },
    /// A person stops following a local community or person.
    Unfollow { followee: Url },
    /// A community or person answers a Follow a local person sent.
    Answer { follow: Url, accepted: bool },
    /// Fetch a remote actor again from its own server, rather than trusting the copy an
    /// Update embeds.
    RefreshActor { actor: Url, group: bool },
    /// Store a post or a comment, or apply its author's edit, in `community` (an ActivityPub
    /// id). The object is the embedded one, or the copy fetched from its own server.
    Upsert {
        object: Box<Object>,
        community: String,
    },
    /// Set the actor's vote on a post or comment: +1, -1, or 0 to withdraw it.
    Vote { object: Url, score: i32 },
    /// Delete or remove a post or comment.
    Delete { object: Url, how: DeleteAs },
}

/// What must be fetched before an activity can be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// The post or comment a reply answers, and its own unknown ancestors.
    Parent(Url),
    /// The post or comment a vote names.
    Object(Url),
    /// The activity an Announce names by id only.
    Activity(Url),
    /// The object of a Create or Update announced for an author on a third server: its
    /// own server's copy replaces the embedded one.
    FromOrigin(Url),
}

/// What to do with a received activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Apply `effect`, on behalf of `activity`: the innermost activity, the one that is recorded
    /// as received and relayed by a local community.
    Apply {
        activity: &'a Received,
        effect: Effect,
    },
    /// Acknowledge and do nothing: the activity concerns nothing here, or was applied before.
    Ignore(Verdict),
    /// Refuse: the activity breaks a rule, and nothing of it is applied.
    Refuse(Verdict),
    /// Fetch something, then decide again.
    Fetch(Fetch),
    /// It refers to something that has not arrived yet; try again later, within a bound.
    Wait(Verdict),
}

impl Decision<'_> {
    fn ignore(code: Code, message: impl Into<String>) -> Self {
        Self::Ignore(Verdict::new(code, message))
    }

    fn refuse(code: Code, message: impl Into<String>) -> Self {
        Self::Refuse(Verdict::new(code, message))
    }

    /// Whether the decision is to apply.
    pub fn is_apply(&self) -> bool {
        matches!(self, Self::Apply { .. })
    }
}
