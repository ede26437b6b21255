//! The domain layer's error type: every failure a use case can report, with a stable code.
//!
//! The HTTP layers map the variant to a status and send `code` and the message to clients;
//! storage failures are logged at the edge and reported as a generic internal error.

use cairn_storage::{QueryError, StorageError};

/// What went wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The input is malformed or out of range.
    #[error("{message}")]
    Invalid {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The caller is not signed in, or its credentials are wrong.
    #[error("{message}")]
    Unauthenticated {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The caller is known but not allowed to do this.
    #[error("{message}")]
    Forbidden {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The thing does not exist.
    #[error("{message}")]
    NotFound {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The thing existed and was deleted.
    #[error("{message}")]
    Gone {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The change conflicts with existing state, such as a taken name.
    #[error("{message}")]
    Conflict {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Something else failed that the caller cannot fix.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<QueryError> for CoreError {
    fn from(e: QueryError) -> Self {
        CoreError::Storage(StorageError::Query(e))
    }
}

impl CoreError {
    /// A validation failure.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// A permission failure.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// A missing thing.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// A deleted thing.
    pub fn gone(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::Gone {
            code,
            message: message.into(),
        }
    }

    /// A state conflict.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A missing or wrong credential.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::Unauthenticated {
            code,
            message: message.into(),
        }
    }

    /// The stable code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Invalid { code, .. }
            | CoreError::Unauthenticated { code, .. }
            | CoreError::Forbidden { code, .. }
            | CoreError::NotFound { code, .. }
            | CoreError::Gone { code, .. }
            | CoreError::Conflict { code, .. } => code,
            CoreError::Storage(_) | CoreError::Internal(_) => "internal_error",
        }
    }
}

/// The result type of every use case.
pub type CoreResult<T> = Result<T, CoreError>;
