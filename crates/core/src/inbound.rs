//! Content from other servers: posts, comments, votes and deletions that arrive as verified
//! activities, applied with the same permission rules as local actions.
//!
//! When the community is local, the same transaction writes a relay event, so the community
//! Announces the activity to its followers exactly once even if the process dies meanwhile.

use cairn_storage::activities::{ActivityRow, NewActivity};
use cairn_storage::comments::{CommentRow, NewComment};
use cairn_storage::communities::CommunityRow;
use cairn_storage::inbound::InboundRow;
use cairn_storage::posts::{NewPost, PostChange, PostRow};
use cairn_storage::{AnyConn, db_now, votes};

use crate::communities::{ensure_can_participate, is_moderator};
use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::events::{EventKind, Subject, emit};
use crate::markdown;
use crate::model::Community;
use crate::ranking::hot_rank;
use crate::validate;

/// Longest remote title kept; longer ones are cut (Lemmy's limit).
const MAX_TITLE: usize = validate::MAX_TITLE_CHARS;

/// Text of a remote post or comment: Markdown source if given (rendered here), else HTML.
#[derive(Debug, Clone, Default)]
pub struct RemoteBody {
    pub markdown: Option<String>,
    pub html: Option<String>,
}

impl RemoteBody {
    /// The Markdown (when given) and sanitised HTML kept for the text; no HTML means no text.
    pub fn render(&self) -> (Option<String>, Option<String>) {
        let md = self
            .markdown
            .as_deref()
            .map(|m| m.chars().take(validate::MAX_BODY_CHARS).collect::<String>());
        match (md, &self.html) {
            (Some(md), _) if !md.trim().is_empty() => {
                let html = markdown::to_html(&md);
                (Some(md), Some(html))
            }
            (_, Some(html)) if !html.trim().is_empty() => {
                // The same limit as local Markdown, applied before sanitising so that the
                // parser's work is bounded too; a tag cut in half is dropped or closed by it.
                let cut: String = html.chars().take(validate::MAX_BODY_CHARS).collect();
                (None, Some(markdown::sanitize_html(&cut)))
            }
            _ => (None, None),
        }
    }
}

/// A verified remote post.
#[derive(Debug, Clone)]
pub struct RemotePost {
    pub ap_id: String,
    pub community_id: i64,
    pub creator_id: i64,
    pub title: String,
    pub url: Option<String>,
    pub body: RemoteBody,
    pub published: Option<chrono::NaiveDateTime>,
}

/// A verified remote comment.
#[derive(Debug, Clone)]
pub struct RemoteComment {
    pub ap_id: String,
    pub creator_id: i64,
    /// The ActivityPub id of the post or comment replied to.
    pub in_reply_to: String,
    pub body: RemoteBody,
    pub published: Option<chrono::NaiveDateTime>,
}

fn relay(
    conn: &mut AnyConn<'_>,
    community: &CommunityRow,
    actor_id: i64,
    receipt: &Receipt,
) -> CoreResult<()> {
    if community.local
        && let Some(id) = receipt.relay_id()
    {
        emit(
            conn,
            EventKind::Relay,
            actor_id,
            Subject {
                community_id: Some(community.id),
                object_ap_id: Some(id.to_owned()),
                ..Subject::default()
            },
        )?;
    }
    Ok(())
}

/// An activity received from another server, as it is recorded when applied.
#[derive(Debug, Clone)]
pub struct ReceivedActivity {
    pub ap_id: String,
    pub kind: String,
    pub actor_ap_id: String,
    /// The activity's JSON as it arrived, which a local community relays unchanged.
    pub json: String,
}

/// What a change from another server records in the transaction that applies it, so that the
/// change and the record of having applied it commit together or not at all: the durable
/// inbox's row is marked applied, and the received activity is stored by id (for a local
/// community to relay it, and so that a second copy of it, say inside an Announce, is
/// recognised). A change made for a fetched object, with no activity behind it, records nothing.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    /// The row of the durable inbox whose activity this change applies.
    pub inbound_id: Option<i64>,
    /// The activity to store as received.
    pub activity: Option<ReceivedActivity>,
}

impl Receipt {
    /// The id a local community relays, when the change applies a received activity.
    fn relay_id(&self) -> Option<&str> {
        self.activity.as_ref().map(|a| a.ap_id.as_str())
    }

    /// Records the receipt. An activity stored before (applied through another path, or our
    /// own coming back) or an inbox row that is no longer this worker's fails with a
    /// `Conflict`, which rolls the whole change back.
    pub(crate) fn record(&self, conn: &mut AnyConn<'_>) -> CoreResult<()> {
        let now = db_now();
        if let Some(a) = &self.activity {
            let row = NewActivity {
                ap_id: a.ap_id.clone(),
                kind: a.kind.clone(),
                actor_ap_id: a.actor_ap_id.clone(),
                data: a.json.clone(),
                local: false,
                sensitive: false,
                published: now,
            };
            if !ActivityRow::insert_received(conn, &row)? {
                return Err(CoreError::conflict(
                    "duplicate",
                    "This activity was received and applied before.",
                ));
            }
        }
        if let Some(id) = self.inbound_id
            && !InboundRow::finish(conn, id, APPLIED, APPLIED, None, now)?
        {
            return Err(CoreError::conflict(
                "lease_lost",
                "Another worker took this activity over.",
            ));
        }
        Ok(())
    }
}

/// The state and code of an inbound activity that was applied.
pub const APPLIED: &str = "applied";

/// A remote post's title as stored: whitespace collapsed, control characters dropped, cut to
/// the longest title kept; an empty one is refused.
pub fn title(raw: &str) -> CoreResult<String> {
    let t: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TITLE)
        .collect();
    if t.is_empty() {
        return Err(CoreError::invalid(
            "missing_title",
            "A post needs a title (`name`).",
        ));
    }
    Ok(t)
}

/// Stores a remote post, or applies its edit when it is known; `relay_activity` is the
/// received activity to Announce when the community is ours. Returns the post id.
pub async fn upsert_post(ctx: &Cairn, p: RemotePost, receipt: Receipt) -> CoreResult<i64> {
    let title = title(&p.title)?;
    let url = p
        .url
        .as_deref()
        .and_then(|u| validate::link(u).ok().flatten());
    let (body_md, body_html) = p.body.render();
    let id = ctx
        .db()
        .transaction(move |conn| -> CoreResult<i64> {
            receipt.record(conn)?;
            let community = CommunityRow::by_id(conn, p.community_id)?
                .ok_or_else(|| CoreError::not_found("community_not_found", "No such community."))?;
            if let Some(existing) = PostRow::by_ap_id(conn, &p.ap_id)? {
                if existing.creator_id != p.creator_id {
                    return Err(CoreError::forbidden(
                        "not_author",
                        "Only the author may edit a post.",
                    ));
                }
                if existing.community_id != community.id {
                    return Err(CoreError::invalid(
                        "community_mismatch",
                        "A post cannot move to another community.",
                    ));
                }
                if existing.deleted || existing.removed {
                    return Ok(existing.id);
                }
                PostRow::update(
                    conn,
                    existing.id,
                    &PostChange {
                        title: Some(title),
                        url: Some(url),
                        body_md: Some(body_md),
                        body_html: Some(body_html),
                        updated: Some(Some(db_now())),
                    },
                )?;
                relay(conn, &community, p.creator_id, &receipt)?;
                return Ok(existing.id);
            }
            if community.local {
                ensure_can_participate(conn, &community, p.creator_id)?;
            }
            let now = db_now();
            let published = p.published.filter(|t| *t <= now).unwrap_or(now);
            let row = PostRow::insert(
                conn,
                &NewPost {
                    ap_id: p.ap_id,
                    community_id: community.id,
                    creator_id: p.creator_id,
                    title,
                    url,
                    body_md,
                    body_html,
                    post_kind: "discussion".into(),
                    local: false,
                    hot_rank: hot_rank(0, published, now),
                    published: cairn_storage::truncate_to_micros(published),
                    last_activity_at: now,
                },
            )?;
            relay(conn, &community, p.creator_id, &receipt)?;
            Ok(row.id)
        })
        .await?;
    ctx.notify_outbox();
    Ok(id)
}

/// Where a remote comment would go: its post and parent comment, found by `in_reply_to`.
pub async fn reply_target(
    ctx: &Cairn,
    in_reply_to: &str,
) -> CoreResult<Option<(i64, Option<i64>)>> {
    let target = in_reply_to.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            if let Some(post) = PostRow::by_ap_id(conn, &target)? {
                return Ok(Some((post.id, None)));
            }
            Ok(CommentRow::by_ap_id(conn, &target)?.map(|c| (c.post_id, Some(c.id))))
        })
        .await
}

/// The community of the post `ap_id`, or of the post of the comment `ap_id`, when it is known.
pub async fn community_of(ctx: &Cairn, ap_id: &str) -> CoreResult<Option<Community>> {
    let target = ap_id.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            let post = match PostRow::by_ap_id(conn, &target)? {
                Some(post) => Some(post),
                None => match CommentRow::by_ap_id(conn, &target)? {
                    Some(comment) => PostRow::by_id(conn, comment.post_id)?,
                    None => None,
                },
            };
            let Some(post) = post else {
                return Ok(None);
            };
            Ok(CommunityRow::by_id(conn, post.community_id)?.map(Community::from))
        })
        .await
}

/// Stores a remote comment, or applies its edit when known. Returns the comment id.
pub async fn upsert_comment(ctx: &Cairn, c: RemoteComment, receipt: Receipt) -> CoreResult<i64> {
    let (body_md, body_html) = c.body.render();
    let body_html =
        body_html.ok_or_else(|| CoreError::invalid("empty_comment", "A comment needs content."))?;
    let body_md = body_md.unwrap_or_default();
    let target = c.in_reply_to.clone();
    let id = ctx
        .db()
        .transaction(move |conn| -> CoreResult<i64> {
            receipt.record(conn)?;
            let (post, parent) = match PostRow::by_ap_id(conn, &target)? {
                Some(post) => (post, None),
                None => {
                    let parent = CommentRow::by_ap_id(conn, &target)?.ok_or_else(|| {
                        CoreError::not_found(
                            "unknown_parent",
                            "The post or comment replied to is unknown here.",
                        )
                    })?;
                    let post = PostRow::by_id(conn, parent.post_id)?
                        .ok_or_else(|| CoreError::Internal("comment without post".into()))?;
                    (post, Some(parent))
                }
            };
            let community = CommunityRow::by_id(conn, post.community_id)?
                .ok_or_else(|| CoreError::Internal("post without community".into()))?;
            let now = db_now();
            if let Some(existing) = CommentRow::by_ap_id(conn, &c.ap_id)? {
                if existing.creator_id != c.creator_id {
                    return Err(CoreError::forbidden(
                        "not_author",
                        "Only the author may edit a comment.",
                    ));
                }
                if !existing.deleted && !existing.removed {
                    CommentRow::update_body(conn, existing.id, &body_md, &body_html, now)?;
                    relay(conn, &community, c.creator_id, &receipt)?;
                }
                return Ok(existing.id);
            }
            if post.deleted || post.removed {
                return Err(CoreError::gone("post_deleted", "The post was deleted."));
            }
            if community.local {
                ensure_can_participate(conn, &community, c.creator_id)?;
                if post.locked && !is_moderator(conn, &community, c.creator_id)? {
                    return Err(CoreError::forbidden("post_locked", "This post is locked."));
                }
            }
            // A reply deeper than local replies may go is stored as a reply to its parent's
            // parent, a sibling of its parent at the deepest level, as Reddit-style threads
            // flatten: the thread stays readable and no chain, however long, can make a
            // recursive walk of the tree deeper than the limit.
            let parent = match parent {
                Some(p) if p.depth >= crate::comments::MAX_DEPTH => match p.parent_id {
                    Some(grand) => CommentRow::by_id(conn, grand)?,
                    None => Some(p),
                },
                other => other,
            };
            let (path, depth) = match &parent {
                Some(p) => {
                    CommentRow::add_child_count(conn, p.id, 1)?;
                    (p.path.clone(), p.depth + 1)
                }
                None => ("0".to_owned(), 0),
            };
            let published = c.published.filter(|t| *t <= now).unwrap_or(now);
            let row = CommentRow::insert(
                conn,
                &NewComment {
                    ap_id: c.ap_id.clone(),
                    post_id: post.id,
                    parent_id: parent.as_ref().map(|p| p.id),
                    creator_id: c.creator_id,
                    body_md,
                    body_html,
                    path: path.clone(),
                    depth,
                    local: false,
                    published: cairn_storage::truncate_to_micros(published),
                },
            )?;
            CommentRow::set_identity(conn, row.id, &c.ap_id, &format!("{path}.{:012}", row.id))?;
            PostRow::add_comment_count(conn, post.id, 1, now)?;
            relay(conn, &community, c.creator_id, &receipt)?;
            Ok(row.id)
        })
        .await?;
    ctx.notify_outbox();
    Ok(id)
}

/// Applies a remote vote (+1, -1, or 0 to withdraw) on a post or comment named by its id.
pub async fn vote(
    ctx: &Cairn,
    person_id: i64,
    object: &str,
    score: i32,
    receipt: Receipt,
) -> CoreResult<()> {
    let object = object.to_owned();
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            receipt.record(conn)?;
            let now = db_now();
            if let Some(post) = PostRow::by_ap_id(conn, &object)? {
                let community = CommunityRow::by_id(conn, post.community_id)?
                    .ok_or_else(|| CoreError::Internal("post without community".into()))?;
                if community.local {
                    ensure_can_participate(conn, &community, person_id)?;
                }
                votes::set_post_vote(conn, post.id, person_id, score, receipt.relay_id(), now)?;
                let t = votes::post_totals(conn, post.id)?;
                PostRow::set_votes(
                    conn,
                    post.id,
                    t.upvotes,
                    t.downvotes,
                    hot_rank(t.upvotes - t.downvotes, post.published, now),
                )?;
                return relay(conn, &community, person_id, &receipt);
            }
            if let Some(comment) = CommentRow::by_ap_id(conn, &object)? {
                let post = PostRow::by_id(conn, comment.post_id)?
                    .ok_or_else(|| CoreError::Internal("comment without post".into()))?;
                let community = CommunityRow::by_id(conn, post.community_id)?
                    .ok_or_else(|| CoreError::Internal("post without community".into()))?;
                if community.local {
                    ensure_can_participate(conn, &community, person_id)?;
                }
                votes::set_comment_vote(
                    conn,
                    comment.id,
                    post.id,
                    person_id,
                    score,
                    receipt.relay_id(),
                    now,
                )?;
                let t = votes::comment_totals(conn, comment.id)?;
                CommentRow::set_votes(conn, comment.id, t.upvotes, t.downvotes)?;
                return relay(conn, &community, person_id, &receipt);
            }
            Err(CoreError::not_found(
                "unknown_object",
                "The voted object is unknown here.",
            ))
        })
        .await?;
    ctx.notify_outbox();
    Ok(())
}

/// How a remote Delete takes effect, as the inbox's trust rules decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteAs {
    /// The author deletes their own post or comment.
    Author,
    /// A moderator removes it from its community. In a local community the remover must be one
    /// of its moderators here; in a remote community the inbox checked the community's own
    /// moderators list or its Announce, and a local author's own record is only marked
    /// removed in that community, never deleted.
    Removal,
}

/// Applies a remote Delete of a post or comment, as an author's deletion or a moderator's
/// removal. Deleting what is already gone or unknown changes nothing.
pub async fn delete(
    ctx: &Cairn,
    person_id: i64,
    object: &str,
    how: DeleteAs,
    receipt: Receipt,
) -> CoreResult<()> {
    let object = object.to_owned();
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            receipt.record(conn)?;
            let now = db_now();
            let (post, comment) = match PostRow::by_ap_id(conn, &object)? {
                Some(post) => (post, None),
                None => match CommentRow::by_ap_id(conn, &object)? {
                    Some(comment) => {
                        let post = PostRow::by_id(conn, comment.post_id)?
                            .ok_or_else(|| CoreError::Internal("comment without post".into()))?;
                        (post, Some(comment))
                    }
                    None => return Ok(()),
                },
            };
            let community = CommunityRow::by_id(conn, post.community_id)?
                .ok_or_else(|| CoreError::Internal("post without community".into()))?;
            let (creator_id, gone) = match &comment {
                Some(c) => (c.creator_id, c.deleted || c.removed),
                None => (post.creator_id, post.deleted || post.removed),
            };
            if gone {
                return Ok(());
            }
            let (deleted, removed) = match how {
                DeleteAs::Author if creator_id == person_id => (true, false),
                DeleteAs::Removal
                    if !community.local || is_moderator(conn, &community, person_id)? =>
                {
                    (false, true)
                }
                _ => {
                    return Err(CoreError::forbidden(
                        "not_author",
                        "Only the author or a moderator may delete this.",
                    ));
                }
            };
            match &comment {
                Some(c) => CommentRow::set_deleted(conn, c.id, deleted, removed, now)?,
                None => PostRow::set_deleted(conn, post.id, deleted, removed, now)?,
            }
            relay(conn, &community, person_id, &receipt)
        })
        .await?;
    ctx.notify_outbox();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_html_is_cut_to_the_local_limit() {
        let paragraph = "<p>Compost <em>works</em> &amp; grows.</p>";
        let html = paragraph.repeat(validate::MAX_BODY_CHARS / paragraph.len() * 4);
        let body = RemoteBody {
            markdown: None,
            html: Some(html),
        };
        let (_, kept) = body.render();
        let kept = kept.expect("html");
        // Sanitising may lengthen what it keeps a little (entities, closed tags), never the
        // four times as much that was sent.
        assert!(
            kept.chars().count() < validate::MAX_BODY_CHARS * 2,
            "{}",
            kept.len()
        );
        assert!(kept.starts_with("<p>Compost <em>works</em>"));
        assert!(!kept.ends_with("<p"), "no half tag survives");
    }

    #[test]
    fn remote_markdown_is_cut_to_the_local_limit() {
        let body = RemoteBody {
            markdown: Some("word ".repeat(validate::MAX_BODY_CHARS)),
            html: None,
        };
        let (md, _) = body.render();
        assert_eq!(
            md.expect("markdown").chars().count(),
            validate::MAX_BODY_CHARS
        );
    }
}
