//! The account settings page: the account's sessions, ending one or all of them, and changing
//! the password. Every action is one of core's session use cases.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cairn_core::limits::Action;
use cairn_core::model::SessionInfo;
use cairn_core::sessions;

use super::session::{Posted, SESSION_COOKIE, Viewer, clear_cookie};
use super::{Chrome, FieldErrors, WebResult, page, parse_id, too_many};
use crate::state::ApiState;

/// Where the settings page lives; sign-in returns here.
const SETTINGS: &str = "/settings";

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    errors: FieldErrors,
    sessions: Vec<SessionInfo>,
}

async fn settings_page(
    s: &ApiState,
    viewer: &Viewer,
    notice: Option<&'static str>,
    errors: FieldErrors,
) -> WebResult {
    let user = viewer.require(SETTINGS)?;
    let list = sessions::list(&s.ctx, user).await?;
    Ok(page(&SettingsPage {
        chrome: Chrome::new(s, viewer),
        notice,
        errors,
        sessions: list,
    }))
}

/// The settings page.
pub(crate) async fn show(
    State(s): State<ApiState>,
    viewer: Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> WebResult {
    let notice = match q.get("notice").map(String::as_str) {
        Some("password-changed") => {
            Some("Your password is changed. Every other session has been signed out.")
        }
        Some("session-ended") => Some("That session is signed out."),
        _ => None,
    };
    settings_page(&s, &viewer, notice, FieldErrors::default()).await
}

/// Changes the password; every other session ends, this one stays.
pub(crate) async fn change_password(State(s): State<ApiState>, form: Posted) -> WebResult {
    let user = form.viewer.require(SETTINGS)?;
    let refused = async |errors: FieldErrors| {
        let mut resp = settings_page(&s, &form.viewer, None, errors).await?;
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(resp)
    };
    // Checking the current password is a guess like a sign-in, so it shares the sign-in limit.
    if let Err(e) = s.ctx.limits().check_address(Action::Login, form.client) {
        return Ok(too_many(
            refused(FieldErrors::message(e.message())).await?,
            &e,
        ));
    }
    let (current, new) = (form.get("current_password"), form.get("password"));
    match sessions::change_password(&s.ctx, user, current, new).await {
        Ok(()) => Ok(Redirect::to("/settings?notice=password-changed").into_response()),
        Err(e) => refused(FieldErrors::from_core(e)?).await,
    }
}

/// Ends one session; ending the current one signs this browser out.
pub(crate) async fn end_session(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    form: Posted,
) -> WebResult {
    let user = form.viewer.require(SETTINGS)?;
    let id = parse_id(&id)?;
    sessions::end(&s.ctx, user, id).await?;
    if id == user.session_id {
        return Ok(signed_out(&form, "/login?notice=signed-out"));
    }
    Ok(Redirect::to("/settings?notice=session-ended").into_response())
}

/// Signs out everywhere: every session of the account ends, this one included.
pub(crate) async fn end_all_sessions(State(s): State<ApiState>, form: Posted) -> WebResult {
    let user = form.viewer.require(SETTINGS)?;
    sessions::end_all(&s.ctx, user).await?;
    Ok(signed_out(&form, "/login?notice=signed-out-everywhere"))
}

/// A redirect to `to` that removes the session cookie.
fn signed_out(form: &Posted, to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let cookie = clear_cookie(SESSION_COOKIE, form.viewer.secure);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
