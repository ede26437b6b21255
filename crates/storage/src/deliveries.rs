//! Delivery work: one row per activity and target inbox, leased by workers, deleted when done.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{activities, deliveries};
use crate::{AnyConn, StorageResult, with_conn};

/// A delivery ready to send: where, signed by whom, and the activity's JSON.
#[derive(Debug, Clone, Queryable)]
pub struct DueDelivery {
    pub id: i64,
    pub inbox_url: String,
    pub host: String,
    pub signer_ap_id: String,
    pub attempts: i32,
    pub activity_ap_id: String,
    pub data: String,
}

/// A new delivery.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deliveries)]
pub struct NewDelivery {
    pub activity_id: i64,
    pub inbox_url: String,
    pub host: String,
    pub signer_ap_id: String,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Queues deliveries; an inbox that already has this activity queued is skipped.
pub fn enqueue(conn: &mut AnyConn<'_>, rows: &[NewDelivery]) -> StorageResult<usize> {
    let mut n = 0;
    for row in rows {
        n += with_conn!(conn, |c| diesel::insert_into(deliveries::table)
            .values(row)
            .on_conflict((deliveries::activity_id, deliveries::inbox_url))
            .do_nothing()
            .execute(c))?;
    }
    Ok(n)
}

/// Leases up to `limit` due deliveries until `lease_until`, oldest first, skipping hosts in
/// `skip_hosts` (those already at their concurrency limit). Call inside a transaction: on
/// PostgreSQL the rows are locked with SKIP LOCKED so concurrent processes take different work.
pub fn lease_due(
    conn: &mut AnyConn<'_>,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
    skip_hosts: &[String],
) -> StorageResult<Vec<DueDelivery>> {
    // Spelled out per arm, like every backend-specific clause (SKIP LOCKED is PostgreSQL's).
    macro_rules! due {
        () => {
            deliveries::table
                .filter(deliveries::next_attempt_at.le(now))
                .filter(
                    deliveries::leased_until
                        .is_null()
                        .or(deliveries::leased_until.lt(now)),
                )
                .filter(deliveries::host.ne_all(skip_hosts))
                .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
                .limit(limit)
                .select(deliveries::id)
        };
    }
    let ids: Vec<i64> = match conn {
        AnyConn::Postgres(c) => due!().for_update().skip_locked().load(&mut **c)?,
        AnyConn::Sqlite(c) => due!().load(&mut **c)?,
    };
    if ids.is_empty() {
        return Ok(vec![]);
    }
    with_conn!(conn, |c| diesel::update(
        deliveries::table.filter(deliveries::id.eq_any(&ids))
    )
    .set(deliveries::leased_until.eq(Some(lease_until)))
    .execute(c))?;
    Ok(with_conn!(conn, |c| deliveries::table
        .inner_join(activities::table)
        .filter(deliveries::id.eq_any(&ids))
        .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
        .select((
            deliveries::id,
            deliveries::inbox_url,
            deliveries::host,
            deliveries::signer_ap_id,
            deliveries::attempts,
            activities::ap_id,
            activities::data,
        ))
        .load(c))?)
}

/// Gives leased deliveries back without counting an attempt (the worker took more than it
/// could start).
pub fn release(conn: &mut AnyConn<'_>, ids: &[i64]) -> StorageResult<()> {
    with_conn!(conn, |c| diesel::update(
        deliveries::table.filter(deliveries::id.eq_any(ids))
    )
    .set(deliveries::leased_until.eq(None::<NaiveDateTime>))
    .execute(c))?;
    Ok(())
}

/// Removes a delivery that succeeded or was permanently refused.
pub fn complete(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<()> {
    with_conn!(conn, |c| diesel::delete(deliveries::table.find(id))
        .execute(c))?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub fn reschedule(
    conn: &mut AnyConn<'_>,
    id: i64,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> StorageResult<()> {
    with_conn!(conn, |c| diesel::update(deliveries::table.find(id))
        .set((
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::next_attempt_at.eq(next_attempt_at),
            deliveries::leased_until.eq(None::<NaiveDateTime>),
            deliveries::last_error.eq(Some(error)),
        ))
        .execute(c))?;
    Ok(())
}

/// Makes every waiting delivery to `host` due now: the host answered again after a failure.
pub fn wake_host(conn: &mut AnyConn<'_>, host: &str, now: NaiveDateTime) -> StorageResult<usize> {
    Ok(with_conn!(conn, |c| diesel::update(
        deliveries::table
            .filter(deliveries::host.eq(host))
            .filter(deliveries::next_attempt_at.gt(now))
    )
    .set(deliveries::next_attempt_at.eq(now))
    .execute(c))?)
}

/// Drops deliveries queued before `before`: a host unreachable that long has lost them.
pub fn expire(conn: &mut AnyConn<'_>, before: NaiveDateTime) -> StorageResult<usize> {
    Ok(with_conn!(conn, |c| diesel::delete(
        deliveries::table.filter(deliveries::created_at.lt(before))
    )
    .execute(c))?)
}

/// The earliest time a waiting delivery becomes claimable: the next attempt of a free row, or
/// the lease expiry of a leased one (whose worker may have died).
pub fn next_due_at(conn: &mut AnyConn<'_>) -> StorageResult<Option<NaiveDateTime>> {
    let free: Option<NaiveDateTime> = with_conn!(conn, |c| deliveries::table
        .filter(deliveries::leased_until.is_null())
        .select(diesel::dsl::min(deliveries::next_attempt_at))
        .first(c))?;
    let leased: Option<NaiveDateTime> = with_conn!(conn, |c| deliveries::table
        .filter(deliveries::leased_until.is_not_null())
        .select(diesel::dsl::min(deliveries::leased_until))
        .first(c))?;
    Ok([free, leased].into_iter().flatten().min())
}

/// Number of queued deliveries.
pub fn count(conn: &mut AnyConn<'_>) -> StorageResult<i64> {
    Ok(with_conn!(conn, |c| deliveries::table
        .count()
        .get_result(c))?)
}

/// Number of queued deliveries that are due at `now` and not leased: the backlog the worker
/// has not caught up with.
pub fn due_count(conn: &mut AnyConn<'_>, now: NaiveDateTime) -> StorageResult<i64> {
    Ok(with_conn!(conn, |c| deliveries::table
        .filter(deliveries::next_attempt_at.le(now))
        .filter(deliveries::leased_until.is_null())
        .count()
        .get_result(c))?)
}
