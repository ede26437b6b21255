//! Communities and membership.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::communities::{self, NewCommunityInput};
use cairn_core::{follows, posts};

use crate::dto::{
    CommunityDto, CommunitySummaryDto, CreateCommunityRequest, FollowDecisionRequest,
    FollowRequest, InviteRequest, JoinResponse, ListPostsQuery, MemberDto, PageQuery,
    PendingFollowDto, PostPageDto,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, MaybeAuth};
use crate::ratelimit::{Editing, Following, Founding, Write};
use crate::state::ApiState;

/// Create a community; the caller becomes its owner.
#[utoipa::path(post, path = "/api/v1/communities", request_body = CreateCommunityRequest, tag = "communities",
    security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 201, body = CommunityDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create_community(
    State(s): State<ApiState>,
    Write(user, _): Write<Founding>,
    ApiJson(req): ApiJson<CreateCommunityRequest>,
) -> ApiResult<(StatusCode, Json<CommunityDto>)> {
    let input = NewCommunityInput {
        name: req.name,
        title: req.title,
        description: req.description,
        kind: req.kind,
        membership: req.membership,
    };
    let view = communities::create(&s.ctx, &user, input).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// The communities of this instance, by name.
#[utoipa::path(get, path = "/api/v1/communities", tag = "communities", params(PageQuery),
    responses((status = 200, body = [CommunitySummaryDto])))]
pub async fn list_communities(
    State(s): State<ApiState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Vec<CommunitySummaryDto>>> {
    let list = communities::list(&s.ctx, q.limit.unwrap_or(50), q.offset.unwrap_or(0)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// A community.
#[utoipa::path(get, path = "/api/v1/communities/{name}", tag = "communities",
    params(("name" = String, Path, description = "Community name")),
    responses((status = 200, body = CommunityDto), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn get_community(
    State(s): State<ApiState>,
    MaybeAuth(user): MaybeAuth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<CommunityDto>> {
    Ok(Json(
        communities::get(&s.ctx, &name, user.as_ref()).await?.into(),
    ))
}

/// Follow a community on another server (`name@host`), or join a local one.
#[utoipa::path(post, path = "/api/v1/communities/follow", tag = "communities", request_body = FollowRequest,
    security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 200, body = JoinResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn follow_community(
    State(s): State<ApiState>,
    Write(user, _): Write<Following>,
    ApiJson(req): ApiJson<FollowRequest>,
) -> ApiResult<Json<JoinResponse>> {
    let state = follows::follow(&s.ctx, &user, &req.handle).await?;
    Ok(Json(JoinResponse {
        state: state.as_str().to_owned(),
    }))
}

/// Stop following a community on another server, or leave a local one.
#[utoipa::path(post, path = "/api/v1/communities/unfollow", tag = "communities", request_body = FollowRequest,
    security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn unfollow_community(
    State(s): State<ApiState>,
    Write(user, _): Write<Following>,
    ApiJson(req): ApiJson<FollowRequest>,
) -> ApiResult<StatusCode> {
    follows::unfollow(&s.ctx, &user, &req.handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Follows from other servers waiting for approval (moderators).
#[utoipa::path(get, path = "/api/v1/communities/{name}/pending-follows", tag = "communities",
    security(("bearer" = [])), params(("name" = String, Path, description = "Community name")),
    responses((status = 200, body = [PendingFollowDto]), (status = 403, body = ErrorBody)))]
pub async fn list_pending_follows(
    State(s): State<ApiState>,
    Auth(user): Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<PendingFollowDto>>> {
    let list = follows::pending_follows(&s.ctx, &user, &name).await?;
    Ok(Json(
        list.into_iter()
            .map(|f| PendingFollowDto {
                handle: handle_of(&f.person.name, &f.person.ap_id),
                person: f.person.into(),
                since: f.since,
            })
            .collect(),
    ))
}

fn handle_of(name: &str, ap_id: &str) -> String {
    let host = ap_id
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    format!("{name}@{host}")
}

/// Approve or refuse a follow from another server (moderators).
#[utoipa::path(post, path = "/api/v1/communities/{name}/pending-follows", tag = "communities",
    request_body = FollowDecisionRequest, security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn decide_pending_follow(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<FollowDecisionRequest>,
) -> ApiResult<StatusCode> {
    follows::decide_follow(&s.ctx, &user, &name, &req.actor, req.approve).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Join, or ask to join, a community.
#[utoipa::path(post, path = "/api/v1/communities/{name}/join", tag = "communities", security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name")),
    responses((status = 429, body = ErrorBody), (status = 200, body = JoinResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn join_community(
    State(s): State<ApiState>,
    Write(user, _): Write<Following>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<JoinResponse>> {
    let state = follows::follow(&s.ctx, &user, &name).await?;
    Ok(Json(JoinResponse {
        state: state.as_str().to_owned(),
    }))
}

/// Leave a community, withdraw a request or decline an invitation.
#[utoipa::path(post, path = "/api/v1/communities/{name}/leave", tag = "communities", security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn leave_community(
    State(s): State<ApiState>,
    Write(user, _): Write<Following>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    follows::unfollow(&s.ctx, &user, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Active members.
#[utoipa::path(get, path = "/api/v1/communities/{name}/members", tag = "communities",
    params(("name" = String, Path, description = "Community name"), PageQuery),
    responses((status = 200, body = [MemberDto]), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(s): State<ApiState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Vec<MemberDto>>> {
    let list =
        communities::members(&s.ctx, &name, q.limit.unwrap_or(100), q.offset.unwrap_or(0)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Pending join requests (moderators).
#[utoipa::path(get, path = "/api/v1/communities/{name}/join-requests", tag = "communities", security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name")),
    responses((status = 200, body = [MemberDto]), (status = 403, body = ErrorBody)))]
pub async fn list_join_requests(
    State(s): State<ApiState>,
    Auth(user): Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<MemberDto>>> {
    let list = communities::join_requests(&s.ctx, &user, &name).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Approve a join request (moderators).
#[utoipa::path(post, path = "/api/v1/communities/{name}/join-requests/{username}/approve", tag = "communities",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name"), ("username" = String, Path, description = "Applicant")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve_join_request(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    communities::decide_join_request(&s.ctx, &user, &name, &username, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reject a join request (moderators).
#[utoipa::path(post, path = "/api/v1/communities/{name}/join-requests/{username}/reject", tag = "communities",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name"), ("username" = String, Path, description = "Applicant")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reject_join_request(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    communities::decide_join_request(&s.ctx, &user, &name, &username, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invite a local user (moderators).
#[utoipa::path(post, path = "/api/v1/communities/{name}/invites", tag = "communities", request_body = InviteRequest,
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Community name")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn invite(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<InviteRequest>,
) -> ApiResult<StatusCode> {
    communities::invite(&s.ctx, &user, &name, &req.username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A community's posts, sorted, one page at a time.
#[utoipa::path(get, path = "/api/v1/communities/{name}/posts", tag = "posts",
    params(("name" = String, Path, description = "Community name"), ListPostsQuery),
    responses((status = 200, body = PostPageDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_posts(
    State(s): State<ApiState>,
    MaybeAuth(user): MaybeAuth,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListPostsQuery>,
) -> ApiResult<Json<PostPageDto>> {
    let sort = posts::parse_sort(q.sort.as_deref())?;
    let page = posts::list_for_community(
        &s.ctx,
        &name,
        sort,
        q.cursor.as_deref(),
        q.limit.unwrap_or(20),
        user.as_ref(),
    )
    .await?;
    Ok(Json(PostPageDto {
        posts: page.posts.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}
