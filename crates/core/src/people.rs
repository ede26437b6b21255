//! People following people across servers.
//!
//! Cairn is built around communities, but a practitioner often wants to follow a colleague who
//! lives on Mastodon or another server, and people there want to follow Cairn members. A local
//! person's Follow stays pending until the other server accepts it; a Follow of a local person
//! is accepted at once, as Mastodon does for unlocked accounts. Each change writes an outbox
//! event in its transaction; the federation publisher turns it into Follow, Undo or Accept.

use cairn_storage::person_follows::PersonFollowRow;
use cairn_storage::persons::PersonRow;
use cairn_storage::{AnyConn, db_now};
use rand::RngCore;

use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::events::{EventKind, Subject, emit};
use crate::model::{AuthUser, Person};

/// The state of a follow between people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonFollowState {
    /// Sent, not yet accepted by the other server.
    Pending,
    /// Accepted.
    Active,
}

impl PersonFollowState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "active" {
            Self::Active
        } else {
            Self::Pending
        }
    }
}

/// Someone a local person follows, with the state of the follow.
#[derive(Debug, Clone)]
pub struct Followed {
    pub person: Person,
    pub state: PersonFollowState,
}

/// Resolves a person named `name@host` (or `@name@host`) or by the URL of their actor: local
/// names are looked up here, anything else through the installed federation resolver.
pub async fn resolve(ctx: &Cairn, handle: &str) -> CoreResult<Person> {
    let handle = handle.trim();
    if handle.starts_with("https://") || handle.starts_with("http://") {
        let local_prefix = ctx.urls().person("");
        if let Some(name) = handle.strip_prefix(&local_prefix) {
            return crate::accounts::person_by_name(ctx, name).await;
        }
        return crate::remote::installed(ctx)?.person(handle).await;
    }
    let Some((name, host)) = crate::remote::split_handle(
        handle,
        "A person is named name@host, or by the URL of their profile.",
    )?
    else {
        return crate::accounts::person_by_name(ctx, handle.trim_start_matches('@')).await;
    };
    if host.eq_ignore_ascii_case(&ctx.settings().domain) {
        return crate::accounts::person_by_name(ctx, name).await;
    }
    crate::remote::installed(ctx)?
        .person(&format!("{name}@{host}"))
        .await
}

/// A fresh id for a Follow activity sent by this server. The id is chosen here rather than by
/// the publisher so that the row can be found by it as soon as the Accept arrives.
fn new_follow_id(ctx: &Cairn) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{}/activities/follow/{}",
        ctx.urls().base(),
        hex::encode(bytes)
    )
}

fn subject(target: i64, follow: Option<String>) -> Subject {
    Subject {
        target_person_id: Some(target),
        object_ap_id: follow,
        ..Subject::default()
    }
}

/// A local user follows a person on another server; the follow is pending until they accept.
/// Following again resends the Follow, which is how a follow that was never answered is retried.
pub async fn follow(ctx: &Cairn, user: &AuthUser, handle: &str) -> CoreResult<Followed> {
    let person = resolve(ctx, handle).await?;
    if person.id == user.person_id {
        return Err(CoreError::invalid(
            "cannot_follow_self",
            "You cannot follow yourself.",
        ));
    }
    if person.deleted {
        return Err(CoreError::gone("user_deleted", "This account was deleted."));
    }
    let follower = user.person_id;
    let followee = person.id;
    // A follow between two people of this server needs no answer from anyone.
    let local = person.local;
    let follow_id = new_follow_id(ctx);
    let state = ctx
        .db()
        .transaction(move |conn| -> CoreResult<PersonFollowState> {
            if let Some(existing) = PersonFollowRow::get(conn, follower, followee)?
                && existing.state == PersonFollowState::Active.as_str()
            {
                return Ok(PersonFollowState::Active);
            }
            let state = if local {
                PersonFollowState::Active
            } else {
                PersonFollowState::Pending
            };
            PersonFollowRow::upsert(
                conn,
                &PersonFollowRow {
                    follower_id: follower,
                    followee_id: followee,
                    state: state.as_str().to_owned(),
                    follow_activity_id: (!local).then(|| follow_id.clone()),
                    created_at: db_now(),
                },
            )?;
            if local {
                return Ok(state);
            }
            emit(
                conn,
                EventKind::PersonFollowRequested,
                follower,
                subject(followee, Some(follow_id)),
            )?;
            Ok(PersonFollowState::Pending)
        })
        .await?;
    ctx.notify_outbox();
    Ok(Followed { person, state })
}

/// A local user stops following a person; their server is told with an Undo.
pub async fn unfollow(ctx: &Cairn, user: &AuthUser, handle: &str) -> CoreResult<()> {
    let person = resolve(ctx, handle).await?;
    let follower = user.person_id;
    let followee = person.id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let Some(existing) = PersonFollowRow::get(conn, follower, followee)? else {
                return Err(CoreError::conflict(
                    "not_following",
                    "You do not follow this person.",
                ));
            };
            PersonFollowRow::delete(conn, follower, followee)?;
            if existing.follow_activity_id.is_none() {
                // A follow between people of this server; nobody else needs to know.
                return Ok(());
            }
            emit(
                conn,
                EventKind::PersonUnfollowed,
                follower,
                subject(followee, existing.follow_activity_id),
            )?;
            Ok(())
        })
        .await?;
    ctx.notify_outbox();
    Ok(())
}

/// The people a local user follows, newest first.
pub async fn following(ctx: &Cairn, user: &AuthUser) -> CoreResult<Vec<Followed>> {
    let follower = user.person_id;
    let rows = ctx
        .db()
        .run(move |conn| PersonFollowRow::following(conn, follower))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(f, p)| Followed {
            person: p.into(),
            state: PersonFollowState::parse(&f.state),
        })
        .collect())
}

/// Whether someone on this server follows the person with ActivityPub id `ap_id`.
pub async fn is_followed_here(ctx: &Cairn, ap_id: &str) -> CoreResult<bool> {
    let ap_id = ap_id.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<bool> {
            let Some(person) = PersonRow::by_ap_id(conn, &ap_id)? else {
                return Ok(false);
            };
            Ok(PersonFollowRow::followers(conn, person.id)?
                .iter()
                .any(|f| f.local))
        })
        .await
}

/// The people who follow a local person.
pub async fn followers(ctx: &Cairn, person_id: i64) -> CoreResult<Vec<Person>> {
    let rows = ctx
        .db()
        .run(move |conn| PersonFollowRow::followers(conn, person_id))
        .await?;
    Ok(rows.into_iter().map(Person::from).collect())
}

fn local_person(conn: &mut AnyConn<'_>, id: i64) -> CoreResult<PersonRow> {
    PersonRow::by_id(conn, id)?
        .filter(|p| p.local && !p.deleted)
        .ok_or_else(|| CoreError::not_found("user_not_found", "No such user here."))
}

/// A person from another server follows a local person with Follow activity `follow_id`. It is
/// accepted at once; following again answers again, so a lost Accept is repaired by a retry.
pub async fn receive_follow(
    ctx: &Cairn,
    followee_id: i64,
    follower_id: i64,
    follow_id: &str,
) -> CoreResult<()> {
    let follow_id = follow_id.to_owned();
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            local_person(conn, followee_id)?;
            PersonFollowRow::upsert(
                conn,
                &PersonFollowRow {
                    follower_id,
                    followee_id,
                    state: PersonFollowState::Active.as_str().to_owned(),
                    follow_activity_id: Some(follow_id.clone()),
                    created_at: db_now(),
                },
            )?;
            emit(
                conn,
                EventKind::PersonFollowAccepted,
                followee_id,
                subject(follower_id, Some(follow_id)),
            )?;
            Ok(())
        })
        .await?;
    ctx.notify_outbox();
    Ok(())
}

/// A person from another server stops following a local person.
pub async fn receive_unfollow(ctx: &Cairn, followee_id: i64, follower_id: i64) -> CoreResult<()> {
    ctx.db()
        .run(move |conn| PersonFollowRow::delete(conn, follower_id, followee_id))
        .await?;
    Ok(())
}

/// The follower and the followee of the follow made by the Follow activity `follow_id`, sent
/// or received here, if there is one.
pub async fn by_follow_id(ctx: &Cairn, follow_id: &str) -> CoreResult<Option<(Person, Person)>> {
    let follow_id = follow_id.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<Option<(Person, Person)>> {
            let Some(row) = PersonFollowRow::by_follow_activity(conn, &follow_id)? else {
                return Ok(None);
            };
            let person = |conn: &mut AnyConn<'_>, id| -> CoreResult<Person> {
                Ok(PersonRow::by_id(conn, id)?
                    .ok_or_else(|| CoreError::not_found("user_not_found", "No such user."))?
                    .into())
            };
            Ok(Some((
                person(conn, row.follower_id)?,
                person(conn, row.followee_id)?,
            )))
        })
        .await
}

/// The followee answered a local person's Follow: an Accept makes it active, a Reject removes it.
pub async fn receive_answer(
    ctx: &Cairn,
    follower_id: i64,
    followee_id: i64,
    accepted: bool,
) -> CoreResult<()> {
    ctx.db()
        .run(move |conn| -> CoreResult<()> {
            if accepted {
                PersonFollowRow::set_state(
                    conn,
                    follower_id,
                    followee_id,
                    PersonFollowState::Active.as_str(),
                )?;
            } else {
                PersonFollowRow::delete(conn, follower_id, followee_id)?;
            }
            Ok(())
        })
        .await
}
