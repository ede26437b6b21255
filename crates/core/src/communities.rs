//! Communities: creation, lookup, membership (join, leave, approval, invitations) and roles.

use cairn_storage::communities::{CommunityRow, MemberRow, NewCommunity};
use cairn_storage::persons::{LocalUserRow, PersonRow};
use cairn_storage::{AnyConn, db_now};

use crate::context::Cairn;
use crate::crypto;
use crate::error::{CoreError, CoreResult};
use crate::markdown;
use crate::model::{
    AuthUser, Community, CommunityKind, CommunityView, MemberState, MembershipMode, Person, Role,
};
use crate::validate;

/// What the create-community form sends.
#[derive(Debug, Clone, Default)]
pub struct NewCommunityInput {
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub membership: Option<String>,
}

/// Creates a local community; the creator becomes its owner.
pub async fn create(
    ctx: &Cairn,
    user: &AuthUser,
    input: NewCommunityInput,
) -> CoreResult<CommunityView> {
    let name = validate::community_name(&input.name)?;
    let title = validate::community_title(&input.title)?;
    let description = input
        .description
        .as_deref()
        .map(|d| validate::markdown(d, validate::MAX_DESCRIPTION_CHARS, "invalid_description"))
        .transpose()?
        .flatten();
    let kind: CommunityKind = input.kind.as_deref().unwrap_or("practice").parse()?;
    let membership: MembershipMode = input.membership.as_deref().unwrap_or("open").parse()?;

    let check = name.clone();
    ctx.db()
        .run(move |conn| ensure_name_free(conn, &check))
        .await?;
    let keys = crypto::generate_keypair_async(ctx).await?;
    let urls = ctx.urls().clone();
    let creator = user.person_id;
    let id = ctx
        .db()
        .transaction(move |conn| -> CoreResult<i64> {
            ensure_name_free(conn, &name)?;
            let now = db_now();
            let row = CommunityRow::insert(
                conn,
                &NewCommunity {
                    ap_id: urls.community(&name),
                    inbox_url: urls.community_part(&name, "inbox"),
                    shared_inbox_url: Some(urls.shared_inbox()),
                    followers_url: Some(urls.community_part(&name, "followers")),
                    title,
                    description_html: description.as_deref().map(markdown::to_html),
                    description_md: description,
                    kind: kind.as_str().to_owned(),
                    membership: membership.as_str().to_owned(),
                    public_key: keys.public_pem,
                    private_key: Some(keys.private_pem),
                    local: true,
                    published: now,
                    last_refreshed_at: now,
                    name,
                },
            )?;
            MemberRow::insert(
                conn,
                &MemberRow {
                    community_id: row.id,
                    person_id: creator,
                    role: Role::Owner.as_str().to_owned(),
                    state: MemberState::Active.as_str().to_owned(),
                    follow_activity_id: None,
                    invited_by: None,
                    created_at: now,
                },
            )?;
            Ok(row.id)
        })
        .await?;
    view_by_id(ctx, id, Some(user)).await
}

fn ensure_name_free(conn: &mut AnyConn<'_>, name: &str) -> CoreResult<()> {
    if CommunityRow::local_by_name(conn, name)?.is_some() {
        return Err(CoreError::conflict(
            "community_name_taken",
            format!("A community named `{name}` exists already."),
        ));
    }
    Ok(())
}

fn not_found() -> CoreError {
    CoreError::not_found("community_not_found", "No community has that name here.")
}

/// Loads a local community by name, refusing deleted ones.
pub(crate) fn local_row(conn: &mut AnyConn<'_>, name: &str) -> CoreResult<CommunityRow> {
    let row = CommunityRow::local_by_name(conn, name)?.ok_or_else(not_found)?;
    if row.deleted {
        return Err(CoreError::gone(
            "community_deleted",
            "This community was deleted.",
        ));
    }
    Ok(row)
}

/// True when the person moderates the community (owner or moderator), or is an instance
/// administrator and the community is local.
pub(crate) fn is_moderator(
    conn: &mut AnyConn<'_>,
    community: &CommunityRow,
    person_id: i64,
) -> CoreResult<bool> {
    if let Some(m) = MemberRow::get(conn, community.id, person_id)?
        && m.state == MemberState::Active.as_str()
        && m.role != Role::Member.as_str()
    {
        return Ok(true);
    }
    if community.local
        && let Some(u) = LocalUserRow::by_person(conn, person_id)?
    {
        return Ok(u.is_admin);
    }
    Ok(false)
}

/// Checks that a person may post, comment and vote in a community: open communities welcome
/// everyone (as in Lemmy, posting does not require joining); the others only their members.
pub(crate) fn ensure_can_participate(
    conn: &mut AnyConn<'_>,
    community: &CommunityRow,
    person_id: i64,
) -> CoreResult<()> {
    if community.deleted {
        return Err(CoreError::gone(
            "community_deleted",
            "This community was deleted.",
        ));
    }
    let moderator = is_moderator(conn, community, person_id)?;
    if community.posting_restricted_to_mods && !moderator {
        return Err(CoreError::forbidden(
            "posting_restricted",
            "Only moderators may post in this community.",
        ));
    }
    if community.membership != MembershipMode::Open.as_str() && !moderator {
        let member = MemberRow::get(conn, community.id, person_id)?
            .is_some_and(|m| m.state == MemberState::Active.as_str());
        if !member {
            return Err(CoreError::forbidden(
                "members_only",
                "Only members take part in this community; join it first.",
            ));
        }
    }
    Ok(())
}

fn view(
    conn: &mut AnyConn<'_>,
    row: CommunityRow,
    viewer: Option<&AuthUser>,
) -> CoreResult<CommunityView> {
    let member_count = MemberRow::count(conn, row.id, MemberState::Active.as_str())?;
    let moderators = MemberRow::moderators(conn, row.id)?
        .into_iter()
        .map(|(_, p)| Person::from(p))
        .collect();
    let viewer = match viewer {
        Some(u) => MemberRow::get(conn, row.id, u.person_id)?.map(|m| {
            (
                m.role.parse().unwrap_or(Role::Member),
                m.state.parse().unwrap_or(MemberState::Pending),
            )
        }),
        None => None,
    };
    Ok(CommunityView {
        community: Community::from(row),
        member_count,
        moderators,
        viewer,
    })
}

async fn view_by_id(ctx: &Cairn, id: i64, viewer: Option<&AuthUser>) -> CoreResult<CommunityView> {
    let viewer = viewer.cloned();
    ctx.db()
        .run(move |conn| {
            let row = CommunityRow::by_id(conn, id)?.ok_or_else(not_found)?;
            view(conn, row, viewer.as_ref())
        })
        .await
}

/// A community by local name or by `name@host` handle (resolved and stored if remote).
pub async fn resolve(ctx: &Cairn, name_or_handle: &str) -> CoreResult<Community> {
    if name_or_handle.contains('@') {
        let c = crate::remote::resolve_community(ctx, name_or_handle).await?;
        if c.deleted {
            return Err(CoreError::gone(
                "community_deleted",
                "This community was deleted.",
            ));
        }
        return Ok(c);
    }
    let name = name_or_handle.to_owned();
    ctx.db()
        .run(move |conn| Ok(Community::from(local_row(conn, &name)?)))
        .await
}

/// A community by local name or `name@host` handle, with counts and the viewer's membership.
pub async fn get(ctx: &Cairn, name: &str, viewer: Option<&AuthUser>) -> CoreResult<CommunityView> {
    if name.contains('@') {
        let community = resolve(ctx, name).await?;
        return view_by_id(ctx, community.id, viewer).await;
    }
    let name = name.to_owned();
    let viewer = viewer.cloned();
    ctx.db()
        .run(move |conn| {
            let row = local_row(conn, &name)?;
            view(conn, row, viewer.as_ref())
        })
        .await
}

/// A community, local or remote, by id.
pub async fn by_id(ctx: &Cairn, id: i64) -> CoreResult<Community> {
    ctx.db()
        .run(move |conn| -> CoreResult<Community> {
            Ok(Community::from(
                CommunityRow::by_id(conn, id)?.ok_or_else(not_found)?,
            ))
        })
        .await
}

/// The inboxes that receive a local community's activities: those of its active remote
/// members, shared inboxes preferred and each listed once.
pub async fn remote_follower_inboxes(ctx: &Cairn, community_id: i64) -> CoreResult<Vec<String>> {
    ctx.db()
        .run(move |conn| -> CoreResult<Vec<String>> {
            let mut inboxes: Vec<String> = MemberRow::remote_active(conn, community_id)?
                .into_iter()
                .map(|p| p.shared_inbox_url.unwrap_or(p.inbox_url))
                .collect();
            inboxes.sort();
            inboxes.dedup();
            Ok(inboxes)
        })
        .await
}

/// A local community by name, without counts (for federation documents).
pub async fn by_name(ctx: &Cairn, name: &str) -> CoreResult<Community> {
    let name = name.to_owned();
    ctx.db()
        .run(move |conn| {
            let row = CommunityRow::local_by_name(conn, &name)?.ok_or_else(not_found)?;
            Ok(Community::from(row))
        })
        .await
}

/// The local communities, by name, with member counts.
pub async fn list(ctx: &Cairn, limit: i64, offset: i64) -> CoreResult<Vec<(Community, i64)>> {
    let limit = limit.clamp(1, 100);
    let offset = offset.max(0);
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            let rows = CommunityRow::list_local(conn, limit, offset)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let counts: std::collections::HashMap<i64, i64> =
                MemberRow::counts(conn, &ids)?.into_iter().collect();
            Ok(rows
                .into_iter()
                .map(|r| {
                    let n = counts.get(&r.id).copied().unwrap_or(0);
                    (Community::from(r), n)
                })
                .collect())
        })
        .await
}

/// The communities a person is an active member of, with their role, by title.
pub async fn of_person(ctx: &Cairn, person_id: i64) -> CoreResult<Vec<(Community, Role)>> {
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            Ok(MemberRow::communities_of(conn, person_id)?
                .into_iter()
                .map(|(m, c)| (Community::from(c), m.role.parse().unwrap_or(Role::Member)))
                .collect())
        })
        .await
}

/// Joins a community as its membership mode allows; returns the resulting state.
///
/// Open communities admit at once, approval communities record a pending request, invite
/// communities admit only people holding an invitation. Joining again is harmless.
pub async fn join(ctx: &Cairn, user: &AuthUser, name: &str) -> CoreResult<MemberState> {
    let name = name.to_owned();
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<MemberState> {
            let community = local_row(conn, &name)?;
            let existing = MemberRow::get(conn, community.id, person_id)?;
            let mode: MembershipMode = community.membership.parse()?;
            match existing {
                Some(m) if m.state == MemberState::Active.as_str() => return Ok(MemberState::Active),
                Some(m) if m.state == MemberState::Pending.as_str() => return Ok(MemberState::Pending),
                Some(_invited) => {
                    MemberRow::set_state(conn, community.id, person_id, MemberState::Active.as_str(), Role::Member.as_str())?;
                    return Ok(MemberState::Active);
                }
                None => {}
            }
            let state = match mode {
                MembershipMode::Open => MemberState::Active,
                MembershipMode::Approval => MemberState::Pending,
                MembershipMode::Invite => {
                    return Err(CoreError::forbidden(
                        "invite_required",
                        "This community admits members by invitation only; ask a moderator to invite you.",
                    ));
                }
            };
            MemberRow::insert(
                conn,
                &MemberRow {
                    community_id: community.id,
                    person_id,
                    role: Role::Member.as_str().to_owned(),
                    state: state.as_str().to_owned(),
                    follow_activity_id: None,
                    invited_by: None,
                    created_at: db_now(),
                },
            )?;
            Ok(state)
        })
        .await
}

/// Leaves a community, or withdraws a pending request or declines an invitation.
pub async fn leave(ctx: &Cairn, user: &AuthUser, name: &str) -> CoreResult<()> {
    let name = name.to_owned();
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let community = local_row(conn, &name)?;
            let Some(member) = MemberRow::get(conn, community.id, person_id)? else {
                return Err(CoreError::conflict("not_a_member", "You are not a member of this community."));
            };
            if member.role == Role::Owner.as_str() {
                let owners = MemberRow::moderators(conn, community.id)?
                    .into_iter()
                    .filter(|(m, _)| m.role == Role::Owner.as_str())
                    .count();
                if owners <= 1 {
                    return Err(CoreError::forbidden(
                        "last_owner",
                        "You are the community's only owner; hand ownership to someone else before leaving.",
                    ));
                }
            }
            MemberRow::delete(conn, community.id, person_id)?;
            Ok(())
        })
        .await
}

/// One member entry.
#[derive(Debug, Clone)]
pub struct Member {
    pub person: Person,
    pub role: Role,
    pub state: MemberState,
    pub since: chrono::DateTime<chrono::Utc>,
}

fn members_in_state(
    conn: &mut AnyConn<'_>,
    community_id: i64,
    state: MemberState,
    limit: i64,
    offset: i64,
) -> CoreResult<Vec<Member>> {
    Ok(MemberRow::list(
        conn,
        community_id,
        state.as_str(),
        limit.clamp(1, 200),
        offset.max(0),
    )?
    .into_iter()
    .map(|(m, p)| Member {
        role: m.role.parse().unwrap_or(Role::Member),
        state,
        since: crate::model::utc(m.created_at),
        person: Person::from(p),
    })
    .collect())
}

/// Active members of a community.
pub async fn members(ctx: &Cairn, name: &str, limit: i64, offset: i64) -> CoreResult<Vec<Member>> {
    let name = name.to_owned();
    ctx.db()
        .run(move |conn| {
            let community = local_row(conn, &name)?;
            members_in_state(conn, community.id, MemberState::Active, limit, offset)
        })
        .await
}

fn require_moderator(
    conn: &mut AnyConn<'_>,
    community: &CommunityRow,
    user_id: i64,
) -> CoreResult<()> {
    if is_moderator(conn, community, user_id)? {
        Ok(())
    } else {
        Err(CoreError::forbidden(
            "moderator_only",
            "Only the community's moderators may do this.",
        ))
    }
}

/// Pending join requests (moderators only).
pub async fn join_requests(ctx: &Cairn, user: &AuthUser, name: &str) -> CoreResult<Vec<Member>> {
    let name = name.to_owned();
    let uid = user.person_id;
    ctx.db()
        .run(move |conn| {
            let community = local_row(conn, &name)?;
            require_moderator(conn, &community, uid)?;
            members_in_state(conn, community.id, MemberState::Pending, 200, 0)
        })
        .await
}

/// Approves or rejects a pending join request (moderators only).
pub async fn decide_join_request(
    ctx: &Cairn,
    user: &AuthUser,
    name: &str,
    username: &str,
    approve: bool,
) -> CoreResult<()> {
    let name = name.to_owned();
    let username = username.to_owned();
    let uid = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let community = local_row(conn, &name)?;
            require_moderator(conn, &community, uid)?;
            let person = PersonRow::local_by_name(conn, &username)?.ok_or_else(|| {
                CoreError::not_found("user_not_found", "No user has that name here.")
            })?;
            let pending = MemberRow::get(conn, community.id, person.id)?
                .is_some_and(|m| m.state == MemberState::Pending.as_str());
            if !pending {
                return Err(CoreError::not_found(
                    "no_pending_request",
                    "That person has no pending request to join.",
                ));
            }
            if approve {
                MemberRow::set_state(
                    conn,
                    community.id,
                    person.id,
                    MemberState::Active.as_str(),
                    Role::Member.as_str(),
                )?;
            } else {
                MemberRow::delete(conn, community.id, person.id)?;
            }
            Ok(())
        })
        .await
}

/// Invites a local person (moderators only); the invitee joins with the ordinary join call.
pub async fn invite(ctx: &Cairn, user: &AuthUser, name: &str, username: &str) -> CoreResult<()> {
    let name = name.to_owned();
    let username = username.to_owned();
    let uid = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let community = local_row(conn, &name)?;
            require_moderator(conn, &community, uid)?;
            let person = PersonRow::local_by_name(conn, &username)?.ok_or_else(|| {
                CoreError::not_found("user_not_found", "No user has that name here.")
            })?;
            match MemberRow::get(conn, community.id, person.id)? {
                Some(m) if m.state == MemberState::Active.as_str() => Err(CoreError::conflict(
                    "already_member",
                    "That person is a member already.",
                )),
                Some(m) if m.state == MemberState::Invited.as_str() => Ok(()),
                Some(_pending) => {
                    // Inviting someone who asked to join is an approval.
                    MemberRow::set_state(
                        conn,
                        community.id,
                        person.id,
                        MemberState::Active.as_str(),
                        Role::Member.as_str(),
                    )?;
                    Ok(())
                }
                None => {
                    MemberRow::insert(
                        conn,
                        &MemberRow {
                            community_id: community.id,
                            person_id: person.id,
                            role: Role::Member.as_str().to_owned(),
                            state: MemberState::Invited.as_str().to_owned(),
                            follow_activity_id: None,
                            invited_by: Some(uid),
                            created_at: db_now(),
                        },
                    )?;
                    Ok(())
                }
            }
        })
        .await
}

/// The moderators of a local community, owners first.
pub async fn moderators(ctx: &Cairn, name: &str) -> CoreResult<Vec<Person>> {
    let name = name.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            let community = CommunityRow::local_by_name(conn, &name)?.ok_or_else(not_found)?;
            Ok(MemberRow::moderators(conn, community.id)?
                .into_iter()
                .map(|(_, p)| Person::from(p))
                .collect())
        })
        .await
}

/// Number of active members of a local community (its followers, as federation counts them).
pub async fn member_count(ctx: &Cairn, name: &str) -> CoreResult<i64> {
    let name = name.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<i64> {
            let community = CommunityRow::local_by_name(conn, &name)?.ok_or_else(not_found)?;
            Ok(MemberRow::count(
                conn,
                community.id,
                MemberState::Active.as_str(),
            )?)
        })
        .await
}
