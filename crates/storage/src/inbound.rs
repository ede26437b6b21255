//! The durable inbox: activities stored when they arrive, leased by a worker, applied, and
//! marked with their verdict.
//!
//! A row's `state` is `pending` (waiting for its first try or for a retry at
//! `next_attempt_at`), `leased` (a worker has it until `leased_until`), or final: `applied`,
//! `ignored`, `refused` or `failed`, with the verdict's `code`. The unique `ap_id` is the dedupe
//! mark: a redelivery finds its id taken and is acknowledged without being stored again.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::inbound_activities as ia;
use crate::{AnyConn, StorageResult, with_conn};

/// Waiting for a first try or a retry.
pub const PENDING: &str = "pending";
/// Taken by a worker until its lease runs out.
pub const LEASED: &str = "leased";

/// A stored inbound activity.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ia)]
pub struct InboundRow {
    pub id: i64,
    pub ap_id: String,
    pub actor_ap_id: String,
    pub host: String,
    pub kind: String,
    pub object_key: String,
    pub data: String,
    pub state: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub leased_until: Option<NaiveDateTime>,
    pub received_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
}

/// A newly received activity.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ia)]
pub struct NewInbound {
    pub ap_id: String,
    pub actor_ap_id: String,
    pub host: String,
    pub kind: String,
    pub object_key: String,
    pub data: String,
    pub next_attempt_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
}

impl InboundRow {
    /// Stores a received activity; false when its id was received before (a redelivery).
    /// On PostgreSQL the insert also notifies the inbox workers of every process.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewInbound) -> StorageResult<bool> {
        let n = with_conn!(conn, |c| diesel::insert_into(ia::table)
            .values(new)
            .on_conflict(ia::ap_id)
            .do_nothing()
            .execute(c))?;
        if n == 1 {
            crate::notify::notify(conn, crate::notify::INBOX)?;
        }
        Ok(n == 1)
    }

    /// Leases up to `limit` activities that are due, oldest first, until `lease_until`. An
    /// activity is held back while an earlier one about the same object has not had its first
    /// try or is leased, so that activities about one object apply in the order they arrived
    /// (a Create before its Update) even with several workers; a retry waiting for its time
    /// holds nothing back, since it may be waiting for a later arrival. Call inside a
    /// transaction: on PostgreSQL the rows are locked with SKIP LOCKED, so concurrent workers
    /// take different rows.
    pub fn lease_due(
        conn: &mut AnyConn<'_>,
        now: NaiveDateTime,
        lease_until: NaiveDateTime,
        limit: i64,
    ) -> StorageResult<Vec<InboundRow>> {
        let earlier = diesel::alias!(ia as earlier);
        // Spelled out per arm, like every backend-specific clause (SKIP LOCKED is PostgreSQL's).
        macro_rules! due {
            () => {
                ia::table
                    .filter(
                        ia::state
                            .eq(PENDING)
                            .and(ia::next_attempt_at.le(now))
                            .or(ia::state.eq(LEASED).and(ia::leased_until.lt(now))),
                    )
                    .filter(diesel::dsl::not(diesel::dsl::exists(
                        earlier
                            .filter(earlier.field(ia::object_key).eq(ia::object_key))
                            .filter(earlier.field(ia::id).lt(ia::id))
                            .filter(
                                earlier
                                    .field(ia::state)
                                    .eq(PENDING)
                                    .and(earlier.field(ia::attempts).eq(0))
                                    .or(earlier.field(ia::state).eq(LEASED)),
                            ),
                    )))
                    .order(ia::id.asc())
                    .limit(limit)
                    .select(ia::id)
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
            ia::table.filter(ia::id.eq_any(&ids))
        )
        .set((ia::state.eq(LEASED), ia::leased_until.eq(Some(lease_until))))
        .execute(c))?;
        Ok(with_conn!(conn, |c| ia::table
            .filter(ia::id.eq_any(&ids))
            .order(ia::id.asc())
            .select(InboundRow::as_select())
            .load(c))?)
    }

    /// Records the final verdict of a leased activity. Returns false when the row was not
    /// leased any more (another worker took it after this one's lease ran out), in which case
    /// the caller must not commit what it applied.
    pub fn finish(
        conn: &mut AnyConn<'_>,
        id: i64,
        state: &str,
        code: &str,
        message: Option<&str>,
        now: NaiveDateTime,
    ) -> StorageResult<bool> {
        let n = with_conn!(conn, |c| diesel::update(
            ia::table.filter(ia::id.eq(id)).filter(ia::state.eq(LEASED))
        )
        .set((
            ia::state.eq(state),
            ia::code.eq(Some(code)),
            ia::message.eq(message),
            ia::leased_until.eq(None::<NaiveDateTime>),
            ia::finished_at.eq(Some(now)),
        ))
        .execute(c))?;
        Ok(n == 1)
    }

    /// Puts a leased activity back for another try at `next_attempt_at`, counting the attempt.
    pub fn retry(
        conn: &mut AnyConn<'_>,
        id: i64,
        next_attempt_at: NaiveDateTime,
        code: &str,
        message: &str,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(ia::table.filter(ia::id.eq(id)))
            .set((
                ia::state.eq(PENDING),
                ia::attempts.eq(ia::attempts + 1),
                ia::next_attempt_at.eq(next_attempt_at),
                ia::leased_until.eq(None::<NaiveDateTime>),
                ia::code.eq(Some(code)),
                ia::message.eq(Some(message)),
            ))
            .execute(c))?;
        Ok(())
    }

    /// An activity by its ActivityPub id.
    pub fn by_ap_id(conn: &mut AnyConn<'_>, ap_id: &str) -> StorageResult<Option<InboundRow>> {
        Ok(with_conn!(conn, |c| ia::table
            .filter(ia::ap_id.eq(ap_id))
            .select(InboundRow::as_select())
            .first(c)
            .optional())?)
    }

    /// When the worker next has something to do: the next retry, or the lease expiry of a
    /// leased row (whose worker may have died).
    pub fn next_due_at(conn: &mut AnyConn<'_>) -> StorageResult<Option<NaiveDateTime>> {
        let pending: Option<NaiveDateTime> = with_conn!(conn, |c| ia::table
            .filter(ia::state.eq(PENDING))
            .select(diesel::dsl::min(ia::next_attempt_at))
            .first(c))?;
        let leased: Option<NaiveDateTime> = with_conn!(conn, |c| ia::table
            .filter(ia::state.eq(LEASED))
            .select(diesel::dsl::min(ia::leased_until))
            .first(c))?;
        Ok([pending, leased].into_iter().flatten().min())
    }

    /// How many activities are in each state, and for final states with each code: the
    /// figures behind the metrics.
    pub fn counts(conn: &mut AnyConn<'_>) -> StorageResult<Vec<(String, Option<String>, i64)>> {
        Ok(with_conn!(conn, |c| ia::table
            .group_by((ia::state, ia::code))
            .select((ia::state, ia::code, diesel::dsl::count_star()))
            .load(c))?)
    }

    /// Deletes activities that reached a verdict before `before`. Their ids are forgotten too,
    /// so a redelivery that late would be applied again; senders give up long before.
    pub fn prune(conn: &mut AnyConn<'_>, before: NaiveDateTime) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            ia::table
                .filter(ia::finished_at.is_not_null())
                .filter(ia::finished_at.lt(before))
        )
        .execute(c))?)
    }
}
