//! The server-rendered web interface: HTML pages and plain forms for browsers, with one small
//! stylesheet and one small script, all served by Cairn itself.
//!
//! - [`routes`] holds the pages on the URLs shared with ActivityPub documents (`/`, `/c/NAME`,
//!   `/u/NAME`, `/post/ID`, `/comment/ID`); the server's content negotiation sends browsers here.
//! - [`pages`] holds everything else: the forms and their POST targets, and the static files.
//! - `session.rs` turns the session cookie into a [`session::Viewer`] and checks CSRF tokens;
//!   `next.rs` decides which paths a redirect may go to; `read.rs` renders the reading pages,
//!   `account.rs` sign-up, sign-in and sign-out, `settings.rs` the account's sessions and
//!   password, `community.rs` the community forms, `content.rs` the post, comment and vote
//!   forms, and `assets.rs` serves the stylesheet and script.
//!
//! Every handler here calls core use cases and renders a template; no rule lives here.

mod account;
mod assets;
mod community;
mod content;
mod next;
mod read;
mod session;
mod settings;

use askama::Template;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cairn_core::CoreError;
use cairn_core::limits::Limited;
use cairn_core::model::{Community, Person};

use crate::state::ApiState;
pub use assets::AssetUrls;
use session::Viewer;

/// The Content-Security-Policy of every page: only Cairn's own stylesheet and script, no
/// inline code or style, forms only to Cairn, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self' data: https:; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

/// What every page's frame needs: the site's name, the signed-in user, the CSRF token for
/// forms, and the addresses of the stylesheet and script.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub site_name: String,
    pub user: Option<String>,
    pub csrf: String,
    pub css: std::sync::Arc<str>,
    pub js: std::sync::Arc<str>,
    /// The sign-in link, which returns to the current page.
    pub login: String,
}

impl Chrome {
    pub(crate) fn new(state: &ApiState, viewer: &Viewer) -> Self {
        let settings = state.ctx.settings();
        Self {
            site_name: settings.site_name.clone(),
            user: viewer.user.as_ref().map(|u| u.name.clone()),
            csrf: viewer.csrf.clone(),
            css: state.assets.css.clone(),
            js: state.assets.js.clone(),
            login: login_url(&viewer.path),
        }
    }
}

/// The sign-in page, returning to `next` afterwards.
pub(crate) fn login_url(next: &str) -> String {
    if next == "/" || next.starts_with("/login") || next.starts_with("/signup") {
        "/login".to_owned()
    } else {
        format!("/login?next={}", encode_query(next))
    }
}

/// Percent-encodes a query value.
pub(crate) fn encode_query(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/@:".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page of a community: `/c/NAME` here, `/c/NAME@HOST` for one on another server.
pub(crate) fn community_path(c: &Community) -> String {
    if c.local {
        format!("/c/{}", c.name)
    } else {
        format!("/c/{}@{}", c.name, host_of(&c.ap_id))
    }
}

/// A community's fediverse handle, `@name@domain`.
pub(crate) fn community_handle(c: &Community, domain: &str) -> String {
    if c.local {
        format!("@{}@{domain}", c.name)
    } else {
        format!("@{}@{}", c.name, host_of(&c.ap_id))
    }
}

/// How pages name a person: `name` for a local one, `name@host` for one from another server,
/// so that a remote person is never shown as if they had an account here.
pub(crate) fn person_label(p: &Person) -> String {
    if p.local {
        p.name.clone()
    } else {
        format!("{}@{}", p.name, host_of(&p.ap_id))
    }
}

/// Where a person's name links to: `/u/NAME` for a local person, the profile on their own
/// server (their ActivityPub id) for a remote one. `/u/NAME` would name a local account, which
/// may not exist or may be someone else. An id that is not http(s) gets no link target.
pub(crate) fn person_href(p: &Person) -> String {
    if p.local {
        format!("/u/{}", p.name)
    } else if p.ap_id.starts_with("https://") || p.ap_id.starts_with("http://") {
        p.ap_id.clone()
    } else {
        "#".to_owned()
    }
}

/// The host (with port) of an absolute URL.
pub(crate) fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// A timestamp as pages show it.
pub(crate) fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A timestamp for `<time datetime>`.
pub(crate) fn iso(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Renders a template into an HTML response.
pub(crate) fn page<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
                .into_response()
        }
    }
}

/// Why a page could not be shown. Rendered as a friendly page by [`finish`], which knows the
/// viewer; a missing sign-in becomes a redirect to the sign-in page.
#[derive(Debug)]
pub(crate) enum WebError {
    /// A domain failure.
    Core(CoreError),
    /// The page needs a signed-in user; the value is where to return afterwards.
    SignIn(String),
    /// A form arrived without the right CSRF token.
    Csrf,
    /// A form that could not be read.
    BadForm,
    /// Over a rate limit: a 429 page with `Retry-After`.
    Limited(Limited),
}

impl From<CoreError> for WebError {
    fn from(e: CoreError) -> Self {
        WebError::Core(e)
    }
}

/// What [`finish`] needs to render an error page.
#[derive(Debug, Clone)]
struct ErrorInfo {
    title: &'static str,
    message: String,
    hint: &'static str,
}

/// Marks a form page that refused a form for its rate limit: `429` with `Retry-After`, so that
/// scripts and proxies learn what the person reads beside the form, which keeps their input.
pub(crate) fn too_many(mut resp: Response, l: &Limited) -> Response {
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs()));
    resp
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message, hint) = match self {
            WebError::SignIn(next) => return Redirect::to(&login_url(&next)).into_response(),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was sent without the security token that proves it came from this \
                 site, or with an old one."
                    .to_owned(),
                "Go back, reload the page and send the form again.",
            ),
            WebError::Limited(l) => {
                let mut resp = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, HeaderValue::from(l.retry_after_secs()))],
                )
                    .into_response();
                resp.extensions_mut().insert(ErrorInfo {
                    title: "Slow down a little",
                    message: l.message(),
                    hint: "Nothing was saved. Go back, wait a moment, and send it again.",
                });
                return resp;
            }
            WebError::BadForm => (
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                "What the browser sent is not a form this page expects.".to_owned(),
                "Go back, reload the page and try again.",
            ),
            WebError::Core(e) => {
                let (status, title, hint) = match &e {
                    CoreError::NotFound { .. } => (
                        StatusCode::NOT_FOUND,
                        "Not found",
                        "Check the address, or find what you are looking for from the front page.",
                    ),
                    CoreError::Gone { .. } => (
                        StatusCode::GONE,
                        "Deleted",
                        "What was here has been deleted.",
                    ),
                    CoreError::Forbidden { .. } => (
                        StatusCode::FORBIDDEN,
                        "Not allowed",
                        "If you think you should be allowed, ask a moderator or an administrator.",
                    ),
                    CoreError::Invalid { .. } => (
                        StatusCode::BAD_REQUEST,
                        "That did not work",
                        "Go back, correct it and try again.",
                    ),
                    CoreError::Unauthenticated { .. } => (
                        StatusCode::UNAUTHORIZED,
                        "Sign in first",
                        "Sign in and try again.",
                    ),
                    CoreError::Conflict { .. } => (
                        StatusCode::CONFLICT,
                        "That did not work",
                        "Go back and try something else.",
                    ),
                    CoreError::Storage(_) | CoreError::Internal(_) => {
                        tracing::error!(error = %e, "page failed");
                        (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Something went wrong",
                            "Try again in a moment.",
                        )
                    }
                };
                let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
                    "The server failed to show this page.".to_owned()
                } else {
                    e.to_string()
                };
                (status, title, message, hint)
            }
        };
        let mut resp = status.into_response();
        resp.extensions_mut().insert(ErrorInfo {
            title,
            message,
            hint,
        });
        resp
    }
}

/// The result of a page handler.
pub(crate) type WebResult = Result<Response, WebError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    title: &'static str,
    message: String,
    hint: &'static str,
}

/// Runs around every page: works out who is looking (once per request), renders error pages
/// with the viewer's frame, sets the cookies the viewer needs and adds the security headers.
async fn finish(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let viewer = match Viewer::resolve(&state, req.method(), req.headers(), req.uri()).await {
        Ok(v) => v,
        Err(e) => return secure(e.into_response()),
    };
    req.extensions_mut().insert(viewer.clone());
    let mut resp = next.run(req).await;
    if let Some(info) = resp.extensions_mut().remove::<ErrorInfo>() {
        let status = resp.status();
        let body = page(&ErrorPage {
            chrome: Chrome::new(&state, &viewer),
            title: info.title,
            message: info.message,
            hint: info.hint,
        });
        let (parts, _) = resp.into_parts();
        let (_, body) = body.into_parts();
        resp = Response::from_parts(parts, body);
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    for c in &viewer.set_cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    secure(resp)
}

/// Adds the security headers of HTML pages.
fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    resp
}

/// The pages on the URLs shared with ActivityPub documents; the server's content negotiation
/// hands browsers' requests to this router.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/", get(read::home))
        .route("/c/{name}", get(read::community))
        .route("/u/{name}", get(read::person))
        .route("/post/{id}", get(read::post))
        .route("/comment/{id}", get(read::comment))
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .with_state(state)
}

/// The rest of the web interface: forms, their POST targets and the static files. None of
/// these URLs has an ActivityPub form.
pub fn pages(state: ApiState) -> Router {
    let forms = Router::new()
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route("/settings", get(settings::show))
        .route("/settings/password", post(settings::change_password))
        .route("/settings/sessions/{id}/end", post(settings::end_session))
        .route(
            "/settings/sessions/end-all",
            post(settings::end_all_sessions),
        )
        .route(
            "/communities/new",
            get(community::new_form).post(community::create),
        )
        .route("/communities/find", post(community::find))
        .route("/c/{name}/join", post(community::join))
        .route("/c/{name}/leave", post(community::leave))
        .route(
            "/c/{name}/submit",
            get(content::submit_form).post(content::submit),
        )
        .route(
            "/post/{id}/edit",
            get(content::edit_form).post(content::edit),
        )
        .route(
            "/post/{id}/delete",
            get(content::delete_post_form).post(content::delete_post),
        )
        .route("/post/{id}/vote", post(content::vote_post))
        .route("/post/{id}/comments", post(content::comment_on_post))
        .route("/comment/{id}/reply", post(content::reply))
        .route("/comment/{id}/vote", post(content::vote_comment))
        .route("/comments/vote", post(content::vote_in_thread))
        .route(
            "/comment/{id}/delete",
            get(content::delete_comment_form).post(content::delete_comment),
        )
        .route(
            "/comment/{id}/edit",
            get(content::edit_comment_form).post(content::edit_comment),
        )
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .with_state(state);
    forms.merge(assets::routes())
}

/// The page for a URL nothing answers.
pub fn fallback(state: ApiState) -> Router {
    Router::new()
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), finish))
        .with_state(state)
}

async fn not_found() -> WebError {
    WebError::Core(CoreError::not_found(
        "page_not_found",
        "There is no page at this address.",
    ))
}

/// Parses a numeric id from the path; anything else is a page that does not exist.
pub(crate) fn parse_id(raw: &str) -> Result<i64, WebError> {
    raw.parse().map_err(|_| {
        WebError::Core(CoreError::not_found(
            "page_not_found",
            "There is no page at this address.",
        ))
    })
}

/// The messages of a form that was sent back: per field, and for the form as a whole.
#[derive(Debug, Default)]
pub(crate) struct FieldErrors {
    fields: Vec<(&'static str, String)>,
    pub form: Option<String>,
}

impl FieldErrors {
    /// The message of a field, if it has one.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str())
    }

    /// Turns a refusal the person can correct into messages next to the fields it concerns;
    /// anything else (a missing page, a failure of the server) stays an error page.
    pub(crate) fn from_core(e: CoreError) -> Result<FieldErrors, WebError> {
        let correctable = matches!(
            e,
            CoreError::Invalid { .. }
                | CoreError::Conflict { .. }
                | CoreError::Unauthenticated { .. }
                | CoreError::Forbidden { .. }
        ) || matches!(
            e.code(),
            "remote_community_not_found" | "community_not_found"
        );
        if !correctable {
            return Err(WebError::Core(e));
        }
        let field = match e.code() {
            "invalid_username" | "username_taken" => Some("username"),
            "invalid_password" => Some("password"),
            "wrong_password" => Some("current_password"),
            "invalid_email" | "email_taken" => Some("email"),
            "invalid_answer" => Some("answer"),
            "invalid_community_name" | "community_name_taken" => Some("name"),
            "invalid_title" => Some("title"),
            "invalid_description" => Some("description"),
            "invalid_kind" => Some("kind"),
            "invalid_membership" => Some("membership"),
            "invalid_body" => Some("body"),
            "invalid_url" => Some("url"),
            "invalid_handle"
            | "invalid_remote_name"
            | "remote_community_not_found"
            | "community_not_found" => Some("handle"),
            _ => None,
        };
        let mut errors = FieldErrors::default();
        match field {
            Some(f) => errors.fields.push((f, e.to_string())),
            None => errors.form = Some(e.to_string()),
        }
        Ok(errors)
    }
}

impl FieldErrors {
    /// A message for the form as a whole.
    pub(crate) fn message(text: impl Into<String>) -> FieldErrors {
        FieldErrors {
            fields: vec![],
            form: Some(text.into()),
        }
    }
}
