//! Server-rendered HTML pages. For now each shared URL has a plain, readable page; the full
//! interface comes with the web UI work.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use cairn_core::model::{CommentNode, CommunityView, Person, PostDetail};
use cairn_core::{CoreError, accounts, comments, communities, posts};

use crate::state::ApiState;
use axum::extract::Path;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    site_name: String,
    communities: Vec<(cairn_core::model::Community, i64)>,
}

#[derive(Template)]
#[template(path = "community.html")]
struct CommunityPage {
    site_name: String,
    view: CommunityView,
    handle: String,
    posts: Vec<cairn_core::model::PostView>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    site_name: String,
    person: Person,
    handle: String,
    posts: Vec<cairn_core::model::PostView>,
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    site_name: String,
    detail: PostDetail,
}

#[derive(Template)]
#[template(path = "comment_tree.html")]
struct CommentTree<'a> {
    nodes: &'a [CommentNode],
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    site_name: String,
    title: String,
    message: String,
}

fn render<T: Template>(t: &T) -> Response {
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

/// Renders a comment subtree; templates call it recursively.
fn comment_tree(nodes: &[CommentNode]) -> String {
    CommentTree { nodes }.render().unwrap_or_default()
}

struct WebError(CoreError, String);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title) = match &self.0 {
            CoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "Not found"),
            CoreError::Gone { .. } => (StatusCode::GONE, "Deleted"),
            CoreError::Forbidden { .. } => (StatusCode::FORBIDDEN, "Not allowed"),
            CoreError::Invalid { .. } => (StatusCode::BAD_REQUEST, "Bad request"),
            CoreError::Unauthenticated { .. } => (StatusCode::UNAUTHORIZED, "Sign in first"),
            CoreError::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
            CoreError::Storage(_) | CoreError::Internal(_) => {
                tracing::error!(error = %self.0, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong")
            }
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            "The server failed to show this page; try again later.".to_owned()
        } else {
            self.0.to_string()
        };
        let page = ErrorPage {
            site_name: self.1,
            title: title.to_owned(),
            message,
        };
        (status, render(&page)).into_response()
    }
}

type WebResult = Result<Response, WebError>;

async fn home(State(s): State<ApiState>) -> WebResult {
    let name = s.ctx.settings().site_name.clone();
    let list = communities::list(&s.ctx, 100, 0)
        .await
        .map_err(|e| WebError(e, name.clone()))?;
    Ok(render(&HomePage {
        site_name: name,
        communities: list,
    }))
}

async fn community(State(s): State<ApiState>, Path(name): Path<String>) -> WebResult {
    let site = s.ctx.settings().site_name.clone();
    let err = |e| WebError(e, site.clone());
    let view = communities::get(&s.ctx, &name, None).await.map_err(err)?;
    let page = posts::list_for_community(&s.ctx, &name, posts::PostSort::Hot, None, 20, None)
        .await
        .map_err(err)?;
    Ok(render(&CommunityPage {
        handle: format!("@{}@{}", view.community.name, s.ctx.settings().domain),
        site_name: site.clone(),
        view,
        posts: page.posts,
    }))
}

async fn person(State(s): State<ApiState>, Path(name): Path<String>) -> WebResult {
    let site = s.ctx.settings().site_name.clone();
    let err = |e| WebError(e, site.clone());
    let person = accounts::person_by_name(&s.ctx, &name).await.map_err(err)?;
    let recent = posts::recent_by_person(&s.ctx, person.id, 20)
        .await
        .map_err(err)?;
    Ok(render(&PersonPage {
        handle: format!("@{}@{}", person.name, s.ctx.settings().domain),
        site_name: site.clone(),
        person,
        posts: recent,
    }))
}

/// Parses a numeric id from the path; anything else is a page that does not exist.
fn parse_id(raw: &str, site: &str) -> Result<i64, WebError> {
    raw.parse().map_err(|_| {
        WebError(
            CoreError::not_found("page_not_found", "There is no page at this address."),
            site.to_owned(),
        )
    })
}

async fn post(State(s): State<ApiState>, Path(raw): Path<String>) -> WebResult {
    let site = s.ctx.settings().site_name.clone();
    let id = parse_id(&raw, &site)?;
    let detail = posts::get_detail(&s.ctx, id, None)
        .await
        .map_err(|e| WebError(e, site.clone()))?;
    Ok(render(&PostPage {
        site_name: site,
        detail,
    }))
}

async fn comment(State(s): State<ApiState>, Path(raw): Path<String>) -> WebResult {
    let site = s.ctx.settings().site_name.clone();
    let id = parse_id(&raw, &site)?;
    let view = comments::get(&s.ctx, id)
        .await
        .map_err(|e| WebError(e, site.clone()))?;
    // A comment's page is its place in the thread.
    Ok(axum::response::Redirect::to(&format!(
        "/post/{}#comment-{}",
        view.post.id, view.comment.id
    ))
    .into_response())
}

/// The page for a URL nothing answers.
pub async fn not_found(State(s): State<ApiState>) -> Response {
    WebError(
        CoreError::not_found("page_not_found", "There is no page at this address."),
        s.ctx.settings().site_name.clone(),
    )
    .into_response()
}

/// HTML pages for the URLs shared with ActivityPub documents.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/c/{name}", get(community))
        .route("/u/{name}", get(person))
        .route("/post/{id}", get(post))
        .route("/comment/{id}", get(comment))
        .with_state(state)
}
