//! Votes on posts and comments: one row per voter and item, +1 or -1.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{comment_votes, comments, post_votes, posts};
use crate::{AnyConn, StorageResult, with_conn};

/// Up and down vote totals of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoteTotals {
    /// Number of +1 votes.
    pub upvotes: i64,
    /// Number of -1 votes.
    pub downvotes: i64,
}

// Callers set a vote, recount the item's votes from the rows and store the totals on the
// item. Under PostgreSQL's READ COMMITTED, two votes on one item applied at once would each
// count without the other's uncommitted row, and the later write would store totals that miss
// a vote for good. So setting a vote first locks the item's row until the transaction ends;
// the next vote on the item waits, then counts both. SQLite runs one writing transaction at a
// time already.

/// Locks a post's row for the rest of the transaction, on PostgreSQL.
fn lock_post(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<()> {
    if let AnyConn::Postgres(c) = conn {
        posts::table
            .find(id)
            .select(posts::id)
            .for_update()
            .load::<i64>(&mut **c)?;
    }
    Ok(())
}

/// Locks a comment's row for the rest of the transaction, on PostgreSQL.
fn lock_comment(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<()> {
    if let AnyConn::Postgres(c) = conn {
        comments::table
            .find(id)
            .select(comments::id)
            .for_update()
            .load::<i64>(&mut **c)?;
    }
    Ok(())
}

/// Sets (score ±1) or clears (score 0) a person's vote on a post. Call inside the transaction
/// that then stores the post's new totals: it locks the post, so that votes applied at the
/// same time are counted one after the other.
pub fn set_post_vote(
    conn: &mut AnyConn<'_>,
    post_id: i64,
    person_id: i64,
    score: i32,
    activity_id: Option<&str>,
    now: NaiveDateTime,
) -> StorageResult<()> {
    lock_post(conn, post_id)?;
    with_conn!(conn, |c| {
        diesel::delete(post_votes::table.find((post_id, person_id))).execute(c)?;
        if score != 0 {
            diesel::insert_into(post_votes::table)
                .values((
                    post_votes::post_id.eq(post_id),
                    post_votes::person_id.eq(person_id),
                    post_votes::score.eq(score),
                    post_votes::activity_id.eq(activity_id),
                    post_votes::published.eq(now),
                ))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Sets (score ±1) or clears (score 0) a person's vote on a comment. Call inside the
/// transaction that then stores the comment's new totals: it locks the comment, so that votes
/// applied at the same time are counted one after the other.
pub fn set_comment_vote(
    conn: &mut AnyConn<'_>,
    comment_id: i64,
    post_id: i64,
    person_id: i64,
    score: i32,
    activity_id: Option<&str>,
    now: NaiveDateTime,
) -> StorageResult<()> {
    lock_comment(conn, comment_id)?;
    with_conn!(conn, |c| {
        diesel::delete(comment_votes::table.find((comment_id, person_id))).execute(c)?;
        if score != 0 {
            diesel::insert_into(comment_votes::table)
                .values((
                    comment_votes::comment_id.eq(comment_id),
                    comment_votes::person_id.eq(person_id),
                    comment_votes::post_id.eq(post_id),
                    comment_votes::score.eq(score),
                    comment_votes::activity_id.eq(activity_id),
                    comment_votes::published.eq(now),
                ))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Counts the votes of a post from the vote rows, the source of truth for its totals.
pub fn post_totals(conn: &mut AnyConn<'_>, post_id: i64) -> StorageResult<VoteTotals> {
    let rows: Vec<(i32, i64)> = with_conn!(conn, |c| post_votes::table
        .filter(post_votes::post_id.eq(post_id))
        .group_by(post_votes::score)
        .select((post_votes::score, diesel::dsl::count_star()))
        .load(c))?;
    Ok(totals(&rows))
}

/// Counts the votes of a comment from the vote rows.
pub fn comment_totals(conn: &mut AnyConn<'_>, comment_id: i64) -> StorageResult<VoteTotals> {
    let rows: Vec<(i32, i64)> = with_conn!(conn, |c| comment_votes::table
        .filter(comment_votes::comment_id.eq(comment_id))
        .group_by(comment_votes::score)
        .select((comment_votes::score, diesel::dsl::count_star()))
        .load(c))?;
    Ok(totals(&rows))
}

fn totals(rows: &[(i32, i64)]) -> VoteTotals {
    rows.iter()
        .fold(VoteTotals::default(), |mut t, &(score, n)| {
            if score > 0 {
                t.upvotes += n;
            } else if score < 0 {
                t.downvotes += n;
            }
            t
        })
}

/// A person's votes on the given posts, as (post id, score).
pub fn my_post_votes(
    conn: &mut AnyConn<'_>,
    person_id: i64,
    post_ids: &[i64],
) -> StorageResult<Vec<(i64, i32)>> {
    Ok(with_conn!(conn, |c| post_votes::table
        .filter(post_votes::person_id.eq(person_id))
        .filter(post_votes::post_id.eq_any(post_ids))
        .select((post_votes::post_id, post_votes::score))
        .load(c))?)
}

/// A person's votes on the comments of a post, as (comment id, score).
pub fn my_comment_votes(
    conn: &mut AnyConn<'_>,
    person_id: i64,
    post_id: i64,
) -> StorageResult<Vec<(i64, i32)>> {
    Ok(with_conn!(conn, |c| comment_votes::table
        .filter(comment_votes::person_id.eq(person_id))
        .filter(comment_votes::post_id.eq(post_id))
        .select((comment_votes::comment_id, comment_votes::score))
        .load(c))?)
}

/// A person's current vote on a post, if any.
pub fn post_vote_of(
    conn: &mut AnyConn<'_>,
    post_id: i64,
    person_id: i64,
) -> StorageResult<Option<i32>> {
    Ok(with_conn!(conn, |c| post_votes::table
        .find((post_id, person_id))
        .select(post_votes::score)
        .first(c)
        .optional())?)
}

/// A person's current vote on a comment, if any.
pub fn comment_vote_of(
    conn: &mut AnyConn<'_>,
    comment_id: i64,
    person_id: i64,
) -> StorageResult<Option<i32>> {
    Ok(with_conn!(conn, |c| comment_votes::table
        .find((comment_id, person_id))
        .select(comment_votes::score)
        .first(c)
        .optional())?)
}
