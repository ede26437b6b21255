//! Actors from other servers: storing what their documents say, and looking them up.
//!
//! The federation layer parses and verifies documents; this module only accepts already
//! verified facts, and still sanitises every piece of HTML and bounds every length, because
//! nothing from another server is trusted to be well-formed.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use cairn_storage::communities::{CommunityRow, NewCommunity};
use cairn_storage::db_now;
use cairn_storage::instances::InstanceRow;
use cairn_storage::persons::{NewPerson, PersonRow};

use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::markdown;
use crate::model::{Community, CommunityKind, MembershipMode, Person};

/// Longest name, title or display name kept from another server.
const MAX_REMOTE_NAME: usize = 100;
/// Longest description or bio kept from another server.
const MAX_REMOTE_TEXT: usize = 20_000;

fn bounded(s: &str, max: usize) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// A remote actor's `preferredUsername` as a handle, or why it cannot be one.
pub fn name(raw: &str) -> CoreResult<String> {
    let n: String = raw.trim().chars().take(MAX_REMOTE_NAME).collect();
    if n.is_empty()
        || n.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '/')
    {
        return Err(CoreError::invalid(
            "invalid_remote_name",
            format!("The remote actor's name `{raw}` is not usable as a handle."),
        ));
    }
    Ok(n)
}

/// What a verified remote person document says.
#[derive(Debug, Clone)]
pub struct RemotePerson {
    pub ap_id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub bio_html: Option<String>,
    pub bio_md: Option<String>,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub public_key: String,
    pub bot: bool,
}

/// What a verified remote group document says.
#[derive(Debug, Clone)]
pub struct RemoteCommunity {
    pub ap_id: String,
    pub name: String,
    pub title: Option<String>,
    pub description_html: Option<String>,
    pub description_md: Option<String>,
    pub kind: Option<String>,
    pub manually_approves_followers: bool,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub public_key: String,
}

/// `host[:port]` of an actor id: the instance it lives on.
fn host_of(ap_id: &str) -> Option<String> {
    let u = url::Url::parse(ap_id).ok()?;
    Some(match (u.host_str()?, u.port()) {
        (h, Some(p)) => format!("{h}:{p}"),
        (h, None) => h.to_owned(),
    })
}

/// Stores or refreshes a remote person.
pub async fn upsert_person(ctx: &Cairn, p: RemotePerson) -> CoreResult<Person> {
    let now = db_now();
    let new = NewPerson {
        name: name(&p.name)?,
        display_name: p
            .display_name
            .as_deref()
            .map(|d| bounded(d, MAX_REMOTE_NAME))
            .filter(|d| !d.is_empty()),
        bio_md: p.bio_md.as_deref().map(|b| bounded(b, MAX_REMOTE_TEXT)),
        bio_html: p
            .bio_html
            .as_deref()
            .map(|h| markdown::sanitize_html(&bounded(h, MAX_REMOTE_TEXT))),
        ap_id: p.ap_id,
        inbox_url: p.inbox_url,
        shared_inbox_url: p.shared_inbox_url,
        public_key: p.public_key,
        private_key: None,
        local: false,
        bot: p.bot,
        published: now,
        last_refreshed_at: now,
    };
    let host = host_of(&new.ap_id);
    let row = ctx
        .db()
        .run(move |conn| {
            if let Some(h) = &host {
                InstanceRow::ensure(conn, h, db_now())?;
            }
            // Two deliveries that introduce the same person race to insert it; the loser
            // finds the winner's row on a second try and updates it instead.
            match PersonRow::upsert_remote(conn, &new) {
                Err(e) if e.is_unique_violation() => PersonRow::upsert_remote(conn, &new),
                other => other,
            }
        })
        .await?;
    Ok(row.into())
}

/// Stores or refreshes a remote community.
pub async fn upsert_community(ctx: &Cairn, c: RemoteCommunity) -> CoreResult<Community> {
    let now = db_now();
    let name = name(&c.name)?;
    let kind = c
        .kind
        .as_deref()
        .and_then(|k| k.parse::<CommunityKind>().ok())
        .unwrap_or(CommunityKind::Practice);
    let membership = if c.manually_approves_followers {
        MembershipMode::Approval
    } else {
        MembershipMode::Open
    };
    let new = NewCommunity {
        title: c
            .title
            .as_deref()
            .map(|t| bounded(t, MAX_REMOTE_NAME))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| name.clone()),
        name,
        description_md: c
            .description_md
            .as_deref()
            .map(|d| bounded(d, MAX_REMOTE_TEXT)),
        description_html: c
            .description_html
            .as_deref()
            .map(|h| markdown::sanitize_html(&bounded(h, MAX_REMOTE_TEXT))),
        kind: kind.as_str().to_owned(),
        membership: membership.as_str().to_owned(),
        ap_id: c.ap_id,
        inbox_url: c.inbox_url,
        shared_inbox_url: c.shared_inbox_url,
        followers_url: c.followers_url,
        public_key: c.public_key,
        private_key: None,
        local: false,
        published: now,
        last_refreshed_at: now,
    };
    let host = host_of(&new.ap_id);
    let row = ctx
        .db()
        .run(move |conn| {
            if let Some(h) = &host {
                InstanceRow::ensure(conn, h, db_now())?;
            }
            // As for people: a concurrent first fetch may have inserted it a moment ago.
            match CommunityRow::upsert_remote(conn, &new) {
                Err(e) if e.is_unique_violation() => CommunityRow::upsert_remote(conn, &new),
                other => other,
            }
        })
        .await?;
    Ok(row.into())
}

/// A person we know, local or remote, by ActivityPub id.
pub async fn person_by_ap_id(ctx: &Cairn, ap_id: &str) -> CoreResult<Option<Person>> {
    let ap_id = ap_id.to_owned();
    Ok(ctx
        .db()
        .run(move |conn| PersonRow::by_ap_id(conn, &ap_id))
        .await?
        .map(Person::from))
}

/// A community we know, local or remote, by ActivityPub id.
pub async fn community_by_ap_id(ctx: &Cairn, ap_id: &str) -> CoreResult<Option<Community>> {
    let ap_id = ap_id.to_owned();
    Ok(ctx
        .db()
        .run(move |conn| CommunityRow::by_ap_id(conn, &ap_id))
        .await?
        .map(Community::from))
}

/// Records the moderators of a remote community as its own server lists them, replacing the
/// earlier list. The inbox believes a remote moderator's removal only when the actor is on
/// this list, never because an activity says so.
pub async fn set_moderators(
    ctx: &Cairn,
    community_id: i64,
    moderators: Vec<String>,
) -> CoreResult<()> {
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let Some(c) = CommunityRow::by_id(conn, community_id)? else {
                return Ok(());
            };
            if c.local {
                return Err(CoreError::invalid(
                    "not_remote",
                    "The moderators of a local community are its members with that role.",
                ));
            }
            Ok(CommunityRow::set_remote_moderators(
                conn,
                community_id,
                &moderators,
            )?)
        })
        .await
}

/// A boxed future, so the resolver trait stays object-safe without an extra dependency.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Finds actors on other servers. The federation layer implements it (WebFinger, signed fetch,
/// verification) and the server installs it, so use cases can name remote communities without
/// this crate knowing ActivityPub.
pub trait Resolver: Send + Sync + Debug {
    /// Resolves `name@host` to a stored community, fetching it if needed.
    fn community<'a>(&'a self, handle: &'a str) -> BoxFuture<'a, CoreResult<Community>>;

    /// Resolves `name@host` or an actor URL to a stored person, fetching them if needed.
    fn person<'a>(&'a self, handle_or_url: &'a str) -> BoxFuture<'a, CoreResult<Person>>;

    /// Fetches a remote community's recent and featured posts, so that a community followed
    /// for the first time is not empty. Returns how many posts were stored.
    fn backfill<'a>(&'a self, community: &'a Community) -> BoxFuture<'a, CoreResult<usize>>;
}

/// The installed resolver; the server installs one at start, so its absence is a bug.
pub(crate) fn installed(ctx: &Cairn) -> CoreResult<&std::sync::Arc<dyn Resolver>> {
    ctx.resolver()
        .ok_or_else(|| CoreError::Internal("no federation resolver is installed".into()))
}

/// Splits a handle, `name@host` with an optional leading `@`, into its name and host: `None`
/// when it has no host part, and an `invalid_handle` error, saying `expected`, when either part
/// is empty or malformed.
pub(crate) fn split_handle<'a>(
    handle: &'a str,
    expected: &'static str,
) -> CoreResult<Option<(&'a str, &'a str)>> {
    let bare = handle.trim_start_matches('@');
    let Some((name, host)) = bare.split_once('@') else {
        return Ok(None);
    };
    if name.is_empty() || host.is_empty() || host.contains(['/', '@']) {
        return Err(CoreError::invalid("invalid_handle", expected));
    }
    Ok(Some((name, host)))
}

/// Resolves a remote community handle (`name@host`) through the installed resolver.
pub async fn resolve_community(ctx: &Cairn, handle: &str) -> CoreResult<Community> {
    const EXPECTED: &str = "A remote community is named name@host.";
    // Lemmy writes communities as `!name@host`.
    let (name, host) = split_handle(handle.trim_start_matches('!'), EXPECTED)?
        .ok_or_else(|| CoreError::invalid("invalid_handle", EXPECTED))?;
    if host.eq_ignore_ascii_case(&ctx.settings().domain) {
        return crate::communities::by_name(ctx, name).await;
    }
    // A community we already store is answered from the database: looking it up costs the
    // other server nothing, and inbound activities keep it fresh.
    let (wanted_name, wanted_host) = (name.to_owned(), host.to_ascii_lowercase());
    let stored = ctx
        .db()
        .run(move |conn| CommunityRow::remote_by_name(conn, &wanted_name))
        .await?
        .into_iter()
        .find(|c| {
            url::Url::parse(&c.ap_id).is_ok_and(|u| {
                let h = match (u.host_str(), u.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    _ => String::new(),
                };
                h.eq_ignore_ascii_case(&wanted_host)
            })
        });
    if let Some(c) = stored {
        return Ok(c.into());
    }
    installed(ctx)?.community(&format!("{name}@{host}")).await
}
