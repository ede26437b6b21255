//! The community forms: start a community, find (follow) one here or elsewhere, join and
//! leave.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cairn_core::communities::{self, NewCommunityInput};
use cairn_core::follows;
use cairn_core::model::{CommunityKind, MembershipMode};

use super::read::{home_with_find_error, kind_label, membership_label};
use super::session::{Posted, Viewer};
use super::{Chrome, FieldErrors, WebResult, encode_query, page};
use crate::state::ApiState;
use cairn_core::limits::Action;

#[derive(Template)]
#[template(path = "community_new.html")]
struct NewCommunityPage {
    chrome: Chrome,
    errors: FieldErrors,
    name_value: String,
    title: String,
    description: String,
    kind: String,
    membership: String,
    kinds: Vec<(&'static str, &'static str)>,
    modes: Vec<(&'static str, &'static str)>,
}

fn new_page(s: &ApiState, viewer: &Viewer, errors: FieldErrors, form: Option<&Posted>) -> Response {
    let value = |name: &str, default: &str| {
        form.map(|f| f.get(name).to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned())
    };
    page(&NewCommunityPage {
        chrome: Chrome::new(s, viewer),
        errors,
        name_value: value("name", ""),
        title: value("title", ""),
        description: value("description", ""),
        kind: value("kind", "practice"),
        membership: value("membership", "open"),
        kinds: CommunityKind::ALL
            .iter()
            .map(|k| (k.as_str(), kind_label(k)))
            .collect(),
        modes: MembershipMode::ALL
            .iter()
            .map(|m| (m.as_str(), membership_label(m)))
            .collect(),
    })
}

/// The form that starts a community.
pub(crate) async fn new_form(State(s): State<ApiState>, viewer: Viewer) -> WebResult {
    viewer.require("/communities/new")?;
    Ok(new_page(&s, &viewer, FieldErrors::default(), None))
}

/// Creates a community owned by the viewer and shows it.
pub(crate) async fn create(State(s): State<ApiState>, form: Posted) -> WebResult {
    let user = form.writer(&s, Action::Community, "/communities/new")?;
    let input = NewCommunityInput {
        name: form.get("name").trim().to_owned(),
        title: form.get("title").to_owned(),
        description: form.opt("description"),
        kind: form.opt("kind"),
        membership: form.opt("membership"),
    };
    match communities::create(&s.ctx, user, input).await {
        Ok(view) => Ok(Redirect::to(&format!("/c/{}", view.community.name)).into_response()),
        Err(e) => {
            let errors = FieldErrors::from_core(e)?;
            let mut resp = new_page(&s, &form.viewer, errors, Some(&form));
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}

/// Turns what someone typed into the find box into a handle: `name@host` as it is (without a
/// leading `@`), a community address `https://host/c/name` (Cairn's and Lemmy's form) or
/// `https://host/m/name` (Mbin's) into `name@host`, and a bare name into a local name.
fn handle_of(typed: &str) -> String {
    let t = typed.trim().trim_start_matches('@');
    if let Some((_, rest)) = t.split_once("://") {
        let mut parts = rest.trim_end_matches('/').split('/');
        let host = parts.next().unwrap_or("");
        let kind = parts.next().unwrap_or("");
        let name = parts.next().unwrap_or("");
        if !host.is_empty() && ["c", "m"].contains(&kind) && !name.is_empty() {
            return format!("{name}@{host}");
        }
    }
    t.to_owned()
}

/// Follows (joins) the community a handle or address names, here or on another server.
pub(crate) async fn find(State(s): State<ApiState>, form: Posted) -> WebResult {
    let user = form.writer(&s, Action::Follow, "/")?;
    let typed = form.get("handle").to_owned();
    let handle = handle_of(&typed);
    if handle.is_empty() {
        return home_with_find_error(&s, &form.viewer, typed, "Type a handle or address.".into())
            .await;
    }
    match follows::follow(&s.ctx, user, &handle).await {
        Ok(_) => Ok(Redirect::to(&format!("/c/{}", encode_query(&handle))).into_response()),
        Err(e) => {
            let errors = FieldErrors::from_core(e)?;
            let message = errors
                .get("handle")
                .map(str::to_owned)
                .or(errors.form)
                .unwrap_or_default();
            home_with_find_error(&s, &form.viewer, typed, message).await
        }
    }
}

/// Joins a community, asks to join it, or follows it on its server, as its mode allows.
pub(crate) async fn join(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    form: Posted,
) -> WebResult {
    let back = format!("/c/{}", encode_query(&name));
    let user = form.writer(&s, Action::Follow, &back)?;
    follows::follow(&s.ctx, user, &name).await?;
    Ok(Redirect::to(&back).into_response())
}

/// Leaves a community, or withdraws a request to join.
pub(crate) async fn leave(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    form: Posted,
) -> WebResult {
    let back = format!("/c/{}", encode_query(&name));
    let user = form.writer(&s, Action::Follow, &back)?;
    follows::unfollow(&s.ctx, user, &name).await?;
    Ok(Redirect::to(&back).into_response())
}

#[cfg(test)]
mod tests {
    use super::handle_of;

    #[test]
    fn find_box_understands_handles_and_addresses() {
        assert_eq!(
            handle_of(" @gardening@example.org "),
            "gardening@example.org"
        );
        assert_eq!(
            handle_of("https://lemmy.example/c/tea"),
            "tea@lemmy.example"
        );
        assert_eq!(handle_of("https://mbin.example/m/tea/"), "tea@mbin.example");
        assert_eq!(handle_of("gardening"), "gardening");
    }
}
