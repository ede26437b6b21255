//! Sign-up, sign-in and sign-out through forms, with cookie sessions.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cairn_core::RegistrationMode;
use cairn_core::accounts::{self, Origin, Registration};
use cairn_core::limits::Action;
use cairn_core::sessions;

use super::next::safe_next;
use super::session::{Posted, SESSION_COOKIE, Viewer, clear_cookie, set_cookie};
use super::{Chrome, FieldErrors, WebResult, page, too_many};
use crate::state::ApiState;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    closed: bool,
    approval: bool,
    errors: FieldErrors,
    username: String,
    email: String,
    answer: String,
}

fn signup_page(
    s: &ApiState,
    viewer: &Viewer,
    errors: FieldErrors,
    form: Option<&Posted>,
) -> Response {
    let mode = s.ctx.settings().registration_mode;
    let value = |name: &str| form.map(|f| f.get(name).to_owned()).unwrap_or_default();
    page(&SignupPage {
        chrome: Chrome::new(s, viewer),
        closed: mode == RegistrationMode::Closed,
        approval: mode == RegistrationMode::Approval,
        errors,
        username: value("username"),
        email: value("email"),
        answer: value("answer"),
    })
}

/// The sign-up form.
pub(crate) async fn signup_form(State(s): State<ApiState>, viewer: Viewer) -> Response {
    signup_page(&s, &viewer, FieldErrors::default(), None)
}

/// Creates an account and, unless an administrator must approve it first, signs it in.
pub(crate) async fn signup(State(s): State<ApiState>, form: Posted) -> WebResult {
    let refused = |errors: FieldErrors| {
        let mut resp = signup_page(&s, &form.viewer, errors, Some(&form));
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(resp)
    };
    if let Err(e) = s.ctx.limits().check_address(Action::Register, form.client) {
        return Ok(too_many(refused(FieldErrors::message(e.message()))?, &e));
    }
    let input = Registration {
        username: form.get("username").trim().to_owned(),
        password: form.get("password").to_owned(),
        email: form.opt("email"),
        answer: form.opt("answer"),
    };
    let password = input.password.clone();
    let account = match accounts::register(&s.ctx, input, Origin::SignUp).await {
        Ok(a) => a,
        Err(e) => return refused(FieldErrors::from_core(e)?),
    };
    if !account.approved {
        return Ok(Redirect::to("/login?notice=pending").into_response());
    }
    let agent = form.user_agent.as_deref();
    let (token, _) = accounts::login(&s.ctx, &account.person.name, &password, agent).await?;
    Ok(signed_in(&s, &token, "/"))
}

/// A redirect to `to` that sets the session cookie.
pub(super) fn signed_in(s: &ApiState, token: &str, to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let cookie = set_cookie(SESSION_COOKIE, token, s.ctx.settings().https);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    errors: FieldErrors,
    username: String,
    next: String,
}

/// The sign-in form.
pub(crate) async fn login_form(
    State(s): State<ApiState>,
    viewer: Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let notice = match q.get("notice").map(String::as_str) {
        Some("pending") => Some(
            "Your account is created. An administrator reviews it; you can sign in once it is approved.",
        ),
        Some("signed-out") => Some("You are signed out."),
        Some("signed-out-everywhere") => {
            Some("You are signed out everywhere: every session of your account has ended.")
        }
        _ => None,
    };
    page(&LoginPage {
        chrome: Chrome::new(&s, &viewer),
        notice,
        errors: FieldErrors::default(),
        username: String::new(),
        next: safe_next(q.get("next").map_or("/", String::as_str)),
    })
}

/// Checks the username and password, opens a session and returns to where the person was.
pub(crate) async fn login(State(s): State<ApiState>, form: Posted) -> WebResult {
    let next = safe_next(form.get("next"));
    let refused = |errors: FieldErrors| {
        let mut resp = page(&LoginPage {
            chrome: Chrome::new(&s, &form.viewer),
            notice: None,
            errors,
            username: form.get("username").to_owned(),
            next: next.clone(),
        });
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(resp)
    };
    if let Err(e) = s.ctx.limits().check_address(Action::Login, form.client) {
        return Ok(too_many(refused(FieldErrors::message(e.message()))?, &e));
    }
    let (username, password) = (form.get("username").trim(), form.get("password"));
    match accounts::login(&s.ctx, username, password, form.user_agent.as_deref()).await {
        Ok((token, _)) => Ok(signed_in(&s, &token, &next)),
        Err(e) => refused(FieldErrors::from_core(e)?),
    }
}

/// Ends the session and removes its cookie.
pub(crate) async fn logout(State(s): State<ApiState>, form: Posted) -> WebResult {
    if let Some(token) = &form.viewer.token {
        sessions::logout(&s.ctx, token).await?;
    }
    let mut resp = Redirect::to("/login?notice=signed-out").into_response();
    let cookie = clear_cookie(SESSION_COOKIE, form.viewer.secure);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}
