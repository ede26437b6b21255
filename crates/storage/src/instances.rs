//! What we know of other instances: their software, and whether they answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::instances;
use crate::{AnyConn, StorageResult, with_conn};

/// An instance row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = instances)]
pub struct InstanceRow {
    pub host: String,
    pub software: Option<String>,
    pub version: Option<String>,
    pub consecutive_failures: i32,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_failure_at: Option<NaiveDateTime>,
    pub dead_since: Option<NaiveDateTime>,
    pub nodeinfo_fetched_at: Option<NaiveDateTime>,
    pub blocked: bool,
    pub updated_at: NaiveDateTime,
}

impl InstanceRow {
    /// The row for `host`, if known.
    pub fn get(conn: &mut AnyConn<'_>, host: &str) -> StorageResult<Option<InstanceRow>> {
        Ok(with_conn!(conn, |c| instances::table
            .find(host)
            .select(InstanceRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Hosts whose last deliveries failed, most failures first, at most `limit`: the host, its
    /// consecutive failures, and whether it counts as dead.
    pub fn failing(conn: &mut AnyConn<'_>, limit: i64) -> StorageResult<Vec<(String, i32, bool)>> {
        let rows: Vec<(String, i32, Option<NaiveDateTime>)> =
            with_conn!(conn, |c| instances::table
                .filter(instances::consecutive_failures.gt(0))
                .order((
                    instances::consecutive_failures.desc(),
                    instances::host.asc()
                ))
                .limit(limit)
                .select((
                    instances::host,
                    instances::consecutive_failures,
                    instances::dead_since,
                ))
                .load(c))?;
        Ok(rows
            .into_iter()
            .map(|(h, n, dead)| (h, n, dead.is_some()))
            .collect())
    }

    /// Number of known instances.
    pub fn count(conn: &mut AnyConn<'_>) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| instances::table
            .count()
            .get_result(c))?)
    }

    /// Makes sure a row exists for `host`.
    pub fn ensure(conn: &mut AnyConn<'_>, host: &str, now: NaiveDateTime) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::insert_into(instances::table)
            .values((instances::host.eq(host), instances::updated_at.eq(now)))
            .on_conflict(instances::host)
            .do_nothing()
            .execute(c))?;
        Ok(())
    }

    /// Hosts whose NodeInfo was never read or was read before `stale_before`, oldest first.
    pub fn needing_nodeinfo(
        conn: &mut AnyConn<'_>,
        stale_before: NaiveDateTime,
        limit: i64,
    ) -> StorageResult<Vec<String>> {
        Ok(with_conn!(conn, |c| instances::table
            .filter(
                instances::nodeinfo_fetched_at
                    .is_null()
                    .or(instances::nodeinfo_fetched_at.lt(stale_before)),
            )
            .order(instances::updated_at.asc())
            .limit(limit)
            .select(instances::host)
            .load(c))?)
    }

    /// The software each of the given hosts runs, where known.
    pub fn software_of(
        conn: &mut AnyConn<'_>,
        hosts: &[String],
    ) -> StorageResult<Vec<(String, String)>> {
        let rows: Vec<(String, Option<String>)> = with_conn!(conn, |c| instances::table
            .filter(instances::host.eq_any(hosts))
            .select((instances::host, instances::software))
            .load(c))?;
        Ok(rows
            .into_iter()
            .filter_map(|(h, s)| s.map(|s| (h, s)))
            .collect())
    }

    /// Records the software a host runs, from its NodeInfo.
    pub fn set_software(
        conn: &mut AnyConn<'_>,
        host: &str,
        software: Option<&str>,
        version: Option<&str>,
        now: NaiveDateTime,
    ) -> StorageResult<()> {
        Self::ensure(conn, host, now)?;
        with_conn!(conn, |c| diesel::update(instances::table.find(host))
            .set((
                instances::software.eq(software),
                instances::version.eq(version),
                instances::nodeinfo_fetched_at.eq(Some(now)),
                instances::updated_at.eq(now),
            ))
            .execute(c))?;
        Ok(())
    }

    /// Records a successful delivery; returns true when the host had been marked dead.
    pub fn record_success(
        conn: &mut AnyConn<'_>,
        host: &str,
        now: NaiveDateTime,
    ) -> StorageResult<bool> {
        Self::ensure(conn, host, now)?;
        let was_dead = Self::get(conn, host)?.is_some_and(|r| r.dead_since.is_some());
        with_conn!(conn, |c| diesel::update(instances::table.find(host))
            .set((
                instances::consecutive_failures.eq(0),
                instances::last_success_at.eq(Some(now)),
                instances::dead_since.eq(None::<NaiveDateTime>),
                instances::updated_at.eq(now),
            ))
            .execute(c))?;
        Ok(was_dead)
    }

    /// Records a failed delivery and marks the host dead once it has failed `dead_after`
    /// times in a row; returns the row as it now stands.
    pub fn record_failure(
        conn: &mut AnyConn<'_>,
        host: &str,
        now: NaiveDateTime,
        dead_after: i32,
    ) -> StorageResult<InstanceRow> {
        Self::ensure(conn, host, now)?;
        with_conn!(conn, |c| diesel::update(instances::table.find(host))
            .set((
                instances::consecutive_failures.eq(instances::consecutive_failures + 1),
                instances::last_failure_at.eq(Some(now)),
                instances::updated_at.eq(now),
            ))
            .execute(c))?;
        with_conn!(conn, |c| diesel::update(
            instances::table
                .find(host)
                .filter(instances::consecutive_failures.ge(dead_after))
                .filter(instances::dead_since.is_null())
        )
        .set(instances::dead_since.eq(Some(now)))
        .execute(c))?;
        Self::get(conn, host)?.ok_or(crate::StorageError::Query(diesel::result::Error::NotFound))
    }
}
