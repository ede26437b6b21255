//! Comments: reply to a post or a comment, edit, delete, and read one alone.

use cairn_storage::comments::{CommentRow, NewComment};
use cairn_storage::communities::CommunityRow;
use cairn_storage::persons::PersonRow;
use cairn_storage::posts::PostRow;
use cairn_storage::{AnyConn, db_now};

use crate::communities::{ensure_can_participate, is_moderator};
use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::events::{EventKind, Subject, emit};
use crate::markdown;
use crate::model::{AuthUser, Comment, CommentView, Community, Person, Post};
use crate::validate;

/// Deepest reply nesting accepted; deeper threads are unreadable and a cheap attack.
pub const MAX_DEPTH: i32 = 100;

fn not_found() -> CoreError {
    CoreError::not_found("comment_not_found", "No comment has that id.")
}

/// Adds a comment to a post, under `parent_id` if given.
pub async fn create(
    ctx: &Cairn,
    user: &AuthUser,
    post_id: i64,
    parent_id: Option<i64>,
    body: &str,
) -> CoreResult<CommentView> {
    let body = validate::required_body(body)?;
    let html = markdown::to_html(&body);
    let urls = ctx.urls().clone();
    let person_id = user.person_id;
    let id = ctx
        .db()
        .transaction(move |conn| -> CoreResult<i64> {
            let post = PostRow::by_id(conn, post_id)?
                .ok_or_else(|| CoreError::not_found("post_not_found", "No post has that id."))?;
            if post.deleted || post.removed {
                return Err(CoreError::gone("post_deleted", "This post was deleted."));
            }
            let community = CommunityRow::by_id(conn, post.community_id)?
                .ok_or_else(|| CoreError::Internal("post without community".into()))?;
            ensure_can_participate(conn, &community, person_id)?;
            if post.locked && !is_moderator(conn, &community, person_id)? {
                return Err(CoreError::forbidden(
                    "post_locked",
                    "This post is locked; no new comments.",
                ));
            }
            let (parent_path, depth) = match parent_id {
                None => ("0".to_owned(), 0),
                Some(pid) => {
                    let parent = CommentRow::by_id(conn, pid)?
                        .filter(|p| p.post_id == post_id)
                        .ok_or_else(|| {
                            CoreError::invalid(
                                "invalid_parent",
                                "The parent comment does not belong to this post.",
                            )
                        })?;
                    if parent.deleted || parent.removed {
                        return Err(CoreError::invalid(
                            "invalid_parent",
                            "The parent comment was deleted.",
                        ));
                    }
                    if parent.depth + 1 > MAX_DEPTH {
                        return Err(CoreError::invalid(
                            "thread_too_deep",
                            "This thread is nested too deeply to reply further.",
                        ));
                    }
                    CommentRow::add_child_count(conn, pid, 1)?;
                    (parent.path, parent.depth + 1)
                }
            };
            let now = db_now();
            let row = CommentRow::insert(
                conn,
                &NewComment {
                    ap_id: format!("urn:cairn:pending:{}", crate::crypto::new_token()),
                    post_id,
                    parent_id,
                    creator_id: person_id,
                    body_md: body,
                    body_html: html,
                    path: parent_path.clone(),
                    depth,
                    local: true,
                    published: now,
                },
            )?;
            CommentRow::set_identity(
                conn,
                row.id,
                &urls.comment(row.id),
                &child_path(&parent_path, row.id),
            )?;
            PostRow::add_comment_count(conn, post_id, 1, now)?;
            emit(
                conn,
                EventKind::CommentCreated,
                person_id,
                Subject {
                    community_id: Some(community.id),
                    post_id: Some(post_id),
                    comment_id: Some(row.id),
                    ..Subject::default()
                },
            )?;
            Ok(row.id)
        })
        .await?;
    ctx.notify_outbox();
    get(ctx, id).await
}

/// The path of a comment: its parent's path plus its own id, zero-padded so that paths sort
/// in thread order as plain text on both backends.
fn child_path(parent: &str, id: i64) -> String {
    format!("{parent}.{id:012}")
}

fn load(conn: &mut AnyConn<'_>, id: i64) -> CoreResult<CommentView> {
    let (comment, creator) = CommentRow::with_creator(conn, id)?.ok_or_else(not_found)?;
    let (post, _post_creator, community) = PostRow::with_context(conn, comment.post_id)?
        .ok_or_else(|| CoreError::Internal("comment without post".into()))?;
    let (in_reply_to, parent_creator) = match comment.parent_id {
        Some(pid) => {
            let (parent, pc) = CommentRow::with_creator(conn, pid)?
                .ok_or_else(|| CoreError::Internal("comment without parent".into()))?;
            (parent.ap_id, Some(pc))
        }
        None => (post.ap_id.clone(), PersonRow::by_id(conn, post.creator_id)?),
    };
    Ok(CommentView {
        comment: Comment::from(comment),
        creator: Person::from(creator),
        post: Post::from(post),
        community: Community::from(community),
        parent_creator: parent_creator.map(Person::from),
        in_reply_to,
    })
}

/// One comment with its post and community, deleted or not.
pub async fn get(ctx: &Cairn, id: i64) -> CoreResult<CommentView> {
    ctx.db().run(move |conn| load(conn, id)).await
}

/// Edits a comment (its author only).
pub async fn edit(ctx: &Cairn, user: &AuthUser, id: i64, body: &str) -> CoreResult<CommentView> {
    let body = validate::required_body(body)?;
    let html = markdown::to_html(&body);
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<CommentView> {
            let comment = CommentRow::by_id(conn, id)?.ok_or_else(not_found)?;
            if comment.deleted || comment.removed {
                return Err(CoreError::gone(
                    "comment_deleted",
                    "This comment was deleted.",
                ));
            }
            if comment.creator_id != person_id {
                return Err(CoreError::forbidden(
                    "not_author",
                    "Only the author may edit a comment.",
                ));
            }
            CommentRow::update_body(conn, id, &body, &html, db_now())?;
            let view = load(conn, id)?;
            emit(
                conn,
                EventKind::CommentUpdated,
                person_id,
                Subject {
                    community_id: Some(view.community.id),
                    post_id: Some(view.post.id),
                    comment_id: Some(id),
                    ..Subject::default()
                },
            )?;
            Ok(view)
        })
        .await
        .inspect(|_| ctx.notify_outbox())
}

/// Deletes a comment: its author deletes it, a moderator removes it.
pub async fn delete(ctx: &Cairn, user: &AuthUser, id: i64) -> CoreResult<()> {
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let comment = CommentRow::by_id(conn, id)?.ok_or_else(not_found)?;
            if comment.deleted || comment.removed {
                return Ok(());
            }
            let now = db_now();
            let post = PostRow::by_id(conn, comment.post_id)?.ok_or_else(not_found)?;
            let subject = Subject {
                community_id: Some(post.community_id),
                post_id: Some(post.id),
                comment_id: Some(id),
                ..Subject::default()
            };
            if comment.creator_id == person_id {
                CommentRow::set_deleted(conn, id, true, false, now)?;
                emit(conn, EventKind::CommentDeleted, person_id, subject)?;
                return Ok(());
            }
            let community = CommunityRow::by_id(conn, post.community_id)?.ok_or_else(not_found)?;
            if is_moderator(conn, &community, person_id)? {
                CommentRow::set_deleted(conn, id, false, true, now)?;
                emit(conn, EventKind::CommentRemoved, person_id, subject)?;
                Ok(())
            } else {
                Err(CoreError::forbidden(
                    "not_author",
                    "Only the author or a moderator may delete a comment.",
                ))
            }
        })
        .await
        .inspect(|_| ctx.notify_outbox())
}

/// The ActivityPub ids of a post's visible comments, oldest first (for its context collection).
pub async fn thread_ap_ids(ctx: &Cairn, post_id: i64) -> CoreResult<Vec<String>> {
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            let mut rows: Vec<CommentRow> =
                CommentRow::for_post(conn, post_id, crate::posts::MAX_COMMENTS_PER_POST)?
                    .into_iter()
                    .map(|(c, _)| c)
                    .filter(|c| !c.deleted && !c.removed)
                    .collect();
            rows.sort_by_key(|c| (c.published, c.id));
            Ok(rows.into_iter().map(|c| c.ap_id).collect())
        })
        .await
}

/// A person's recent visible comments.
pub async fn recent_by_person(ctx: &Cairn, person_id: i64, limit: i64) -> CoreResult<Vec<Comment>> {
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            Ok(
                CommentRow::recent_by_creator(conn, person_id, limit.clamp(1, 50))?
                    .into_iter()
                    .map(Comment::from)
                    .collect(),
            )
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_in_thread_order() {
        let a = child_path("0", 2);
        let a1 = child_path(&a, 10);
        let b = child_path("0", 11);
        let mut v = vec![b.clone(), a1.clone(), a.clone()];
        v.sort();
        assert_eq!(v, vec![a, a1, b]);
    }
}
