//! Posts, comments and votes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::posts::{self, NewPostInput, PostEdit};
use cairn_core::{comments, votes};

use crate::dto::{
    API_NESTING, CommentDto, CommentThreadDto, CreateCommentRequest, CreatePostRequest,
    EditCommentRequest, EditPostRequest, PostDetailDto, PostDto, ThreadQuery, VoteRequest,
    VoteResponse,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, MaybeAuth};
use crate::ratelimit::{Commenting, Editing, Posting, Voting, Write};
use crate::state::ApiState;

/// Create a post.
#[utoipa::path(post, path = "/api/v1/posts", request_body = CreatePostRequest, tag = "posts", security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 201, body = PostDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_post(
    State(s): State<ApiState>,
    Write(user, _): Write<Posting>,
    ApiJson(req): ApiJson<CreatePostRequest>,
) -> ApiResult<(StatusCode, Json<PostDto>)> {
    let input = NewPostInput {
        community: req.community,
        title: req.title,
        body: req.body,
        url: req.url,
    };
    let view = posts::create(&s.ctx, &user, input).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// A post with one page of its comment tree.
#[utoipa::path(get, path = "/api/v1/posts/{id}", tag = "posts",
    params(("id" = i64, Path, description = "Post id"), ThreadQuery),
    responses((status = 200, body = PostDetailDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
pub async fn get_post(
    State(s): State<ApiState>,
    MaybeAuth(user): MaybeAuth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ThreadQuery>,
) -> ApiResult<Json<PostDetailDto>> {
    let page = posts::ThreadPage {
        cursor: q.comments_cursor,
        nesting: API_NESTING,
    };
    let detail = posts::get_detail(&s.ctx, id, user.as_ref(), &page).await?;
    Ok(Json(PostDetailDto {
        post: detail.view.into(),
        comments: detail.comments.into_iter().map(Into::into).collect(),
        next_comments_cursor: detail.next_cursor,
    }))
}

/// Edit a post (its author).
#[utoipa::path(patch, path = "/api/v1/posts/{id}", request_body = EditPostRequest, tag = "posts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 429, body = ErrorBody), (status = 200, body = PostDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn edit_post(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<EditPostRequest>,
) -> ApiResult<Json<PostDto>> {
    let edit = PostEdit {
        title: req.title,
        body: req.body,
        url: req.url,
    };
    Ok(Json(posts::edit(&s.ctx, &user, id, edit).await?.into()))
}

/// Delete a post (its author), or remove it (a moderator).
#[utoipa::path(delete, path = "/api/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_post(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    posts::delete(&s.ctx, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Vote on a post.
#[utoipa::path(post, path = "/api/v1/posts/{id}/vote", request_body = VoteRequest, tag = "posts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Post id")),
    responses((status = 429, body = ErrorBody), (status = 200, body = VoteResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn vote_post(
    State(s): State<ApiState>,
    Write(user, _): Write<Voting>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<VoteRequest>,
) -> ApiResult<Json<VoteResponse>> {
    Ok(Json(
        votes::vote_post(&s.ctx, &user, id, req.score).await?.into(),
    ))
}

/// Comment on a post or reply to a comment.
#[utoipa::path(post, path = "/api/v1/posts/{id}/comments", request_body = CreateCommentRequest, tag = "comments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "Post id")),
    responses((status = 429, body = ErrorBody), (status = 201, body = CommentDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn create_comment(
    State(s): State<ApiState>,
    Write(user, _): Write<Commenting>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<CreateCommentRequest>,
) -> ApiResult<(StatusCode, Json<CommentDto>)> {
    let view = comments::create(&s.ctx, &user, id, req.parent_id, &req.body).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// A comment.
#[utoipa::path(get, path = "/api/v1/comments/{id}", tag = "comments", params(("id" = i64, Path, description = "Comment id")),
    responses((status = 200, body = CommentDto), (status = 404, body = ErrorBody)))]
pub async fn get_comment(
    State(s): State<ApiState>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CommentDto>> {
    Ok(Json(comments::get(&s.ctx, id).await?.into()))
}

/// A comment with its replies: the rest of a thread that a post's page cut short.
#[utoipa::path(get, path = "/api/v1/comments/{id}/thread", tag = "comments", params(("id" = i64, Path, description = "Comment id")),
    responses((status = 200, body = CommentThreadDto), (status = 404, body = ErrorBody)))]
pub async fn get_comment_thread(
    State(s): State<ApiState>,
    MaybeAuth(user): MaybeAuth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CommentThreadDto>> {
    let nodes = posts::comment_subtree(&s.ctx, id, user.as_ref(), API_NESTING).await?;
    Ok(Json(CommentThreadDto {
        comments: nodes.into_iter().map(Into::into).collect(),
    }))
}

/// Edit a comment (its author).
#[utoipa::path(patch, path = "/api/v1/comments/{id}", request_body = EditCommentRequest, tag = "comments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "Comment id")),
    responses((status = 429, body = ErrorBody), (status = 200, body = CommentDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn edit_comment(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<EditCommentRequest>,
) -> ApiResult<Json<CommentDto>> {
    Ok(Json(
        comments::edit(&s.ctx, &user, id, &req.body).await?.into(),
    ))
}

/// Delete a comment (its author), or remove it (a moderator).
#[utoipa::path(delete, path = "/api/v1/comments/{id}", tag = "comments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Comment id")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_comment(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    comments::delete(&s.ctx, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Vote on a comment.
#[utoipa::path(post, path = "/api/v1/comments/{id}/vote", request_body = VoteRequest, tag = "comments",
    security(("bearer" = [])), params(("id" = i64, Path, description = "Comment id")),
    responses((status = 429, body = ErrorBody), (status = 200, body = VoteResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn vote_comment(
    State(s): State<ApiState>,
    Write(user, _): Write<Voting>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<VoteRequest>,
) -> ApiResult<Json<VoteResponse>> {
    Ok(Json(
        votes::vote_comment(&s.ctx, &user, id, req.score)
            .await?
            .into(),
    ))
}
