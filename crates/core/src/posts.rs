//! Posts: create, read with the comment tree, edit, delete and list with keyset pagination.

use std::collections::HashMap;

use base64::Engine;
use cairn_storage::comments::CommentRow;
use cairn_storage::communities::CommunityRow;
use cairn_storage::persons::PersonRow;
use cairn_storage::posts::{NewPost, PostChange, PostCursor, PostRow, PostWithContext};

/// Listing orders, re-exported so front ends need not know the storage crate.
pub use cairn_storage::posts::PostSort;
use cairn_storage::{AnyConn, db_now, votes};

use crate::communities::{ensure_can_participate, is_moderator};
use crate::context::Cairn;
use crate::error::{CoreError, CoreResult};
use crate::events::{EventKind, Subject, emit};
use crate::markdown;
use crate::model::{AuthUser, Comment, CommentNode, Community, Person, Post, PostDetail, PostView};
use crate::ranking::hot_rank;
use crate::validate;

/// Most comments listed in a post's context collection; a page of the thread itself loads at
/// most [`THREAD_BUDGET`].
pub const MAX_COMMENTS_PER_POST: i64 = 2_000;

/// What the compose form sends.
#[derive(Debug, Clone, Default)]
pub struct NewPostInput {
    pub community: String,
    pub title: String,
    pub body: Option<String>,
    pub url: Option<String>,
}

/// An edit: `None` leaves a field alone; an empty body or url clears it.
#[derive(Debug, Clone, Default)]
pub struct PostEdit {
    pub title: Option<String>,
    pub body: Option<String>,
    pub url: Option<String>,
}

fn not_found() -> CoreError {
    CoreError::not_found("post_not_found", "No post has that id.")
}

fn gone() -> CoreError {
    CoreError::gone("post_deleted", "This post was deleted.")
}

fn to_view(row: PostWithContext, my_vote: Option<i32>) -> PostView {
    let (post, creator, community) = row;
    PostView {
        post: Post::from(post),
        creator: Person::from(creator),
        community: Community::from(community),
        my_vote,
    }
}

/// Creates a post in a local community.
pub async fn create(ctx: &Cairn, user: &AuthUser, input: NewPostInput) -> CoreResult<PostView> {
    let title = validate::post_title(&input.title)?;
    let body = input
        .body
        .as_deref()
        .map(|b| validate::markdown(b, validate::MAX_BODY_CHARS, "invalid_body"))
        .transpose()?
        .flatten();
    let url = input
        .url
        .as_deref()
        .map(validate::link)
        .transpose()?
        .flatten();
    let urls = ctx.urls().clone();
    let person_id = user.person_id;
    let community_id = crate::communities::resolve(ctx, &input.community).await?.id;
    let id = ctx
        .db()
        .transaction(move |conn| -> CoreResult<i64> {
            let community = CommunityRow::by_id(conn, community_id)?.ok_or_else(not_found)?;
            ensure_can_participate(conn, &community, person_id)?;
            let now = db_now();
            let row = PostRow::insert(
                conn,
                &NewPost {
                    // A unique placeholder until the id, which the public id is built from, exists.
                    ap_id: format!("urn:cairn:pending:{}", crypto_placeholder()),
                    community_id: community.id,
                    creator_id: person_id,
                    title,
                    url,
                    body_html: body.as_deref().map(markdown::to_html),
                    body_md: body,
                    post_kind: "discussion".to_owned(),
                    local: true,
                    hot_rank: hot_rank(0, now, now),
                    published: now,
                    last_activity_at: now,
                },
            )?;
            PostRow::set_ap_id(conn, row.id, &urls.post(row.id))?;
            emit(
                conn,
                EventKind::PostCreated,
                person_id,
                Subject {
                    community_id: Some(community.id),
                    post_id: Some(row.id),
                    ..Subject::default()
                },
            )?;
            Ok(row.id)
        })
        .await?;
    ctx.notify_outbox();
    get_view(ctx, id, Some(user)).await
}

/// A random placeholder for ids that are only known after insertion.
pub(crate) fn crypto_placeholder() -> String {
    crate::crypto::new_token()
}

fn load_view(conn: &mut AnyConn<'_>, id: i64, viewer: Option<&AuthUser>) -> CoreResult<PostView> {
    let row = PostRow::with_context(conn, id)?.ok_or_else(not_found)?;
    let my_vote = match viewer {
        Some(u) => votes::my_post_votes(conn, u.person_id, &[id])?
            .first()
            .map(|(_, s)| *s),
        None => None,
    };
    Ok(to_view(row, my_vote))
}

/// A post with its author and community, deleted or not (federation serves tombstones).
pub async fn get_view(ctx: &Cairn, id: i64, viewer: Option<&AuthUser>) -> CoreResult<PostView> {
    let viewer = viewer.cloned();
    ctx.db()
        .run(move |conn| load_view(conn, id, viewer.as_ref()))
        .await
}

/// Whether `viewer` may read the post: nobody once its author deleted it; once moderators
/// removed it, only its author, as on Lemmy. A removal by a remote community's moderators marks
/// the post removed there and never takes it from its local author, who may still delete it.
fn readable(post: &Post, viewer: Option<&AuthUser>) -> bool {
    !post.deleted && (!post.removed || viewer.is_some_and(|u| u.person_id == post.creator_id))
}

/// A post its viewer may read (see [`readable`]), without its comments.
pub async fn get_visible(ctx: &Cairn, id: i64, viewer: Option<&AuthUser>) -> CoreResult<PostView> {
    let view = get_view(ctx, id, viewer).await?;
    if !readable(&view.post, viewer) {
        return Err(gone());
    }
    Ok(view)
}

/// Top-level comments on one page of a thread.
pub const THREAD_PAGE: i64 = 50;

/// The most comments, bodies included, that one page of a thread loads: a page ends early when
/// its top-level comments' subtrees use the budget up, and a cut subtree is read in full from
/// its comment's own page.
pub const THREAD_BUDGET: i64 = 500;

/// Which page of a thread to load, and how it is shaped.
#[derive(Debug, Clone)]
pub struct ThreadPage {
    /// The `next_cursor` of the page before, or none for the first page.
    pub cursor: Option<String>,
    /// How many levels replies nest to. Deeper replies are placed beside their ancestor on the
    /// last level, so that a chain of any depth cannot nest HTML, JSON or the stack without
    /// bound (JSON parsers commonly stop at 128 levels).
    pub nesting: usize,
}

/// Where a thread page starts: the number of top-level comments before it. The cursor is
/// opaque to clients; it is a number today so that it stays valid across restarts.
fn thread_offset(cursor: Option<&str>) -> CoreResult<i64> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            CoreError::invalid(
                "invalid_cursor",
                "The comments cursor is not one we gave out.",
            )
        }),
    }
}

/// A visible post with one page of its comment tree.
pub async fn get_detail(
    ctx: &Cairn,
    id: i64,
    viewer: Option<&AuthUser>,
    page: &ThreadPage,
) -> CoreResult<PostDetail> {
    let viewer = viewer.cloned();
    let offset = thread_offset(page.cursor.as_deref())?;
    let nesting = page.nesting;
    ctx.db()
        .run(move |conn| -> CoreResult<PostDetail> {
            let view = load_view(conn, id, viewer.as_ref())?;
            if !readable(&view.post, viewer.as_ref()) {
                return Err(gone());
            }
            // One more than a page tells whether another page follows.
            let roots = CommentRow::top_level_page(conn, id, offset, THREAD_PAGE + 1)?;
            let more = roots.len() as i64 > THREAD_PAGE;
            let mut rows = Vec::new();
            let mut taken = 0;
            for (_, path) in roots.iter().take(THREAD_PAGE as usize) {
                let left = THREAD_BUDGET - rows.len() as i64;
                if left <= 0 {
                    break;
                }
                rows.extend(CommentRow::subtree(conn, id, path, left)?);
                taken += 1;
            }
            let next_cursor = (more || taken < roots.len().min(THREAD_PAGE as usize))
                .then(|| (offset + taken as i64).to_string());
            let my_votes = my_comment_votes(conn, viewer.as_ref(), id)?;
            let comments = build_tree(rows, &my_votes, nesting);
            Ok(PostDetail {
                view,
                comments,
                next_cursor,
            })
        })
        .await
}

/// A comment and its replies, as a tree rooted at it (within the same budget as a page).
pub async fn comment_subtree(
    ctx: &Cairn,
    comment_id: i64,
    viewer: Option<&AuthUser>,
    nesting: usize,
) -> CoreResult<Vec<CommentNode>> {
    let viewer = viewer.cloned();
    ctx.db()
        .run(move |conn| -> CoreResult<Vec<CommentNode>> {
            let root = CommentRow::by_id(conn, comment_id)?.ok_or_else(|| {
                CoreError::not_found("comment_not_found", "No comment has that id.")
            })?;
            let rows = CommentRow::subtree(conn, root.post_id, &root.path, THREAD_BUDGET)?;
            let my_votes = my_comment_votes(conn, viewer.as_ref(), root.post_id)?;
            Ok(build_tree(rows, &my_votes, nesting))
        })
        .await
}

fn my_comment_votes(
    conn: &mut AnyConn<'_>,
    viewer: Option<&AuthUser>,
    post_id: i64,
) -> CoreResult<HashMap<i64, i32>> {
    Ok(match viewer {
        Some(u) => votes::my_comment_votes(conn, u.person_id, post_id)?
            .into_iter()
            .collect(),
        None => HashMap::new(),
    })
}

/// Nests comments under their parents, at most `nesting` levels deep. Siblings are ordered by
/// score, then age, as on Lemmy's "top" sort; deleted comments keep their place (so replies
/// stay readable) but lose their text. The rows come in path order, so parents come first.
/// The work is a loop over the rows, never recursion, whatever the depth.
fn build_tree(
    rows: Vec<(CommentRow, PersonRow)>,
    my_votes: &HashMap<i64, i32>,
    nesting: usize,
) -> Vec<CommentNode> {
    // The level each comment is shown at and the comment it is shown under: its parent, or,
    // past the last level, the one its parent is shown under.
    let mut placed: HashMap<i64, (usize, Option<i64>)> = HashMap::new();
    for (row, _) in &rows {
        let place = match row.parent_id.and_then(|p| placed.get(&p).map(|s| (p, *s))) {
            // A reply whose parent was cut off by the budget is shown at the top level.
            None => (0, None),
            Some((parent, (level, _))) if level + 1 < nesting.max(1) => (level + 1, Some(parent)),
            Some((_, (level, under))) => (level, under),
        };
        placed.insert(row.id, place);
    }
    let mut children: HashMap<Option<i64>, Vec<CommentNode>> = HashMap::new();
    // Walking in reverse lets each node collect its finished replies before it is attached to
    // the comment it is shown under.
    for (row, person) in rows.into_iter().rev() {
        let mut comment = Comment::from(row);
        if comment.deleted || comment.removed {
            comment.body_md = String::new();
            comment.body_html = String::new();
        }
        let mut replies = children.remove(&Some(comment.id)).unwrap_or_default();
        sort_siblings(&mut replies);
        let under = placed.get(&comment.id).and_then(|(_, u)| *u);
        let node = CommentNode {
            my_vote: my_votes.get(&comment.id).copied(),
            creator: Person::from(person),
            comment,
            replies,
        };
        children.entry(under).or_default().push(node);
    }
    let mut top = children.remove(&None).unwrap_or_default();
    sort_siblings(&mut top);
    top
}

fn sort_siblings(nodes: &mut [CommentNode]) {
    nodes.sort_by(|a, b| {
        b.comment
            .score
            .cmp(&a.comment.score)
            .then(a.comment.published.cmp(&b.comment.published))
            .then(a.comment.id.cmp(&b.comment.id))
    });
}

/// Edits a post (its author only).
pub async fn edit(ctx: &Cairn, user: &AuthUser, id: i64, edit: PostEdit) -> CoreResult<PostView> {
    let mut change = PostChange::default();
    if let Some(t) = &edit.title {
        change.title = Some(validate::post_title(t)?);
    }
    if let Some(b) = &edit.body {
        let md = validate::markdown(b, validate::MAX_BODY_CHARS, "invalid_body")?;
        change.body_html = Some(md.as_deref().map(markdown::to_html));
        change.body_md = Some(md);
    }
    if let Some(u) = &edit.url {
        change.url = Some(validate::link(u)?);
    }
    change.updated = Some(Some(db_now()));
    let person_id = user.person_id;
    let viewer = user.clone();
    ctx.db()
        .transaction(move |conn| -> CoreResult<PostView> {
            let post = PostRow::by_id(conn, id)?.ok_or_else(not_found)?;
            if post.deleted || post.removed {
                return Err(gone());
            }
            if post.creator_id != person_id {
                return Err(CoreError::forbidden(
                    "not_author",
                    "Only the author may edit a post.",
                ));
            }
            PostRow::update(conn, id, &change)?;
            emit(
                conn,
                EventKind::PostUpdated,
                person_id,
                Subject {
                    community_id: Some(post.community_id),
                    post_id: Some(id),
                    ..Subject::default()
                },
            )?;
            load_view(conn, id, Some(&viewer))
        })
        .await
        .inspect(|_| ctx.notify_outbox())
}

/// Deletes a post: its author deletes it, a moderator removes it. Both serve a Tombstone.
pub async fn delete(ctx: &Cairn, user: &AuthUser, id: i64) -> CoreResult<()> {
    let person_id = user.person_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let post = PostRow::by_id(conn, id)?.ok_or_else(not_found)?;
            // The author may still delete a post that moderators removed.
            if post.deleted || (post.removed && post.creator_id != person_id) {
                return Ok(());
            }
            let now = db_now();
            let subject = Subject {
                community_id: Some(post.community_id),
                post_id: Some(id),
                ..Subject::default()
            };
            if post.creator_id == person_id {
                PostRow::set_deleted(conn, id, true, post.removed, now)?;
                emit(conn, EventKind::PostDeleted, person_id, subject)?;
                return Ok(());
            }
            let community = CommunityRow::by_id(conn, post.community_id)?.ok_or_else(not_found)?;
            if is_moderator(conn, &community, person_id)? {
                PostRow::set_deleted(conn, id, false, true, now)?;
                emit(conn, EventKind::PostRemoved, person_id, subject)?;
                Ok(())
            } else {
                Err(CoreError::forbidden(
                    "not_author",
                    "Only the author or a moderator may delete a post.",
                ))
            }
        })
        .await
        .inspect(|_| ctx.notify_outbox())
}

/// Listing order as clients name it.
pub fn parse_sort(raw: Option<&str>) -> CoreResult<PostSort> {
    match raw.unwrap_or("hot") {
        "hot" => Ok(PostSort::Hot),
        "new" => Ok(PostSort::New),
        "top" => Ok(PostSort::Top),
        other => Err(CoreError::invalid(
            "invalid_sort",
            format!("`{other}` is not a sort order; use hot, new or top."),
        )),
    }
}

/// Encodes where a page ended as an opaque cursor.
fn encode_cursor(cursor: &PostCursor) -> String {
    let raw = match cursor {
        PostCursor::New(t, id) => format!("n:{}:{id}", t.and_utc().timestamp_micros()),
        PostCursor::Hot(r, id) => format!("h:{r}:{id}"),
        PostCursor::Top(s, id) => format!("t:{s}:{id}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Decodes a cursor made by [`encode_cursor`] for the same sort.
fn decode_cursor(raw: &str, sort: PostSort) -> CoreResult<PostCursor> {
    let bad = || {
        CoreError::invalid(
            "invalid_cursor",
            "The cursor is not one this server gave out for this sort order.",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(3, ':');
    let (Some(tag), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let id: i64 = id.parse().map_err(|_| bad())?;
    match (tag, sort) {
        ("n", PostSort::New) => {
            let micros: i64 = key.parse().map_err(|_| bad())?;
            let t = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
            Ok(PostCursor::New(t.naive_utc(), id))
        }
        ("h", PostSort::Hot) => {
            let r: f64 = key.parse().map_err(|_| bad())?;
            if !r.is_finite() {
                return Err(bad());
            }
            Ok(PostCursor::Hot(r, id))
        }
        ("t", PostSort::Top) => Ok(PostCursor::Top(key.parse().map_err(|_| bad())?, id)),
        _ => Err(bad()),
    }
}

/// One page of posts and the cursor of the next page, if there is one.
#[derive(Debug, Clone)]
pub struct PostPage {
    pub posts: Vec<PostView>,
    pub next_cursor: Option<String>,
}

/// Lists a local community's posts.
pub async fn list_for_community(
    ctx: &Cairn,
    community: &str,
    sort: PostSort,
    cursor: Option<&str>,
    limit: i64,
    viewer: Option<&AuthUser>,
) -> CoreResult<PostPage> {
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(|c| decode_cursor(c, sort))
        .transpose()?;
    let limit = limit.clamp(1, 50);
    let community = crate::communities::resolve(ctx, community).await?;
    let viewer = viewer.cloned();
    ctx.db()
        .run(move |conn| -> CoreResult<PostPage> {
            let rows =
                PostRow::list_for_community(conn, community.id, sort, cursor.as_ref(), limit + 1)?;
            page_of(conn, rows, limit, sort, viewer.map(|u| u.person_id))
        })
        .await
}

/// Makes a page of `rows`, fetched with one row more than `limit` to learn whether another
/// page follows: the cursor of the next page in `sort` order, and the viewer's own votes.
fn page_of(
    conn: &mut AnyConn<'_>,
    mut rows: Vec<PostWithContext>,
    limit: i64,
    sort: PostSort,
    viewer: Option<i64>,
) -> CoreResult<PostPage> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|(p, _, _)| {
            encode_cursor(&match sort {
                PostSort::New => PostCursor::New(p.published, p.id),
                PostSort::Hot => PostCursor::Hot(p.hot_rank, p.id),
                PostSort::Top => PostCursor::Top(p.score, p.id),
            })
        })
    } else {
        None
    };
    let ids: Vec<i64> = rows.iter().map(|(p, _, _)| p.id).collect();
    let mine: HashMap<i64, i32> = match viewer {
        Some(person_id) => votes::my_post_votes(conn, person_id, &ids)?
            .into_iter()
            .collect(),
        None => HashMap::new(),
    };
    let posts = rows
        .into_iter()
        .map(|r| {
            let v = mine.get(&r.0.id).copied();
            to_view(r, v)
        })
        .collect();
    Ok(PostPage { posts, next_cursor })
}

/// The newest visible posts of a local community (for its outbox), and its featured posts.
pub async fn newest_and_featured(
    ctx: &Cairn,
    community: &str,
    limit: i64,
) -> CoreResult<(Vec<PostView>, Vec<PostView>)> {
    let community = community.to_owned();
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            let community = CommunityRow::local_by_name(conn, &community)?.ok_or_else(|| {
                CoreError::not_found("community_not_found", "No community has that name here.")
            })?;
            let newest = PostRow::newest_for_community(conn, community.id, limit)?
                .into_iter()
                .map(|r| to_view(r, None))
                .collect();
            let featured = PostRow::featured_for_community(conn, community.id)?
                .into_iter()
                .map(|r| to_view(r, None))
                .collect();
            Ok((newest, featured))
        })
        .await
}

/// The signed-in member's feed: the posts of the communities they are an active member of,
/// local or followed on other servers, newest first, a page at a time.
pub async fn feed(
    ctx: &Cairn,
    user: &AuthUser,
    cursor: Option<&str>,
    limit: i64,
) -> CoreResult<PostPage> {
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(|c| decode_cursor(c, PostSort::New))
        .transpose()?;
    let limit = limit.clamp(1, 50);
    let viewer = user.clone();
    ctx.db()
        .run(move |conn| -> CoreResult<PostPage> {
            let rows =
                PostRow::feed_for_member(conn, viewer.person_id, cursor.as_ref(), limit + 1)?;
            page_of(conn, rows, limit, PostSort::New, Some(viewer.person_id))
        })
        .await
}

/// A person's recent visible posts.
pub async fn recent_by_person(
    ctx: &Cairn,
    person_id: i64,
    limit: i64,
) -> CoreResult<Vec<PostView>> {
    ctx.db()
        .run(move |conn| -> CoreResult<_> {
            Ok(
                PostRow::recent_by_creator(conn, person_id, limit.clamp(1, 50))?
                    .into_iter()
                    .map(|r| to_view(r, None))
                    .collect(),
            )
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let t = cairn_storage::db_now();
        for (c, s) in [
            (PostCursor::New(t, 7), PostSort::New),
            (PostCursor::Hot(1234.5678, 8), PostSort::Hot),
            (PostCursor::Top(-3, 9), PostSort::Top),
        ] {
            assert_eq!(decode_cursor(&encode_cursor(&c), s).unwrap(), c);
        }
        assert!(decode_cursor("!!!", PostSort::New).is_err());
        assert!(decode_cursor(&encode_cursor(&PostCursor::Top(1, 1)), PostSort::New).is_err());
    }
}
