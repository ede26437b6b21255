//! Collections a community and a person serve, and the activities inside the outbox.

use serde::{Deserialize, Serialize};
use url::Url;

use super::deserialize_urls;

/// An `OrderedCollection` of items of type `T`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection<T> {
    #[serde(rename = "type")]
    pub kind: OrderedCollectionType,
    pub id: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    #[serde(default = "Vec::new")]
    pub ordered_items: Vec<T>,
}

/// The `type` of an OrderedCollection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderedCollectionType {
    OrderedCollection,
}

/// An unordered `Collection`; Cairn only publishes the follower count this way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub id: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<i64>,
    #[serde(default)]
    pub items: Vec<serde_json::Value>,
}

/// The `type` of a Collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionType {
    Collection,
}

/// `Announce` of an inner activity or object, as a group relays it (FEP-1b12).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Announce<T> {
    #[serde(rename = "type")]
    pub kind: AnnounceType,
    pub id: Url,
    pub actor: Url,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub cc: Vec<Url>,
    pub object: T,
}

/// The `type` of an Announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnnounceType {
    Announce,
}

/// `Create` or `Update` of an object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrUpdate<T> {
    #[serde(rename = "type")]
    pub kind: CreateOrUpdateType,
    pub id: Url,
    pub actor: Url,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub to: Vec<Url>,
    #[serde(default, deserialize_with = "deserialize_urls")]
    pub cc: Vec<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
    pub object: T,
}

/// The `type` of a Create or Update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateOrUpdateType {
    Create,
    Update,
}
