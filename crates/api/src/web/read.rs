//! The reading pages on the URLs shared with ActivityPub: the front page, a community, a
//! person, a post with its comment tree, and one comment with its replies.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use cairn_core::model::{
    Comment, CommentNode, CommentView, Community, CommunityKind, CommunityView, MemberState,
    MembershipMode, Person, PostView, Role,
};
use cairn_core::posts::PostPage;
use cairn_core::{accounts, comments, communities, posts};

use super::session::Viewer;
use super::{Chrome, WebResult, community_handle, community_path, page, parse_id};
use crate::state::ApiState;

/// Posts per page of a listing.
pub(crate) const PAGE_SIZE: i64 = 20;

type Params = Query<HashMap<String, String>>;

/// How a community kind reads on a page.
pub(crate) fn kind_label(kind: &CommunityKind) -> &'static str {
    match kind {
        CommunityKind::Practice => "Community of practice",
        CommunityKind::WorkingGroup => "Working group",
        CommunityKind::ProjectTeam => "Project team",
        CommunityKind::Network => "Network",
    }
}

/// How a membership mode reads on a page.
pub(crate) fn membership_label(mode: &MembershipMode) -> &'static str {
    match mode {
        MembershipMode::Open => "Open: anyone may join",
        MembershipMode::Approval => "Approval: moderators admit members",
        MembershipMode::Invite => "Invitation only",
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    communities: Vec<(Community, i64)>,
    feed: Option<PostPage>,
    find: String,
    find_error: Option<String>,
}

/// The front page: this instance's communities, and the signed-in member's feed.
pub(crate) async fn home(State(s): State<ApiState>, viewer: Viewer, q: Params) -> WebResult {
    let list = communities::list(&s.ctx, 100, 0).await?;
    let feed = match &viewer.user {
        Some(u) => {
            let cursor = q.get("cursor").map(String::as_str);
            Some(posts::feed(&s.ctx, u, cursor, PAGE_SIZE).await?)
        }
        None => None,
    };
    Ok(page(&HomePage {
        chrome: Chrome::new(&s, &viewer),
        communities: list,
        feed,
        find: String::new(),
        find_error: None,
    }))
}

/// The front page again with the find box's refusal next to it.
pub(crate) async fn home_with_find_error(
    s: &ApiState,
    viewer: &Viewer,
    find: String,
    error: String,
) -> WebResult {
    let list = communities::list(&s.ctx, 100, 0).await?;
    let feed = match &viewer.user {
        Some(u) => Some(posts::feed(&s.ctx, u, None, PAGE_SIZE).await?),
        None => None,
    };
    let mut resp = page(&HomePage {
        chrome: Chrome::new(s, viewer),
        communities: list,
        feed,
        find,
        find_error: Some(error),
    });
    *resp.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

/// Which membership control a community page shows the viewer.
enum Membership {
    SignedOut,
    /// A join button with this label.
    CanJoin(&'static str),
    InviteOnly,
    Pending,
    /// A member; `true` for an owner.
    Member(bool),
}

#[derive(Template)]
#[template(path = "community.html")]
struct CommunityPage {
    chrome: Chrome,
    view: CommunityView,
    handle: String,
    path: String,
    membership: Membership,
    posts: Vec<PostView>,
    sort: &'static str,
    cursor_used: bool,
    next_cursor: Option<String>,
}

/// A community: about, moderators, membership, handle, and its posts sorted and paged.
pub(crate) async fn community(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(name): Path<String>,
    q: Params,
) -> WebResult {
    let user = viewer.user.as_ref();
    let view = communities::get(&s.ctx, &name, user).await?;
    let sort = posts::parse_sort(q.get("sort").map(String::as_str))?;
    let cursor = q
        .get("cursor")
        .map(String::as_str)
        .filter(|c| !c.is_empty());
    let listing = posts::list_for_community(&s.ctx, &name, sort, cursor, PAGE_SIZE, user).await?;
    let membership = match (user, view.viewer) {
        (None, _) => Membership::SignedOut,
        (Some(_), Some((role, MemberState::Active))) => Membership::Member(role == Role::Owner),
        (Some(_), Some((_, MemberState::Pending))) => Membership::Pending,
        (Some(_), Some((_, MemberState::Invited))) => Membership::CanJoin("Accept invitation"),
        (Some(_), None) => match view.community.membership {
            _ if !view.community.local => Membership::CanJoin("Follow"),
            MembershipMode::Open => Membership::CanJoin("Join"),
            MembershipMode::Approval => Membership::CanJoin("Request to join"),
            MembershipMode::Invite => Membership::InviteOnly,
        },
    };
    Ok(page(&CommunityPage {
        chrome: Chrome::new(&s, &viewer),
        handle: community_handle(&view.community, &s.ctx.settings().domain),
        path: community_path(&view.community),
        view,
        membership,
        posts: listing.posts,
        sort: match sort {
            posts::PostSort::Hot => "hot",
            posts::PostSort::New => "new",
            posts::PostSort::Top => "top",
        },
        cursor_used: cursor.is_some(),
        next_cursor: listing.next_cursor,
    }))
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: Chrome,
    person: Person,
    handle: String,
    communities: Vec<(Community, Role)>,
    posts: Vec<PostView>,
    comments: Vec<Comment>,
}

/// A person's profile: bio, handle, communities, recent posts and comments.
pub(crate) async fn person(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> WebResult {
    let person = accounts::person_by_name(&s.ctx, &name).await?;
    let joined = communities::of_person(&s.ctx, person.id).await?;
    let recent = posts::recent_by_person(&s.ctx, person.id, 20).await?;
    let said = comments::recent_by_person(&s.ctx, person.id, 20).await?;
    Ok(page(&PersonPage {
        chrome: Chrome::new(&s, &viewer),
        handle: format!("@{}@{}", person.name, s.ctx.settings().domain),
        person,
        communities: joined,
        posts: recent,
        comments: said,
    }))
}

/// What the comment tree needs besides the comments.
pub(crate) struct Thread {
    /// The viewer's person id, to offer deleting their own comments.
    pub user: Option<i64>,
}

#[derive(Template)]
#[template(path = "comment_tree.html")]
struct CommentTree<'a> {
    nodes: &'a [CommentNode],
    t: &'a Thread,
}

/// Renders comments and their replies as `<li>` elements; the template recurses through it.
pub(crate) fn tree(nodes: &[CommentNode], t: &Thread) -> String {
    CommentTree { nodes, t }.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "comment tree failed");
        String::new()
    })
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPageTemplate {
    chrome: Chrome,
    v: PostView,
    is_author: bool,
    tree: String,
    cursor_used: bool,
    next_cursor: Option<String>,
}

/// How many levels replies nest on a page; deeper ones sit beside their ancestor on the last
/// level, where a narrow screen still has room for them.
pub(crate) const WEB_NESTING: usize = 12;

/// A post with one page of its threaded comments (`?comments=` names the page).
pub(crate) async fn post(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    q: Params,
) -> WebResult {
    let id = parse_id(&raw)?;
    let cursor = q.get("comments").cloned();
    let page_of = posts::ThreadPage {
        cursor: cursor.clone(),
        nesting: WEB_NESTING,
    };
    let detail = posts::get_detail(&s.ctx, id, viewer.user.as_ref(), &page_of).await?;
    let me = viewer.user.as_ref().map(|u| u.person_id);
    let tree = tree(&detail.comments, &Thread { user: me });
    Ok(page(&PostPageTemplate {
        chrome: Chrome::new(&s, &viewer),
        is_author: me == Some(detail.view.post.creator_id),
        v: detail.view,
        tree,
        cursor_used: cursor.is_some(),
        next_cursor: detail.next_cursor,
    }))
}

#[derive(Template)]
#[template(path = "comment.html")]
struct CommentPage {
    chrome: Chrome,
    c: CommentView,
    tree: String,
}

/// One comment with its replies, its place in the thread, and a reply form.
pub(crate) async fn comment(
    State(s): State<ApiState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> WebResult {
    let id = parse_id(&raw)?;
    let c = comments::get(&s.ctx, id).await?;
    // The comment is shown only while its post is.
    posts::get_visible(&s.ctx, c.post.id, viewer.user.as_ref()).await?;
    let nodes = posts::comment_subtree(&s.ctx, id, viewer.user.as_ref(), WEB_NESTING).await?;
    let thread = Thread {
        user: viewer.user.as_ref().map(|u| u.person_id),
    };
    let tree = tree(&nodes, &thread);
    Ok(page(&CommentPage {
        chrome: Chrome::new(&s, &viewer),
        c,
        tree,
    }))
}
