//! Communities (Group actors, local and remote) and their members.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::persons::PersonRow;
use crate::schema::{comments, communities, community_members, persons, posts, remote_moderators};
use crate::{AnyConn, StorageResult, lower, with_conn};

/// A community row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = communities)]
pub struct CommunityRow {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub description_md: Option<String>,
    pub description_html: Option<String>,
    pub kind: String,
    pub membership: String,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub public_key: String,
    pub private_key: Option<String>,
    pub local: bool,
    pub posting_restricted_to_mods: bool,
    pub deleted: bool,
    pub published: NaiveDateTime,
    pub updated: Option<NaiveDateTime>,
    pub last_refreshed_at: NaiveDateTime,
}

/// A new community.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = communities)]
pub struct NewCommunity {
    pub name: String,
    pub title: String,
    pub description_md: Option<String>,
    pub description_html: Option<String>,
    pub kind: String,
    pub membership: String,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub public_key: String,
    pub private_key: Option<String>,
    pub local: bool,
    pub published: NaiveDateTime,
    pub last_refreshed_at: NaiveDateTime,
}

/// Community fields a moderator may change.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = communities)]
pub struct CommunityChange {
    pub title: Option<String>,
    pub description_md: Option<Option<String>>,
    pub description_html: Option<Option<String>>,
    pub kind: Option<String>,
    pub membership: Option<String>,
    pub updated: Option<Option<NaiveDateTime>>,
}

impl CommunityRow {
    /// Inserts a community and returns the stored row.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewCommunity) -> StorageResult<CommunityRow> {
        Ok(with_conn!(conn, |c| diesel::insert_into(
            communities::table
        )
        .values(new)
        .returning(CommunityRow::as_returning())
        .get_result(c))?)
    }

    /// Looks a community up by id.
    pub fn by_id(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<Option<CommunityRow>> {
        Ok(with_conn!(conn, |c| communities::table
            .find(id)
            .select(CommunityRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Looks a local community up by name, ignoring case.
    pub fn local_by_name(
        conn: &mut AnyConn<'_>,
        name: &str,
    ) -> StorageResult<Option<CommunityRow>> {
        let lowered = name.to_lowercase();
        Ok(with_conn!(conn, |c| communities::table
            .filter(communities::local.eq(true))
            .filter(lower(communities::name).eq(&lowered))
            .select(CommunityRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Inserts or refreshes a remote community, keyed by ActivityPub id; local rows are never
    /// touched.
    pub fn upsert_remote(
        conn: &mut AnyConn<'_>,
        new: &NewCommunity,
    ) -> StorageResult<CommunityRow> {
        if let Some(existing) = Self::by_ap_id(conn, &new.ap_id)? {
            if existing.local {
                return Ok(existing);
            }
            return Ok(with_conn!(conn, |c| diesel::update(
                communities::table.find(existing.id)
            )
            .set((
                communities::name.eq(&new.name),
                communities::title.eq(&new.title),
                communities::description_md.eq(&new.description_md),
                communities::description_html.eq(&new.description_html),
                communities::kind.eq(&new.kind),
                communities::membership.eq(&new.membership),
                communities::inbox_url.eq(&new.inbox_url),
                communities::shared_inbox_url.eq(&new.shared_inbox_url),
                communities::followers_url.eq(&new.followers_url),
                communities::public_key.eq(&new.public_key),
                communities::updated.eq(Some(new.last_refreshed_at)),
                communities::last_refreshed_at.eq(new.last_refreshed_at),
            ))
            .returning(CommunityRow::as_returning())
            .get_result(c))?);
        }
        Self::insert(conn, new)
    }

    /// Remote communities with this name (on any server).
    pub fn remote_by_name(conn: &mut AnyConn<'_>, name: &str) -> StorageResult<Vec<CommunityRow>> {
        Ok(with_conn!(conn, |c| communities::table
            .filter(communities::local.eq(false))
            .filter(communities::name.eq(name))
            .select(CommunityRow::as_select())
            .load(c))?)
    }

    /// Looks a community up by ActivityPub id.
    pub fn by_ap_id(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<Option<CommunityRow>> {
        Ok(with_conn!(conn, |c| communities::table
            .filter(communities::ap_id.eq(ap_id))
            .select(CommunityRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Local communities that are not deleted, by name.
    pub fn list_local(
        conn: &mut AnyConn<'_>,
        limit: i64,
        offset: i64,
    ) -> StorageResult<Vec<CommunityRow>> {
        Ok(with_conn!(conn, |c| communities::table
            .filter(communities::local.eq(true))
            .filter(communities::deleted.eq(false))
            .order(communities::name.asc())
            .limit(limit)
            .offset(offset)
            .select(CommunityRow::as_select())
            .load(c))?)
    }

    /// Changes community fields.
    pub fn update(
        conn: &mut AnyConn<'_>,
        id: i64,
        change: &CommunityChange,
    ) -> StorageResult<CommunityRow> {
        Ok(with_conn!(conn, |c| diesel::update(
            communities::table.find(id)
        )
        .set(change)
        .returning(CommunityRow::as_returning())
        .get_result(c))?)
    }

    /// Loads several communities by id.
    pub fn by_ids(conn: &mut AnyConn<'_>, ids: &[i64]) -> StorageResult<Vec<CommunityRow>> {
        Ok(with_conn!(conn, |c| communities::table
            .filter(communities::id.eq_any(ids))
            .select(CommunityRow::as_select())
            .load(c))?)
    }
}

/// A membership row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = community_members)]
pub struct MemberRow {
    pub community_id: i64,
    pub person_id: i64,
    pub role: String,
    pub state: String,
    pub follow_activity_id: Option<String>,
    pub invited_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl MemberRow {
    /// Inserts a membership row.
    pub fn insert(conn: &mut AnyConn<'_>, row: &MemberRow) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::insert_into(community_members::table)
            .values(row)
            .execute(c))?;
        Ok(())
    }

    /// The membership of a person in a community, if any.
    pub fn get(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        person_id: i64,
    ) -> StorageResult<Option<MemberRow>> {
        Ok(with_conn!(conn, |c| community_members::table
            .find((community_id, person_id))
            .select(MemberRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Changes the state (and role) of a membership.
    pub fn set_state(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        person_id: i64,
        state: &str,
        role: &str,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::update(
            community_members::table.find((community_id, person_id))
        )
        .set((
            community_members::state.eq(state),
            community_members::role.eq(role)
        ))
        .execute(c))?)
    }

    /// Records the id of the Follow activity behind a membership.
    pub fn set_follow_activity(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        person_id: i64,
        follow_activity_id: &str,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(
            community_members::table.find((community_id, person_id))
        )
        .set(community_members::follow_activity_id.eq(Some(follow_activity_id)))
        .execute(c))?;
        Ok(())
    }

    /// Pending memberships of persons from other servers, oldest first.
    pub fn remote_pending(
        conn: &mut AnyConn<'_>,
        community_id: i64,
    ) -> StorageResult<Vec<(MemberRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| community_members::table
            .inner_join(persons::table.on(persons::id.eq(community_members::person_id)))
            .filter(community_members::community_id.eq(community_id))
            .filter(community_members::state.eq("pending"))
            .filter(persons::local.eq(false))
            .order(community_members::created_at.asc())
            .select((MemberRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// The membership created by the Follow activity with this id.
    pub fn by_follow_activity(
        conn: &mut AnyConn<'_>,
        follow_activity_id: &str,
    ) -> StorageResult<Option<MemberRow>> {
        Ok(with_conn!(conn, |c| community_members::table
            .filter(community_members::follow_activity_id.eq(follow_activity_id))
            .select(MemberRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Removes a membership.
    pub fn delete(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        person_id: i64,
    ) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            community_members::table.find((community_id, person_id))
        )
        .execute(c))?)
    }

    /// Members of a community in a given state, with their persons, oldest first.
    pub fn list(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        state: &str,
        limit: i64,
        offset: i64,
    ) -> StorageResult<Vec<(MemberRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| community_members::table
            .inner_join(persons::table.on(persons::id.eq(community_members::person_id)))
            .filter(community_members::community_id.eq(community_id))
            .filter(community_members::state.eq(state))
            .order((
                community_members::created_at.asc(),
                community_members::person_id.asc()
            ))
            .limit(limit)
            .offset(offset)
            .select((MemberRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// Active moderators (and owners) of a community, owners first.
    pub fn moderators(
        conn: &mut AnyConn<'_>,
        community_id: i64,
    ) -> StorageResult<Vec<(MemberRow, PersonRow)>> {
        Ok(with_conn!(conn, |c| community_members::table
            .inner_join(persons::table.on(persons::id.eq(community_members::person_id)))
            .filter(community_members::community_id.eq(community_id))
            .filter(community_members::state.eq("active"))
            .filter(community_members::role.eq_any(["owner", "moderator"]))
            .order((
                community_members::role.desc(),
                community_members::created_at.asc()
            ))
            .select((MemberRow::as_select(), PersonRow::as_select()))
            .load(c))?)
    }

    /// The persons on other instances who are active members (followers) of a community.
    pub fn remote_active(
        conn: &mut AnyConn<'_>,
        community_id: i64,
    ) -> StorageResult<Vec<PersonRow>> {
        Ok(with_conn!(conn, |c| community_members::table
            .inner_join(persons::table.on(persons::id.eq(community_members::person_id)))
            .filter(community_members::community_id.eq(community_id))
            .filter(community_members::state.eq("active"))
            .filter(persons::local.eq(false))
            .select(PersonRow::as_select())
            .load(c))?)
    }

    /// The communities a person is an active member of, by title.
    pub fn communities_of(
        conn: &mut AnyConn<'_>,
        person_id: i64,
    ) -> StorageResult<Vec<(MemberRow, CommunityRow)>> {
        Ok(with_conn!(conn, |c| community_members::table
            .inner_join(communities::table)
            .filter(community_members::person_id.eq(person_id))
            .filter(community_members::state.eq("active"))
            .filter(communities::deleted.eq(false))
            .order((communities::title.asc(), communities::id.asc()))
            .select((MemberRow::as_select(), CommunityRow::as_select()))
            .load(c))?)
    }

    /// Number of memberships of a community in a given state.
    pub fn count(conn: &mut AnyConn<'_>, community_id: i64, state: &str) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| community_members::table
            .filter(community_members::community_id.eq(community_id))
            .filter(community_members::state.eq(state))
            .count()
            .get_result(c))?)
    }

    /// Number of active members for each of the given communities.
    pub fn counts(conn: &mut AnyConn<'_>, community_ids: &[i64]) -> StorageResult<Vec<(i64, i64)>> {
        Ok(with_conn!(conn, |c| community_members::table
            .filter(community_members::community_id.eq_any(community_ids))
            .filter(community_members::state.eq("active"))
            .group_by(community_members::community_id)
            .select((community_members::community_id, diesel::dsl::count_star()))
            .load(c))?)
    }

    /// Whether any person of this server is an active or pending member of the community: for
    /// a remote community, whether someone here follows it, which is what makes its Announces
    /// wanted here.
    pub fn has_local_member(conn: &mut AnyConn<'_>, community_id: i64) -> StorageResult<bool> {
        Ok(with_conn!(conn, |c| diesel::select(diesel::dsl::exists(
            community_members::table
                .inner_join(persons::table.on(persons::id.eq(community_members::person_id)))
                .filter(community_members::community_id.eq(community_id))
                .filter(community_members::state.eq_any(["active", "pending"]))
                .filter(persons::local.eq(true))
        ))
        .get_result(c))?)
    }
}

/// What is stored of a community for the inbox's trust rules.
impl CommunityRow {
    /// Whether the community holds a post or comment written on this server.
    pub fn holds_local_content(conn: &mut AnyConn<'_>, community_id: i64) -> StorageResult<bool> {
        let post = with_conn!(conn, |c| diesel::select(diesel::dsl::exists(
            posts::table
                .filter(posts::community_id.eq(community_id))
                .filter(posts::local.eq(true))
        ))
        .get_result(c))?;
        if post {
            return Ok(true);
        }
        Ok(with_conn!(conn, |c| diesel::select(diesel::dsl::exists(
            comments::table
                .inner_join(posts::table)
                .filter(posts::community_id.eq(community_id))
                .filter(comments::local.eq(true))
        ))
        .get_result(c))?)
    }

    /// The moderators of a remote community, as its own server last listed them.
    pub fn remote_moderators(
        conn: &mut AnyConn<'_>,
        community_id: i64,
    ) -> StorageResult<Vec<String>> {
        Ok(with_conn!(conn, |c| remote_moderators::table
            .filter(remote_moderators::community_id.eq(community_id))
            .order(remote_moderators::actor_ap_id.asc())
            .select(remote_moderators::actor_ap_id)
            .load(c))?)
    }

    /// Replaces the stored moderators of a remote community with the list its server gave.
    pub fn set_remote_moderators(
        conn: &mut AnyConn<'_>,
        community_id: i64,
        moderators: &[String],
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::delete(
            remote_moderators::table.filter(remote_moderators::community_id.eq(community_id))
        )
        .execute(c))?;
        for m in moderators {
            with_conn!(conn, |c| diesel::insert_into(remote_moderators::table)
                .values((
                    remote_moderators::community_id.eq(community_id),
                    remote_moderators::actor_ap_id.eq(m)
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
        }
        Ok(())
    }
}
