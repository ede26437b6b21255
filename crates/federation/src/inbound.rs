//! Content activities from other servers: Create and Update of posts and comments, votes, their
//! Undo, and Delete, received directly or inside a community's Announce (FEP-1b12).
//!
//! These are kept as raw JSON next to the few parsed fields the checks need, so a local
//! community can Announce them unchanged, unknown fields and signatures included.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::Activity;
use async_trait::async_trait;
use cairn_core::inbound;
use cairn_core::model::Community;
use cairn_core::{Cairn, CoreError, remote};
use cairn_storage::activities::{ActivityRow, NewActivity};
use cairn_storage::db_now;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use crate::error::FederationError;
use crate::objects::{ApubCommunity, ApubPerson};
use crate::protocol::PUBLIC;
use crate::protocol::objects::{Note, Page, PageType};

fn rejected(code: &'static str, message: impl Into<String>) -> FederationError {
    FederationError::Core(CoreError::invalid(code, message))
}

/// The types of activity a community relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AnnouncableType {
    Create,
    Update,
    Delete,
    Like,
    Dislike,
    Undo,
}

/// A content activity as received: parsed id, actor and type, and the rest untouched.
#[derive(Debug, Clone, Deserialize)]
pub struct Announcable {
    pub id: Url,
    pub actor: Url,
    #[serde(rename = "type")]
    pub kind: AnnouncableType,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Announcable {
    /// The activity as JSON, as it arrived.
    pub fn raw(&self) -> Value {
        let mut m = self.rest.clone();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert("actor".into(), Value::String(self.actor.to_string()));
        m.insert("type".into(), Value::String(format!("{:?}", self.kind)));
        Value::Object(m)
    }

    pub(crate) fn object(&self) -> Result<&Value, FederationError> {
        self.rest
            .get("object")
            .ok_or_else(|| rejected("missing_object", "The activity has no object."))
    }

    /// The actor an Update carries, when it updates an actor (a profile or a community's
    /// description) rather than a post or comment.
    pub fn updated_actor(&self) -> Option<Url> {
        if self.kind != AnnouncableType::Update {
            return None;
        }
        let obj = self.rest.get("object")?;
        let kind = obj.get("type")?.as_str()?;
        if !matches!(
            kind,
            "Person" | "Service" | "Organization" | "Application" | "Group"
        ) {
            return None;
        }
        object_id(obj).ok()
    }

    /// The id of the object, whether embedded or given by id.
    pub(crate) fn object_id(&self) -> Result<Url, FederationError> {
        object_id(self.object()?)
    }
}

pub(crate) fn object_id(v: &Value) -> Result<Url, FederationError> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("id").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    Url::parse(s).map_err(|_| rejected("invalid_object", "The activity's object has no usable id."))
}

/// Every URL in `to`, `cc` and `audience`, in that order.
pub(crate) fn addressed(v: &Value) -> Vec<Url> {
    let mut out = vec![];
    for key in ["to", "cc", "audience"] {
        match v.get(key) {
            Some(Value::String(s)) => out.extend(Url::parse(s).ok()),
            Some(Value::Array(items)) => out.extend(
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .filter_map(|s| Url::parse(s).ok()),
            ),
            _ => {}
        }
    }
    out
}

/// Records a received activity with its JSON; false when it was received before.
async fn first_time(data: &Data<Cairn>, a: &Announcable) -> Result<bool, FederationError> {
    let row = NewActivity {
        ap_id: a.id.to_string(),
        kind: format!("{:?}", a.kind),
        actor_ap_id: a.actor.to_string(),
        data: a.raw().to_string(),
        local: false,
        sensitive: false,
        published: db_now(),
    };
    data.db()
        .run(move |conn| ActivityRow::insert_received(conn, &row))
        .await
        .map_err(|e| FederationError::Core(e.into()))
}

/// Forgets that an activity was received, after applying it failed, so the sender's retry is
/// applied instead of being dropped as a duplicate.
pub(crate) async fn forget(data: &Data<Cairn>, id: &Url) {
    let id = id.to_string();
    if let Err(e) = data
        .db()
        .run(move |conn| ActivityRow::forget_received(conn, &id))
        .await
    {
        tracing::warn!(error = %e, "cannot forget a failed activity; a retry will be ignored");
    }
}

/// Where an activity may land, without looking anything up: every addressee of the activity
/// and of its embedded object (the public collection included), and the `audience` it names.
pub(crate) fn landing_candidates(a: &Announcable) -> (Vec<Url>, Option<String>) {
    let raw = a.raw();
    let mut candidates = addressed(&raw);
    if let Ok(obj) = a.object()
        && obj.is_object()
    {
        candidates.extend(addressed(obj));
    }
    let audience = raw
        .get("audience")
        .or_else(|| a.object().ok().and_then(|o| o.get("audience")))
        .and_then(Value::as_str)
        .map(str::to_owned);
    (candidates, audience)
}

/// Where an activity lands: the announcing community when relayed, else the first addressee
/// (in `to`, `cc` or `audience`) that is a community we know, else the local community of the
/// post or comment it is about. An `audience`, if present, must name the same community
/// (federation.md 1.9).
pub(crate) async fn landing(
    data: &Cairn,
    a: &Announcable,
    via: Option<&Community>,
) -> Result<Community, FederationError> {
    let (candidates, audience) = landing_candidates(a);
    let found = match via {
        Some(c) => Some(c.clone()),
        None => {
            let mut found = None;
            for url in candidates.iter().filter(|u| u.as_str() != PUBLIC) {
                if let Some(c) = remote::community_by_ap_id(data, url.as_str()).await?
                    && c.local
                {
                    found = Some(c);
                    break;
                }
            }
            // An activity about a post or comment here that addresses no community of ours (a
            // Mastodon Like, Undo or Delete, a reply naming only the people in the thread)
            // lands in that post's community, as in Lemmy (federation.md 1.9.1).
            if found.is_none()
                && let Some(subject) = subject(a)
            {
                found = inbound::community_of(data, subject.as_str())
                    .await?
                    .filter(|c| c.local);
            }
            found
        }
    };
    let Some(community) = found else {
        return Err(FederationError::Core(CoreError::not_found(
            "no_community",
            "The activity addresses no community on this server.",
        )));
    };
    if let Some(aud) = audience
        && aud != community.ap_id
    {
        return Err(rejected(
            "audience_mismatch",
            "The activity's audience is another community.",
        ));
    }
    Ok(community)
}

/// Whether `to`, `cc` or `audience` names the public collection.
pub(crate) fn is_public(v: &Value) -> bool {
    // The public collection has three spellings in the wild, alone or in a list: the full IRI,
    // and the compacted `as:Public` and `Public` that JSON-LD processors such as bovine's write.
    let public = |s: &str| matches!(s, PUBLIC | "as:Public" | "Public");
    ["to", "cc", "audience"].iter().any(|k| match v.get(*k) {
        Some(Value::String(s)) => public(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(public),
        _ => false,
    })
}

/// The title of a post made from a Note without a `name` (a Mastodon toot mentioning the
/// group): the first line of its text, without the group mention, at most 200 characters.
pub(crate) fn title_from_note(content_html: &str, community_name: &str) -> String {
    let text = cairn_core::markdown::html_to_text(content_html);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let handle_prefix = format!("@{community_name}");
    let cleaned: Vec<&str> = first
        .split_whitespace()
        .filter(|w| !w.starts_with(&handle_prefix))
        .collect();
    cleaned.join(" ").chars().take(200).collect()
}

/// Applies a Create or Update of a post or comment.
async fn apply_create(
    data: &Data<Cairn>,
    a: &Announcable,
    community: &Community,
    relay: Option<String>,
) -> Result<(), FederationError> {
    let obj = created_object(a)?;
    crate::fetch::store_object(data, obj, &a.actor, Some(community), relay, 0).await?;
    Ok(())
}

/// Applies the Update of an actor by fetching the actor again from its own server, rather
/// than trusting the embedded copy: the server vouches for its actor's current state. A person
/// updates only themself; a community is updated by itself, by someone on its server (its
/// moderators there), or through its own Announce (`announced_by`). Actors not stored here
/// are of no interest and the Update is acknowledged without effect.
async fn apply_actor_update(
    data: &Data<Cairn>,
    a: &Announcable,
    target: Url,
    announced_by: Option<&Community>,
) -> Result<(), FederationError> {
    let kind = a
        .object()?
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind == "Group" {
        let Some(stored) = remote::community_by_ap_id(data, target.as_str()).await? else {
            return Ok(());
        };
        if stored.local {
            return Err(rejected(
                "not_yours",
                "Only this server updates its own communities.",
            ));
        }
        let vouched = announced_by.is_some_and(|c| c.ap_id == stored.ap_id);
        if !vouched && verify_domains_match(&a.actor, &target).is_err() {
            return Err(rejected(
                "foreign_update",
                "A community is updated only by itself, its server or its own Announce.",
            ));
        }
        ObjectId::<ApubCommunity>::from(target)
            .dereference_forced(data)
            .await?;
        return Ok(());
    }
    if a.actor != target {
        return Err(rejected(
            "foreign_update",
            "A person's profile is updated only by that person.",
        ));
    }
    let Some(stored) = remote::person_by_ap_id(data, target.as_str()).await? else {
        return Ok(());
    };
    if stored.local {
        return Err(rejected(
            "not_yours",
            "Only this server updates its own people.",
        ));
    }
    ObjectId::<ApubPerson>::from(target)
        .dereference_forced(data)
        .await?;
    Ok(())
}

/// Applies a content activity landing in `community`. `relay` is the activity's id when a local
/// community must Announce it; `vouched` when it came inside the community's own Announce.
pub async fn apply(
    data: &Data<Cairn>,
    a: &Announcable,
    community: &Community,
    vouched: bool,
) -> Result<(), FederationError> {
    if let Some(target) = a.updated_actor() {
        return apply_actor_update(data, a, target, vouched.then_some(community)).await;
    }
    let relay = community.local.then(|| a.id.to_string());
    match a.kind {
        AnnouncableType::Create | AnnouncableType::Update => {
            apply_create(data, a, community, relay).await
        }
        AnnouncableType::Like | AnnouncableType::Dislike => {
            let person = ObjectId::<ApubPerson>::from(a.actor.clone())
                .dereference(data)
                .await?;
            let score = if a.kind == AnnouncableType::Like {
                1
            } else {
                -1
            };
            let object = a.object_id()?;
            crate::fetch::ensure_voted(data, &object).await?;
            inbound::vote(data, person.person.id, object.as_str(), score, relay).await?;
            Ok(())
        }
        AnnouncableType::Undo => {
            let target = undone_vote(a)?;
            let person = ObjectId::<ApubPerson>::from(a.actor.clone())
                .dereference(data)
                .await?;
            inbound::vote(data, person.person.id, target.as_str(), 0, relay).await?;
            Ok(())
        }
        AnnouncableType::Delete => {
            let target = a.object_id()?;
            let person = ObjectId::<ApubPerson>::from(a.actor.clone())
                .dereference(data)
                .await?;
            let same_server = verify_domains_match(&a.actor, &target).is_ok();
            inbound::delete(
                data,
                person.person.id,
                target.as_str(),
                vouched || same_server,
                relay,
            )
            .await?;
            Ok(())
        }
    }
}

#[async_trait]
impl Activity for Announcable {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<Cairn>) -> Result<(), FederationError> {
        // An actor's Update goes to its followers, not to a community.
        if self.updated_actor().is_none() {
            landing_or_followed(data, self).await?;
        }
        Ok(())
    }

    async fn receive(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        if !first_time(data, &self).await? {
            return Ok(());
        }
        if let Some(target) = self.updated_actor() {
            let applied = apply_actor_update(data, &self, target, None).await;
            if applied.is_err() {
                forget(data, &self.id).await;
            }
            return applied;
        }
        match landing_or_followed(data, &self).await? {
            Some(community) => apply(data, &self, &community, false).await,
            None => {
                tracing::debug!(activity = %self.id, "acknowledged a followed person's activity");
                Ok(())
            }
        }
    }
}

/// Where a content activity lands, or `None` for one that addresses no community of ours but
/// comes from someone a person here follows. Their server sends everything they write to their
/// followers; Cairn keeps no personal timeline, so such activities are acknowledged and not
/// stored, rather than refused as if they had been misdelivered.
async fn landing_or_followed(
    data: &Data<Cairn>,
    a: &Announcable,
) -> Result<Option<Community>, FederationError> {
    match landing(data, a, None).await {
        Ok(c) => Ok(Some(c)),
        Err(FederationError::Core(CoreError::NotFound { code, .. }))
            if code == "no_community"
                && cairn_core::people::is_followed_here(data, a.actor.as_str()).await? =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A community's Announce of a content activity.
#[derive(Debug, Clone, Deserialize)]
pub struct InboundAnnounce {
    pub id: Url,
    pub actor: Url,
    #[serde(rename = "type")]
    pub kind: AnnounceOnly,
    pub object: Value,
}

/// The `type` of an Announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AnnounceOnly {
    Announce,
}

#[async_trait]
impl Activity for InboundAnnounce {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<Cairn>) -> Result<(), FederationError> {
        let community = ObjectId::<ApubCommunity>::from(self.actor.clone())
            .dereference(data)
            .await?;
        if community.community.local {
            return Err(rejected(
                "own_announce",
                "This server's communities announce nothing to it.",
            ));
        }
        Ok(())
    }

    async fn receive(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        let community = ObjectId::<ApubCommunity>::from(self.actor.clone())
            .dereference(data)
            .await?
            .community;
        // Some servers announce an activity by its id alone; it is fetched from its own
        // server, which vouches for it better than an embedded copy would.
        let fetched;
        let announce = match &self.object {
            Value::String(s) => {
                let url = Url::parse(s).map_err(|_| {
                    rejected("invalid_object", "The announced activity has no usable id.")
                })?;
                fetched = InboundAnnounce {
                    object: crate::fetch::announced_activity(data, &url).await?,
                    ..self.clone()
                };
                &fetched
            }
            _ => &self,
        };
        let Some(inner) = announce.announced(&community.ap_id)? else {
            return Ok(());
        };
        if !first_time(data, &inner).await? {
            // Our own activity coming back, or one we already have: nothing to apply.
            return Ok(());
        }
        let applied = apply(data, &inner, &community, true).await;
        if applied.is_err() {
            forget(data, &inner.id).await;
        }
        applied
    }
}

impl InboundAnnounce {
    /// The content activity inside the Announce of the remote community `community_ap_id`,
    /// checked as far as possible without the database; `None` for an Announce that is
    /// accepted but carries nothing to apply (Lemmy's compatibility Announce of a bare object).
    pub(crate) fn announced(
        &self,
        community_ap_id: &str,
    ) -> Result<Option<Announcable>, FederationError> {
        let inner: Announcable = match &self.object {
            Value::Object(_) => match serde_json::from_value(self.object.clone()) {
                Ok(a) => a,
                // Mastodon-style Announce of a bare object (Lemmy's compatibility boost): the
                // Announce(Create) that accompanies it carries the content.
                Err(_) => return Ok(None),
            },
            _ => {
                return Err(rejected(
                    "invalid_object",
                    "The Announce's object is not an embedded activity.",
                ));
            }
        };
        // The inner activity must be in the announcing community (federation.md 1.9.4).
        let raw = inner.raw();
        let mut addressees = addressed(&raw);
        if let Ok(o) = inner.object() {
            addressees.extend(addressed(o));
        }
        let object_in_community = match inner.kind {
            _ if inner.updated_actor().is_some() => true,
            AnnouncableType::Create | AnnouncableType::Update => {
                addressees.iter().any(|u| u.as_str() == community_ap_id)
            }
            _ => true,
        };
        if !object_in_community {
            return Err(rejected(
                "foreign_announce",
                "The announced activity does not address the announcing community.",
            ));
        }
        verify_domains_match(&inner.id, &inner.actor).map_err(|_| {
            rejected(
                "foreign_activity",
                "The announced activity's id is not on its actor's server.",
            )
        })?;
        Ok(Some(inner))
    }
}

/// The checks of a Create or Update that come before its author is fetched: the object is
/// embedded, public and on its author's server. Returns the object.
pub(crate) fn created_object(a: &Announcable) -> Result<Value, FederationError> {
    let obj = a.object()?.clone();
    if !obj.is_object() {
        return Err(rejected(
            "object_not_embedded",
            "Create and Update must embed their object.",
        ));
    }
    if !is_public(&obj) && !is_public(&a.raw()) {
        return Err(rejected(
            "not_public",
            "Only public posts and comments are accepted.",
        ));
    }
    let object_id = object_id(&obj)?;
    verify_domains_match(&a.actor, &object_id).map_err(|_| {
        rejected(
            "foreign_object",
            "The object is not on its author's server.",
        )
    })?;
    Ok(obj)
}

/// The comment an object is when it replies to something, checked to be written by `author`
/// (the actor of the activity that carries it); `None` when the object is not a reply.
pub(crate) fn created_comment(author: &Url, obj: &Value) -> Result<Option<Note>, FederationError> {
    if obj.get("inReplyTo").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let note: Note = serde_json::from_value(obj.clone())
        .map_err(|e| rejected("invalid_note", format!("The comment does not parse: {e}")))?;
    if !note.attributed_to.iter().any(|(u, _)| u == author) {
        return Err(rejected(
            "author_mismatch",
            "The comment's author is not the activity's actor.",
        ));
    }
    Ok(Some(note))
}

/// The post an object is when it is not a reply, checked to be written by `author` (the actor
/// of the activity that carries it).
pub(crate) fn created_post(author: &Url, obj: Value) -> Result<Page, FederationError> {
    let page: Page = serde_json::from_value(obj)
        .map_err(|e| rejected("invalid_page", format!("The post does not parse: {e}")))?;
    if !page.attributed_to.iter().any(|(u, _)| u == author) {
        return Err(rejected(
            "author_mismatch",
            "The post's author is not the activity's actor.",
        ));
    }
    Ok(page)
}

/// The title a post gets in the community named `community_name`: its `name`, else for a Note
/// the first line of its text.
pub(crate) fn post_title(page: &Page, community_name: &str) -> String {
    match (&page.name, page.kind) {
        (Some(n), _) if !n.trim().is_empty() => n.clone(),
        (_, PageType::Note) => {
            title_from_note(page.content.as_deref().unwrap_or(""), community_name)
        }
        _ => String::new(),
    }
}

/// The object of the vote an Undo withdraws, after checking that it undoes the actor's own
/// Like or Dislike: the only Undo that content activities support.
pub(crate) fn undone_vote(a: &Announcable) -> Result<Url, FederationError> {
    let inner = a.object()?;
    let inner_type = inner.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(inner_type, "Like" | "Dislike") {
        return Err(rejected(
            "unsupported_activity",
            format!("Undo of `{inner_type}` is not supported."),
        ));
    }
    let inner_actor = inner.get("actor").and_then(Value::as_str).unwrap_or("");
    if inner_actor != a.actor.as_str() {
        return Err(rejected("undo_not_own", "Only the voter may undo a vote."));
    }
    inner
        .get("object")
        .map(object_id)
        .transpose()?
        .ok_or_else(|| rejected("invalid_object", "The undone vote has no object."))
}

/// The post or comment an activity is about, when it names one: what a Like, Dislike or Delete
/// targets, the object of the vote an Undo withdraws, the post or comment a reply answers.
pub(crate) fn subject(a: &Announcable) -> Option<Url> {
    let object = a.object().ok()?;
    match a.kind {
        AnnouncableType::Like | AnnouncableType::Dislike | AnnouncableType::Delete => {
            object_id(object).ok()
        }
        AnnouncableType::Undo => object.get("object").and_then(|o| object_id(o).ok()),
        AnnouncableType::Create | AnnouncableType::Update => object
            .get("inReplyTo")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
    }
}
