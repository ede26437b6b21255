//! Activities Cairn sends beyond those in `collections` (Create/Update, Announce): Delete, votes
//! and Undo, in Lemmy's shapes (federation.md 1.8).

use serde::{Deserialize, Serialize};
use url::Url;

use super::deserialize_urls;

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
