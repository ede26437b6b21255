//! Posts, comments and votes through forms: compose and edit a post, delete a post or a
//! comment after a confirmation, comment and reply, and vote. Votes and comments answer the
//! page's script with JSON or an HTML fragment instead of a redirect.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cairn_core::model::{CommentNode, CommentView};
use cairn_core::posts::{NewPostInput, PostEdit};
use cairn_core::{comments, communities, markdown, posts, votes};
use serde::Serialize;

use super::read::{Thread, tree};
use super::session::{Posted, Viewer};
use super::{
    Chrome, FieldErrors, WebError, WebResult, community_path, encode_query, page, parse_id,
};
use crate::state::ApiState;
use cairn_core::limits::Action;

#[derive(Template)]
#[template(path = "post_form.html")]
struct PostForm {
    chrome: Chrome,
    heading: &'static str,
    submit: &'static str,
    action: String,
    cancel: String,
    community_path: String,
    community_title: String,
    errors: FieldErrors,
    title: String,
    url: String,
    body: String,
}

/// The compose form of a community.
pub(crate) async fn submit_form(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> WebResult {
    let user = viewer.require(&viewer.path)?;
    let view = communities::get(&s.ctx, &name, Some(user)).await?;
    let path = community_path(&view.community);
    Ok(page(&PostForm {
        chrome: Chrome::new(&s, &viewer),
        heading: "New post",
        submit: "Post",
        action: format!("/c/{}/submit", encode_query(&name)),
        cancel: path.clone(),
        community_path: path,
        community_title: view.community.title,
        errors: FieldErrors::default(),
        title: String::new(),
        url: String::new(),
        body: String::new(),
    }))
}

/// The compose or edit form again, with what was typed and why it was refused.
async fn refused_post(
    s: &ApiState,
    form: &Posted,
    e: cairn_core::CoreError,
    community: &str,
    edit: Option<i64>,
) -> WebResult {
    let errors = FieldErrors::from_core(e)?;
    let view = communities::get(&s.ctx, community, form.viewer.user.as_ref()).await?;
    let path = community_path(&view.community);
    let (heading, submit, action, cancel) = match edit {
        Some(id) => (
            "Edit post",
            "Save",
            format!("/post/{id}/edit"),
            format!("/post/{id}"),
        ),
        None => (
            "New post",
            "Post",
            format!("/c/{}/submit", encode_query(community)),
            path.clone(),
        ),
    };
    let mut resp = page(&PostForm {
        chrome: Chrome::new(s, &form.viewer),
        heading,
        submit,
        action,
        cancel,
        community_path: path,
        community_title: view.community.title,
        errors,
        title: form.get("title").to_owned(),
        url: form.get("url").to_owned(),
        body: form.get("body").to_owned(),
    });
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

/// Creates a post and shows it.
pub(crate) async fn submit(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    form: Posted,
) -> WebResult {
    let back = format!("/c/{}/submit", encode_query(&name));
    let user = form.writer(&s, Action::Post, &back)?;
    let input = NewPostInput {
        community: name.clone(),
        title: form.get("title").to_owned(),
        body: form.opt("body"),
        url: form.opt("url"),
    };
    match posts::create(&s.ctx, user, input).await {
        Ok(view) => Ok(Redirect::to(&format!("/post/{}", view.post.id)).into_response()),
        Err(e) => refused_post(&s, &form, e, &name, None).await,
    }
}

/// The edit form of a post, for its author.
pub(crate) async fn edit_form(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = viewer.require(&viewer.path)?;
    let view = posts::get_visible(&s.ctx, id, Some(user)).await?;
    if view.post.creator_id != user.person_id {
        return Err(WebError::Core(cairn_core::CoreError::forbidden(
            "not_author",
            "Only the author may edit a post.",
        )));
    }
    let path = community_path(&view.community);
    Ok(page(&PostForm {
        chrome: Chrome::new(&s, &viewer),
        heading: "Edit post",
        submit: "Save",
        action: format!("/post/{id}/edit"),
        cancel: format!("/post/{id}"),
        community_path: path,
        community_title: view.community.title,
        errors: FieldErrors::default(),
        title: view.post.title,
        url: view.post.url.unwrap_or_default(),
        body: view.post.body_md.unwrap_or_default(),
    }))
}

/// Saves an edit of a post; an empty link or text removes it.
pub(crate) async fn edit(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = form.writer(&s, Action::Edit, &format!("/post/{id}/edit"))?;
    let change = PostEdit {
        title: Some(form.get("title").to_owned()),
        body: Some(form.get("body").to_owned()),
        url: Some(form.get("url").trim().to_owned()),
    };
    match posts::edit(&s.ctx, user, id, change).await {
        Ok(_) => Ok(Redirect::to(&format!("/post/{id}")).into_response()),
        Err(e) => {
            let view = posts::get_view(&s.ctx, id, Some(user)).await?;
            let community = community_path(&view.community);
            let name = community.trim_start_matches("/c/").to_owned();
            refused_post(&s, &form, e, &name, Some(id)).await
        }
    }
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    heading: &'static str,
    question: &'static str,
    excerpt: String,
    action: String,
    cancel: String,
}

/// Asks before deleting a post.
pub(crate) async fn delete_post_form(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let id = parse_id(&raw)?;
    viewer.require(&viewer.path)?;
    let view = posts::get_visible(&s.ctx, id, viewer.user.as_ref()).await?;
    Ok(page(&ConfirmPage {
        chrome: Chrome::new(&s, &viewer),
        heading: "Delete this post?",
        question: "The post and its place in the community go away for everyone, here and on other servers. Its comments stay out of sight with it.",
        excerpt: view.post.title,
        action: format!("/post/{id}/delete"),
        cancel: format!("/post/{id}"),
    }))
}

/// Deletes (or, for a moderator, removes) a post and goes to its community.
pub(crate) async fn delete_post(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = form.writer(&s, Action::Edit, &format!("/post/{id}"))?;
    let view = posts::get_view(&s.ctx, id, Some(user)).await?;
    posts::delete(&s.ctx, user, id).await?;
    Ok(Redirect::to(&community_path(&view.community)).into_response())
}

/// Asks before deleting a comment.
pub(crate) async fn delete_comment_form(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let id = parse_id(&raw)?;
    viewer.require(&viewer.path)?;
    let c = comments::get(&s.ctx, id).await?;
    Ok(page(&ConfirmPage {
        chrome: Chrome::new(&s, &viewer),
        heading: "Delete this comment?",
        question: "Its text goes away for everyone; replies to it stay.",
        excerpt: markdown::plain_excerpt(&c.comment.body_md, 200),
        action: format!("/comment/{id}/delete"),
        cancel: format!("/post/{}#comment-{id}", c.post.id),
    }))
}

#[derive(Template)]
#[template(path = "comment_form.html")]
struct CommentForm {
    chrome: Chrome,
    id: i64,
    post_id: i64,
    post_title: String,
    errors: FieldErrors,
    body: String,
}

/// The comment edit form holding `body`, with `errors` beside it.
fn comment_form(
    s: &ApiState,
    viewer: &Viewer,
    c: CommentView,
    errors: FieldErrors,
    body: String,
) -> Response {
    page(&CommentForm {
        chrome: Chrome::new(s, viewer),
        id: c.comment.id,
        post_id: c.post.id,
        post_title: c.post.title,
        errors,
        body,
    })
}

/// The form that edits a comment, for its author.
pub(crate) async fn edit_comment_form(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = viewer.require(&viewer.path)?;
    let c = comments::get(&s.ctx, id).await?;
    if c.comment.deleted || c.comment.removed {
        return Err(WebError::Core(cairn_core::CoreError::gone(
            "comment_deleted",
            "This comment was deleted.",
        )));
    }
    if c.creator.id != user.person_id {
        return Err(WebError::Core(cairn_core::CoreError::forbidden(
            "not_author",
            "Only the author may edit a comment.",
        )));
    }
    let body = c.comment.body_md.clone();
    Ok(comment_form(&s, &viewer, c, FieldErrors::default(), body))
}

/// Saves an edit of a comment and returns to it in its thread; a refusal shows the form again
/// with what was typed.
pub(crate) async fn edit_comment(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = form.writer(&s, Action::Edit, &format!("/comment/{id}/edit"))?;
    match comments::edit(&s.ctx, user, id, form.get("body")).await {
        Ok(c) => Ok(Redirect::to(&format!("/post/{}#comment-{id}", c.post.id)).into_response()),
        Err(e) => {
            let errors = FieldErrors::from_core(e)?;
            let c = comments::get(&s.ctx, id).await?;
            let typed = form.get("body").to_owned();
            let mut resp = comment_form(&s, &form.viewer, c, errors, typed);
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// Deletes (or removes) a comment and returns to its place in the thread.
pub(crate) async fn delete_comment(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = form.writer(&s, Action::Edit, &format!("/comment/{id}"))?;
    let c = comments::get(&s.ctx, id).await?;
    comments::delete(&s.ctx, user, id).await?;
    Ok(Redirect::to(&format!("/post/{}#comment-{id}", c.post.id)).into_response())
}

/// What a vote answers the script with.
#[derive(Serialize)]
struct VoteAnswer {
    score: i64,
    upvotes: i64,
    downvotes: i64,
    my_vote: i32,
}

fn vote_answer(form: &Posted, tally: votes::Tally, back: String) -> Response {
    if form.fetch {
        Json(VoteAnswer {
            score: tally.score,
            upvotes: tally.upvotes,
            downvotes: tally.downvotes,
            my_vote: tally.my_vote,
        })
        .into_response()
    } else {
        Redirect::to(&back).into_response()
    }
}

/// The `score` field of a vote: 1, -1, or 0 to withdraw (core checks the range).
fn score_of(form: &Posted) -> Result<i64, WebError> {
    form.get("score")
        .trim()
        .parse()
        .map_err(|_| WebError::BadForm)
}

/// Votes on a post, then returns to the page the vote was cast on, at the post.
pub(crate) async fn vote_post(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let back = form.back(&format!("/post/{id}"));
    let user = form.writer(&s, Action::Vote, &back)?;
    let tally = votes::vote_post(&s.ctx, user, id, score_of(&form)?).await?;
    Ok(vote_answer(&form, tally, format!("{back}#post-{id}")))
}

/// Votes on a comment, then returns to the page the vote was cast on, at the comment.
pub(crate) async fn vote_comment(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let score = score_of(&form)?;
    comment_vote(&s, &form, id, score).await
}

/// The vote buttons of a comment thread, which share one form to keep long threads light:
/// the button sends `up`, `down` or `clear` with the comment's id as its value.
pub(crate) async fn vote_in_thread(State(s): State<ApiState>, form: Posted) -> WebResult {
    let (id, score) = [("up", 1), ("down", -1), ("clear", 0)]
        .into_iter()
        .find_map(|(name, score)| form.opt(name).map(|id| (id, score)))
        .ok_or(WebError::BadForm)?;
    let id = id.trim().parse().map_err(|_| WebError::BadForm)?;
    comment_vote(&s, &form, id, score).await
}

async fn comment_vote(s: &ApiState, form: &Posted, id: i64, score: i64) -> WebResult {
    let back = form.back(&format!("/comment/{id}"));
    let user = form.writer(s, Action::Vote, &back)?;
    let tally = votes::vote_comment(&s.ctx, user, id, score).await?;
    Ok(vote_answer(form, tally, format!("{back}#comment-{id}")))
}

/// The answer to a new comment: the script gets the comment's `<li>`, a browser goes to the
/// comment in its thread.
fn commented(form: &Posted, c: CommentView) -> Response {
    let (post_id, id) = (c.post.id, c.comment.id);
    if form.fetch {
        let node = CommentNode {
            comment: c.comment,
            creator: c.creator,
            my_vote: None,
            replies: vec![],
        };
        let me = form.viewer.user.as_ref().map(|u| u.person_id);
        axum::response::Html(tree(std::slice::from_ref(&node), &Thread { user: me }))
            .into_response()
    } else {
        Redirect::to(&format!("/post/{post_id}#comment-{id}")).into_response()
    }
}

/// Comments on a post.
pub(crate) async fn comment_on_post(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = form.writer(&s, Action::Comment, &format!("/post/{id}"))?;
    let c = comments::create(&s.ctx, user, id, None, form.get("body")).await?;
    Ok(commented(&form, c))
}

/// Replies to a comment.
pub(crate) async fn reply(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    form: Posted,
) -> WebResult {
    let id = parse_id(&raw)?;
    let user = form.writer(&s, Action::Comment, &format!("/comment/{id}"))?;
    let parent = comments::get(&s.ctx, id).await?;
    let c = comments::create(&s.ctx, user, parent.post.id, Some(id), form.get("body")).await?;
    Ok(commented(&form, c))
}
