//! The ActivityPub read side: actors, objects and collections, WebFinger and NodeInfo.
//!
//! Handlers are thin: one core call, one conversion, one response. Content negotiation (HTML for
//! browsers on the same URLs) is done by the server, which routes only ActivityPub requests here.

use activitypub_federation::axum::json::FederationJson;
use activitypub_federation::config::Data;
use activitypub_federation::fetch::webfinger::{
    Webfinger, WebfingerLink, build_webfinger_response_with_type,
};
use activitypub_federation::protocol::context::WithContext;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post as post_method};
use axum::{Json, Router};
use cairn_core::{Cairn, CoreError, comments, communities, posts, site};
use serde::Deserialize;
use serde_json::json;

use crate::convert::{self, url};
use crate::error::{FederationError, FederationResult};
use crate::protocol::collections::{
    Collection, CollectionType, OrderedCollection, OrderedCollectionType,
};
use crate::protocol::context;

/// How many posts a community outbox lists, as in Lemmy.
pub const OUTBOX_SIZE: i64 = 50;

/// Routes that serve ActivityPub JSON on paths shared with HTML pages.
pub fn negotiated_routes() -> Router {
    Router::new()
        .route("/", get(instance_actor))
        .route("/c/{name}", get(group))
        .route("/u/{name}", get(person))
        .route("/post/{id}", get(post))
        .route("/comment/{id}", get(comment))
}

/// Routes that only ever serve JSON.
pub fn json_routes() -> Router {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/.well-known/nodeinfo", get(nodeinfo_links))
        .route("/nodeinfo/2.1", get(nodeinfo))
        .route("/c/{name}/outbox", get(group_outbox))
        .route("/c/{name}/followers", get(group_followers))
        .route("/c/{name}/featured", get(group_featured))
        .route("/c/{name}/moderators", get(group_moderators))
        .route("/u/{name}/outbox", get(person_outbox))
        .route("/post/{id}/context", get(post_context))
        .route("/site_outbox", get(site_outbox))
        .route("/inbox", post_method(crate::inbox::post_inbox))
        .route("/c/{name}/inbox", post_method(crate::inbox::post_inbox))
        .route("/u/{name}/inbox", post_method(crate::inbox::post_inbox))
        .route("/activities/{kind}/{id}", get(activity))
        .route("/activities/announce/{kind}/{id}", get(announce_activity))
}

fn ap<T: serde::Serialize>(doc: T) -> FederationJson<WithContext<T>> {
    FederationJson(WithContext::new(doc, context()))
}

fn gone<T: serde::Serialize>(doc: T) -> Response {
    (StatusCode::GONE, ap(doc)).into_response()
}

async fn instance_actor(data: Data<Cairn>) -> FederationResult<Response> {
    let site = site::get(&data).await?;
    let doc = convert::instance(&site, data.urls(), &data.settings().domain)?;
    Ok(ap(doc).into_response())
}

async fn group(Path(name): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    let community = communities::by_name(&data, &name).await?;
    if community.deleted {
        return Ok(gone(convert::tombstone(
            &community.ap_id,
            "Group",
            community.updated,
        )?));
    }
    Ok(ap(convert::group(&community, data.urls())?).into_response())
}

async fn person(Path(name): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    match cairn_core::accounts::person_by_name(&data, &name).await {
        Ok(p) => Ok(ap(convert::person(&p, data.urls())?).into_response()),
        Err(CoreError::Gone { .. }) => Ok(gone(convert::tombstone(
            &data.urls().person(&name),
            "Person",
            None,
        )?)),
        Err(e) => Err(e.into()),
    }
}

/// Parses a numeric id from the path; anything else names nothing.
fn parse_id(raw: &str, what: &'static str) -> FederationResult<i64> {
    raw.parse()
        .map_err(|_| CoreError::not_found(what, "Nothing has that id.").into())
}

async fn post(Path(raw): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    let id = parse_id(&raw, "post_not_found")?;
    let view = posts::get_view(&data, id, None).await?;
    if !view.post.local {
        // We only mirror remote posts; their origin is authoritative.
        return Ok(Redirect::permanent(&view.post.ap_id).into_response());
    }
    if view.post.deleted || view.post.removed {
        return Ok(gone(convert::tombstone(
            &view.post.ap_id,
            "Page",
            view.post.updated,
        )?));
    }
    Ok(ap(convert::page(&view)?).into_response())
}

async fn comment(Path(raw): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    let id = parse_id(&raw, "comment_not_found")?;
    let view = comments::get(&data, id).await?;
    if !view.comment.local {
        return Ok(Redirect::permanent(&view.comment.ap_id).into_response());
    }
    if view.comment.deleted || view.comment.removed {
        return Ok(gone(convert::tombstone(
            &view.comment.ap_id,
            "Note",
            view.comment.updated,
        )?));
    }
    Ok(ap(convert::note(&view)?).into_response())
}

async fn group_outbox(Path(name): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    let (newest, _) = posts::newest_and_featured(&data, &name, OUTBOX_SIZE).await?;
    let items = newest
        .iter()
        .map(|v| convert::announce_create_page(v, data.urls()))
        .collect::<FederationResult<Vec<_>>>()?;
    Ok(ap(OrderedCollection {
        kind: OrderedCollectionType::OrderedCollection,
        id: url(&data.urls().community_part(&name, "outbox"))?,
        total_items: Some(items.len() as i64),
        ordered_items: items,
    })
    .into_response())
}

async fn group_followers(
    Path(name): Path<String>,
    data: Data<Cairn>,
) -> FederationResult<Response> {
    let count = communities::member_count(&data, &name).await?;
    // Like Lemmy, only the count is public; the list of followers is nobody else's business.
    Ok(ap(Collection {
        kind: CollectionType::Collection,
        id: url(&data.urls().community_part(&name, "followers"))?,
        total_items: Some(count),
        items: vec![],
    })
    .into_response())
}

async fn group_featured(Path(name): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    let (_, featured) = posts::newest_and_featured(&data, &name, 0).await?;
    let items = featured
        .iter()
        .map(convert::page)
        .collect::<FederationResult<Vec<_>>>()?;
    Ok(ap(OrderedCollection {
        kind: OrderedCollectionType::OrderedCollection,
        id: url(&data.urls().community_part(&name, "featured"))?,
        total_items: Some(items.len() as i64),
        ordered_items: items,
    })
    .into_response())
}

async fn group_moderators(
    Path(name): Path<String>,
    data: Data<Cairn>,
) -> FederationResult<Response> {
    let mods = communities::moderators(&data, &name).await?;
    let items = mods
        .iter()
        .map(|p| url(&p.ap_id))
        .collect::<FederationResult<Vec<_>>>()?;
    Ok(ap(OrderedCollection {
        kind: OrderedCollectionType::OrderedCollection,
        id: url(&data.urls().community_part(&name, "moderators"))?,
        total_items: Some(items.len() as i64),
        ordered_items: items,
    })
    .into_response())
}

async fn person_outbox(Path(name): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    cairn_core::accounts::person_by_name(&data, &name).await?;
    // Lemmy serves an empty person outbox too: a person's posts live in their communities.
    Ok(ap(OrderedCollection::<serde_json::Value> {
        kind: OrderedCollectionType::OrderedCollection,
        id: url(&data.urls().person_outbox(&name))?,
        total_items: Some(0),
        ordered_items: vec![],
    })
    .into_response())
}

/// The thread of a post as an ordered collection (FEP-7888): the post, then its comments in the
/// order they were written, so others can backfill a conversation (FEP-f228).
async fn post_context(Path(raw): Path<String>, data: Data<Cairn>) -> FederationResult<Response> {
    let id = parse_id(&raw, "post_not_found")?;
    let view = posts::get_view(&data, id, None).await?;
    if !view.post.local {
        return Ok(Redirect::permanent(&format!("{}/context", view.post.ap_id)).into_response());
    }
    if view.post.deleted || view.post.removed {
        return Err(CoreError::gone("post_deleted", "This post was deleted.").into());
    }
    let mut items = vec![url(&view.post.ap_id)?];
    for ap_id in comments::thread_ap_ids(&data, id).await? {
        items.push(url(&ap_id)?);
    }
    Ok(ap(OrderedCollection {
        kind: OrderedCollectionType::OrderedCollection,
        id: url(&format!("{}/context", view.post.ap_id))?,
        total_items: Some(items.len() as i64),
        ordered_items: items,
    })
    .into_response())
}

/// An activity we published, at its id, so receivers can dereference it.
async fn activity(
    Path((kind, id)): Path<(String, String)>,
    data: Data<Cairn>,
) -> FederationResult<Response> {
    stored_activity(
        &data,
        &format!("{}/activities/{kind}/{id}", data.urls().base()),
    )
    .await
}

async fn announce_activity(
    Path((kind, id)): Path<(String, String)>,
    data: Data<Cairn>,
) -> FederationResult<Response> {
    stored_activity(
        &data,
        &format!("{}/activities/announce/{kind}/{id}", data.urls().base()),
    )
    .await
}

async fn stored_activity(data: &Data<Cairn>, ap_id: &str) -> FederationResult<Response> {
    let ap_id = ap_id.to_owned();
    let row = data
        .db()
        .run(move |conn| cairn_storage::activities::ActivityRow::by_ap_id(conn, &ap_id))
        .await
        .map_err(|e| FederationError::Core(e.into()))?
        .filter(|r| r.local)
        .ok_or_else(|| CoreError::not_found("activity_not_found", "No activity has that id."))?;
    if row.sensitive {
        // Follows and their answers say who follows whom; Lemmy hides them too.
        return Err(
            CoreError::forbidden("activity_private", "This activity is not public.").into(),
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&row.data).map_err(|e| FederationError::Internal(e.to_string()))?;
    Ok(FederationJson(json).into_response())
}

async fn site_outbox(data: Data<Cairn>) -> FederationResult<Response> {
    // The instance actor publishes nothing itself; the collection exists because the actor
    // document names it.
    Ok(ap(OrderedCollection::<serde_json::Value> {
        kind: OrderedCollectionType::OrderedCollection,
        id: url(&format!("{}/site_outbox", data.urls().base()))?,
        total_items: Some(0),
        ordered_items: vec![],
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct WebfingerQuery {
    resource: Option<String>,
}

async fn webfinger(
    Query(q): Query<WebfingerQuery>,
    data: Data<Cairn>,
) -> FederationResult<Response> {
    let resource = q.resource.ok_or_else(|| {
        FederationError::bad_request(
            "missing_resource",
            "Give the account to look up as ?resource=acct:name@host.",
        )
    })?;
    let domain = data.settings().domain.to_lowercase();
    let urls = data.urls();

    // The instance actor: by its URL (FEP-d556) or as acct:host@host (what Mastodon asks).
    if resource == urls.instance()
        || resource == urls.base()
        || resource.to_lowercase() == format!("acct:{domain}@{domain}")
    {
        let actor = url(&urls.instance())?;
        let mut doc = build_webfinger_response_with_type(
            resource,
            vec![(actor.clone(), Some("Application"))],
        );
        doc.links.push(WebfingerLink {
            rel: Some("https://www.w3.org/ns/activitystreams#Application".into()),
            kind: Some("application/activity+json".into()),
            href: Some(actor),
            ..Default::default()
        });
        return Ok(jrd(doc));
    }

    // A profile URL names its account too (Mastodon and Fedify ask this way when a URL lookup
    // needs the handle); a URL that is no actor of ours is simply not found.
    if resource.starts_with("https://") || resource.starts_with("http://") {
        let name = [urls.person(""), urls.community("")]
            .iter()
            .find_map(|prefix| resource.strip_prefix(prefix.as_str()))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                CoreError::not_found(
                    "account_not_found",
                    "No user or community has that URL here.",
                )
            })?;
        return account_links(&data, name, &domain).await;
    }
    let account = resource.strip_prefix("acct:").unwrap_or(&resource);
    let (name, host) = account.rsplit_once('@').ok_or_else(|| {
        FederationError::bad_request(
            "invalid_resource",
            "The resource must look like acct:name@host.",
        )
    })?;
    if host.to_lowercase() != domain {
        return Err(CoreError::not_found(
            "unknown_host",
            format!("This server is {domain}, not {host}."),
        )
        .into());
    }
    account_links(&data, name.trim_start_matches('@'), &domain).await
}

/// The WebFinger answer for the local person and community called `name`.
async fn account_links(
    data: &Data<Cairn>,
    name: &str,
    domain: &str,
) -> Result<Response, FederationError> {
    // Person first, Group last: Mastodon takes the last `self` link when names collide, and
    // the group is what people on Mastodon come to follow.
    let mut links = vec![];
    if let Ok(p) = cairn_core::accounts::person_by_name(data, name).await {
        links.push((url(&p.ap_id)?, Some("Person")));
    }
    if let Ok(c) = communities::by_name(data, name).await
        && !c.deleted
    {
        links.push((url(&c.ap_id)?, Some("Group")));
    }
    if links.is_empty() {
        return Err(CoreError::not_found(
            "account_not_found",
            format!("No user or community `{name}` here."),
        )
        .into());
    }
    let subject = format!("acct:{name}@{domain}");
    Ok(jrd(build_webfinger_response_with_type(subject, links)))
}

fn jrd(doc: Webfinger) -> Response {
    // The library's link type writes absent templates as `null`; drop them, as other servers do.
    let mut value = serde_json::to_value(&doc).unwrap_or_default();
    if let Some(links) = value.get_mut("links").and_then(|l| l.as_array_mut()) {
        for link in links {
            if let Some(obj) = link.as_object_mut() {
                obj.retain(|_, v| !v.is_null());
            }
        }
    }
    let mut resp = Json(value).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json"),
    );
    resp
}

async fn nodeinfo_links(data: Data<Cairn>) -> Json<serde_json::Value> {
    let base = data.urls().base();
    Json(json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": format!("{base}/nodeinfo/2.1")},
            {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": format!("{base}/")}
        ]
    }))
}

async fn nodeinfo(data: Data<Cairn>) -> FederationResult<Response> {
    let stats = site::stats(&data).await?;
    let settings = data.settings();
    let doc = json!({
        "version": "2.1",
        "software": {
            "name": "cairn",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": settings.registration_mode != cairn_core::RegistrationMode::Closed,
        "usage": {
            "users": {
                "total": stats.users,
                "activeHalfyear": stats.active_halfyear,
                "activeMonth": stats.active_month,
            },
            "localPosts": stats.posts,
            "localComments": stats.comments,
        },
        "metadata": {"nodeName": settings.site_name},
    });
    let mut resp = Json(doc).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        ),
    );
    Ok(resp)
}
