//! Votes: +1, -1 or 0 (withdraw) per person and item; totals are recounted from the vote rows
//! in the same transaction so they can never drift.

use cairn_storage::comments::CommentRow;
use cairn_storage::communities::CommunityRow;
use cairn_storage::posts::PostRow;
use cairn_storage::{db_now, votes};

use crate::communities::ensure_can_participate;
use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::events::{EventKind, Subject, emit};
use crate::model::AuthUser;
use crate::ranking::hot_rank;

/// New totals after a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub my_vote: i32,
}

fn check_score(score: i64) -> CoreResult<i32> {
    match score {
        -1 => Ok(-1),
        0 => Ok(0),
        1 => Ok(1),
        _ => Err(CoreError::invalid(
            "invalid_vote",
            "A vote is 1 (up), -1 (down) or 0 (withdraw).",
        )),
    }
}

/// Sets the caller's vote on a post.
pub async fn vote_post(
    ctx: &Cairn,
    user: &AuthUser,
    post_id: i64,
    score: i64,
) -> CoreResult<Tally> {
    let score = check_score(score)?;
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<Tally> {
            let post = PostRow::by_id(conn, post_id)?
                .ok_or_else(|| CoreError::not_found("post_not_found", "No post has that id."))?;
            if post.deleted || post.removed {
                return Err(CoreError::gone("post_deleted", "This post was deleted."));
            }
            let community = CommunityRow::by_id(conn, post.community_id)?
                .ok_or_else(|| CoreError::Internal("post without community".into()))?;
            ensure_can_participate(conn, &community, person_id)?;
            let now = db_now();
            let previous = votes::post_vote_of(conn, post_id, person_id)?;
            votes::set_post_vote(conn, post_id, person_id, score, None, now)?;
            if previous.unwrap_or(0) != score {
                emit(
                    conn,
                    EventKind::PostVoted,
                    person_id,
                    Subject {
                        community_id: Some(post.community_id),
                        post_id: Some(post_id),
                        score: Some(score),
                        previous_score: previous,
                        ..Subject::default()
                    },
                )?;
            }
            let t = votes::post_totals(conn, post_id)?;
            let new_score = t.upvotes - t.downvotes;
            PostRow::set_votes(
                conn,
                post_id,
                t.upvotes,
                t.downvotes,
                hot_rank(new_score, post.published, now),
            )?;
            Ok(Tally {
                score: new_score,
                upvotes: t.upvotes,
                downvotes: t.downvotes,
                my_vote: score,
            })
        })
        .await
        .inspect(|_| ctx.notify_outbox())
}

/// Sets the caller's vote on a comment.
pub async fn vote_comment(
    ctx: &Cairn,
    user: &AuthUser,
    comment_id: i64,
    score: i64,
) -> CoreResult<Tally> {
    let score = check_score(score)?;
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<Tally> {
            let comment = CommentRow::by_id(conn, comment_id)?.ok_or_else(|| {
                CoreError::not_found("comment_not_found", "No comment has that id.")
            })?;
            if comment.deleted || comment.removed {
                return Err(CoreError::gone(
                    "comment_deleted",
                    "This comment was deleted.",
                ));
            }
            let post = PostRow::by_id(conn, comment.post_id)?
                .ok_or_else(|| CoreError::Internal("comment without post".into()))?;
            let community = CommunityRow::by_id(conn, post.community_id)?
                .ok_or_else(|| CoreError::Internal("post without community".into()))?;
            ensure_can_participate(conn, &community, person_id)?;
            let previous = votes::comment_vote_of(conn, comment_id, person_id)?;
            votes::set_comment_vote(conn, comment_id, post.id, person_id, score, None, db_now())?;
            if previous.unwrap_or(0) != score {
                emit(
                    conn,
                    EventKind::CommentVoted,
                    person_id,
                    Subject {
                        community_id: Some(post.community_id),
                        post_id: Some(post.id),
                        comment_id: Some(comment_id),
                        score: Some(score),
                        previous_score: previous,
                        ..Subject::default()
                    },
                )?;
            }
            let t = votes::comment_totals(conn, comment_id)?;
            CommentRow::set_votes(conn, comment_id, t.upvotes, t.downvotes)?;
            Ok(Tally {
                score: t.upvotes - t.downvotes,
                upvotes: t.upvotes,
                downvotes: t.downvotes,
                my_vote: score,
            })
        })
        .await
        .inspect(|_| ctx.notify_outbox())
}
