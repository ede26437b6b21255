//! The storage layer's error type.

/// Everything that can go wrong below the domain layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The pool could not be built (bad URL, unreachable server, unopenable file).
    #[error("cannot open the database: {0}")]
    Connect(String),
    /// No connection became free in time, or a new one could not be opened.
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

impl StorageError {
    /// True when the error is a unique-constraint violation, such as a taken name.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StorageError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// True when a looked-up row does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, StorageError::Query(diesel::result::Error::NotFound))
    }
}
