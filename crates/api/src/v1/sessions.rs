//! The caller's sessions and password: listing sessions, ending one or all of them, and
//! changing the password, which ends every other session.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cairn_core::limits::Action;
use cairn_core::sessions;

use crate::dto::{ChangePasswordRequest, EndedSessionsDto, SessionDto};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Auth};
use crate::ratelimit::ClientAddr;
use crate::state::ApiState;

/// The caller's sessions, most recently used first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = [SessionDto]), (status = 401, body = ErrorBody)))]
pub async fn list_sessions(
    State(s): State<ApiState>,
    Auth(user): Auth,
) -> ApiResult<Json<Vec<SessionDto>>> {
    let list = sessions::list(&s.ctx, &user).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Sign out everywhere: end every session of the account, this one included.
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = EndedSessionsDto), (status = 401, body = ErrorBody)))]
pub async fn end_all_sessions(
    State(s): State<ApiState>,
    Auth(user): Auth,
) -> ApiResult<Json<EndedSessionsDto>> {
    let ended = sessions::end_all(&s.ctx, &user).await?;
    Ok(Json(EndedSessionsDto { ended }))
}

/// End one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    State(s): State<ApiState>,
    Auth(user): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    sessions::end(&s.ctx, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password; every other session of the account ends, this one stays.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = ChangePasswordRequest, tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(s): State<ApiState>,
    ClientAddr(addr): ClientAddr,
    Auth(user): Auth,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    // Checking the current password is a guess like a sign-in, so it shares the sign-in limit.
    s.ctx.limits().check_address(Action::Login, addr)?;
    sessions::change_password(&s.ctx, &user, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
