//! Object documents: Page (a post), Note (a comment), Tombstone, and their tags.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    ImageObject, LanguageTag, Source, deserialize_attributed_to, deserialize_last_lenient,
    deserialize_urls, serialize_attributed_to,
};

/// A post. Lemmy accepts `Page`, `Article`, `Note`, `Video` and `Event` as posts when they have
/// no `inReplyTo`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    #[serde(rename = "type")]
    pub kind: PageType,
    pub id: Url,
    #[serde(
        deserialize_with = "deserialize_attributed_to",
        serialize_with = "serialize_attributed_to"
    )]
    pub attributed_to: Vec<(Url, Option<String>)>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub cc: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// A plain excerpt, which Mastodon shows under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The post's web page, which Mastodon links to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_url_lenient"
    )]
    pub url: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::deserialize_list_lenient"
    )]
    pub attachment: Vec<Attachment>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_last_lenient"
    )]
    pub image: Option<ImageObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_last_lenient"
    )]
    pub language: Option<LanguageTag>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::deserialize_list_lenient"
    )]
    pub tag: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_url_lenient"
    )]
    pub context: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

/// Object types accepted as posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageType {
    Page,
    Article,
    Note,
    Video,
    Event,
    Question,
}

/// A comment. Required on parse, as in Lemmy: `id`, `type`, `attributedTo`, `content`,
/// `inReplyTo`; `to` may be missing (Lemmy requires it, Cairn is liberal).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    #[serde(rename = "type")]
    pub kind: NoteType,
    pub id: Url,
    #[serde(
        deserialize_with = "deserialize_attributed_to",
        serialize_with = "serialize_attributed_to"
    )]
    pub attributed_to: Vec<(Url, Option<String>)>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub cc: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
    pub in_reply_to: Url,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "super::deserialize_list_lenient"
    )]
    pub tag: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinguished: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_last_lenient"
    )]
    pub language: Option<LanguageTag>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_url_lenient"
    )]
    pub context: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

/// Object types accepted as comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoteType {
    Note,
    Article,
    Page,
}

/// What a deleted object becomes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    #[serde(rename = "type")]
    pub kind: TombstoneType,
    pub id: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub former_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<DateTime<Utc>>,
}

/// The `type` of a Tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TombstoneType {
    Tombstone,
}

/// A link attached to a post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<Url>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_url_lenient"
    )]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A tag: a Mention, a Hashtag, or something else kept by type only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Tag {
    /// A Mention of an actor.
    pub fn mention(href: Url, name: String) -> Self {
        Self {
            kind: "Mention".into(),
            href: Some(href),
            name: Some(name),
        }
    }
}

/// Reads a URL field that some software sends as a string, some as a Link object with `href`,
/// some as an array of either; anything else becomes `None`.
fn deserialize_url_lenient<'de, D>(d: D) -> Result<Option<Url>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    fn one(v: &serde_json::Value) -> Option<Url> {
        match v {
            serde_json::Value::String(s) => Url::parse(s).ok(),
            serde_json::Value::Object(o) => o
                .get("href")
                .or_else(|| o.get("id"))
                .and_then(|h| h.as_str())
                .and_then(|s| Url::parse(s).ok()),
            _ => None,
        }
    }
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Array(items)) => items.iter().find_map(one),
        Some(other) => one(&other),
        None => None,
    })
}
