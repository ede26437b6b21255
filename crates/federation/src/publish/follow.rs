//! Planning follow events: Follows and their Undo from local people, and the answers of local
//! communities and people to Follows from other servers. Each goes to one inbox, unwrapped.

use cairn_core::Cairn;
use cairn_core::communities;
use cairn_core::events::{Event, EventKind};
use url::Url;

use super::{Built, Publication, activity_id, with_context};
use crate::convert::url;
use crate::error::FederationResult;
use crate::protocol::activities::{
    Follow, FollowAnswer, FollowAnswerType, FollowRef, FollowType, Undo, UndoType,
};

/// Plans a follow event: a Follow or its Undo from a local person to a remote community, or a
/// local community's Accept or Reject of a remote person's Follow.
pub(super) async fn plan_follow(
    ctx: &Cairn,
    event: &Event,
) -> FederationResult<Option<Publication>> {
    let (Some(community_id), Some(person_id)) = (event.community_id, event.target_person_id) else {
        return Ok(None);
    };
    let community = communities::by_id(ctx, community_id).await?;
    let person = cairn_core::accounts::person_by_id(ctx, person_id).await?;
    let community_url = url(&community.ap_id)?;
    let person_url = url(&person.ap_id)?;
    let follow = |id: Url| Follow {
        kind: FollowType::Follow,
        id,
        actor: person_url.clone(),
        object: community_url.clone(),
        to: vec![community_url.clone()],
    };
    let existing_follow = event
        .object_ap_id
        .as_deref()
        .and_then(|s| Url::parse(s).ok());
    let inbox_of = |shared: &Option<String>, own: &str| url(shared.as_deref().unwrap_or(own));
    let (inner, signer, inbox, records_follow) = match event.kind {
        EventKind::FollowRequested => {
            let f = follow(activity_id(ctx, "follow")?);
            let record = Some((community_id, person_id, f.id.to_string()));
            let built = Built {
                id: f.id.clone(),
                kind: "Follow",
                actor: person_url.clone(),
                json: with_context(&f)?,
            };
            (
                built,
                person_url.clone(),
                inbox_of(&community.shared_inbox_url, &community.inbox_url)?,
                record,
            )
        }
        EventKind::Unfollowed => {
            let f = follow(match existing_follow {
                Some(id) => id,
                None => activity_id(ctx, "follow")?,
            });
            let id = activity_id(ctx, "undo")?;
            let undo = Undo {
                kind: UndoType::Undo,
                id: id.clone(),
                actor: person_url.clone(),
                audience: None,
                object: f,
            };
            let built = Built {
                id,
                kind: "Undo",
                actor: person_url.clone(),
                json: with_context(&undo)?,
            };
            (
                built,
                person_url.clone(),
                inbox_of(&community.shared_inbox_url, &community.inbox_url)?,
                None,
            )
        }
        EventKind::FollowAccepted | EventKind::FollowRejected => {
            let Some(follow_id) = existing_follow else {
                return Ok(None);
            };
            let (kind, verb, name) = if event.kind == EventKind::FollowAccepted {
                (FollowAnswerType::Accept, "accept", "Accept")
            } else {
                (FollowAnswerType::Reject, "reject", "Reject")
            };
            let id = activity_id(ctx, verb)?;
            let answer = FollowAnswer {
                kind,
                id: id.clone(),
                actor: community_url.clone(),
                to: vec![person_url.clone()],
                object: FollowRef::Embedded(follow(follow_id)),
            };
            let built = Built {
                id,
                kind: name,
                actor: community_url.clone(),
                json: with_context(&answer)?,
            };
            (
                built,
                community_url.clone(),
                inbox_of(&person.shared_inbox_url, &person.inbox_url)?,
                None,
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(Publication {
        inner,
        announce: None,
        signer,
        inboxes: vec![inbox],
        sensitive: true,
        records_follow,
        extra: vec![],
    }))
}

/// Plans a follow between people: a local person's Follow of someone on another server or its
/// Undo, or a local person's Accept of a remote follower. The event's actor is the local person
/// and `target_person_id` the other one; the Follow id was chosen when the follow was stored.
pub(super) async fn plan_person_follow(
    ctx: &Cairn,
    event: &Event,
) -> FederationResult<Option<Publication>> {
    let (Some(other_id), Some(follow_id)) = (event.target_person_id, event.object_ap_id.as_deref())
    else {
        return Ok(None);
    };
    let local = cairn_core::accounts::person_by_id(ctx, event.actor_id).await?;
    let other = cairn_core::accounts::person_by_id(ctx, other_id).await?;
    let local_url = url(&local.ap_id)?;
    let other_url = url(&other.ap_id)?;
    let follow_id = url(follow_id)?;
    // The other person's own inbox: unlike community traffic, a follow concerns one actor, and
    // some servers (Mastodon among them) want follow answers in the personal inbox.
    let inbox = url(&other.inbox_url)?;
    let follow = |actor: &Url, object: &Url| Follow {
        kind: FollowType::Follow,
        id: follow_id.clone(),
        actor: actor.clone(),
        object: object.clone(),
        to: vec![object.clone()],
    };
    let (id, kind, json) = match event.kind {
        EventKind::PersonFollowRequested => (
            follow_id.clone(),
            "Follow",
            with_context(&follow(&local_url, &other_url))?,
        ),
        EventKind::PersonUnfollowed => {
            let id = activity_id(ctx, "undo")?;
            let undo = Undo {
                kind: UndoType::Undo,
                id: id.clone(),
                actor: local_url.clone(),
                audience: None,
                object: follow(&local_url, &other_url),
            };
            (id, "Undo", with_context(&undo)?)
        }
        EventKind::PersonFollowAccepted => {
            let id = activity_id(ctx, "accept")?;
            let answer = FollowAnswer {
                kind: FollowAnswerType::Accept,
                id: id.clone(),
                actor: local_url.clone(),
                to: vec![other_url.clone()],
                object: FollowRef::Embedded(follow(&other_url, &local_url)),
            };
            (id, "Accept", with_context(&answer)?)
        }
        _ => return Ok(None),
    };
    Ok(Some(Publication {
        inner: Built {
            id,
            kind,
            actor: local_url.clone(),
            json,
        },
        announce: None,
        signer: local_url,
        inboxes: vec![inbox],
        sensitive: true,
        records_follow: None,
        extra: vec![],
    }))
}
