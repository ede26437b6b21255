//! Posts and comments as other servers send them: an object read as a comment (`Note` with
//! `inReplyTo`) or a post (`Page` and its kin), checked to be written by the actor that sends it,
//! and titled when it has no title.

use serde_json::Value;
use url::Url;

use crate::error::FederationError;
use crate::protocol::objects::{Note, Page, PageType};

fn rejected(code: &'static str, message: impl Into<String>) -> FederationError {
    FederationError::Core(cairn_core::CoreError::invalid(code, message))
}

/// The title of a post made from a Note without a `name` (a Mastodon toot mentioning the
/// group): the first line of its text, without the group mention, at most 200 characters.
pub(crate) fn title_from_note(content_html: &str, community_name: &str) -> String {
    let text = cairn_core::markdown::html_to_text(content_html);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let handle_prefix = format!("@{community_name}");
    let cleaned: Vec<&str> = first
        .split_whitespace()
        .filter(|w| !w.starts_with(&handle_prefix))
        .collect();
    cleaned.join(" ").chars().take(200).collect()
}

/// The comment an object is when it replies to something, checked to be written by `author`
/// (the actor of the activity that carries it); `None` when the object is not a reply.
pub(crate) fn created_comment(author: &Url, obj: &Value) -> Result<Option<Note>, FederationError> {
    if obj.get("inReplyTo").is_none_or(Value::is_null) {
        return Ok(None);
    }
    let note: Note = serde_json::from_value(obj.clone())
        .map_err(|e| rejected("invalid_note", format!("The comment does not parse: {e}")))?;
    if !note.attributed_to.iter().any(|(u, _)| u == author) {
        return Err(rejected(
            "author_mismatch",
            "The comment's author is not the activity's actor.",
        ));
    }
    Ok(Some(note))
}

/// The post an object is when it is not a reply, checked to be written by `author` (the actor
/// of the activity that carries it).
pub(crate) fn created_post(author: &Url, obj: Value) -> Result<Page, FederationError> {
    let page: Page = serde_json::from_value(obj)
        .map_err(|e| rejected("invalid_page", format!("The post does not parse: {e}")))?;
    if !page.attributed_to.iter().any(|(u, _)| u == author) {
        return Err(rejected(
            "author_mismatch",
            "The post's author is not the activity's actor.",
        ));
    }
    Ok(page)
}

/// The title a post gets in the community named `community_name`: its `name`, else for a Note
/// the first line of its text.
pub(crate) fn post_title(page: &Page, community_name: &str) -> String {
    match (&page.name, page.kind) {
        (Some(n), _) if !n.trim().is_empty() => n.clone(),
        (_, PageType::Note) => {
            title_from_note(page.content.as_deref().unwrap_or(""), community_name)
        }
        _ => String::new(),
    }
}
