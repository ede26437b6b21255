//! Comments: threaded by parent, with a materialised path for ordering and depth.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::persons::PersonRow;
use crate::schema::{comments, persons};
use crate::{AnyConn, StorageResult, with_conn};

/// A comment row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = comments)]
pub struct CommentRow {
    pub id: i64,
    pub ap_id: String,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub creator_id: i64,
    pub body_md: String,
    pub body_html: String,
    pub path: String,
    pub depth: i32,
    pub local: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub child_count: i64,
    pub distinguished: bool,
    pub deleted: bool,
    pub removed: bool,
    pub published: NaiveDateTime,
    pub updated: Option<NaiveDateTime>,
}

/// A new comment. `path` and `ap_id` are placeholders until the id is known.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = comments)]
pub struct NewComment {
    pub ap_id: String,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub creator_id: i64,
    pub body_md: String,
    pub body_html: String,
    pub path: String,
    pub depth: i32,
    pub local: bool,
    pub published: NaiveDateTime,
}

impl CommentRow {
    /// Inserts a comment and returns the stored row.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewComment) -> StorageResult<CommentRow> {
        Ok(with_conn!(conn, |c| diesel::insert_into(comments::table)
            .values(new)
            .returning(CommentRow::as_returning())
            .get_result(c))?)
    }

    /// Sets the id-derived fields once the id is known.
    pub fn set_identity(
        conn: &mut AnyConn<'_>,
        id: i64,
        ap_id: &str,
        path: &str,
    ) -> StorageResult<CommentRow> {
        Ok(with_conn!(conn, |c| diesel::update(
            comments::table.find(id)
        )
        .set((comments::ap_id.eq(ap_id), comments::path.eq(path)))
        .returning(CommentRow::as_returning())
        .get_result(c))?)
    }

    /// Looks a comment up by ActivityPub id.
    pub fn by_ap_id(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<Option<CommentRow>> {
        Ok(with_conn!(conn, |c| comments::table
            .filter(comments::ap_id.eq(ap_id))
            .select(CommentRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Looks a comment up by id.
    pub fn by_id(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<Option<CommentRow>> {
        Ok(with_conn!(conn, |c| comments::table
            .find(id)
            .select(CommentRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Looks a comment up by id, with its author.
    pub fn with_creator(
        conn: &mut AnyConn<'_>,
        id: i64,
    ) -> StorageResult<Option<(CommentRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| comments::table
            .inner_join(persons::table)
            .filter(comments::id.eq(id))
            .select((CommentRow::as_select(), PersonRow::as_select()))
            .first(c)
            .optional())?)
    }

    /// All comments of a post with their authors, in thread (path) order.
    pub fn for_post(
        conn: &mut AnyConn<'_>,
        post_id: i64,
        limit: i64,
    ) -> StorageResult<Vec<(CommentRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| comments::table
            .inner_join(persons::table)
            .filter(comments::post_id.eq(post_id))
            .order(comments::path.asc())
            .limit(limit)
            .select((CommentRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// One page of a post's top-level comments as `(id, path)`, best first (score, then age),
    /// skipping `offset` of them.
    pub fn top_level_page(
        conn: &mut AnyConn<'_>,
        post_id: i64,
        offset: i64,
        limit: i64,
    ) -> StorageResult<Vec<(i64, String)>> {
        Ok(with_conn!(conn, |c| comments::table
            .filter(comments::post_id.eq(post_id))
            .filter(comments::parent_id.is_null())
            .order((
                comments::score.desc(),
                comments::published.asc(),
                comments::id.asc()
            ))
            .offset(offset)
            .limit(limit)
            .select((comments::id, comments::path))
            .load(c))?)
    }

    /// The comment at `path` and its replies at any depth, with their authors, in thread
    /// (path) order, at most `limit` of them. Paths are zero-padded ids joined by dots, so a
    /// prefix match finds exactly the subtree and contains no `LIKE` wildcards.
    pub fn subtree(
        conn: &mut AnyConn<'_>,
        post_id: i64,
        path: &str,
        limit: i64,
    ) -> StorageResult<Vec<(CommentRow, PersonRow)>> {
        let below = format!("{path}.%");
        Ok(with_conn!(conn, |c| comments::table
            .inner_join(persons::table)
            .filter(comments::post_id.eq(post_id))
            .filter(comments::path.eq(path).or(comments::path.like(&below)))
            .order(comments::path.asc())
            .limit(limit)
            .select((CommentRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// Changes the body.
    pub fn update_body(
        conn: &mut AnyConn<'_>,
        id: i64,
        md: &str,
        html: &str,
        now: NaiveDateTime,
    ) -> StorageResult<CommentRow> {
        Ok(with_conn!(conn, |c| diesel::update(
            comments::table.find(id)
        )
        .set((
            comments::body_md.eq(md),
            comments::body_html.eq(html),
            comments::updated.eq(Some(now)),
        ))
        .returning(CommentRow::as_returning())
        .get_result(c))?)
    }

    /// Marks a comment deleted by its author or removed by a moderator.
    pub fn set_deleted(
        conn: &mut AnyConn<'_>,
        id: i64,
        deleted: bool,
        removed: bool,
        now: NaiveDateTime,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(comments::table.find(id))
            .set((
                comments::deleted.eq(deleted),
                comments::removed.eq(removed),
                comments::updated.eq(Some(now)),
            ))
            .execute(c))?;
        Ok(())
    }

    /// Adds to the direct reply count of a comment.
    pub fn add_child_count(conn: &mut AnyConn<'_>, id: i64, delta: i64) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(comments::table.find(id))
            .set(comments::child_count.eq(comments::child_count + delta))
            .execute(c))?;
        Ok(())
    }

    /// Stores new vote totals.
    pub fn set_votes(
        conn: &mut AnyConn<'_>,
        id: i64,
        upvotes: i64,
        downvotes: i64,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(comments::table.find(id))
            .set((
                comments::upvotes.eq(upvotes),
                comments::downvotes.eq(downvotes),
                comments::score.eq(upvotes - downvotes),
            ))
            .execute(c))?;
        Ok(())
    }

    /// Number of local comments that are not deleted.
    pub fn count_local(conn: &mut AnyConn<'_>) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| comments::table
            .filter(comments::local.eq(true))
            .filter(comments::deleted.eq(false))
            .count()
            .get_result(c))?)
    }

    /// Recent visible comments by a person, newest first.
    pub fn recent_by_creator(
        conn: &mut AnyConn<'_>,
        creator_id: i64,
        limit: i64,
    ) -> StorageResult<Vec<CommentRow>> {
        Ok(with_conn!(conn, |c| comments::table
            .filter(comments::creator_id.eq(creator_id))
            .filter(comments::deleted.eq(false))
            .filter(comments::removed.eq(false))
            .order((comments::published.desc(), comments::id.desc()))
            .limit(limit)
            .select(CommentRow::as_select())
            .load(c))?)
    }
}
