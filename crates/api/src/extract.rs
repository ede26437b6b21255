//! Extractors: the signed-in user, and JSON, path and query extractors whose rejections answer
//! in the API's error format instead of axum's plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use cairn_core::model::AuthUser;
use cairn_core::{Cairn, sessions};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The bearer token of a request, if it sent one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The `User-Agent` of a request, if it sent a readable one; stored with a new session so that
/// its owner can tell their sessions apart.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}

/// The signed-in user; requests without a valid bearer token get 401.
#[derive(Debug, Clone)]
pub struct Auth(pub AuthUser);

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    Cairn: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Cairn::from_ref(state);
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::http(
                StatusCode::UNAUTHORIZED,
                "not_signed_in",
                "Sign in first and send the token as `Authorization: Bearer <token>`.",
            )
        })?;
        Ok(Auth(sessions::authenticate(&ctx, token).await?))
    }
}

/// The signed-in user if there is one. A bad token is still an error: silently treating it as
/// anonymous would hide a client bug.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<AuthUser>);

impl<S> FromRequestParts<S> for MaybeAuth
where
    S: Send + Sync,
    Cairn: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if bearer_token(&parts.headers).is_none() {
            return Ok(MaybeAuth(None));
        }
        let Auth(user) = Auth::from_request_parts(parts, state).await?;
        Ok(MaybeAuth(Some(user)))
    }
}

/// A JSON body.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        ),
        JsonRejection::JsonDataError(e) => ApiError::http(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "The JSON body does not fit: {}",
                e.body_text().trim_start_matches(
                    "Failed to deserialize the JSON body into the target type: "
                )
            ),
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::http(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "The body is not valid JSON: {}",
                e.body_text()
                    .trim_start_matches("Failed to parse the request body as JSON: ")
            ),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::http(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The request body is larger than this server accepts.",
            )
        }
        other => ApiError::http(other.status(), "invalid_body", other.body_text()),
    }
}

/// Path parameters.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    format!("The URL path is malformed: {}", e.body_text()),
                )
            })
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::http(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("The query string is malformed: {}", e.body_text()),
                )
            })
    }
}
