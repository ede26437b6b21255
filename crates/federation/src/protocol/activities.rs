//! Activities Cairn sends beyond those in `collections` (Create/Update, Announce): Delete, votes
//! and Undo, in Lemmy's shapes (federation.md 1.8).

use serde::{Deserialize, Serialize};
use url::Url;

use super::{deserialize_id, deserialize_urls};

/// `Delete` of a post or comment by its author, or a moderator's removal (with `summary`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delete {
    #[serde(rename = "type")]
    pub kind: DeleteType,
    pub id: Url,
    pub actor: Url,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub cc: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
    pub object: Url,
    /// Present (possibly empty) when a moderator removed the object: Lemmy's Remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// The `type` of a Delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteType {
    Delete,
}

/// `Like` (upvote) or `Dislike` (downvote).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    #[serde(rename = "type")]
    pub kind: VoteType,
    pub id: Url,
    pub actor: Url,
    pub object: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
}

/// The `type` of a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoteType {
    Like,
    Dislike,
}

/// `Undo` of an earlier activity, carried whole as Lemmy expects.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo<T> {
    #[serde(rename = "type")]
    pub kind: UndoType,
    pub id: Url,
    pub actor: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
    pub object: T,
}

/// The `type` of an Undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UndoType {
    Undo,
}

/// `Follow` of a community by a person.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    #[serde(rename = "type")]
    pub kind: FollowType,
    pub id: Url,
    #[serde(deserialize_with = "deserialize_id")]
    pub actor: Url,
    #[serde(deserialize_with = "deserialize_id")]
    pub object: Url,
    #[serde(
        default,
        deserialize_with = "deserialize_urls",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<Url>,
}

/// The `type` of a Follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FollowType {
    Follow,
}

/// A Follow as an answer carries it: embedded whole (Lemmy, Mastodon) or by id only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FollowRef {
    Embedded(Follow),
    Id(Url),
}

impl FollowRef {
    /// The Follow's id.
    pub fn id(&self) -> &Url {
        match self {
            FollowRef::Embedded(f) => &f.id,
            FollowRef::Id(id) => id,
        }
    }
}

/// `Accept` or `Reject` of a Follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowAnswer {
    #[serde(rename = "type")]
    pub kind: FollowAnswerType,
    pub id: Url,
    pub actor: Url,
    #[serde(
        default,
        deserialize_with = "deserialize_urls",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<Url>,
    pub object: FollowRef,
}

/// The `type` of a Follow answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FollowAnswerType {
    Accept,
    Reject,
}
