//! Received activities, typed: what the trust rules read of an activity's JSON.
//!
//! Parsing is lenient where other servers differ in harmless ways (a single value for a list,
//! an embedded object for an id, the compacted spellings of the public collection) and strict
//! about what the rules rely on: an activity needs a usable `id`, `actor` and `type`, and no
//! list in it may be longer than real activities need. The JSON as it arrived is kept beside
//! the parsed fields, so a local community can relay it unchanged.

use cairn_core::facts::Lookup;
use serde_json::Value;
use url::Url;

use super::{Code, Verdict};
use crate::protocol::PUBLIC;

/// The most addressees (`to`, `cc`, `bto`, `bcc` and `audience` together) one document may
/// carry. Mastodon addresses a post to the public, the author's followers and the people it
/// mentions; a few hundred covers any real post, and the bound keeps the work of one activity
/// bounded however it was built.
pub const MAX_ADDRESSEES: usize = 200;

/// The most tags (mentions, hashtags, emoji) one object may carry.
pub const MAX_TAGS: usize = 200;

/// How deep Announces and Undos may nest: an Announce of an Undo of a Like is as deep as real
/// activities go.
const MAX_NESTING: usize = 3;

/// A received activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub id: Url,
    pub actor: Url,
    /// The `type`, as sent.
    pub type_name: String,
    pub kind: Kind,
    /// Every URL in the activity's own `to`, `cc` and `audience`, in that order.
    pub addressed: Vec<Url>,
    /// The activity's own `audience`.
    pub audience: Option<Url>,
    /// Whether the activity's own addressing names the public collection.
    pub public: bool,
    /// The activity as it arrived.
    pub raw: Value,
}

/// What a received activity does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Follow {
        object: Url,
    },
    /// An Undo of a Follow.
    UndoFollow(FollowRef),
    /// An Accept (`accepted`) or Reject of a Follow.
    Answer {
        accepted: bool,
        follow: FollowRef,
    },
    Create(ObjectRef),
    Update(ObjectRef),
    Delete {
        object: Url,
    },
    /// A Like (+1) or Dislike (-1).
    Vote {
        object: Url,
        score: i32,
    },
    /// An Undo of a Like or Dislike.
    UndoVote {
        voter: Url,
        object: Url,
    },
    /// An Undo that names what it undoes by id only: a Follow (bovine sends them so), or
    /// something Cairn cannot tell.
    UndoById(Url),
    Announce(Announced),
    /// A type of activity Cairn does not use, such as `Lock`, `Flag` or `Undo(Delete)`.
    Other,
}

/// A Follow as an Undo or an answer carries it: embedded, or by id only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowRef {
    Embedded { id: Url, actor: Url, object: Url },
    Id(Url),
}

impl FollowRef {
    /// The Follow's id.
    pub fn id(&self) -> &Url {
        match self {
            FollowRef::Embedded { id, .. } | FollowRef::Id(id) => id,
        }
    }
}

/// What an Announce carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Announced {
    /// An embedded activity.
    Activity(Box<Received>),
    /// An activity named by id, to be fetched from its server.
    Id(Url),
    /// A bare object: the compatibility boost of a post, or a person's boost.
    Object,
}

/// The object of a Create or Update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    Embedded(Box<Object>),
    Id(Url),
}

/// An object as a Create or Update embeds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub id: Url,
    pub type_name: String,
    /// Whether it is an actor (a profile or a community) rather than a post or comment.
    pub actor_type: bool,
    /// Its authors, without the Groups that PeerTube lists beside the account.
    pub attributed_to: Vec<Url>,
    pub in_reply_to: Option<Url>,
    pub audience: Option<Url>,
    /// Every URL in its `to`, `cc` and `audience`, in that order.
    pub addressed: Vec<Url>,
    /// Whether its addressing names the public collection.
    pub public: bool,
    /// Whether it was fetched from its own server rather than taken from the activity.
    pub from_origin: bool,
    /// The object's JSON.
    pub json: Value,
}

const ACTOR_TYPES: &[&str] = &["Person", "Service", "Organization", "Application", "Group"];

fn malformed(message: impl Into<String>) -> Verdict {
    Verdict::new(Code::MalformedActivity, message)
}

/// The document's `type`; the first one when it lists several, as JSON-LD allows.
pub fn type_name(v: &Value) -> Option<&str> {
    match v.get("type")? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// An id given as a string, or as an embedded object's `id`.
pub fn id_of(v: &Value) -> Option<Url> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("id")?.as_str()?,
        _ => return None,
    };
    Url::parse(s).ok()
}

fn field_id(v: &Value, key: &str) -> Result<Url, Verdict> {
    v.get(key)
        .and_then(id_of)
        .ok_or_else(|| malformed(format!("The `{key}` is missing or not a URL.")))
}

/// Every URL in `to`, `cc` and `audience`, in that order; entries that are no URL are skipped.
pub fn addressed(v: &Value) -> Vec<Url> {
    let mut out = vec![];
    for key in ["to", "cc", "audience"] {
        match v.get(key) {
            Some(Value::String(s)) => out.extend(Url::parse(s).ok()),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(id_of)),
            Some(o @ Value::Object(_)) => out.extend(id_of(o)),
            _ => {}
        }
    }
    out
}

/// How many addressees a document names in all, counting the blind ones.
fn addressee_count(v: &Value) -> usize {
    ["to", "cc", "bto", "bcc", "audience"]
        .iter()
        .map(|k| match v.get(*k) {
            Some(Value::Array(items)) => items.len(),
            Some(Value::Null) | None => 0,
            Some(_) => 1,
        })
        .sum()
}

/// Whether `to`, `cc` or `audience` names the public collection.
pub fn is_public(v: &Value) -> bool {
    // The public collection has three spellings in the wild, alone or in a list: the full IRI,
    // and the compacted `as:Public` and `Public` that JSON-LD processors such as bovine's write.
    let public = |s: &str| matches!(s, PUBLIC | "as:Public" | "Public");
    ["to", "cc", "audience"].iter().any(|k| match v.get(*k) {
        Some(Value::String(s)) => public(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(public),
        _ => false,
    })
}

fn audience(v: &Value) -> Option<Url> {
    v.get("audience").and_then(|a| match a {
        Value::Array(items) => items.iter().find_map(id_of),
        other => id_of(other),
    })
}

fn bounded(v: &Value, what: &str) -> Result<(), Verdict> {
    if addressee_count(v) > MAX_ADDRESSEES {
        return Err(Verdict::new(
            Code::TooLong,
            format!("The {what} has more than {MAX_ADDRESSEES} addressees."),
        ));
    }
    if let Some(Value::Array(tags)) = v.get("tag")
        && tags.len() > MAX_TAGS
    {
        return Err(Verdict::new(
            Code::TooLong,
            format!("The {what} has more than {MAX_TAGS} tags."),
        ));
    }
    Ok(())
}

/// The authors named by `attributedTo`: a URL, an object with an `id`, or a list of either,
/// without the Groups that PeerTube lists beside the account.
pub fn authors(v: &Value) -> Vec<Url> {
    let one = |v: &Value| -> Option<Url> {
        if v.get("type").and_then(Value::as_str) == Some("Group") {
            return None;
        }
        id_of(v)
    };
    match v.get("attributedTo") {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(other) => one(other).into_iter().collect(),
        None => vec![],
    }
}

impl Object {
    /// Reads an embedded object; `from_origin` when it was fetched from its own server.
    pub fn parse(v: &Value, from_origin: bool) -> Result<Self, Verdict> {
        if !v.is_object() {
            return Err(malformed("The object is not a JSON object."));
        }
        bounded(v, "object")?;
        let type_name = type_name(v)
            .ok_or_else(|| malformed("The object has no `type`."))?
            .to_owned();
        Ok(Self {
            id: field_id(v, "id")?,
            actor_type: ACTOR_TYPES.contains(&type_name.as_str()),
            type_name,
            attributed_to: authors(v),
            in_reply_to: v.get("inReplyTo").and_then(id_of),
            audience: audience(v),
            addressed: addressed(v),
            public: is_public(v),
            from_origin,
            json: v.clone(),
        })
    }
}

impl Received {
    /// Reads an activity.
    pub fn parse(v: &Value) -> Result<Self, Verdict> {
        Self::parse_at(v, 0)
    }

    fn parse_at(v: &Value, depth: usize) -> Result<Self, Verdict> {
        if !v.is_object() {
            return Err(malformed("The activity is not a JSON object."));
        }
        if depth > MAX_NESTING {
            return Err(Verdict::new(
                Code::TooLong,
                "The activity nests other activities deeper than any real activity does.",
            ));
        }
        bounded(v, "activity")?;
        let type_name = type_name(v)
            .ok_or_else(|| malformed("The activity has no `type`."))?
            .to_owned();
        let id = field_id(v, "id")?;
        let actor = field_id(v, "actor")?;
        let object = v.get("object");
        let object_id = || object.and_then(id_of);
        let need_object = || object_id().ok_or_else(|| malformed("The `object` is missing."));
        let kind = match type_name.as_str() {
            "Follow" => Kind::Follow {
                object: need_object()?,
            },
            "Accept" | "Reject" => Kind::Answer {
                accepted: type_name == "Accept",
                follow: follow_ref(object.ok_or_else(|| malformed("The `object` is missing."))?)?,
            },
            "Create" | "Update" => {
                let o = match object {
                    Some(o @ Value::Object(_)) => {
                        ObjectRef::Embedded(Box::new(Object::parse(o, false)?))
                    }
                    Some(other) => ObjectRef::Id(
                        id_of(other).ok_or_else(|| malformed("The `object` is not a URL."))?,
                    ),
                    None => return Err(malformed("The `object` is missing.")),
                };
                if type_name == "Create" {
                    Kind::Create(o)
                } else {
                    Kind::Update(o)
                }
            }
            "Delete" => Kind::Delete {
                object: need_object()?,
            },
            "Like" | "Dislike" => Kind::Vote {
                object: need_object()?,
                score: if type_name == "Like" { 1 } else { -1 },
            },
            "Undo" => undo(object.ok_or_else(|| malformed("The `object` is missing."))?)?,
            "Announce" => Kind::Announce(match object {
                Some(inner @ Value::Object(_)) => match type_name_of_activity(inner) {
                    true => Announced::Activity(Box::new(Self::parse_at(inner, depth + 1)?)),
                    false => Announced::Object,
                },
                Some(other) => Announced::Id(
                    id_of(other).ok_or_else(|| malformed("The `object` is not a URL."))?,
                ),
                None => return Err(malformed("The `object` is missing.")),
            }),
            _ => Kind::Other,
        };
        Ok(Self {
            id,
            actor,
            type_name,
            kind,
            addressed: addressed(v),
            audience: audience(v),
            public: is_public(v),
            raw: v.clone(),
        })
    }

    /// This Announce with the activity it named by id replaced by the copy fetched from the
    /// activity's own server.
    pub fn with_announced(&self, fetched: Value) -> Result<Received, Verdict> {
        let mut raw = self.raw.clone();
        raw["object"] = fetched;
        Received::parse(&raw)
    }

    /// Replaces the object of the innermost Create or Update with the copy fetched from the
    /// object's own server.
    pub fn set_object_from_origin(&mut self, object: Object) {
        match &mut self.kind {
            Kind::Announce(Announced::Activity(inner)) => inner.set_object_from_origin(object),
            Kind::Create(o) | Kind::Update(o) => *o = ObjectRef::Embedded(Box::new(object)),
            _ => {}
        }
    }

    /// `Announce(Create(Page))`: the type, then the types of embedded objects.
    pub fn type_line(&self) -> String {
        type_line(&self.raw, 0)
    }

    /// The activity an Announce carries, or the activity itself: the one whose effect applies.
    pub fn innermost(&self) -> &Received {
        match &self.kind {
            Kind::Announce(Announced::Activity(inner)) => inner.innermost(),
            _ => self,
        }
    }

    /// The id of the object the activity is about, for ordering activities about one object:
    /// what it creates, votes on or deletes, the vote an Undo withdraws, what a Follow follows.
    pub fn object_key(&self) -> String {
        let url = match &self.kind {
            Kind::Follow { object } => Some(object),
            Kind::UndoFollow(f) | Kind::Answer { follow: f, .. } => match f {
                FollowRef::Embedded { object, .. } => Some(object),
                FollowRef::Id(id) => Some(id),
            },
            Kind::Create(o) | Kind::Update(o) => Some(match o {
                ObjectRef::Embedded(o) => &o.id,
                ObjectRef::Id(id) => id,
            }),
            Kind::Delete { object } | Kind::Vote { object, .. } => Some(object),
            Kind::UndoVote { object, .. } => Some(object),
            Kind::UndoById(id) => Some(id),
            Kind::Announce(Announced::Activity(inner)) => return inner.object_key(),
            Kind::Announce(Announced::Id(id)) => Some(id),
            Kind::Announce(Announced::Object) | Kind::Other => None,
        };
        url.unwrap_or(&self.id).to_string()
    }

    /// Every id whose stored facts the rules may need, at every depth.
    pub fn lookups(&self) -> Lookup {
        let mut l = Lookup::default();
        self.add_lookups(&mut l);
        l
    }

    fn add_lookups(&self, l: &mut Lookup) {
        let s = |u: &Url| u.to_string();
        l.actors.push(s(&self.actor));
        l.activities.push(s(&self.id));
        l.actors.extend(self.addressed.iter().map(s));
        match &self.kind {
            Kind::Follow { object } => l.actors.push(s(object)),
            Kind::UndoFollow(f) | Kind::Answer { follow: f, .. } => {
                l.activities.push(s(f.id()));
                if let FollowRef::Embedded { object, .. } = f {
                    l.actors.push(s(object));
                }
            }
            Kind::UndoById(id) => l.activities.push(s(id)),
            Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => {
                l.objects.push(s(&o.id));
                l.actors.push(s(&o.id));
                l.actors.extend(o.attributed_to.iter().map(s));
                l.actors.extend(o.addressed.iter().map(s));
                if let Some(r) = &o.in_reply_to {
                    l.objects.push(s(r));
                }
            }
            Kind::Create(ObjectRef::Id(_)) | Kind::Update(ObjectRef::Id(_)) => {}
            Kind::Delete { object } | Kind::Vote { object, .. } => l.objects.push(s(object)),
            Kind::UndoVote { voter, object } => {
                l.objects.push(s(object));
                l.votes.push((s(voter), s(object)));
            }
            Kind::Announce(Announced::Activity(inner)) => inner.add_lookups(l),
            Kind::Announce(_) | Kind::Other => {}
        }
    }
}

/// Whether an embedded object is an activity rather than a bare object: it has an `actor`, or
/// an activity's `type`.
fn type_name_of_activity(v: &Value) -> bool {
    const ACTIVITIES: &[&str] = &[
        "Create", "Update", "Delete", "Like", "Dislike", "Undo", "Follow", "Accept", "Reject",
        "Announce", "Add", "Remove", "Block", "Lock", "Flag",
    ];
    v.get("actor").is_some() || type_name(v).is_some_and(|t| ACTIVITIES.contains(&t))
}

fn follow_ref(v: &Value) -> Result<FollowRef, Verdict> {
    match v {
        Value::Object(_) => Ok(FollowRef::Embedded {
            id: field_id(v, "id")?,
            actor: field_id(v, "actor")?,
            object: field_id(v, "object")?,
        }),
        other => Ok(FollowRef::Id(
            id_of(other).ok_or_else(|| malformed("The Follow is not a URL."))?,
        )),
    }
}

fn undo(inner: &Value) -> Result<Kind, Verdict> {
    if !inner.is_object() {
        return Ok(Kind::UndoById(
            id_of(inner).ok_or_else(|| malformed("The undone activity is not a URL."))?,
        ));
    }
    Ok(match type_name(inner) {
        Some("Follow") => Kind::UndoFollow(follow_ref(inner)?),
        Some("Like" | "Dislike") => Kind::UndoVote {
            voter: field_id(inner, "actor")?,
            object: field_id(inner, "object")?,
        },
        _ => Kind::Other,
    })
}

/// `Announce(Create(Page))`: the type, then the types of embedded objects, three levels deep.
pub fn type_line(v: &Value, depth: usize) -> String {
    let kind = type_name(v).unwrap_or("unknown").to_owned();
    match v.get("object") {
        Some(inner) if depth < 3 && type_name(inner).is_some() => {
            format!("{kind}({})", type_line(inner, depth + 1))
        }
        _ => kind,
    }
}
