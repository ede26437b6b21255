//! The API's error type and its JSON form: `{"error": "<stable_code>", "message": "<sentence>"}`.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cairn_core::CoreError;
use cairn_core::limits::Limited;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code to match on, such as `community_name_taken`.
    pub error: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// What an API handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// A domain failure.
    Core(CoreError),
    /// A failure the HTTP layer itself detects.
    Http {
        /// The status to answer with.
        status: StatusCode,
        /// Stable machine-readable code.
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// Over a rate limit: 429 with `Retry-After`.
    Limited(Limited),
}

impl ApiError {
    /// An HTTP-level failure.
    pub fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Http {
            status,
            code,
            message: message.into(),
        }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Http { status, .. } => *status,
            ApiError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Core(e) => match e {
                CoreError::Invalid { .. } => StatusCode::BAD_REQUEST,
                CoreError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
                CoreError::Forbidden { .. } => StatusCode::FORBIDDEN,
                CoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                CoreError::Gone { .. } => StatusCode::GONE,
                CoreError::Conflict { .. } => StatusCode::CONFLICT,
                CoreError::Storage(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// The stable code and the sentence shown to clients. Internal details are logged, never
    /// sent.
    pub fn parts(&self) -> (&'static str, String) {
        match self {
            ApiError::Http { code, message, .. } => (code, message.clone()),
            ApiError::Limited(l) => ("rate_limited", l.message()),
            ApiError::Core(e @ (CoreError::Storage(_) | CoreError::Internal(_))) => {
                tracing::error!(error = %e, "request failed");
                (
                    "internal_error",
                    "The server failed to handle the request; try again later.".to_owned(),
                )
            }
            ApiError::Core(e) => (e.code(), e.to_string()),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::Core(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (error, message) = self.parts();
        let mut resp = (status, Json(ErrorBody { error, message })).into_response();
        if let ApiError::Limited(l) = &self {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(l.retry_after_secs()));
        }
        resp
    }
}

/// The result type of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
