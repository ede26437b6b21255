//! Following across servers: local people following remote communities, and people on other
//! servers following local communities, with each community's membership mode applied.
//!
//! Every change writes an outbox event in its transaction; the federation publisher turns the
//! events into Follow, Undo, Accept and Reject activities.

use cairn_storage::communities::{CommunityRow, MemberRow};
use cairn_storage::persons::PersonRow;
use cairn_storage::{AnyConn, db_now};

use crate::communities::{self, is_moderator};
use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::events::{EventKind, Subject, emit};
use crate::model::{AuthUser, Community, MemberState, MembershipMode, Person, Role};

fn member(
    community_id: i64,
    person_id: i64,
    state: MemberState,
    follow: Option<String>,
) -> MemberRow {
    MemberRow {
        community_id,
        person_id,
        role: Role::Member.as_str().to_owned(),
        state: state.as_str().to_owned(),
        follow_activity_id: follow,
        invited_by: None,
        created_at: db_now(),
    }
}

fn follow_subject(community_id: i64, person_id: i64, follow: Option<String>) -> Subject {
    Subject {
        community_id: Some(community_id),
        target_person_id: Some(person_id),
        object_ap_id: follow,
        ..Subject::default()
    }
}

/// A local user follows a community named `name@host`: the membership stays pending until the
/// community accepts. A local name (or our own host) is an ordinary join.
pub async fn follow(ctx: &Cairn, user: &AuthUser, handle: &str) -> CoreResult<MemberState> {
    let community = communities::resolve(ctx, handle).await?;
    if community.local {
        return communities::join(ctx, user, &community.name).await;
    }
    let person_id = user.person_id;
    let community_id = community.id;
    let (state, first) = ctx
        .db()
        .transaction(move |conn| -> CoreResult<(MemberState, bool)> {
            if let Some(m) = MemberRow::get(conn, community_id, person_id)? {
                return Ok((m.state.parse().unwrap_or(MemberState::Pending), false));
            }
            // Only local people are members of a remote community here, so no member at all
            // means this is the first local follower.
            let first = MemberRow::count(conn, community_id, "active")? == 0
                && MemberRow::count(conn, community_id, "pending")? == 0;
            MemberRow::insert(
                conn,
                &member(community_id, person_id, MemberState::Pending, None),
            )?;
            emit(
                conn,
                EventKind::FollowRequested,
                person_id,
                follow_subject(community_id, person_id, None),
            )?;
            Ok((MemberState::Pending, first))
        })
        .await?;
    ctx.notify_outbox();
    if first {
        spawn_backfill(ctx, community);
    }
    Ok(state)
}

/// Fills a newly followed remote community with its recent and featured posts, in the
/// background: the follower's request does not wait on another server, and a failed backfill
/// only means the community fills up as new posts arrive.
fn spawn_backfill(ctx: &Cairn, community: Community) {
    let Some(resolver) = ctx.resolver().cloned() else {
        return;
    };
    tokio::spawn(async move {
        match resolver.backfill(&community).await {
            Ok(n) => tracing::info!(community = %community.ap_id, posts = n, "backfilled"),
            Err(e) => {
                tracing::warn!(community = %community.ap_id, error = %e, "backfill failed")
            }
        }
    });
}

/// A local user stops following a community named `name@host` (or leaves a local one).
pub async fn unfollow(ctx: &Cairn, user: &AuthUser, handle: &str) -> CoreResult<()> {
    let community = communities::resolve(ctx, handle).await?;
    if community.local {
        return communities::leave(ctx, user, &community.name).await;
    }
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let Some(m) = MemberRow::get(conn, community.id, person_id)? else {
                return Err(CoreError::conflict(
                    "not_a_member",
                    "You do not follow this community.",
                ));
            };
            MemberRow::delete(conn, community.id, person_id)?;
            emit(
                conn,
                EventKind::Unfollowed,
                person_id,
                follow_subject(community.id, person_id, m.follow_activity_id),
            )?;
            Ok(())
        })
        .await?;
    ctx.notify_outbox();
    Ok(())
}

/// What a local community decided about a remote Follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowDecision {
    /// Accepted: the person is a member and receives the community's activities.
    Accepted,
    /// Waiting for a moderator (approval communities).
    Pending,
    /// Refused (invite-only communities, for people not invited).
    Rejected,
}

/// A person from another server follows a local community, with Follow activity `follow_id`.
/// Open communities accept at once, approval communities keep the follow pending, invite
/// communities refuse unless the person was invited. Following again answers again.
pub async fn receive_follow(
    ctx: &Cairn,
    community_id: i64,
    person_id: i64,
    follow_id: &str,
) -> CoreResult<FollowDecision> {
    let follow_id = follow_id.to_owned();
    let decision = ctx
        .db()
        .transaction(move |conn| -> CoreResult<FollowDecision> {
            let community = CommunityRow::by_id(conn, community_id)?
                .filter(|c| c.local && !c.deleted)
                .ok_or_else(|| {
                    CoreError::not_found("community_not_found", "No such community here.")
                })?;
            let mode: MembershipMode = community.membership.parse()?;
            let existing = MemberRow::get(conn, community_id, person_id)?;
            let decision = match (existing.as_ref().map(|m| m.state.as_str()), mode) {
                (Some("active"), _) => FollowDecision::Accepted,
                (Some("invited"), _) | (None, MembershipMode::Open) => FollowDecision::Accepted,
                (Some("pending"), _) | (None, MembershipMode::Approval) => FollowDecision::Pending,
                (_, MembershipMode::Invite) => FollowDecision::Rejected,
                (Some(_), _) => FollowDecision::Pending,
            };
            match (decision, existing) {
                (FollowDecision::Rejected, _) => {}
                (_, Some(_)) => {
                    let state = if decision == FollowDecision::Accepted {
                        MemberState::Active
                    } else {
                        MemberState::Pending
                    };
                    MemberRow::set_state(
                        conn,
                        community_id,
                        person_id,
                        state.as_str(),
                        Role::Member.as_str(),
                    )?;
                    MemberRow::set_follow_activity(conn, community_id, person_id, &follow_id)?;
                }
                (_, None) => {
                    let state = if decision == FollowDecision::Accepted {
                        MemberState::Active
                    } else {
                        MemberState::Pending
                    };
                    MemberRow::insert(
                        conn,
                        &member(community_id, person_id, state, Some(follow_id.clone())),
                    )?;
                }
            }
            let answer = match decision {
                FollowDecision::Accepted => Some(EventKind::FollowAccepted),
                FollowDecision::Rejected => Some(EventKind::FollowRejected),
                FollowDecision::Pending => None,
            };
            if let Some(kind) = answer {
                emit(
                    conn,
                    kind,
                    person_id,
                    follow_subject(community_id, person_id, Some(follow_id.clone())),
                )?;
            }
            Ok(decision)
        })
        .await?;
    ctx.notify_outbox();
    Ok(decision)
}

/// A person from another server stops following a local community.
pub async fn receive_unfollow(ctx: &Cairn, community_id: i64, person_id: i64) -> CoreResult<()> {
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            if let Some(m) = MemberRow::get(conn, community_id, person_id)?
                && m.role == Role::Member.as_str()
            {
                MemberRow::delete(conn, community_id, person_id)?;
            }
            Ok(())
        })
        .await
}

/// A remote community answered a local person's Follow.
pub async fn receive_answer(
    ctx: &Cairn,
    community_id: i64,
    person_id: i64,
    accepted: bool,
) -> CoreResult<()> {
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let Some(m) = MemberRow::get(conn, community_id, person_id)? else {
                // An answer to a follow that was withdrawn meanwhile changes nothing.
                return Ok(());
            };
            if accepted {
                if m.state != MemberState::Active.as_str() {
                    MemberRow::set_state(
                        conn,
                        community_id,
                        person_id,
                        MemberState::Active.as_str(),
                        &m.role,
                    )?;
                }
            } else {
                MemberRow::delete(conn, community_id, person_id)?;
            }
            Ok(())
        })
        .await
}

/// A pending follow from another server.
#[derive(Debug, Clone)]
pub struct PendingFollow {
    pub person: Person,
    pub since: chrono::DateTime<chrono::Utc>,
}

fn moderated_local(
    conn: &mut AnyConn<'_>,
    name: &str,
    user: &AuthUser,
) -> CoreResult<CommunityRow> {
    let community = CommunityRow::local_by_name(conn, name)?
        .filter(|c| !c.deleted)
        .ok_or_else(|| {
            CoreError::not_found("community_not_found", "No community has that name here.")
        })?;
    if !is_moderator(conn, &community, user.person_id)? {
        return Err(CoreError::forbidden(
            "moderator_only",
            "Only the community's moderators may do this.",
        ));
    }
    Ok(community)
}

/// Follows from other servers waiting for approval (moderators only).
pub async fn pending_follows(
    ctx: &Cairn,
    user: &AuthUser,
    name: &str,
) -> CoreResult<Vec<PendingFollow>> {
    let name = name.to_owned();
    let user = user.clone();
    ctx.db()
        .run(move |conn| -> CoreResult<Vec<PendingFollow>> {
            let community = moderated_local(conn, &name, &user)?;
            Ok(MemberRow::remote_pending(conn, community.id)?
                .into_iter()
                .map(|(m, p)| PendingFollow {
                    person: Person::from(p),
                    since: crate::model::utc(m.created_at),
                })
                .collect())
        })
        .await
}

/// Approves or refuses a pending follow from another server (moderators only); `actor` is the
/// follower's ActivityPub id.
pub async fn decide_follow(
    ctx: &Cairn,
    user: &AuthUser,
    name: &str,
    actor: &str,
    approve: bool,
) -> CoreResult<()> {
    let name = name.to_owned();
    let actor = actor.to_owned();
    let user = user.clone();
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let community = moderated_local(conn, &name, &user)?;
            let person = PersonRow::by_ap_id(conn, &actor)?
                .filter(|p| !p.local)
                .ok_or_else(|| {
                    CoreError::not_found(
                        "no_pending_follow",
                        "No follower from another server has that id.",
                    )
                })?;
            let m = MemberRow::get(conn, community.id, person.id)?
                .filter(|m| m.state == MemberState::Pending.as_str())
                .ok_or_else(|| {
                    CoreError::not_found(
                        "no_pending_follow",
                        "That actor has no pending follow here.",
                    )
                })?;
            let kind = if approve {
                MemberRow::set_state(
                    conn,
                    community.id,
                    person.id,
                    MemberState::Active.as_str(),
                    Role::Member.as_str(),
                )?;
                EventKind::FollowAccepted
            } else {
                MemberRow::delete(conn, community.id, person.id)?;
                EventKind::FollowRejected
            };
            emit(
                conn,
                kind,
                person.id,
                follow_subject(community.id, person.id, m.follow_activity_id),
            )?;
            Ok(())
        })
        .await?;
    ctx.notify_outbox();
    Ok(())
}
