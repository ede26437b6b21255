//! ActivityPub wire types: exactly what goes over the network, in Lemmy's shapes.
//!
//! These types parse documents from other servers (liberally: optional fields may be missing and
//! unknown fields are ignored) and serialise the documents Cairn serves. They are separate from
//! domain types; `crate::convert` builds them.

pub mod activities;
pub mod actors;
pub mod collections;
pub mod objects;

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

pub use activitypub_federation::protocol::public_key::PublicKey;

/// The `@context` of every document Cairn serves: Lemmy's (so Lemmy's `lemmy:` terms resolve),
/// then ActivityStreams, then Cairn's own terms.
pub fn context() -> serde_json::Value {
    serde_json::json!([
        "https://join-lemmy.org/context.json",
        "https://www.w3.org/ns/activitystreams",
        {
            "cairn": "urn:cairn:ns#",
            "communityKind": "cairn:communityKind",
            "membershipMode": "cairn:membershipMode"
        }
    ])
}

/// The ActivityStreams public collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The Markdown source of HTML content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: String,
}

impl Source {
    /// A Markdown source.
    pub fn markdown(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            media_type: "text/markdown".into(),
        }
    }
}

/// `endpoints` of an actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Url,
}

/// An image reference (`icon`, `image`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageObject {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub url: Url,
}

/// A language tag as Lemmy sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageTag {
    pub identifier: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// Reads a value that may be a single item or an array of items, keeping the last one
/// (Lemmy's rule for `icon` and `image`), and tolerating items that do not parse.
pub fn deserialize_last_lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .rev()
            .find_map(|i| serde_json::from_value(i).ok()),
        Some(other) => serde_json::from_value(other).ok(),
        None => None,
    })
}

/// Reads a list that may also arrive as a single item, dropping items that do not parse
/// rather than failing the whole document.
pub fn deserialize_list_lenient<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        Some(other) => serde_json::from_value(other).ok().into_iter().collect(),
        None => vec![],
    })
}

/// Reads a reference to another object: its id as a string, or the object embedded whole with
/// its `id` (Fedify embeds the follower in the Follow it accepts).
pub fn deserialize_id<'de, D>(d: D) -> Result<Url, D::Error>
where
    D: Deserializer<'de>,
{
    let v = serde_json::Value::deserialize(d)?;
    let id = match &v {
        serde_json::Value::String(s) => Some(s.as_str()),
        serde_json::Value::Object(o) => o.get("id").and_then(serde_json::Value::as_str),
        _ => None,
    };
    id.and_then(|s| Url::parse(s).ok())
        .ok_or_else(|| serde::de::Error::custom("expected a URL or an object with an `id` URL"))
}

/// Reads `to`/`cc`: a single URL or an array of URLs, missing meaning empty. Entries that are
/// not URLs are skipped rather than failing the whole document.
pub fn deserialize_urls<'de, D>(d: D) -> Result<Vec<Url>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => vec![],
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|i| match i {
                serde_json::Value::String(s) => Url::parse(&s).ok(),
                serde_json::Value::Object(o) => o
                    .get("id")
                    .and_then(|id| id.as_str())
                    .and_then(|s| Url::parse(s).ok()),
                _ => None,
            })
            .collect(),
        Some(serde_json::Value::String(s)) => Url::parse(&s).ok().into_iter().collect(),
        Some(_) => vec![],
    })
}

/// Reads `attributedTo`: a URL, an object with an `id`, or an array of either (PeerTube sends
/// `[{type: Person, id}, {type: Group, id}]`). Returns every id with its type when given.
pub fn deserialize_attributed_to<'de, D>(d: D) -> Result<Vec<(Url, Option<String>)>, D::Error>
where
    D: Deserializer<'de>,
{
    fn one(v: serde_json::Value) -> Option<(Url, Option<String>)> {
        match v {
            serde_json::Value::String(s) => Url::parse(&s).ok().map(|u| (u, None)),
            serde_json::Value::Object(o) => {
                let id = o
                    .get("id")
                    .and_then(|i| i.as_str())
                    .and_then(|s| Url::parse(s).ok())?;
                let kind = o.get("type").and_then(|t| t.as_str()).map(str::to_owned);
                Some((id, kind))
            }
            _ => None,
        }
    }
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Array(items)) => items.into_iter().filter_map(one).collect(),
        Some(other) => one(other).into_iter().collect(),
        None => vec![],
    })
}

/// Writes `attributedTo` as the single actor URL Lemmy expects.
pub fn serialize_attributed_to<S>(v: &[(Url, Option<String>)], s: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
{
    match v {
        [(url, _)] => url.serialize(s),
        many => many.iter().map(|(u, _)| u).collect::<Vec<_>>().serialize(s),
    }
}
