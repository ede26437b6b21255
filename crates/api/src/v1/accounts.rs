//! Accounts, sessions, profiles and registration approval.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use cairn_core::accounts::{self, Origin, ProfileEdit, Registration};
use cairn_core::limits::Action;
use cairn_core::sessions;

use crate::dto::{
    AccountDto, LoginRequest, LoginResponse, PersonDto, ProfileRequest, RegisterRequest,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth, bearer_token, user_agent};
use crate::ratelimit::{ClientAddr, Editing, Write};
use crate::state::ApiState;

/// Create an account.
#[utoipa::path(post, path = "/api/v1/accounts", request_body = RegisterRequest, tag = "accounts",
    responses((status = 201, body = AccountDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(s): State<ApiState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<AccountDto>)> {
    s.ctx.limits().check_address(Action::Register, addr)?;
    let input = Registration {
        username: req.username,
        password: req.password,
        email: req.email,
        answer: req.answer,
    };
    let account = accounts::register(&s.ctx, input, Origin::SignUp).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// Sign in and get a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, tag = "accounts",
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<ApiState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    s.ctx.limits().check_address(Action::Login, addr)?;
    let agent = user_agent(&headers);
    let (token, account) = accounts::login(&s.ctx, &req.username, &req.password, agent).await?;
    Ok(Json(LoginResponse {
        token,
        account: account.into(),
    }))
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(s): State<ApiState>,
    _auth: Auth,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(token) = bearer_token(&headers) {
        sessions::logout(&s.ctx, token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountDto), (status = 401, body = ErrorBody)))]
pub async fn me(State(s): State<ApiState>, Auth(user): Auth) -> ApiResult<Json<AccountDto>> {
    Ok(Json(accounts::me(&s.ctx, &user).await?.into()))
}

/// Change display name and bio.
#[utoipa::path(patch, path = "/api/v1/me", request_body = ProfileRequest, tag = "accounts", security(("bearer" = [])),
    responses((status = 429, body = ErrorBody), (status = 200, body = PersonDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn update_me(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiJson(req): ApiJson<ProfileRequest>,
) -> ApiResult<Json<PersonDto>> {
    let edit = ProfileEdit {
        display_name: req.display_name,
        bio: req.bio,
    };
    Ok(Json(
        accounts::update_profile(&s.ctx, &user, edit).await?.into(),
    ))
}

/// A local user's profile.
#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "accounts",
    params(("name" = String, Path, description = "Username")),
    responses((status = 200, body = PersonDto), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn get_user(
    State(s): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<PersonDto>> {
    Ok(Json(accounts::person_by_name(&s.ctx, &name).await?.into()))
}

/// Accounts waiting for approval (administrators).
#[utoipa::path(get, path = "/api/v1/admin/registrations", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [AccountDto]), (status = 403, body = ErrorBody)))]
pub async fn pending_registrations(
    State(s): State<ApiState>,
    Auth(user): Auth,
) -> ApiResult<Json<Vec<AccountDto>>> {
    let list = accounts::pending_registrations(&s.ctx, &user).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Approve a pending account (administrators).
#[utoipa::path(post, path = "/api/v1/admin/registrations/{username}/approve", tag = "admin", security(("bearer" = [])),
    params(("username" = String, Path, description = "Username")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve_registration(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<StatusCode> {
    accounts::decide_registration(&s.ctx, &user, &username, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reject (delete) a pending account (administrators).
#[utoipa::path(post, path = "/api/v1/admin/registrations/{username}/reject", tag = "admin", security(("bearer" = [])),
    params(("username" = String, Path, description = "Username")),
    responses((status = 429, body = ErrorBody), (status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reject_registration(
    State(s): State<ApiState>,
    Write(user, _): Write<Editing>,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<StatusCode> {
    accounts::decide_registration(&s.ctx, &user, &username, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
