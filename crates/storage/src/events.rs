//! The durable outbox: domain events written in the same transaction as the change, consumed in
//! order by the federation publisher.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::outbox_events;
use crate::{AnyConn, StorageResult, with_conn};

/// An event row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub actor_id: i64,
    pub community_id: Option<i64>,
    pub post_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub target_person_id: Option<i64>,
    pub score: Option<i32>,
    pub previous_score: Option<i32>,
    pub object_ap_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub processed_at: Option<NaiveDateTime>,
}

/// A new event.
#[derive(Debug, Clone, Default, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct NewEvent {
    pub kind: String,
    pub actor_id: i64,
    pub community_id: Option<i64>,
    pub post_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub target_person_id: Option<i64>,
    pub score: Option<i32>,
    pub previous_score: Option<i32>,
    pub object_ap_id: Option<String>,
    pub created_at: NaiveDateTime,
}

impl EventRow {
    /// Appends an event; call inside the transaction that makes the change.
    /// On PostgreSQL it also notifies [`crate::notify::OUTBOX`], which other processes' publishers
    /// hear when the transaction commits.
    pub fn insert(conn: &mut AnyConn<'_>, new: &NewEvent) -> StorageResult<i64> {
        let id = with_conn!(conn, |c| diesel::insert_into(outbox_events::table)
            .values(new)
            .returning(outbox_events::id)
            .get_result(c))?;
        crate::notify::notify(conn, crate::notify::OUTBOX)?;
        Ok(id)
    }

    /// Number of events not yet published.
    pub fn pending_count(conn: &mut AnyConn<'_>) -> StorageResult<i64> {
        Ok(with_conn!(conn, |c| outbox_events::table
            .filter(outbox_events::processed_at.is_null())
            .count()
            .get_result(c))?)
    }

    /// The oldest unprocessed events.
    pub fn pending(conn: &mut AnyConn<'_>, limit: i64) -> StorageResult<Vec<EventRow>> {
        Ok(with_conn!(conn, |c| outbox_events::table
            .filter(outbox_events::processed_at.is_null())
            .order(outbox_events::id.asc())
            .limit(limit)
            .select(EventRow::as_select())
            .load(c))?)
    }

    /// Locks event `id` for this transaction if it is still unprocessed. On PostgreSQL a row
    /// another process holds is skipped (None), so two publishers never publish one event.
    pub fn claim(conn: &mut AnyConn<'_>, id: i64) -> StorageResult<Option<EventRow>> {
        // Spelled out per arm: `as_select` fixes the backend at first use.
        macro_rules! unprocessed {
            () => {
                outbox_events::table
                    .find(id)
                    .filter(outbox_events::processed_at.is_null())
                    .select(EventRow::as_select())
            };
        }
        Ok(match conn {
            AnyConn::Postgres(c) => unprocessed!()
                .for_update()
                .skip_locked()
                .first(&mut **c)
                .optional()?,
            AnyConn::Sqlite(c) => unprocessed!().first(&mut **c).optional()?,
        })
    }

    /// Marks an event handled.
    pub fn mark_processed(
        conn: &mut AnyConn<'_>,
        id: i64,
        now: NaiveDateTime,
    ) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::update(outbox_events::table.find(id))
            .set(outbox_events::processed_at.eq(Some(now)))
            .execute(c))?;
        Ok(())
    }

    /// Deletes events processed before `before`; they are history nobody reads.
    pub fn prune_processed(conn: &mut AnyConn<'_>, before: NaiveDateTime) -> StorageResult<usize> {
        Ok(with_conn!(conn, |c| diesel::delete(
            outbox_events::table.filter(outbox_events::processed_at.lt(before))
        )
        .execute(c))?)
    }
}
