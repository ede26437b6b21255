//! What this server has stored about the ids an incoming activity names: the facts the inbox's
//! trust rules decide on.
//!
//! The rules themselves are pure functions in the federation crate; they never look anything up.
//! The inbox first asks [`gather`] for the facts about every id an activity mentions, in one
//! read-only pass over the database, and then decides. `cairn inspect` gathers the same facts, so
//! it decides exactly as the inbox does. Everything is keyed by ActivityPub id as a string.

use std::collections::{HashMap, HashSet};

use cairn_storage::activities::ActivityRow;
use cairn_storage::comments::CommentRow;
use cairn_storage::communities::{CommunityRow, MemberRow};
use cairn_storage::person_follows::PersonFollowRow;
use cairn_storage::persons::PersonRow;
use cairn_storage::posts::PostRow;
use cairn_storage::{AnyConn, votes};

use crate::context::Cairn;
use crate::error::CoreResult;

/// The most ids of each kind looked up for one activity. The parser caps the lists an
/// activity may carry well below this; the bound makes sure that no activity, however it was
/// built, costs more than a fixed number of queries.
pub const MAX_LOOKUPS: usize = 64;

/// The ids to look up.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// Ids that may be persons or communities (actors, authors, followees, addressees).
    pub actors: Vec<String>,
    /// Ids that may be posts or comments.
    pub objects: Vec<String>,
    /// Ids of activities: whether each was received or sent here before, and, for Follows,
    /// which follow it made.
    pub activities: Vec<String>,
    /// Pairs of (voter, object): whether the voter's vote on the object is stored.
    pub votes: Vec<(String, String)>,
}

/// A stored person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFact {
    pub local: bool,
    pub deleted: bool,
    /// Whether someone on this server follows this person (for a remote person).
    pub followed_here: bool,
}

/// A stored community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityFact {
    pub local: bool,
    pub deleted: bool,
    /// Whether a person of this server is an active or pending member: for a remote community,
    /// whether anyone here follows it.
    pub followed_here: bool,
    /// Whether it holds a post or comment written on this server.
    pub holds_local_content: bool,
    /// For a remote community, its moderators as its own server lists them; for a local one,
    /// the active moderators and owners stored here.
    pub moderators: Vec<String>,
}

/// Whether a stored object is a post or a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Post,
    Comment,
}

/// A stored post or comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFact {
    pub kind: ObjectKind,
    pub local: bool,
    /// The ActivityPub id of its author.
    pub creator: String,
    /// The ActivityPub id of the community it is in (for a comment, its post's).
    pub community: String,
    /// Deleted by its author or removed by a moderator.
    pub gone: bool,
    /// Its post is locked against new comments.
    pub post_locked: bool,
}

/// A follow made or received here, found by the id of its Follow activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowFact {
    /// The ActivityPub id of the follower.
    pub follower: String,
    /// The ActivityPub id of the community or person followed.
    pub followee: String,
    /// Whether the follower is a person of this server (a Follow we sent).
    pub follower_local: bool,
}

/// An activity seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityFact {
    /// Sent by this server (our own activity coming back), rather than received.
    pub local: bool,
}

/// Everything stored about the ids of one activity. An id missing from a map is not stored.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub persons: HashMap<String, PersonFact>,
    pub communities: HashMap<String, CommunityFact>,
    pub objects: HashMap<String, ObjectFact>,
    pub activities: HashMap<String, ActivityFact>,
    pub follows: HashMap<String, FollowFact>,
    pub votes: HashSet<(String, String)>,
}

/// Looks up everything `lookup` names, read-only, in one blocking task.
pub async fn gather(ctx: &Cairn, lookup: Lookup) -> CoreResult<Facts> {
    ctx.db()
        .run(move |conn| -> CoreResult<Facts> {
            let mut facts = Facts::default();
            for id in dedup(lookup.actors) {
                actor(conn, &id, &mut facts)?;
            }
            for id in dedup(lookup.objects) {
                if let Some(f) = object(conn, &id)? {
                    // The rules judge an object by its stored community: that community's
                    // facts are needed whether the activity names it or not.
                    if !facts.communities.contains_key(&f.community) {
                        actor(conn, &f.community.clone(), &mut facts)?;
                    }
                    facts.objects.insert(id, f);
                }
            }
            for id in dedup(lookup.activities) {
                activity(conn, &id, &mut facts)?;
            }
            let mut pairs = lookup.votes;
            pairs.truncate(MAX_LOOKUPS);
            for (voter, object) in pairs {
                if has_vote(conn, &voter, &object)? {
                    facts.votes.insert((voter, object));
                }
            }
            Ok(facts)
        })
        .await
}

fn dedup(mut ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    ids.truncate(MAX_LOOKUPS);
    ids
}

fn actor(conn: &mut AnyConn<'_>, id: &str, facts: &mut Facts) -> CoreResult<()> {
    if let Some(p) = PersonRow::by_ap_id(conn, id)? {
        let followed_here = !p.local
            && PersonFollowRow::followers(conn, p.id)?
                .iter()
                .any(|f| f.local);
        facts.persons.insert(
            id.to_owned(),
            PersonFact {
                local: p.local,
                deleted: p.deleted,
                followed_here,
            },
        );
    }
    if let Some(c) = CommunityRow::by_ap_id(conn, id)? {
        let moderators = if c.local {
            MemberRow::moderators(conn, c.id)?
                .into_iter()
                .map(|(_, p)| p.ap_id)
                .collect()
        } else {
            CommunityRow::remote_moderators(conn, c.id)?
        };
        facts.communities.insert(
            id.to_owned(),
            CommunityFact {
                local: c.local,
                deleted: c.deleted,
                followed_here: MemberRow::has_local_member(conn, c.id)?,
                holds_local_content: CommunityRow::holds_local_content(conn, c.id)?,
                moderators,
            },
        );
    }
    Ok(())
}

fn object(conn: &mut AnyConn<'_>, id: &str) -> CoreResult<Option<ObjectFact>> {
    let (kind, post, creator_id, local, gone) = if let Some(p) = PostRow::by_ap_id(conn, id)? {
        let gone = p.deleted || p.removed;
        (ObjectKind::Post, p.clone(), p.creator_id, p.local, gone)
    } else if let Some(c) = CommentRow::by_ap_id(conn, id)? {
        let Some(post) = PostRow::by_id(conn, c.post_id)? else {
            return Ok(None);
        };
        (
            ObjectKind::Comment,
            post,
            c.creator_id,
            c.local,
            c.deleted || c.removed,
        )
    } else {
        return Ok(None);
    };
    let Some(creator) = PersonRow::by_id(conn, creator_id)? else {
        return Ok(None);
    };
    let Some(community) = CommunityRow::by_id(conn, post.community_id)? else {
        return Ok(None);
    };
    Ok(Some(ObjectFact {
        kind,
        local,
        creator: creator.ap_id,
        community: community.ap_id,
        gone,
        post_locked: post.locked,
    }))
}

fn activity(conn: &mut AnyConn<'_>, id: &str, facts: &mut Facts) -> CoreResult<()> {
    if let Some(a) = ActivityRow::by_ap_id(conn, id)? {
        facts
            .activities
            .insert(id.to_owned(), ActivityFact { local: a.local });
    }
    if let Some(m) = MemberRow::by_follow_activity(conn, id)? {
        let follower = PersonRow::by_id(conn, m.person_id)?;
        let followee = CommunityRow::by_id(conn, m.community_id)?;
        if let (Some(follower), Some(followee)) = (follower, followee) {
            facts.follows.insert(
                id.to_owned(),
                FollowFact {
                    follower: follower.ap_id,
                    followee: followee.ap_id,
                    follower_local: follower.local,
                },
            );
        }
        return Ok(());
    }
    if let Some(f) = PersonFollowRow::by_follow_activity(conn, id)? {
        let follower = PersonRow::by_id(conn, f.follower_id)?;
        let followee = PersonRow::by_id(conn, f.followee_id)?;
        if let (Some(follower), Some(followee)) = (follower, followee) {
            facts.follows.insert(
                id.to_owned(),
                FollowFact {
                    follower: follower.ap_id,
                    followee: followee.ap_id,
                    follower_local: follower.local,
                },
            );
        }
    }
    Ok(())
}

fn has_vote(conn: &mut AnyConn<'_>, voter: &str, object: &str) -> CoreResult<bool> {
    let Some(person) = PersonRow::by_ap_id(conn, voter)? else {
        return Ok(false);
    };
    if let Some(post) = PostRow::by_ap_id(conn, object)? {
        return Ok(votes::post_vote_of(conn, post.id, person.id)?.is_some());
    }
    if let Some(comment) = CommentRow::by_ap_id(conn, object)? {
        return Ok(votes::comment_vote_of(conn, comment.id, person.id)?.is_some());
    }
    Ok(false)
}
