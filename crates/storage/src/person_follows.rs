//! People following people: local people following someone on another server, and people on
//! other servers following a local person.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::persons::PersonRow;
use crate::schema::{person_follows, persons};
use crate::{AnyConn, StorageResult, with_conn};

/// One follow between two people.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = person_follows)]
pub struct PersonFollowRow {
    pub follower_id: i64,
    pub followee_id: i64,
    /// `pending` until the followee's server accepts, then `active`.
    pub state: String,
    pub follow_activity_id: Option<String>,
    pub created_at: NaiveDateTime,
}

impl PersonFollowRow {
    /// Inserts a follow, or replaces the state and Follow id of an existing one: a repeated
    /// Follow (a retry, or a follow after an unanswered one) must not fail.
    pub fn upsert(conn: &mut AnyConn<'_>, row: &PersonFollowRow) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::insert_into(person_follows::table)
            .values(row)
            .on_conflict((person_follows::follower_id, person_follows::followee_id))
            .do_update()
            .set((
                person_follows::state.eq(&row.state),
                person_follows::follow_activity_id.eq(&row.follow_activity_id),
            ))
            .execute(c))?;
        Ok(())
    }

    /// The follow of `followee_id` by `follower_id`, if any.
    pub fn get(
        conn: &mut AnyConn<'_>,
        follower_id: i64,
        followee_id: i64,
    ) -> StorageResult<Option<PersonFollowRow>> {
        Ok(with_conn!(conn, |c| person_follows::table
            .find((follower_id, followee_id))
            .select(PersonFollowRow::as_select())
            .first(c)
            .optional())?)
    }

    /// The follow created by the Follow activity with this id.
    pub fn by_follow_activity(
        conn: &mut AnyConn<'_>,
        follow_activity_id: &str,
    ) -> StorageResult<Option<PersonFollowRow>> {
        Ok(with_conn!(conn, |c| person_follows::table
            .filter(person_follows::follow_activity_id.eq(follow_activity_id))
            .select(PersonFollowRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Changes the state of a follow.
    pub fn set_state(
        conn: &mut AnyConn<'_>,
        follower_id: i64,
        followee_id: i64,
        state: &str,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::update(
            person_follows::table.find((follower_id, followee_id))
        )
        .set(person_follows::state.eq(state))
        .execute(c))?)
    }

    /// Removes a follow; returns how many rows went.
    pub fn delete(
        conn: &mut AnyConn<'_>,
        follower_id: i64,
        followee_id: i64,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            person_follows::table.find((follower_id, followee_id))
        )
        .execute(c))?)
    }

    /// The people `follower_id` follows, with each follow, newest first.
    pub fn following(
        conn: &mut AnyConn<'_>,
        follower_id: i64,
    ) -> StorageResult<Vec<(PersonFollowRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| person_follows::table
            .inner_join(persons::table.on(persons::id.eq(person_follows::followee_id)))
            .filter(person_follows::follower_id.eq(follower_id))
            .order(person_follows::created_at.desc())
            .select((PersonFollowRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// The active followers of `followee_id`, oldest first.
    pub fn followers(conn: &mut AnyConn<'_>, followee_id: i64) -> StorageResult<Vec<PersonRow>> {
        Ok(with_conn!(conn, |c| person_follows::table
            .inner_join(persons::table.on(persons::id.eq(person_follows::follower_id)))
            .filter(person_follows::followee_id.eq(followee_id))
            .filter(person_follows::state.eq("active"))
            .order(person_follows::created_at.asc())
            .select(PersonRow::as_select())
            .load(c))?)
    }
}
