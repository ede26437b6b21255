//! The effects of decided activities, applied through core's use cases.
//!
//! Content changes (posts, comments, votes, deletions) carry a [`Receipt`], which core records
//! in the same transaction as the change: the inbox row is marked applied and the received
//! activity is stored for relaying, so the change and the record of it commit together.
//! Follows and actor refreshes are idempotent (a second application changes nothing but to
//! send the same answer again), so their verdict is recorded after them.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use cairn_core::inbound::{self, Receipt, ReceivedActivity};
use cairn_core::{Cairn, CoreError, follows, people, remote};
use cairn_storage::communities::MemberRow;
use url::Url;

use crate::error::FederationError;
use crate::objects::{ApubCommunity, ApubPerson};
use crate::rules::{Effect, Received};

/// Whether applying recorded the verdict itself (in the transaction of the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    InTransaction,
    NotYet,
}

/// The receipt of `activity`, applied for the inbox row `inbound_id`.
pub fn receipt(activity: &Received, inbound_id: Option<i64>) -> Receipt {
    Receipt {
        inbound_id,
        activity: Some(ReceivedActivity {
            ap_id: activity.id.to_string(),
            kind: activity.type_name.clone(),
            actor_ap_id: activity.actor.to_string(),
            json: activity.raw.to_string(),
        }),
    }
}

async fn person(data: &Data<Cairn>, id: &Url) -> Result<ApubPerson, FederationError> {
    ObjectId::<ApubPerson>::from(id.clone())
        .dereference(data)
        .await
}

/// Applies `effect` on behalf of `activity` (the innermost activity of what was delivered),
/// for the inbox row `inbound_id`.
pub async fn apply(
    data: &Data<Cairn>,
    activity: &Received,
    effect: Effect,
    inbound_id: Option<i64>,
) -> Result<Recorded, FederationError> {
    let actor = &activity.actor;
    match effect {
        Effect::FollowCommunity { community } => {
            let follower = person(data, actor).await?;
            let community = local_community(data, &community).await?;
            let decision = follows::receive_follow(
                data,
                community.id,
                follower.person.id,
                activity.id.as_str(),
            )
            .await?;
            tracing::info!(follower = %actor, community = %community.ap_id, ?decision, "received Follow");
            Ok(Recorded::NotYet)
        }
        Effect::FollowPerson { person: followee } => {
            let follower = person(data, actor).await?;
            let followee = local_person(data, &followee).await?;
            people::receive_follow(data, followee.id, follower.person.id, activity.id.as_str())
                .await?;
            Ok(Recorded::NotYet)
        }
        Effect::Unfollow { followee } => {
            let Some(follower) = remote::person_by_ap_id(data, actor.as_str()).await? else {
                return Ok(Recorded::NotYet);
            };
            if let Some(c) = remote::community_by_ap_id(data, followee.as_str()).await?
                && c.local
            {
                follows::receive_unfollow(data, c.id, follower.id).await?;
            } else {
                let p = local_person(data, &followee).await?;
                people::receive_unfollow(data, p.id, follower.id).await?;
            }
            Ok(Recorded::NotYet)
        }
        Effect::Answer { follow, accepted } => {
            let id = follow.to_string();
            let member = data
                .db()
                .run(move |conn| MemberRow::by_follow_activity(conn, &id))
                .await
                .map_err(|e| FederationError::Core(e.into()))?;
            match member {
                Some(m) => {
                    follows::receive_answer(data, m.community_id, m.person_id, accepted).await?
                }
                None => {
                    if let Some((follower, followee)) =
                        people::by_follow_id(data, follow.as_str()).await?
                    {
                        people::receive_answer(data, follower.id, followee.id, accepted).await?;
                    }
                }
            }
            tracing::info!(from = %actor, accepted, "received an answer to a Follow");
            Ok(Recorded::NotYet)
        }
        Effect::RefreshActor { actor, group } => {
            if group {
                ObjectId::<ApubCommunity>::from(actor)
                    .dereference_forced(data)
                    .await?;
            } else {
                ObjectId::<ApubPerson>::from(actor)
                    .dereference_forced(data)
                    .await?;
            }
            Ok(Recorded::NotYet)
        }
        Effect::Upsert { object, community } => {
            let community = remote::community_by_ap_id(data, &community)
                .await?
                .ok_or_else(|| {
                    FederationError::Core(CoreError::not_found(
                        "no_community",
                        "The community is not stored here.",
                    ))
                })?;
            crate::fetch::store_object(
                data,
                object.json,
                actor,
                Some(&community),
                receipt(activity, inbound_id),
                0,
            )
            .await?;
            Ok(Recorded::InTransaction)
        }
        Effect::Vote { object, score } => {
            let voter = person(data, actor).await?;
            inbound::vote(
                data,
                voter.person.id,
                object.as_str(),
                score,
                receipt(activity, inbound_id),
            )
            .await?;
            Ok(Recorded::InTransaction)
        }
        Effect::Delete { object, how } => {
            let by = person(data, actor).await?;
            inbound::delete(
                data,
                by.person.id,
                object.as_str(),
                how,
                receipt(activity, inbound_id),
            )
            .await?;
            Ok(Recorded::InTransaction)
        }
    }
}

async fn local_community(
    data: &Data<Cairn>,
    id: &Url,
) -> Result<cairn_core::model::Community, FederationError> {
    match remote::community_by_ap_id(data, id.as_str()).await? {
        Some(c) if c.local => Ok(c),
        _ => Err(FederationError::Core(CoreError::not_found(
            "followee_not_found",
            format!("{id} is not a community on this server"),
        ))),
    }
}

async fn local_person(
    data: &Data<Cairn>,
    id: &Url,
) -> Result<cairn_core::model::Person, FederationError> {
    match remote::person_by_ap_id(data, id.as_str()).await? {
        Some(p) if p.local && !p.deleted => Ok(p),
        _ => Err(FederationError::Core(CoreError::not_found(
            "followee_not_found",
            format!("{id} is not a person on this server"),
        ))),
    }
}
