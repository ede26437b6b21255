//! Cairn's storage layer: the schema, row types and queries for SQLite and PostgreSQL.
//!
//! Row types mirror tables and are never sent over the wire: the domain crate converts them.
//! Queries live next to the row they return, and each is written once for both backends.

mod db;
mod error;
pub mod schema;

pub mod activities;
pub mod comments;
pub mod communities;
pub mod deliveries;
pub mod events;
pub mod inbound;
pub mod instances;
pub mod notify;
pub mod person_follows;
pub mod persons;
pub mod posts;
pub mod site;
pub mod votes;

pub use db::{AnyConn, Backend, Database, DatabaseUrl, PoolOptions};
pub use diesel::result::Error as QueryError;
pub use error::StorageError;

/// The result type of every query function.
pub type StorageResult<T> = Result<T, StorageError>;

diesel::define_sql_function! {
    /// SQL `lower()`, for case-insensitive name lookups that use the `lower(name)` indexes.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `lower()` on a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// The current time as stored: UTC, truncated to microseconds so that SQLite's text form and
/// PostgreSQL's timestamp compare and round-trip identically (keyset cursors depend on it).
pub fn db_now() -> chrono::NaiveDateTime {
    truncate_to_micros(chrono::Utc::now().naive_utc())
}

/// Truncates a timestamp to whole microseconds.
pub fn truncate_to_micros(t: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}
