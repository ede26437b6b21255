//! Domain events for federation, appended to the durable outbox in the same transaction as the
//! change: if the change commits, its event exists; if the process dies after the commit, the
//! publisher still finds the event when it starts again.

use std::fmt;
use std::str::FromStr;

use cairn_storage::AnyConn;
use cairn_storage::events::{EventRow, NewEvent};

use crate::error::{CoreError, CoreResult};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    PostCreated,
    PostUpdated,
    /// Deleted by its author.
    PostDeleted,
    /// Removed by a moderator.
    PostRemoved,
    CommentCreated,
    CommentUpdated,
    CommentDeleted,
    CommentRemoved,
    /// A vote on a post changed; `score` is the new vote (0 = withdrawn).
    PostVoted,
    /// A vote on a comment changed; `score` is the new vote (0 = withdrawn).
    CommentVoted,
    /// A local person asked to follow (join) a remote community.
    FollowRequested,
    /// A local person stopped following a remote community.
    Unfollowed,
    /// A local community accepted a remote follower; `object_ap_id` is their Follow.
    FollowAccepted,
    /// A local community refused a remote follower; `object_ap_id` is their Follow.
    FollowRejected,
    /// An activity received from another server for a local community, to be Announced to the
    /// community's followers unchanged; `object_ap_id` is the received activity.
    Relay,
    /// A local person (the actor) asked to follow a person on another server
    /// (`target_person_id`); `object_ap_id` is the Follow.
    PersonFollowRequested,
    /// A local person (the actor) stopped following a remote person; `object_ap_id` is the
    /// Follow being undone.
    PersonUnfollowed,
    /// A local person (the actor) accepted a remote follower (`target_person_id`);
    /// `object_ap_id` is their Follow.
    PersonFollowAccepted,
}

impl EventKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostCreated => "post_created",
            Self::PostUpdated => "post_updated",
            Self::PostDeleted => "post_deleted",
            Self::PostRemoved => "post_removed",
            Self::CommentCreated => "comment_created",
            Self::CommentUpdated => "comment_updated",
            Self::CommentDeleted => "comment_deleted",
            Self::CommentRemoved => "comment_removed",
            Self::PostVoted => "post_voted",
            Self::CommentVoted => "comment_voted",
            Self::FollowRequested => "follow_requested",
            Self::Unfollowed => "unfollowed",
            Self::FollowAccepted => "follow_accepted",
            Self::FollowRejected => "follow_rejected",
            Self::Relay => "relay",
            Self::PersonFollowRequested => "person_follow_requested",
            Self::PersonUnfollowed => "person_unfollowed",
            Self::PersonFollowAccepted => "person_follow_accepted",
        }
    }
}

impl FromStr for EventKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Ok(match s {
            "post_created" => Self::PostCreated,
            "post_updated" => Self::PostUpdated,
            "post_deleted" => Self::PostDeleted,
            "post_removed" => Self::PostRemoved,
            "comment_created" => Self::CommentCreated,
            "comment_updated" => Self::CommentUpdated,
            "comment_deleted" => Self::CommentDeleted,
            "comment_removed" => Self::CommentRemoved,
            "post_voted" => Self::PostVoted,
            "comment_voted" => Self::CommentVoted,
            "follow_requested" => Self::FollowRequested,
            "unfollowed" => Self::Unfollowed,
            "follow_accepted" => Self::FollowAccepted,
            "follow_rejected" => Self::FollowRejected,
            "relay" => Self::Relay,
            "person_follow_requested" => Self::PersonFollowRequested,
            "person_unfollowed" => Self::PersonUnfollowed,
            "person_follow_accepted" => Self::PersonFollowAccepted,
            other => {
                return Err(CoreError::Internal(format!(
                    "unknown outbox event kind `{other}`"
                )));
            }
        })
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event as the publisher reads it.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub kind: EventKind,
    pub actor_id: i64,
    pub community_id: Option<i64>,
    pub post_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub score: Option<i32>,
    pub previous_score: Option<i32>,
    /// The follower, for follow events.
    pub target_person_id: Option<i64>,
    pub object_ap_id: Option<String>,
}

impl TryFrom<EventRow> for Event {
    type Error = CoreError;
    fn try_from(r: EventRow) -> CoreResult<Self> {
        Ok(Self {
            id: r.id,
            kind: r.kind.parse()?,
            actor_id: r.actor_id,
            community_id: r.community_id,
            post_id: r.post_id,
            comment_id: r.comment_id,
            score: r.score,
            previous_score: r.previous_score,
            target_person_id: r.target_person_id,
            object_ap_id: r.object_ap_id,
        })
    }
}

/// What an event refers to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subject {
    pub community_id: Option<i64>,
    pub post_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub score: Option<i32>,
    pub previous_score: Option<i32>,
    pub target_person_id: Option<i64>,
    pub object_ap_id: Option<String>,
}

/// Appends an event; call inside the transaction that makes the change.
pub(crate) fn emit(
    conn: &mut AnyConn<'_>,
    kind: EventKind,
    actor_id: i64,
    s: Subject,
) -> CoreResult<()> {
    EventRow::insert(
        conn,
        &NewEvent {
            kind: kind.as_str().to_owned(),
            actor_id,
            community_id: s.community_id,
            post_id: s.post_id,
            comment_id: s.comment_id,
            target_person_id: s.target_person_id,
            score: s.score,
            previous_score: s.previous_score,
            object_ap_id: s.object_ap_id,
            created_at: cairn_storage::db_now(),
        },
    )?;
    Ok(())
}
