//! Posts: rows, inserts, edits, listings with keyset pagination, and ranking upkeep.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::communities::CommunityRow;
use crate::persons::PersonRow;
use crate::schema::{communities, community_members, persons, posts};
use crate::{AnyConn, StorageResult, with_conn};

/// A post row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = posts)]
pub struct PostRow {
    pub id: i64,
    pub ap_id: String,
    pub community_id: i64,
    pub creator_id: i64,
    pub title: String,
    pub url: Option<String>,
    pub body_md: Option<String>,
    pub body_html: Option<String>,
    pub post_kind: String,
    pub local: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub comment_count: i64,
    pub hot_rank: f64,
    pub locked: bool,
    pub featured: bool,
    pub deleted: bool,
    pub removed: bool,
    pub accepted_comment_id: Option<i64>,
    pub published: NaiveDateTime,
    pub updated: Option<NaiveDateTime>,
    pub last_activity_at: NaiveDateTime,
}

/// A new post.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = posts)]
pub struct NewPost {
    pub ap_id: String,
    pub community_id: i64,
    pub creator_id: i64,
    pub title: String,
    pub url: Option<String>,
    pub body_md: Option<String>,
    pub body_html: Option<String>,
    pub post_kind: String,
    pub local: bool,
    pub hot_rank: f64,
    pub published: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
}

/// Fields an edit may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = posts)]
pub struct PostChange {
    pub title: Option<String>,
    pub url: Option<Option<String>>,
    pub body_md: Option<Option<String>>,
    pub body_html: Option<Option<String>>,
    pub updated: Option<Option<NaiveDateTime>>,
}

/// A post with its author and community.
pub type PostWithContext = (PostRow, PersonRow, CommunityRow);

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostSort {
    /// Newest first.
    New,
    /// By the stored, decaying hot rank.
    Hot,
    /// By score.
    Top,
}

/// Where the previous page ended: the sort key and id of its last post.
#[derive(Debug, Clone, PartialEq)]
pub enum PostCursor {
    /// After this publication time and id.
    New(NaiveDateTime, i64),
    /// After this hot rank and id.
    Hot(f64, i64),
    /// After this score and id.
    Top(i64, i64),
}

impl PostRow {
    /// Inserts a post and returns the stored row.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewPost) -> StorageResult<PostRow> {
        Ok(with_conn!(conn, |c| diesel::insert_into(posts::table)
            .values(new)
            .returning(PostRow::as_returning())
            .get_result(c))?)
    }

    /// Sets the ActivityPub id, once the row id it is built from is known.
    pub fn set_ap_id(conn: &mut AnyConn<'_>, id: i64, ap_id: &str) -> StorageResult<PostRow> {
        Ok(with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set(posts::ap_id.eq(ap_id))
            .returning(PostRow::as_returning())
            .get_result(c))?)
    }

    /// Looks a post up by ActivityPub id.
    pub fn by_ap_id(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<Option<PostRow>> {
        Ok(with_conn!(conn, |c| posts::table
            .filter(posts::ap_id.eq(ap_id))
            .select(PostRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Looks a post up by id.
    pub fn by_id(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<Option<PostRow>> {
        Ok(with_conn!(conn, |c| posts::table
            .find(id)
            .select(PostRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Looks a post up by id, with its author and community.
    pub fn with_context(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<Option<PostWithContext>> {
        Ok(with_conn!(conn, |c| posts::table
            .inner_join(persons::table)
            .inner_join(communities::table)
            .filter(posts::id.eq(id))
            .select((
                PostRow::as_select(),
                PersonRow::as_select(),
                CommunityRow::as_select()
            ))
            .first(c)
            .optional())?)
    }

    /// Applies an edit.
    pub fn update(conn: &mut AnyConn<'_>, id: i64, change: &PostChange) -> StorageResult<PostRow> {
        Ok(with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set(change)
            .returning(PostRow::as_returning())
            .get_result(c))?)
    }

    /// Marks a post deleted by its author or removed by a moderator.
    pub fn set_deleted(
        conn: &mut AnyConn<'_>,
        id: i64,
        deleted: bool,
        removed: bool,
        now: NaiveDateTime,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set((
                posts::deleted.eq(deleted),
                posts::removed.eq(removed),
                posts::updated.eq(Some(now)),
            ))
            .execute(c))?;
        Ok(())
    }

    /// One page of a community's visible posts, after `cursor`, in `sort` order.
    pub fn list_for_community(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        sort: PostSort,
        cursor: Option<&PostCursor>,
        limit: i64,
    ) -> StorageResult<Vec<PostWithContext>> {
        let cursor = cursor.cloned();
        Ok(with_conn!(conn, |c| {
            let mut q = posts::table
                .inner_join(persons::table)
                .inner_join(communities::table)
                .filter(posts::community_id.eq(community_id))
                .filter(posts::deleted.eq(false))
                .filter(posts::removed.eq(false))
                .select((
                    PostRow::as_select(),
                    PersonRow::as_select(),
                    CommunityRow::as_select(),
                ))
                .limit(limit)
                .into_boxed();
            q = match sort {
                PostSort::New => q.order((posts::published.desc(), posts::id.desc())),
                PostSort::Hot => q.order((posts::hot_rank.desc(), posts::id.desc())),
                PostSort::Top => q.order((posts::score.desc(), posts::id.desc())),
            };
            q = match cursor {
                None => q,
                Some(PostCursor::New(t, id)) => q.filter(
                    posts::published
                        .lt(t)
                        .or(posts::published.eq(t).and(posts::id.lt(id))),
                ),
                Some(PostCursor::Hot(r, id)) => q.filter(
                    posts::hot_rank
                        .lt(r)
                        .or(posts::hot_rank.eq(r).and(posts::id.lt(id))),
                ),
                Some(PostCursor::Top(s, id)) => q.filter(
                    posts::score
                        .lt(s)
                        .or(posts::score.eq(s).and(posts::id.lt(id))),
                ),
            };
            q.load(c)
        })?)
    }

    /// The newest visible posts of a community, for its outbox.
    pub fn newest_for_community(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        limit: i64,
    ) -> StorageResult<Vec<PostWithContext>> {
        Self::list_for_community(conn, community_id, PostSort::New, None, limit)
    }

    /// Featured (pinned) visible posts of a community.
    pub fn featured_for_community(
        conn: &mut AnyConn<'_>,
        community_id: i64,
    ) -> StorageResult<Vec<PostWithContext>> {
        Ok(with_conn!(conn, |c| posts::table
            .inner_join(persons::table)
            .inner_join(communities::table)
            .filter(posts::community_id.eq(community_id))
            .filter(posts::featured.eq(true))
            .filter(posts::deleted.eq(false))
            .filter(posts::removed.eq(false))
            .order(posts::published.desc())
            .select((
                PostRow::as_select(),
                PersonRow::as_select(),
                CommunityRow::as_select()
            ))
            .load(c))?)
    }

    /// Marks a post featured (pinned) in its community, or not.
    pub fn set_featured(conn: &mut AnyConn<'_>, id: i64, featured: bool) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set(posts::featured.eq(featured))
            .execute(c))?;
        Ok(())
    }

    /// Stores new vote totals and the hot rank derived from them.
    pub fn set_votes(
        conn: &mut AnyConn<'_>,
        id: i64,
        upvotes: i64,
        downvotes: i64,
        hot_rank: f64,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set((
                posts::upvotes.eq(upvotes),
                posts::downvotes.eq(downvotes),
                posts::score.eq(upvotes - downvotes),
                posts::hot_rank.eq(hot_rank),
            ))
            .execute(c))?;
        Ok(())
    }

    /// Adds to the comment count and records activity.
    pub fn add_comment_count(
        conn: &mut AnyConn<'_>,
        id: i64,
        delta: i64,
        now: NaiveDateTime,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set((
                posts::comment_count.eq(posts::comment_count + delta),
                posts::last_activity_at.eq(now),
            ))
            .execute(c))?;
        Ok(())
    }

    /// Id, score and publication time of posts published since `since` whose rank still decays.
    pub fn rank_inputs_since(
        conn: &mut AnyConn<'_>,
        since: NaiveDateTime,
    ) -> StorageResult<Vec<(i64, i64, NaiveDateTime)>> {
        Ok(with_conn!(conn, |c| posts::table
            .filter(posts::published.ge(since))
            .select((posts::id, posts::score, posts::published))
            .load(c))?)
    }

    /// Stores a recomputed hot rank.
    pub fn set_hot_rank(conn: &mut AnyConn<'_>, id: i64, hot_rank: f64) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(posts::table.find(id))
            .set(posts::hot_rank.eq(hot_rank))
            .execute(c))?;
        Ok(())
    }

    /// Zeroes the rank of posts older than `before`: they no longer compete for "hot".
    pub fn retire_hot_rank_before(
        conn: &mut AnyConn<'_>,
        before: NaiveDateTime,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::update(
            posts::table
                .filter(posts::published.lt(before))
                .filter(posts::hot_rank.ne(0.0))
        )
        .set(posts::hot_rank.eq(0.0))
        .execute(c))?)
    }

    /// Number of local posts that are not deleted.
    pub fn count_local(conn: &mut AnyConn<'_>) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| posts::table
            .filter(posts::local.eq(true))
            .filter(posts::deleted.eq(false))
            .count()
            .get_result(c))?)
    }

    /// Visible posts of the communities a person is an active member of, newest first,
    /// after the `New` cursor if given: the person's feed.
    pub fn feed_for_member(
        conn: &mut AnyConn<'_>,
        person_id: i64,
        cursor: Option<&PostCursor>,
        limit: i64,
    ) -> StorageResult<Vec<PostWithContext>> {
        let after = match cursor {
            Some(PostCursor::New(t, id)) => Some((*t, *id)),
            _ => None,
        };
        Ok(with_conn!(conn, |c| {
            let mine = community_members::table
                .filter(community_members::person_id.eq(person_id))
                .filter(community_members::state.eq("active"))
                .select(community_members::community_id);
            let mut q = posts::table
                .inner_join(persons::table)
                .inner_join(communities::table)
                .filter(posts::community_id.eq_any(mine))
                .filter(posts::deleted.eq(false))
                .filter(posts::removed.eq(false))
                .select((
                    PostRow::as_select(),
                    PersonRow::as_select(),
                    CommunityRow::as_select(),
                ))
                .order((posts::published.desc(), posts::id.desc()))
                .limit(limit)
                .into_boxed();
            if let Some((t, id)) = after {
                q = q.filter(
                    posts::published
                        .lt(t)
                        .or(posts::published.eq(t).and(posts::id.lt(id))),
                );
            }
            q.load(c)
        })?)
    }

    /// Recent visible posts by a person, newest first.
    pub fn recent_by_creator(
        conn: &mut AnyConn<'_>,
        creator_id: i64,
        limit: i64,
    ) -> StorageResult<Vec<PostWithContext>> {
        Ok(with_conn!(conn, |c| posts::table
            .inner_join(persons::table)
            .inner_join(communities::table)
            .filter(posts::creator_id.eq(creator_id))
            .filter(posts::deleted.eq(false))
            .filter(posts::removed.eq(false))
            .order((posts::published.desc(), posts::id.desc()))
            .limit(limit)
            .select((
                PostRow::as_select(),
                PersonRow::as_select(),
                CommunityRow::as_select()
            ))
            .load(c))?)
    }
}
