//! The federation layer's error type and its HTTP form.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::CoreError;

/// What a federation endpoint can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// A domain rule or lookup failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The request is malformed (for example a WebFinger resource in the wrong form).
    #[error("{message}")]
    BadRequest {
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// An incoming activity failed a protocol check (signature, digest, parsing, URLs).
    #[error("{message}")]
    Inbound {
        /// The 4xx status to answer with.
        status: axum::http::StatusCode,
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// Another server's document or answer is unusable, or it could not be reached.
    #[error("remote failure: {0}")]
    Remote(String),
    /// A stored value could not be turned into a wire document; a bug or a corrupt row.
    #[error("cannot build the document: {0}")]
    Internal(String),
}

impl FederationError {
    /// A malformed request.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for FederationError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            FederationError::BadRequest { code, message } => {
                (StatusCode::BAD_REQUEST, *code, message.clone())
            }
            FederationError::Core(e) => {
                let status = match e {
                    CoreError::Invalid { .. } => StatusCode::BAD_REQUEST,
                    CoreError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
                    CoreError::Forbidden { .. } => StatusCode::FORBIDDEN,
                    CoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                    CoreError::Gone { .. } => StatusCode::GONE,
                    CoreError::Conflict { .. } => StatusCode::CONFLICT,
                    CoreError::Storage(_) | CoreError::Internal(_) => {
                        StatusCode::INTERNAL_SERVER_ERROR
                    }
                };
                let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(error = %e, "federation request failed");
                    "The server failed to answer; try again later.".to_owned()
                } else {
                    e.to_string()
                };
                (status, e.code(), message)
            }
            FederationError::Inbound {
                status,
                code,
                message,
            } => (*status, *code, message.clone()),
            FederationError::Remote(detail) => {
                (StatusCode::BAD_GATEWAY, "remote_failure", detail.clone())
            }
            FederationError::Internal(detail) => {
                tracing::error!(%detail, "federation document failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "The server failed to answer; try again later.".to_owned(),
                )
            }
        };
        (
            status,
            axum::Json(serde_json::json!({"error": code, "message": message})),
        )
            .into_response()
    }
}

/// The result type of federation handlers.
pub type FederationResult<T> = Result<T, FederationError>;
