//! Activities by id: those we publish (served at their id) and those we received (so a
//! duplicate delivery is recognised and dropped).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::activities;
use crate::{AnyConn, StorageResult, with_conn};

/// An activity row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub actor_ap_id: String,
    pub data: String,
    pub local: bool,
    pub sensitive: bool,
    pub published: NaiveDateTime,
}

/// A new activity.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = activities)]
pub struct NewActivity {
    pub ap_id: String,
    pub kind: String,
    pub actor_ap_id: String,
    pub data: String,
    pub local: bool,
    pub sensitive: bool,
    pub published: NaiveDateTime,
}

impl ActivityRow {
    /// Stores an activity we publish and returns its row id.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewActivity) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| diesel::insert_into(
            activities::table
        )
        .values(new)
        .returning(activities::id)
        .get_result(c))?)
    }

    /// Records a received activity; returns false when its id was seen before.
    pub fn insert_received(conn: &mut AnyConn<'_>, new: &NewActivity) -> StorageResult<bool> {
        let n = with_conn!(conn, |c| diesel::insert_into(activities::table)
            .values(new)
            .on_conflict(activities::ap_id)
            .do_nothing()
            .execute(c))?;
        Ok(n == 1)
    }

    /// Forgets a received activity, so that a redelivery is applied again (after applying it
    /// failed). Our own activities are never forgotten.
    pub fn forget_received(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::delete(
            activities::table
                .filter(activities::ap_id.eq(ap_id))
                .filter(activities::local.eq(false))
        )
        .execute(c))?;
        Ok(())
    }

    /// The id of the newest activity of `kind` that this server sent as `actor` about `object`,
    /// as its stored JSON names it (`"object":"URL"`), if any.
    pub fn latest_local_about(
        conn: &mut AnyConn<'_>,
        actor: &str,
        kind: &str,
        object: &str,
    ) -> StorageResult<Option<String>> {
        // LIKE treats `%` and `_` as wildcards; URLs may hold `_`, so both are escaped.
        let escaped = object
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%\"object\":\"{escaped}\"%");
        Ok(with_conn!(conn, |c| activities::table
            .filter(activities::local.eq(true))
            .filter(activities::actor_ap_id.eq(actor))
            .filter(activities::kind.eq(kind))
            .filter(activities::data.like(&pattern).escape('\\'))
            .order(activities::id.desc())
            .select(activities::ap_id)
            .first(c)
            .optional())?)
    }

    /// An activity by ActivityPub id.
    pub fn by_ap_id(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<Option<ActivityRow>> {
        Ok(with_conn!(conn, |c| activities::table
            .filter(activities::ap_id.eq(ap_id))
            .select(ActivityRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Forgets received activities older than `before` that no delivery refers to; duplicates
    /// of activities that old are not expected any more.
    pub fn prune_received(conn: &mut AnyConn<'_>, before: NaiveDateTime) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            activities::table
                .filter(activities::local.eq(false))
                .filter(activities::published.lt(before))
        )
        .execute(c))?)
    }
}
