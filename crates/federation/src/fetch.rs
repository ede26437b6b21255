//! Fetching content on demand: the parents of replies and the objects of votes that arrive
//! before them, activities announced by id, and the backfill of a remote community followed
//! here for the first time.
//!
//! Every fetch goes through the federation library's signed GET, which checks that the
//! document's `id` is the URL it was fetched from, so a fetched object speaks for its own server.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::verification::verify_domains_match;
use cairn_core::inbound::{self, Receipt, RemoteBody, RemoteComment, RemotePost};
use cairn_core::model::Community;
use cairn_core::{Cairn, CoreError, remote};
use cairn_storage::posts::PostRow;
use serde_json::Value;
use url::Url;

use crate::content::{created_comment, created_post, post_title};
use crate::error::FederationError;
use crate::objects::{ApubCommunity, ApubPerson};
use crate::protocol::PUBLIC;
use crate::protocol::actors::Group;
use crate::rules::parse::{addressed, is_public};

/// How many unknown ancestors of a reply are fetched before giving up. Threads deeper than this
/// that arrive entirely out of order are rare; the bound keeps a hostile chain from making this
/// server crawl another one.
const MAX_PARENT_DEPTH: u32 = 8;

/// How many posts of a community's outbox a backfill stores, like Lemmy's outbox size.
pub const BACKFILL_POSTS: usize = 50;

/// How many featured posts a backfill reads. Communities pin a handful; each item may cost a
/// fetch, so a featured collection of thousands of URLs would otherwise make this server crawl.
pub const BACKFILL_FEATURED: usize = 10;

/// How many documents of one collection are read: the collection and its pages. Mastodon's
/// pages hold 20 items, so three pages reach [`BACKFILL_POSTS`]; an endless chain of `next`
/// links, or pages with nothing in them, stops here.
pub const MAX_COLLECTION_PAGES: usize = 4;

fn rejected(code: &'static str, message: impl Into<String>) -> FederationError {
    FederationError::Core(CoreError::invalid(code, message))
}

/// Fetches a remote document as JSON with the instance actor's signature.
pub async fn fetch_json(data: &Data<Cairn>, url: &Url) -> Result<Value, FederationError> {
    Ok(fetch_object_http::<Cairn, Value>(url, data).await?.object)
}

/// The author of a post or comment: the first `attributedTo` that is not a Group (PeerTube
/// lists the channel next to the account).
fn author_of(attributed_to: &[(Url, Option<String>)]) -> Option<&Url> {
    attributed_to
        .iter()
        .find(|(_, kind)| kind.as_deref() != Some("Group"))
        .map(|(u, _)| u)
}

/// Whether `url` is on this server, whose domain may carry a port.
fn is_local(data: &Data<Cairn>, url: &Url) -> bool {
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    host.eq_ignore_ascii_case(data.domain())
}

fn naive(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<chrono::NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

/// What a stored object became.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Post(i64),
    Comment(i64),
}

/// Stores a post or comment given as JSON, written by `author`. A post lands in `community`
/// when given, else in the community it addresses; a reply whose parent is unknown here
/// fetches the parent first. `receipt` records the activity that brought the object, in the
/// transaction that stores it.
pub(crate) async fn store_object(
    data: &Data<Cairn>,
    obj: Value,
    author: &Url,
    community: Option<&Community>,
    receipt: Receipt,
    depth: u32,
) -> Result<Stored, FederationError> {
    let person = ObjectId::<ApubPerson>::from(author.clone())
        .dereference(data)
        .await?;

    if let Some(note) = created_comment(author, &obj)? {
        ensure_parent(data, &note.in_reply_to, depth).await?;
        let id = inbound::upsert_comment(
            data,
            RemoteComment {
                ap_id: note.id.to_string(),
                creator_id: person.person.id,
                in_reply_to: note.in_reply_to.to_string(),
                body: RemoteBody {
                    markdown: note.source.map(|s| s.content),
                    html: Some(note.content),
                },
                published: naive(note.published),
            },
            receipt,
        )
        .await?;
        return Ok(Stored::Comment(id));
    }

    let addressees = addressed(&obj);
    let page = created_post(author, obj)?;
    let community = match community {
        Some(c) => c.clone(),
        None => community_of(data, &addressees).await?,
    };
    let title = post_title(&page, &community.name);
    let url = page
        .attachment
        .first()
        .and_then(|att| att.href.clone().or_else(|| att.url.clone()))
        .map(|u| u.to_string());
    let id = inbound::upsert_post(
        data,
        RemotePost {
            ap_id: page.id.to_string(),
            community_id: community.id,
            creator_id: person.person.id,
            title,
            url,
            body: RemoteBody {
                markdown: page.source.map(|s| s.content),
                html: page.content,
            },
            published: naive(page.published),
        },
        receipt,
    )
    .await?;
    Ok(Stored::Post(id))
}

/// The community a fetched post belongs to: the first addressee (`audience` first) that is a
/// community stored here, else the `audience` fetched as a Group.
async fn community_of(
    data: &Data<Cairn>,
    addressees: &[Url],
) -> Result<Community, FederationError> {
    for url in addressees.iter().rev().filter(|u| u.as_str() != PUBLIC) {
        if let Some(c) = remote::community_by_ap_id(data, url.as_str()).await? {
            return Ok(c);
        }
    }
    // `addressed` lists `audience` last; it names the community when the server sets it.
    let Some(audience) = addressees.last().filter(|u| u.as_str() != PUBLIC) else {
        return Err(FederationError::Core(CoreError::not_found(
            "no_community",
            "The post addresses no community known here.",
        )));
    };
    Ok(ObjectId::<ApubCommunity>::from(audience.clone())
        .dereference(data)
        .await?
        .community)
}

/// Makes sure the post or comment `in_reply_to` names is stored, fetching it (and, in turn,
/// its own unknown ancestors) from its server when it is not.
async fn ensure_parent(
    data: &Data<Cairn>,
    in_reply_to: &Url,
    depth: u32,
) -> Result<(), FederationError> {
    if inbound::reply_target(data, in_reply_to.as_str())
        .await?
        .is_some()
    {
        return Ok(());
    }
    if depth >= MAX_PARENT_DEPTH || is_local(data, in_reply_to) {
        return Err(FederationError::Core(CoreError::not_found(
            "unknown_parent",
            "The post or comment replied to is unknown here.",
        )));
    }
    let parent = fetch_json(data, in_reply_to).await.map_err(|e| {
        FederationError::Core(CoreError::not_found(
            "unknown_parent",
            format!("The post or comment replied to cannot be fetched: {e}"),
        ))
    })?;
    store_fetched(data, parent, None, depth + 1).await?;
    Ok(())
}

/// Stores a post or comment fetched from its own server (its `id` was checked against the URL
/// it came from). Its author must live on the same server.
pub(crate) async fn store_fetched(
    data: &Data<Cairn>,
    obj: Value,
    community: Option<&Community>,
    depth: u32,
) -> Result<Stored, FederationError> {
    if !is_public(&obj) {
        return Err(rejected(
            "not_public",
            "Only public posts and comments are accepted.",
        ));
    }
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Url::parse(s).ok())
        .ok_or_else(|| rejected("invalid_object", "The object has no usable id."))?;
    let attributed = obj
        .get("attributedTo")
        .and_then(|v| crate::protocol::deserialize_attributed_to(v.clone()).ok())
        .unwrap_or_default();
    let author = author_of(&attributed)
        .cloned()
        .ok_or_else(|| rejected("missing_author", "The object has no author."))?;
    verify_domains_match(&author, &id).map_err(|_| {
        rejected(
            "foreign_object",
            "The object is not on its author's server.",
        )
    })?;
    Box::pin(store_object(
        data,
        obj,
        &author,
        community,
        Receipt::default(),
        depth,
    ))
    .await
}

/// The items of a collection, at most `max_items`: `orderedItems` or `items`, following
/// `first` and then `next` while more are wanted, reading at most [`MAX_COLLECTION_PAGES`]
/// documents, each on the collection's own server (a page may be given by URL or embedded).
async fn collection_items(
    data: &Data<Cairn>,
    url: &Url,
    max_items: usize,
) -> Result<Vec<Value>, FederationError> {
    let items_of = |v: &Value| -> Vec<Value> {
        v.get("orderedItems")
            .or_else(|| v.get("items"))
            .and_then(Value::as_array)
            .map(|a| a.iter().take(max_items).cloned().collect())
            .unwrap_or_default()
    };
    let mut page = fetch_json(data, url).await?;
    let mut read = 1;
    let mut found = items_of(&page);
    // A collection links its first page; a page links the next one.
    let mut link = "first";
    while found.len() < max_items {
        let next = match page.get(link) {
            Some(embedded @ Value::Object(_)) => embedded.clone(),
            Some(Value::String(s)) if read < MAX_COLLECTION_PAGES => {
                let page_url = Url::parse(s).map_err(|_| {
                    rejected("invalid_collection", "A collection page link is no URL.")
                })?;
                verify_domains_match(url, &page_url).map_err(|_| {
                    rejected(
                        "invalid_collection",
                        "A collection page is on another server.",
                    )
                })?;
                read += 1;
                fetch_json(data, &page_url).await?
            }
            _ => break,
        };
        let more = items_of(&next);
        // An embedded page is read for free, so an empty one must still end the walk.
        if more.is_empty() && link == "next" {
            break;
        }
        found.extend(more);
        page = next;
        link = "next";
    }
    found.truncate(max_items);
    Ok(found)
}

/// The post inside an outbox item: `Announce(Create(Page))` as Lemmy serves it, a bare
/// `Create(Page)`, or the Page itself.
fn post_of_item(item: &Value) -> Option<&Value> {
    let mut v = item;
    for _ in 0..2 {
        match v.get("type").and_then(Value::as_str) {
            Some("Announce" | "Create" | "Update") => v = v.get("object")?,
            _ => break,
        }
    }
    Some(v)
}

/// Backfills a remote community: its outbox's newest posts, then its featured posts (marked
/// featured). An object that lives on another server than the community is fetched from its own
/// server, so a community cannot put words in other servers' users' mouths.
pub async fn backfill(data: &Data<Cairn>, community: &Community) -> Result<usize, FederationError> {
    if community.local {
        return Ok(0);
    }
    let group_url = Url::parse(&community.ap_id)
        .map_err(|_| rejected("invalid_community", "The community has no usable id."))?;
    let group: Group =
        serde_json::from_value(fetch_json(data, &group_url).await?).map_err(|e| {
            rejected(
                "invalid_group",
                format!("The community does not parse: {e}"),
            )
        })?;
    let mut stored = 0;
    let outbox = collection_items(data, &group.outbox, BACKFILL_POSTS).await?;
    // Outboxes list the newest first; storing the oldest first keeps local ids in time order.
    for item in outbox.iter().rev() {
        // Each post may fetch its author and itself: a fresh request budget per post.
        match store_item(&data.reset_request_count(), item, community, &group_url).await {
            Ok(Some(Stored::Post(_))) => stored += 1,
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "backfill skipped an outbox item"),
        }
    }
    if let Some(featured) = &group.featured {
        let items = collection_items(data, featured, BACKFILL_FEATURED).await;
        for item in items.unwrap_or_default() {
            match store_item(&data.reset_request_count(), &item, community, &group_url).await {
                Ok(Some(Stored::Post(id))) => {
                    stored += 1;
                    data.db()
                        .run(move |conn| PostRow::set_featured(conn, id, true))
                        .await
                        .map_err(|e| FederationError::Core(e.into()))?;
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "backfill skipped a featured post"),
            }
        }
    }
    Ok(stored)
}

/// Stores one post of a community's collection; comments and other items are skipped.
async fn store_item(
    data: &Data<Cairn>,
    item: &Value,
    community: &Community,
    group_url: &Url,
) -> Result<Option<Stored>, FederationError> {
    let Some(post) = post_of_item(item) else {
        return Ok(None);
    };
    let post = match post {
        Value::String(s) => {
            let url = Url::parse(s).map_err(|_| rejected("invalid_object", "No usable id."))?;
            fetch_json(data, &url).await?
        }
        Value::Object(_) => {
            let id = post
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Url::parse(s).ok())
                .ok_or_else(|| rejected("invalid_object", "The post has no usable id."))?;
            if verify_domains_match(&id, group_url).is_ok() {
                post.clone()
            } else {
                fetch_json(data, &id).await?
            }
        }
        _ => return Ok(None),
    };
    if post.get("inReplyTo").is_some_and(|v| !v.is_null()) {
        return Ok(None);
    }
    if !addressed(&post)
        .iter()
        .any(|u| u.as_str() == community.ap_id)
    {
        return Err(rejected(
            "foreign_post",
            "The post does not address the community it was listed in.",
        ));
    }
    store_fetched(data, post, Some(community), 0)
        .await
        .map(Some)
}
