//! Cookie sessions and CSRF protection.
//!
//! Signing in through the form creates one of core's sessions, the same kind the JSON API
//! hands out as a bearer token; the `cairn_session` cookie holds the token (`HttpOnly`,
//! `SameSite=Lax`, `Path=/`, and `Secure` when the instance is served over https).
//!
//! Every form carries a `csrf` field. For a signed-in viewer it is derived from the session
//! token ([`cairn_core::crypto::derived_token`]), so only a page served to that session can
//! know it and nothing needs storing. Signed-out forms (sign-in, sign-up) use a double-submit
//! cookie: `cairn_csrf` holds a random token and the form must send the same value. Every
//! POST is checked by [`Posted`] before its handler runs.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use cairn_core::limits::Action;
use cairn_core::model::AuthUser;
use cairn_core::{CoreError, crypto, sessions};

use super::WebError;
use super::next::local_path;
use crate::extract::user_agent;
use crate::ratelimit::client_addr;
use crate::state::ApiState;

/// The cookie that holds the session token.
pub(crate) const SESSION_COOKIE: &str = "cairn_session";
/// The double-submit cookie of signed-out forms.
pub(crate) const CSRF_COOKIE: &str = "cairn_csrf";
/// The purpose a session's CSRF token is derived for.
const CSRF_PURPOSE: &str = "csrf";

/// The value of the cookie `name` in a request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value. Values are URL-safe base64 tokens, so they need no quoting.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that removes the cookie.
pub(crate) fn clear_cookie(name: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// Who is looking: the signed-in user if any, the CSRF token their forms carry, and the
/// cookies the answer must set.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub user: Option<AuthUser>,
    /// The session token, when signed in.
    pub token: Option<String>,
    pub csrf: String,
    /// Cookies to set on the answer: a new double-submit token, or the removal of a session
    /// cookie whose session has ended.
    pub set_cookies: Vec<String>,
    /// The path and query of a page, to come back to after signing in; `/` for a form.
    pub path: String,
    /// Whether cookies get `Secure`.
    pub secure: bool,
}

impl Viewer {
    /// Works out the viewer of a request from its cookies.
    pub(crate) async fn resolve(
        state: &ApiState,
        method: &Method,
        headers: &HeaderMap,
        uri: &Uri,
    ) -> Result<Viewer, WebError> {
        let secure = state.ctx.settings().https;
        let mut set_cookies = vec![];
        let mut user = None;
        let mut token = None;
        if let Some(t) = cookie(headers, SESSION_COOKIE) {
            match sessions::authenticate(&state.ctx, &t).await {
                Ok(u) => {
                    user = Some(u);
                    token = Some(t);
                }
                Err(CoreError::Unauthenticated { .. }) => {
                    set_cookies.push(clear_cookie(SESSION_COOKIE, secure));
                }
                Err(e) => return Err(WebError::Core(e)),
            }
        }
        let csrf = match &token {
            Some(t) => crypto::derived_token(CSRF_PURPOSE, t),
            None => match cookie(headers, CSRF_COOKIE).filter(|c| c.len() <= 64) {
                Some(c) => c,
                None => {
                    let fresh = crypto::new_token();
                    set_cookies.push(set_cookie(CSRF_COOKIE, &fresh, secure));
                    fresh
                }
            },
        };
        // Only a page can be returned to; after a form, sign-in returns to the front page.
        let path = if method == Method::GET {
            uri.path_and_query().map_or("/", |p| p.as_str()).to_owned()
        } else {
            "/".to_owned()
        };
        Ok(Viewer {
            user,
            token,
            csrf,
            set_cookies,
            path,
            secure,
        })
    }

    /// The signed-in user, or a redirect to the sign-in page that returns to `next`.
    pub(crate) fn require(&self, next: &str) -> Result<&AuthUser, WebError> {
        self.user
            .as_ref()
            .ok_or_else(|| WebError::SignIn(next.to_owned()))
    }

    /// Whether a form's token is the viewer's.
    fn csrf_matches(&self, sent: &str) -> bool {
        !sent.is_empty() && crypto::constant_time_eq(sent, &self.csrf)
    }
}

impl FromRequestParts<ApiState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, WebError> {
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        Viewer::resolve(state, &parts.method, &parts.headers, &parts.uri).await
    }
}

/// A form POSTed by the viewer, with its CSRF token checked; a missing or wrong token is a 403
/// page. `fetch` says the page's script sent it and wants a fragment or JSON, not a redirect.
#[derive(Debug)]
pub(crate) struct Posted {
    pub viewer: Viewer,
    fields: HashMap<String, String>,
    pub fetch: bool,
    /// Where the browser came from (a path on this site), to go back to.
    pub referer: Option<String>,
    /// The browser's `User-Agent`, stored with a session that the form opens.
    pub user_agent: Option<String>,
    /// The client's address, for the rate limits.
    pub client: IpAddr,
}

impl Posted {
    /// A field's value, or "".
    pub(crate) fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// A field's value, `None` when absent or blank.
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }

    /// The signed-in user sending a write of kind `action`, counted against its limits; a
    /// redirect to sign in (returning to `next`) without one, a 429 page over a limit.
    pub(crate) fn writer(
        &self,
        state: &ApiState,
        action: Action,
        next: &str,
    ) -> Result<&AuthUser, WebError> {
        let user = self.viewer.require(next)?;
        state
            .ctx
            .limits()
            .check_write(action, user.person_id, self.client)
            .map_err(WebError::Limited)?;
        Ok(user)
    }

    /// The page to return to: the referring page on this site, else `fallback`.
    pub(crate) fn back(&self, fallback: &str) -> String {
        self.referer.clone().unwrap_or_else(|| fallback.to_owned())
    }
}

impl FromRequest<ApiState> for Posted {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let fetch = parts.headers.contains_key("x-cairn-fetch");
        let base = state.ctx.settings().base_url();
        let referer = parts
            .headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.strip_prefix(base.as_str()))
            .and_then(local_path)
            .map(|p| p.split('#').next().unwrap_or(p).to_owned());
        let user_agent = user_agent(&parts.headers).map(str::to_owned);
        let client = client_addr(state, &parts);
        let req = Request::from_parts(parts, body);
        let Form(fields) = Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map_err(|_| WebError::BadForm)?;
        let sent = fields.get("csrf").map_or("", String::as_str);
        if !viewer.csrf_matches(sent) {
            return Err(WebError::Csrf);
        }
        Ok(Posted {
            viewer,
            fields,
            fetch,
            referer,
            user_agent,
            client,
        })
    }
}
