//! The single `site` row: the instance actor's key pair and name.

use diesel::prelude::*;

use crate::schema::site;
use crate::{AnyConn, StorageResult, with_conn};

/// The instance row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = site)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub public_key: String,
    pub private_key: String,
    pub created_at: chrono::NaiveDateTime,
}

impl SiteRow {
    /// The instance row, if it was created yet.
    pub fn get(conn: &mut AnyConn<'_>) -> StorageResult<Option<SiteRow>> {
        Ok(with_conn!(conn, |c| site::table
            .find(1)
            .select(SiteRow::as_select())
            .first(c)
            .optional())?)
    }

    /// Creates the instance row, keeping an existing one if a concurrent start won the race.
    pub fn insert_if_absent(conn: &mut AnyConn<'_>, row: &SiteRow) -> StorageResult<()> {
        with_conn!(conn, |c| diesel::insert_into(site::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
        Ok(())
    }
}
