//! The publisher: turns committed outbox events into activities and durable delivery rows.
//!
//! For a local community the author's activity is wrapped, unchanged, in the community's
//! Announce and queued for every remote follower's (shared) inbox, as FEP-1b12 asks; for a
//! remote community the author's activity is queued for the community's inbox. The activity
//! rows, the deliveries and the event's processed mark are written in one transaction, so a
//! crash never loses or doubles work.

mod follow;

use std::time::Duration;

use cairn_core::events::{Event, EventKind};
use cairn_core::model::Community;
use cairn_core::{Cairn, CoreError, comments, communities, posts};
use cairn_storage::activities::{ActivityRow, NewActivity};
use cairn_storage::db_now;
use cairn_storage::deliveries::{self, NewDelivery};
use cairn_storage::events::EventRow;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::convert::{self, url};
use crate::error::{FederationError, FederationResult};
use crate::protocol::activities::{Delete, DeleteType, Undo, UndoType, Vote, VoteType};
use crate::protocol::collections::{Announce, AnnounceType, CreateOrUpdate, CreateOrUpdateType};
use crate::protocol::{PUBLIC, context};

/// An activity ready to store: its id, type, actor and JSON with `@context`.
#[derive(Debug, Clone)]
pub struct Built {
    pub id: Url,
    pub kind: &'static str,
    pub actor: Url,
    pub json: Value,
}

fn with_context<T: Serialize>(doc: &T) -> FederationResult<Value> {
    let mut v = serde_json::to_value(doc).map_err(|e| FederationError::Internal(e.to_string()))?;
    if let Value::Object(map) = &mut v {
        map.insert("@context".into(), context());
    }
    Ok(v)
}

fn activity_id(ctx: &Cairn, kind: &str) -> FederationResult<Url> {
    url(&format!(
        "{}/activities/{kind}/{}",
        ctx.urls().base(),
        uuid::Uuid::new_v4()
    ))
}

/// What one event becomes: the author's activity and, for local communities, the Announce.
#[derive(Debug, Clone)]
pub struct Publication {
    pub inner: Built,
    pub announce: Option<Built>,
    /// Who signs the deliveries, and where they go.
    pub signer: Url,
    pub inboxes: Vec<Url>,
    /// Follows and their answers say who follows whom; they are not served to others.
    pub sensitive: bool,
    /// A Follow whose id the membership must remember: (community, person, follow id).
    pub records_follow: Option<(i64, i64, String)>,
    /// Further activities with their own recipients, such as the compatibility Announce of a
    /// bare Page that Mastodon needs.
    pub extra: Vec<(Built, Vec<Url>)>,
}

/// Builds the author's activity for an event, or `None` when the event's object is gone in a
/// way that leaves nothing to say (for example a post deleted before its Create went out).
pub async fn build_inner(
    ctx: &Cairn,
    event: &Event,
    community: &Community,
) -> FederationResult<Option<Built>> {
    let community_id = url(&community.ap_id)?;
    let public = url(PUBLIC)?;
    let actor_person = cairn_core::accounts::person_by_id(ctx, event.actor_id).await?;
    let actor = url(&actor_person.ap_id)?;
    let built = match event.kind {
        EventKind::PostCreated | EventKind::PostUpdated => {
            let Some(post_id) = event.post_id else {
                return Ok(None);
            };
            let view = posts::get_view(ctx, post_id, None).await?;
            if view.post.deleted || view.post.removed {
                return Ok(None);
            }
            let (kind, verb) = if event.kind == EventKind::PostCreated {
                (CreateOrUpdateType::Create, "create")
            } else {
                (CreateOrUpdateType::Update, "update")
            };
            let id = activity_id(ctx, verb)?;
            let doc = CreateOrUpdate {
                kind,
                id: id.clone(),
                actor: actor.clone(),
                to: vec![community_id.clone(), public],
                cc: vec![community_id.clone()],
                audience: Some(community_id.clone()),
                object: convert::page(&view)?,
            };
            Built {
                id,
                kind: if verb == "create" { "Create" } else { "Update" },
                actor,
                json: with_context(&doc)?,
            }
        }
        EventKind::CommentCreated | EventKind::CommentUpdated => {
            let Some(comment_id) = event.comment_id else {
                return Ok(None);
            };
            let view = comments::get(ctx, comment_id).await?;
            if view.comment.deleted || view.comment.removed {
                return Ok(None);
            }
            let note = convert::note(&view)?;
            let (kind, verb) = if event.kind == EventKind::CommentCreated {
                (CreateOrUpdateType::Create, "create")
            } else {
                (CreateOrUpdateType::Update, "update")
            };
            let id = activity_id(ctx, verb)?;
            let doc = CreateOrUpdate {
                kind,
                id: id.clone(),
                actor: actor.clone(),
                to: vec![community_id.clone(), public],
                cc: note.cc.clone(),
                audience: Some(community_id.clone()),
                object: note,
            };
            Built {
                id,
                kind: if verb == "create" { "Create" } else { "Update" },
                actor,
                json: with_context(&doc)?,
            }
        }
        EventKind::PostDeleted
        | EventKind::PostRemoved
        | EventKind::CommentDeleted
        | EventKind::CommentRemoved => {
            let object = match event.kind {
                EventKind::PostDeleted | EventKind::PostRemoved => {
                    let Some(id) = event.post_id else {
                        return Ok(None);
                    };
                    url(&posts::get_view(ctx, id, None).await?.post.ap_id)?
                }
                _ => {
                    let Some(id) = event.comment_id else {
                        return Ok(None);
                    };
                    url(&comments::get(ctx, id).await?.comment.ap_id)?
                }
            };
            let removal = matches!(
                event.kind,
                EventKind::PostRemoved | EventKind::CommentRemoved
            );
            let id = activity_id(ctx, "delete")?;
            let doc = Delete {
                kind: DeleteType::Delete,
                id: id.clone(),
                actor: actor.clone(),
                to: vec![public],
                cc: vec![community_id.clone()],
                audience: Some(community_id.clone()),
                object,
                // Lemmy reads a summary, even an empty one, as a moderator's removal.
                summary: removal.then(String::new),
            };
            Built {
                id,
                kind: "Delete",
                actor,
                json: with_context(&doc)?,
            }
        }
        EventKind::PostVoted | EventKind::CommentVoted => {
            let object = if event.kind == EventKind::PostVoted {
                let Some(id) = event.post_id else {
                    return Ok(None);
                };
                url(&posts::get_view(ctx, id, None).await?.post.ap_id)?
            } else {
                let Some(id) = event.comment_id else {
                    return Ok(None);
                };
                url(&comments::get(ctx, id).await?.comment.ap_id)?
            };
            let score = event.score.unwrap_or(0);
            let vote = |score: i32| -> FederationResult<Vote> {
                let kind = if score > 0 {
                    VoteType::Like
                } else {
                    VoteType::Dislike
                };
                let verb = if score > 0 { "like" } else { "dislike" };
                Ok(Vote {
                    kind,
                    id: activity_id(ctx, verb)?,
                    actor: actor.clone(),
                    object: object.clone(),
                    audience: Some(community_id.clone()),
                })
            };
            if score == 0 {
                // Withdrawing: undo a vote of the direction that was withdrawn, by the id it
                // was sent with, so that the embedded vote dereferences (Fedify checks).
                let mut undone = vote(event.previous_score.unwrap_or(1))?;
                let kind = format!("{:?}", undone.kind);
                let (who, what) = (undone.actor.to_string(), undone.object.to_string());
                let sent = ctx
                    .db()
                    .run(move |conn| ActivityRow::latest_local_about(conn, &who, &kind, &what))
                    .await
                    .map_err(|e| FederationError::Core(e.into()))?;
                if let Some(id) = sent.and_then(|s| Url::parse(&s).ok()) {
                    undone.id = id;
                }
                let id = activity_id(ctx, "undo")?;
                let doc = Undo {
                    kind: UndoType::Undo,
                    id: id.clone(),
                    actor: actor.clone(),
                    audience: Some(community_id.clone()),
                    object: undone,
                };
                Built {
                    id,
                    kind: "Undo",
                    actor,
                    json: with_context(&doc)?,
                }
            } else {
                let doc = vote(score)?;
                let kind = if score > 0 { "Like" } else { "Dislike" };
                Built {
                    id: doc.id.clone(),
                    kind,
                    actor,
                    json: with_context(&doc)?,
                }
            }
        }
        // Follow events are planned by `plan_follow`.
        EventKind::FollowRequested
        | EventKind::Unfollowed
        | EventKind::FollowAccepted
        | EventKind::FollowRejected
        | EventKind::PersonFollowRequested
        | EventKind::PersonUnfollowed
        | EventKind::PersonFollowAccepted
        | EventKind::Relay => return Ok(None),
    };
    Ok(Some(built))
}

/// Wraps an activity in a local community's Announce (FEP-1b12): the inner activity unchanged.
pub fn announce(ctx: &Cairn, community: &Community, inner: &Built) -> FederationResult<Built> {
    let community_id = url(&community.ap_id)?;
    let followers = url(&ctx.urls().community_part(&community.name, "followers"))?;
    let id = url(&format!(
        "{}/activities/announce/{}/{}",
        ctx.urls().base(),
        inner.kind.to_lowercase(),
        uuid::Uuid::new_v4()
    ))?;
    let mut object = inner.json.clone();
    if let Value::Object(map) = &mut object {
        map.remove("@context");
    }
    let doc = Announce {
        kind: AnnounceType::Announce,
        id: id.clone(),
        actor: community_id.clone(),
        to: vec![url(PUBLIC)?],
        cc: vec![followers],
        object,
    };
    Ok(Built {
        id,
        kind: "Announce",
        actor: community_id,
        json: with_context(&doc)?,
    })
}

/// Plans a relay: a local community Announces an activity it received, unchanged, to its
/// followers (FEP-1b12).
async fn plan_relay(ctx: &Cairn, event: &Event) -> FederationResult<Option<Publication>> {
    let (Some(community_id), Some(activity)) = (event.community_id, event.object_ap_id.clone())
    else {
        return Ok(None);
    };
    let community = communities::by_id(ctx, community_id).await?;
    let stored = ctx
        .db()
        .run(move |conn| ActivityRow::by_ap_id(conn, &activity))
        .await
        .map_err(|e| FederationError::Core(e.into()))?;
    let Some(stored) = stored.filter(|s| !s.data.is_empty()) else {
        return Ok(None);
    };
    let json: Value =
        serde_json::from_str(&stored.data).map_err(|e| FederationError::Internal(e.to_string()))?;
    let inner = Built {
        id: url(&stored.ap_id)?,
        kind: match stored.kind.as_str() {
            "Create" => "Create",
            "Update" => "Update",
            "Delete" => "Delete",
            "Like" => "Like",
            "Dislike" => "Dislike",
            _ => "Undo",
        },
        actor: url(&stored.actor_ap_id)?,
        json,
    };
    let inboxes: Vec<Url> = communities::remote_follower_inboxes(ctx, community.id)
        .await?
        .iter()
        .filter_map(|i| Url::parse(i).ok())
        .collect();
    if inboxes.is_empty() {
        return Ok(None);
    }
    let announce = announce(ctx, &community, &inner)?;
    Ok(Some(Publication {
        signer: announce.actor.clone(),
        // Only the Announce is ours to store; the inner activity is already stored as received.
        inner: announce,
        announce: None,
        inboxes,
        sensitive: false,
        records_follow: None,
        extra: vec![],
    }))
}

/// The hosts among `inboxes` known to run microblog software.
async fn microblog_hosts(ctx: &Cairn, inboxes: &[Url]) -> FederationResult<Vec<String>> {
    hosts_running(ctx, inboxes, crate::software::is_microblog).await
}

/// The hosts among `inboxes` known to run software for which `pred` holds.
async fn hosts_running(
    ctx: &Cairn,
    inboxes: &[Url],
    pred: fn(&str) -> bool,
) -> FederationResult<Vec<String>> {
    let hosts: Vec<String> = inboxes.iter().map(host_of).collect();
    let known = ctx
        .db()
        .run(move |conn| cairn_storage::instances::InstanceRow::software_of(conn, &hosts))
        .await
        .map_err(|e| FederationError::Core(e.into()))?;
    Ok(known
        .into_iter()
        .filter(|(_, software)| pred(software))
        .map(|(host, _)| host)
        .collect())
}

/// The compatibility Announce of a bare Page (federation.md 1.8).
fn compat_announce(ctx: &Cairn, community: &Community, page: &Value) -> FederationResult<Built> {
    let community_id = url(&community.ap_id)?;
    let followers = url(&ctx.urls().community_part(&community.name, "followers"))?;
    let id = url(&format!(
        "{}/activities/announce/page/{}",
        ctx.urls().base(),
        uuid::Uuid::new_v4()
    ))?;
    let doc = Announce {
        kind: AnnounceType::Announce,
        id: id.clone(),
        actor: community_id.clone(),
        to: vec![url(PUBLIC)?],
        cc: vec![followers],
        object: page.clone(),
    };
    Ok(Built {
        id,
        kind: "Announce",
        actor: community_id,
        json: with_context(&doc)?,
    })
}

/// Plans what an event publishes, and to whom.
pub async fn plan(ctx: &Cairn, event: &Event) -> FederationResult<Option<Publication>> {
    if event.kind == EventKind::Relay {
        return plan_relay(ctx, event).await;
    }
    if matches!(
        event.kind,
        EventKind::FollowRequested
            | EventKind::Unfollowed
            | EventKind::FollowAccepted
            | EventKind::FollowRejected
    ) {
        return follow::plan_follow(ctx, event).await;
    }
    if matches!(
        event.kind,
        EventKind::PersonFollowRequested
            | EventKind::PersonUnfollowed
            | EventKind::PersonFollowAccepted
    ) {
        return follow::plan_person_follow(ctx, event).await;
    }
    let Some(community_id) = event.community_id else {
        return Ok(None);
    };
    let community = communities::by_id(ctx, community_id).await?;
    let inboxes: Vec<Url> = if community.local {
        communities::remote_follower_inboxes(ctx, community.id)
            .await?
            .iter()
            .filter_map(|i| Url::parse(i).ok())
            .collect()
    } else {
        vec![url(community
            .shared_inbox_url
            .as_deref()
            .unwrap_or(&community.inbox_url))?]
    };
    // Microblog users follow a group from their home timeline and complain of floods, so
    // their servers get posts but not the comments and votes (Lemmy #2224, Mastodon #18069).
    let is_post = matches!(
        event.kind,
        EventKind::PostCreated
            | EventKind::PostUpdated
            | EventKind::PostDeleted
            | EventKind::PostRemoved
    );
    let inboxes = if community.local && !is_post {
        let microblogs = microblog_hosts(ctx, &inboxes).await?;
        inboxes
            .into_iter()
            .filter(|i| !microblogs.contains(&host_of(i)))
            .collect()
    } else {
        inboxes
    };
    if inboxes.is_empty() {
        return Ok(None);
    }
    let Some(inner) = build_inner(ctx, event, &community).await? else {
        return Ok(None);
    };
    let mut extra = vec![];
    let (announce, signer) = if community.local {
        let a = announce(ctx, &community, &inner)?;
        let signer = a.actor.clone();
        // Mastodon ignores an Announce of a Create; it shows the group boosting the post when
        // it receives an Announce of the Page itself, as Lemmy sends for new and edited posts.
        if matches!(event.kind, EventKind::PostCreated | EventKind::PostUpdated)
            && let Some(page) = inner.json.get("object")
        {
            // Threadiverse servers read the Announce of the Create; the copy would cost them,
            // and us, a second signed request per post for nothing.
            let threadiverse =
                hosts_running(ctx, &inboxes, crate::software::is_threadiverse).await?;
            let compat_inboxes: Vec<Url> = inboxes
                .iter()
                .filter(|i| !threadiverse.contains(&host_of(i)))
                .cloned()
                .collect();
            if !compat_inboxes.is_empty() {
                extra.push((compat_announce(ctx, &community, page)?, compat_inboxes));
            }
        }
        (Some(a), signer)
    } else {
        let signer = inner.actor.clone();
        (None, signer)
    };
    Ok(Some(Publication {
        inner,
        announce,
        signer,
        inboxes,
        sensitive: false,
        records_follow: None,
        extra,
    }))
}

fn new_activity(
    b: &Built,
    sensitive: bool,
    now: chrono::NaiveDateTime,
) -> FederationResult<NewActivity> {
    Ok(NewActivity {
        ap_id: b.id.to_string(),
        kind: b.kind.to_owned(),
        actor_ap_id: b.actor.to_string(),
        data: serde_json::to_string(&b.json)
            .map_err(|e| FederationError::Internal(e.to_string()))?,
        local: true,
        sensitive,
        published: now,
    })
}

/// Host (with port) of an inbox, the unit of per-instance delivery bookkeeping.
pub fn host_of(inbox: &Url) -> String {
    convert::handle_host(inbox)
}

/// Publishes one event: plans it, then stores activities and deliveries and marks the event
/// processed in one transaction. Returns the number of deliveries queued, or `None` when
/// another process holds the event.
pub async fn publish_one(ctx: &Cairn, event: Event) -> FederationResult<Option<usize>> {
    let planned = match plan(ctx, &event).await {
        Ok(p) => p,
        // The object vanished (hard-deleted with its community, say): nothing left to send.
        Err(FederationError::Core(CoreError::NotFound { .. })) => None,
        Err(e) => return Err(e),
    };
    let now = db_now();
    let rows = match &planned {
        Some(p) => {
            let mut acts = vec![new_activity(&p.inner, p.sensitive, now)?];
            if let Some(a) = &p.announce {
                acts.push(new_activity(a, p.sensitive, now)?);
            }
            acts
        }
        None => vec![],
    };
    let targets: Vec<(String, String)> = planned
        .as_ref()
        .map(|p| {
            p.inboxes
                .iter()
                .map(|i| (i.to_string(), host_of(i)))
                .collect()
        })
        .unwrap_or_default();
    let signer = planned
        .as_ref()
        .map(|p| p.signer.to_string())
        .unwrap_or_default();
    let records_follow = planned.as_ref().and_then(|p| p.records_follow.clone());
    let extra: Vec<(NewActivity, Vec<(String, String)>)> = match &planned {
        Some(p) => p
            .extra
            .iter()
            .map(|(b, inboxes)| {
                let targets = inboxes
                    .iter()
                    .map(|i| (i.to_string(), host_of(i)))
                    .collect();
                new_activity(b, p.sensitive, now).map(|a| (a, targets))
            })
            .collect::<FederationResult<_>>()?,
        None => vec![],
    };
    let event_id = event.id;
    ctx.db()
        .transaction(move |conn| -> Result<Option<usize>, CoreError> {
            // Another process may hold or have published it; then there is nothing to do.
            if EventRow::claim(conn, event_id)?.is_none() {
                return Ok(None);
            }
            if let Some((community_id, person_id, follow_id)) = &records_follow {
                cairn_storage::communities::MemberRow::set_follow_activity(
                    conn,
                    *community_id,
                    *person_id,
                    follow_id,
                )?;
            }
            let mut sent_id = None;
            for row in &rows {
                sent_id = Some(ActivityRow::insert(conn, row)?);
            }
            let deliveries_for =
                |activity_id: i64, targets: &[(String, String)]| -> Vec<NewDelivery> {
                    targets
                        .iter()
                        .map(|(inbox, host)| NewDelivery {
                            activity_id,
                            inbox_url: inbox.clone(),
                            host: host.clone(),
                            signer_ap_id: signer.clone(),
                            next_attempt_at: now,
                            created_at: now,
                        })
                        .collect()
                };
            let mut queued = 0;
            if let Some(activity_id) = sent_id {
                queued += deliveries::enqueue(conn, &deliveries_for(activity_id, &targets))?;
                for (activity, extra_targets) in &extra {
                    let id = ActivityRow::insert(conn, activity)?;
                    queued += deliveries::enqueue(conn, &deliveries_for(id, extra_targets))?;
                }
            }
            EventRow::mark_processed(conn, event_id, now)?;
            Ok(Some(queued))
        })
        .await
        .map_err(FederationError::from)
}

/// Publishes every pending event, oldest first; returns the number of deliveries queued.
pub async fn publish_pending(ctx: &Cairn) -> FederationResult<usize> {
    publish_pending_waking(ctx, None).await
}

/// [`publish_pending`], waking the delivery worker after every batch that queued deliveries.
/// A burst of changes can keep the publisher busy for seconds; without a wake-up per batch the
/// worker would sleep through all of it and start only once the last event was published.
async fn publish_pending_waking(
    ctx: &Cairn,
    deliveries_ready: Option<&tokio::sync::Notify>,
) -> FederationResult<usize> {
    let mut total = 0;
    loop {
        let batch = ctx
            .db()
            .run(|conn| EventRow::pending(conn, 50))
            .await
            .map_err(|e| FederationError::Core(e.into()))?;
        if batch.is_empty() {
            return Ok(total);
        }
        let mut progress = false;
        let before = total;
        for row in batch {
            let event_id = row.id;
            let result = match Event::try_from(row) {
                Ok(event) => publish_one(ctx, event).await,
                Err(e) => Err(e.into()),
            };
            match result {
                Ok(Some(n)) => {
                    total += n;
                    progress = true;
                }
                Ok(None) => {}
                // The database failing is passing trouble: stop and try the batch again later.
                Err(e @ FederationError::Core(CoreError::Storage(_))) => return Err(e),
                // Anything else would fail the same way forever and hold back every later
                // event, so the event is set aside, loudly.
                Err(e) => {
                    tracing::error!(event = event_id, error = %e, "cannot publish an outbox event; skipping it");
                    ctx.db()
                        .run(move |conn| EventRow::mark_processed(conn, event_id, db_now()))
                        .await
                        .map_err(|e| FederationError::Core(e.into()))?;
                    progress = true;
                }
            }
        }
        if total > before
            && let Some(ready) = deliveries_ready
        {
            ready.notify_one();
        }
        // Everything left is held by other processes, which will publish it.
        if !progress {
            return Ok(total);
        }
    }
}

/// Deletes history nobody reads any more: processed events after a day, and received
/// activities after thirty days (a redelivery that late is not expected).
async fn prune(ctx: &Cairn) {
    let now = db_now();
    let result = ctx
        .db()
        .run(
            move |conn| -> Result<(usize, usize), cairn_storage::StorageError> {
                let events = EventRow::prune_processed(conn, now - chrono::Duration::days(1))?;
                let received = ActivityRow::prune_received(conn, now - chrono::Duration::days(30))?;
                Ok((events, received))
            },
        )
        .await;
    match result {
        Ok((events, received)) => tracing::debug!(events, received, "pruned federation history"),
        Err(e) => tracing::warn!(error = %e, "cannot prune federation history"),
    }
}

/// Runs the publisher until the task is aborted: publishes whenever a change is committed and
/// wakes the delivery worker when it queued work.
pub async fn run(ctx: Cairn, deliveries_ready: std::sync::Arc<tokio::sync::Notify>) {
    let signal = ctx.outbox_signal();
    let mut last_prune = std::time::Instant::now();
    loop {
        if last_prune.elapsed() > Duration::from_secs(3600) {
            last_prune = std::time::Instant::now();
            prune(&ctx).await;
        }
        match publish_pending_waking(&ctx, Some(&deliveries_ready)).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deliveries = n, "queued deliveries"),
            Err(e) => {
                tracing::warn!(error = %e, "publishing failed; retrying shortly");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        }
        // Woken at once by commits in this process. The timeout only matters for events
        // committed by another process sharing a PostgreSQL database.
        let _ = tokio::time::timeout(Duration::from_secs(60), signal.notified()).await;
    }
}
