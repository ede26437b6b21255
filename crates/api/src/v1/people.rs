//! People following people, here and on other servers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::people::{self, Followed};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::{FollowRequest, PersonDto};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};
use crate::ratelimit::{Following, Write};
use crate::state::ApiState;

/// Someone the signed-in user follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowedPersonDto {
    pub person: PersonDto,
    /// `pending` until the other server accepts, then `active`.
    pub state: String,
}

impl From<Followed> for FollowedPersonDto {
    fn from(f: Followed) -> Self {
        Self {
            person: f.person.into(),
            state: f.state.as_str().to_owned(),
        }
    }
}

/// Follow a person: `name@host`, `@name@host`, the URL of their profile, or a local name.
#[utoipa::path(post, path = "/api/v1/people/follow", tag = "people", request_body = FollowRequest,
    security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 200, body = FollowedPersonDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn follow_person(
    State(s): State<ApiState>,
    Write(user, _): Write<Following>,
    ApiJson(req): ApiJson<FollowRequest>,
) -> ApiResult<Json<FollowedPersonDto>> {
    Ok(Json(
        people::follow(&s.ctx, &user, &req.handle).await?.into(),
    ))
}

/// Stop following a person.
#[utoipa::path(post, path = "/api/v1/people/unfollow", tag = "people", request_body = FollowRequest,
    security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn unfollow_person(
    State(s): State<ApiState>,
    Write(user, _): Write<Following>,
    ApiJson(req): ApiJson<FollowRequest>,
) -> ApiResult<StatusCode> {
    people::unfollow(&s.ctx, &user, &req.handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The people the signed-in user follows, newest first.
#[utoipa::path(get, path = "/api/v1/me/following", tag = "people",
    security(("bearer" = [])),
    responses((status = 200, body = [FollowedPersonDto]), (status = 401, body = ErrorBody)))]
pub async fn following(
    State(s): State<ApiState>,
    Auth(user): Auth,
) -> ApiResult<Json<Vec<FollowedPersonDto>>> {
    Ok(Json(
        people::following(&s.ctx, &user)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}
