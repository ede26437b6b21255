//! Persons (local and remote actors), local accounts and login sessions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{local_users, persons, sessions};
use crate::{AnyConn, StorageResult, lower, lower_nullable, with_conn};

/// A person row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = persons)]
pub struct PersonRow {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub bio_md: Option<String>,
    pub bio_html: Option<String>,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub public_key: String,
    pub private_key: Option<String>,
    pub local: bool,
    pub bot: bool,
    pub deleted: bool,
    pub published: NaiveDateTime,
    pub updated: Option<NaiveDateTime>,
    pub last_refreshed_at: NaiveDateTime,
}

/// A new person.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = persons)]
pub struct NewPerson {
    pub name: String,
    pub display_name: Option<String>,
    pub bio_md: Option<String>,
    pub bio_html: Option<String>,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub public_key: String,
    pub private_key: Option<String>,
    pub local: bool,
    pub bot: bool,
    pub published: NaiveDateTime,
    pub last_refreshed_at: NaiveDateTime,
}

/// Profile fields a person may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = persons)]
pub struct PersonProfileChange {
    pub display_name: Option<Option<String>>,
    pub bio_md: Option<Option<String>>,
    pub bio_html: Option<Option<String>>,
    pub updated: Option<Option<NaiveDateTime>>,
}

impl PersonRow {
    /// Inserts a person and returns the stored row.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewPerson) -> StorageResult<PersonRow> {
        Ok(with_conn!(conn, |c| diesel::insert_into(persons::table)
            .values(new)
            .returning(PersonRow::as_returning())
            .get_result(c))?)
    }

    /// Looks a person up by id.
    pub fn by_id(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<Option<PersonRow>> {
        Ok(with_conn!(conn, |c| persons::table
            .find(id)
            .select(PersonRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Looks a local person up by name, ignoring case.
    pub fn local_by_name(conn: &mut AnyConn<'_>, name: &str) -> StorageResult<Option<PersonRow>> {
        let lowered = name.to_lowercase();
        Ok(with_conn!(conn, |c| persons::table
            .filter(persons::local.eq(true))
            .filter(lower(persons::name).eq(&lowered))
            .select(PersonRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Inserts or refreshes a remote person, keyed by ActivityPub id; local rows are never
    /// touched (a remote document claiming a local id changes nothing).
    pub fn upsert_remote(conn: &mut AnyConn<'_>, new: &NewPerson) -> StorageResult<PersonRow> {
        if let Some(existing) = Self::by_ap_id(conn, &new.ap_id)? {
            if existing.local {
                return Ok(existing);
            }
            return Ok(with_conn!(conn, |c| diesel::update(
                persons::table.find(existing.id)
            )
            .set((
                persons::name.eq(&new.name),
                persons::display_name.eq(&new.display_name),
                persons::bio_md.eq(&new.bio_md),
                persons::bio_html.eq(&new.bio_html),
                persons::inbox_url.eq(&new.inbox_url),
                persons::shared_inbox_url.eq(&new.shared_inbox_url),
                persons::public_key.eq(&new.public_key),
                persons::bot.eq(new.bot),
                persons::updated.eq(Some(new.last_refreshed_at)),
                persons::last_refreshed_at.eq(new.last_refreshed_at),
            ))
            .returning(PersonRow::as_returning())
            .get_result(c))?);
        }
        Self::insert(conn, new)
    }

    /// Looks a person up by ActivityPub id.
    pub fn by_ap_id(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<Option<PersonRow>> {
        Ok(with_conn!(conn, |c| persons::table
            .filter(persons::ap_id.eq(ap_id))
            .select(PersonRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Changes profile fields.
    pub fn update_profile(
        conn: &mut AnyConn<'_>,
        id: i64,
        change: &PersonProfileChange,
    ) -> StorageResult<PersonRow> {
        Ok(with_conn!(conn, |c| diesel::update(
            persons::table.find(id)
        )
        .set(change)
        .returning(PersonRow::as_returning())
        .get_result(c))?)
    }

    /// Loads several persons by id.
    pub fn by_ids(conn: &mut AnyConn<'_>, ids: &[i64]) -> StorageResult<Vec<PersonRow>> {
        Ok(with_conn!(conn, |c| persons::table
            .filter(persons::id.eq_any(ids))
            .select(PersonRow::as_select())
            .load(c))?)
    }

    /// Number of local, non-deleted persons.
    pub fn count_local(conn: &mut AnyConn<'_>) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| persons::table
            .filter(persons::local.eq(true))
            .filter(persons::deleted.eq(false))
            .count()
            .get_result(c))?)
    }
}

/// A local account row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = local_users)]
pub struct LocalUserRow {
    pub person_id: i64,
    pub password_hash: String,
    pub email: Option<String>,
    pub is_admin: bool,
    pub approved: bool,
    pub registration_answer: Option<String>,
    pub created_at: NaiveDateTime,
}

impl LocalUserRow {
    /// Inserts an account.
    pub fn insert(conn: &mut AnyConn<'_>, row: &LocalUserRow) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::insert_into(local_users::table)
            .values(row)
            .execute(c))?;
        Ok(())
    }

    /// The account of a person.
    pub fn by_person(
        conn: &mut AnyConn<'_>,
        person_id: i64,
    ) -> StorageResult<Option<LocalUserRow>> {
        Ok(with_conn!(conn, |c| local_users::table
            .find(person_id)
            .select(LocalUserRow::as_select())
            .first(c)
            .optional())?)
    }

    /// True when an account already uses this email address, ignoring case.
    pub fn email_taken(conn: &mut AnyConn<'_>, email: &str) -> StorageResult<bool> {
        let lowered = email.to_lowercase();
        let n: i64 = with_conn!(conn, |c| local_users::table
            .filter(lower_nullable(local_users::email).eq(&lowered))
            .count()
            .get_result(c))?;
        Ok(n > 0)
    }

    /// Accounts waiting for an administrator's approval, oldest first.
    pub fn pending(conn: &mut AnyConn<'_>) -> StorageResult<Vec<(LocalUserRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| local_users::table
            .inner_join(persons::table)
            .filter(local_users::approved.eq(false))
            .order(local_users::created_at.asc())
            .select((LocalUserRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// Marks an account approved.
    pub fn approve(conn: &mut AnyConn<'_>, person_id: i64) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::update(
            local_users::table.find(person_id)
        )
        .set(local_users::approved.eq(true))
        .execute(c))?)
    }

    /// Replaces an account's password hash.
    pub fn set_password_hash(
        conn: &mut AnyConn<'_>,
        person_id: i64,
        password_hash: &str,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::update(
            local_users::table.find(person_id)
        )
        .set(local_users::password_hash.eq(password_hash))
        .execute(c))?)
    }

    /// Deletes a never-approved account together with its person.
    pub fn reject(conn: &mut AnyConn<'_>, person_id: i64) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            persons::table
                .filter(persons::id.eq(person_id))
                .filter(persons::local.eq(true))
        )
        .execute(c))?)
    }
}

/// A login session row. The same sessions serve the web interface's cookie and the API's
/// bearer token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub token_hash: String,
    pub person_id: i64,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    pub user_agent: Option<String>,
}

impl SessionRow {
    /// Stores a new session.
    pub fn insert(
        conn: &mut AnyConn<'_>,
        token_hash: &str,
        person_id: i64,
        user_agent: Option<&str>,
        now: NaiveDateTime,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::insert_into(sessions::table)
            .values((
                sessions::token_hash.eq(token_hash),
                sessions::person_id.eq(person_id),
                sessions::created_at.eq(now),
                sessions::last_used_at.eq(now),
                sessions::user_agent.eq(user_agent),
            ))
            .execute(c))?;
        Ok(())
    }

    /// The session with this token hash.
    pub fn by_token_hash(
        conn: &mut AnyConn<'_>,
        token_hash: &str,
    ) -> StorageResult<Option<SessionRow>> {
        Ok(with_conn!(conn, |c| sessions::table
            .filter(sessions::token_hash.eq(token_hash))
            .select(SessionRow::as_select())
            .first(c)
            .optional())?)
    }

    /// The sessions of a person, most recently used first.
    pub fn by_person(conn: &mut AnyConn<'_>, person_id: i64) -> StorageResult<Vec<SessionRow>> {
        Ok(with_conn!(conn, |c| sessions::table
            .filter(sessions::person_id.eq(person_id))
            .order((sessions::last_used_at.desc(), sessions::id.desc()))
            .select(SessionRow::as_select())
            .load(c))?)
    }

    /// Sets when the session was last used. Callers renew it only when the stored time is
    /// stale, so that reads do not each cost a write.
    pub fn touch(conn: &mut AnyConn<'_>, id: i64, now: NaiveDateTime) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(sessions::table.find(id))
            .set(sessions::last_used_at.eq(now))
            .execute(c))?;
        Ok(())
    }

    /// Number of distinct people who used a session since `since` (NodeInfo's active users).
    pub fn active_people_since(conn: &mut AnyConn<'_>, since: NaiveDateTime) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| sessions::table
            .filter(sessions::last_used_at.ge(since))
            .select(diesel::dsl::count(sessions::person_id).aggregate_distinct())
            .get_result(c))?)
    }

    /// Ends a session.
    pub fn delete_by_token_hash(conn: &mut AnyConn<'_>, token_hash: &str) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            sessions::table.filter(sessions::token_hash.eq(token_hash))
        )
        .execute(c))?)
    }

    /// Ends one session of a person; another person's session id matches nothing.
    pub fn delete_of_person(
        conn: &mut AnyConn<'_>,
        person_id: i64,
        id: i64,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            sessions::table
                .filter(sessions::person_id.eq(person_id))
                .filter(sessions::id.eq(id))
        )
        .execute(c))?)
    }

    /// Ends every session of a person except `keep`, if given.
    pub fn delete_all_of_person(
        conn: &mut AnyConn<'_>,
        person_id: i64,
        keep: Option<i64>,
    ) -> StorageResult<usize> {
        // No session has id -1, so "keep nothing" needs no second query shape.
        let keep = keep.unwrap_or(-1);
        Ok(with_conn!(conn, |c| diesel::delete(
            sessions::table
                .filter(sessions::person_id.eq(person_id))
                .filter(sessions::id.ne(keep))
        )
        .execute(c))?)
    }

    /// Ends every session last used before `cutoff`.
    pub fn delete_idle_before(
        conn: &mut AnyConn<'_>,
        cutoff: NaiveDateTime,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            sessions::table.filter(sessions::last_used_at.lt(cutoff))
        )
        .execute(c))?)
    }
}
