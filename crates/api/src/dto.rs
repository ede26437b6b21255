//! API data transfer objects: the JSON shapes of /api/v1, separate from domain and wire types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cairn_core::communities::Member;
use cairn_core::model::{
    Account, CommentNode, CommentView, Community, CommunityView, Person, PostView, SessionInfo,
};
use cairn_core::votes::Tally;

/// Sign-up request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Why you want to join; administrators read it when registration needs approval.
    #[serde(default)]
    pub answer: Option<String>,
}

/// Sign-in request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Sign-in answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub account: AccountDto,
}

/// A password change: the current password proves it is the owner asking.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// One of the caller's sessions (a web sign-in or an API token); never its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// When the session was last used, renewed at most once an hour.
    pub last_used_at: DateTime<Utc>,
    /// The `User-Agent` of the sign-in that opened it, if one was sent.
    pub user_agent: Option<String>,
    /// Whether this is the session of the request.
    pub current: bool,
}

impl From<SessionInfo> for SessionDto {
    fn from(s: SessionInfo) -> Self {
        Self {
            id: s.id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            user_agent: s.user_agent,
            current: s.current,
        }
    }
}

/// How many sessions a request ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndedSessionsDto {
    pub ended: usize,
}

/// A person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDto {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub bio_html: Option<String>,
    /// The ActivityPub id, also the profile page.
    pub ap_id: String,
    pub local: bool,
    pub bot: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

impl From<Person> for PersonDto {
    fn from(p: Person) -> Self {
        Self {
            id: p.id,
            name: p.name,
            display_name: p.display_name,
            bio: p.bio_md,
            bio_html: p.bio_html,
            ap_id: p.ap_id,
            local: p.local,
            bot: p.bot,
            published: p.published,
            updated: p.updated,
        }
    }
}

/// A local account as its owner (or an administrator) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDto {
    pub person: PersonDto,
    pub email: Option<String>,
    pub is_admin: bool,
    /// False while an administrator has not approved the account.
    pub approved: bool,
    pub registration_answer: Option<String>,
}

impl From<Account> for AccountDto {
    fn from(a: Account) -> Self {
        Self {
            person: a.person.into(),
            email: a.email,
            is_admin: a.is_admin,
            approved: a.approved,
            registration_answer: a.registration_answer,
        }
    }
}

/// Profile change; absent fields stay, empty strings clear.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    /// Markdown.
    #[serde(default)]
    pub bio: Option<String>,
}

/// Create-community request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommunityRequest {
    /// 3 to 20 of `[a-z0-9_]`.
    pub name: String,
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// practice (default), working_group, project_team or network.
    #[serde(default)]
    pub kind: Option<String>,
    /// open (default), approval or invite.
    #[serde(default)]
    pub membership: Option<String>,
}

/// A community.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityDto {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub description_html: Option<String>,
    pub kind: String,
    pub membership: String,
    pub ap_id: String,
    pub local: bool,
    pub posting_restricted_to_mods: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub member_count: i64,
    pub moderators: Vec<PersonDto>,
    /// The caller's membership, when signed in.
    pub my_membership: Option<MembershipDto>,
}

/// The caller's place in a community.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDto {
    /// owner, moderator or member.
    pub role: String,
    /// active, pending or invited.
    pub state: String,
}

impl From<CommunityView> for CommunityDto {
    fn from(v: CommunityView) -> Self {
        let c = v.community;
        Self {
            id: c.id,
            name: c.name,
            title: c.title,
            description: c.description_md,
            description_html: c.description_html,
            kind: c.kind.as_str().to_owned(),
            membership: c.membership.as_str().to_owned(),
            ap_id: c.ap_id,
            local: c.local,
            posting_restricted_to_mods: c.posting_restricted_to_mods,
            published: c.published,
            updated: c.updated,
            member_count: v.member_count,
            moderators: v.moderators.into_iter().map(Into::into).collect(),
            my_membership: v.viewer.map(|(role, state)| MembershipDto {
                role: role.as_str().to_owned(),
                state: state.as_str().to_owned(),
            }),
        }
    }
}

/// A community in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommunitySummaryDto {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub kind: String,
    pub membership: String,
    pub ap_id: String,
    pub member_count: i64,
}

impl From<(Community, i64)> for CommunitySummaryDto {
    fn from((c, n): (Community, i64)) -> Self {
        Self {
            id: c.id,
            name: c.name,
            title: c.title,
            description: c.description_md,
            kind: c.kind.as_str().to_owned(),
            membership: c.membership.as_str().to_owned(),
            ap_id: c.ap_id,
            member_count: n,
        }
    }
}

/// The state a join left the caller in.
#[derive(Debug, Serialize, ToSchema)]
pub struct JoinResponse {
    /// active (joined) or pending (waiting for a moderator).
    pub state: String,
}

/// A member entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub person: PersonDto,
    pub role: String,
    pub state: String,
    pub since: DateTime<Utc>,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self {
            person: m.person.into(),
            role: m.role.as_str().to_owned(),
            state: m.state.as_str().to_owned(),
            since: m.since,
        }
    }
}

/// Follow request for a community on this or another server.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowRequest {
    /// `name@host` for a remote community, or a local name.
    pub handle: String,
}

/// A follow from another server waiting for a moderator.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingFollowDto {
    pub person: PersonDto,
    /// Where the follower lives, as `name@host`.
    pub handle: String,
    pub since: DateTime<Utc>,
}

/// A moderator's decision on a pending follow.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowDecisionRequest {
    /// The follower's ActivityPub id.
    pub actor: String,
    pub approve: bool,
}

/// Invitation request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub username: String,
}

/// Create-post request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    /// The community's name.
    pub community: String,
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: Option<String>,
    /// An http(s) link.
    #[serde(default)]
    pub url: Option<String>,
}

/// Post edit; absent fields stay, empty `body` or `url` clear.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditPostRequest {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A post.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostDto {
    pub id: i64,
    pub ap_id: String,
    pub title: String,
    pub url: Option<String>,
    /// Markdown source.
    pub body: Option<String>,
    /// Sanitised HTML.
    pub body_html: Option<String>,
    pub community: String,
    pub community_ap_id: String,
    pub creator: PersonDto,
    pub local: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub comment_count: i64,
    pub locked: bool,
    pub featured: bool,
    /// Deleted by its author or removed by moderators: not shown to others.
    pub deleted: bool,
    /// Removed by moderators. Only its author still sees a removed post, with this set.
    pub removed: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// The caller's vote: 1, -1, or absent.
    pub my_vote: Option<i32>,
}

impl From<PostView> for PostDto {
    fn from(v: PostView) -> Self {
        let p = v.post;
        Self {
            id: p.id,
            ap_id: p.ap_id,
            title: p.title,
            url: p.url,
            body: p.body_md,
            body_html: p.body_html,
            community: v.community.name,
            community_ap_id: v.community.ap_id,
            creator: v.creator.into(),
            local: p.local,
            score: p.score,
            upvotes: p.upvotes,
            downvotes: p.downvotes,
            comment_count: p.comment_count,
            locked: p.locked,
            featured: p.featured,
            deleted: p.deleted || p.removed,
            removed: p.removed,
            published: p.published,
            updated: p.updated,
            my_vote: v.my_vote,
        }
    }
}

/// A page of posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPageDto {
    pub posts: Vec<PostDto>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Listing parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListPostsQuery {
    /// hot (default), new or top.
    pub sort: Option<String>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 50, default 20.
    pub limit: Option<i64>,
}

/// Paging parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1 to 100, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A post with one page of its comment tree: top-level comments, best first, with their
/// replies nested at most [`API_NESTING`] levels deep (deeper replies sit beside their ancestor
/// on the last level; `parent_id` and `depth` still tell where they belong).
#[derive(Debug, Serialize, ToSchema)]
pub struct PostDetailDto {
    pub post: PostDto,
    pub comments: Vec<CommentNodeDto>,
    /// Pass as `comments_cursor` to get the next page of comments; absent on the last page.
    pub next_comments_cursor: Option<String>,
}

/// How many levels comment trees nest in API answers. Two JSON levels per comment keeps the
/// deepest answer well inside the 128 levels that common JSON parsers accept.
pub const API_NESTING: usize = 40;

/// Which page of a post's comments to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ThreadQuery {
    /// From the previous answer's `next_comments_cursor`.
    pub comments_cursor: Option<String>,
}

/// A comment with its replies, as a tree rooted at it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentThreadDto {
    pub comments: Vec<CommentNodeDto>,
}

/// A comment in a tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentNodeDto {
    pub comment: CommentDto,
    #[schema(no_recursion)]
    pub replies: Vec<CommentNodeDto>,
}

impl From<CommentNode> for CommentNodeDto {
    fn from(n: CommentNode) -> Self {
        let c = n.comment;
        Self {
            comment: CommentDto {
                id: c.id,
                ap_id: c.ap_id,
                post_id: c.post_id,
                parent_id: c.parent_id,
                body: c.body_md,
                body_html: c.body_html,
                creator: n.creator.into(),
                depth: c.depth,
                local: c.local,
                score: c.score,
                upvotes: c.upvotes,
                downvotes: c.downvotes,
                reply_count: c.child_count,
                deleted: c.deleted || c.removed,
                published: c.published,
                updated: c.updated,
                my_vote: n.my_vote,
            },
            replies: n.replies.into_iter().map(Into::into).collect(),
        }
    }
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentDto {
    pub id: i64,
    pub ap_id: String,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    /// Markdown source; empty when deleted.
    pub body: String,
    /// Sanitised HTML; empty when deleted.
    pub body_html: String,
    pub creator: PersonDto,
    pub depth: i32,
    pub local: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub reply_count: i64,
    pub deleted: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub my_vote: Option<i32>,
}

impl From<CommentView> for CommentDto {
    fn from(v: CommentView) -> Self {
        let c = v.comment;
        let hidden = c.deleted || c.removed;
        Self {
            id: c.id,
            ap_id: c.ap_id,
            post_id: c.post_id,
            parent_id: c.parent_id,
            body: if hidden { String::new() } else { c.body_md },
            body_html: if hidden { String::new() } else { c.body_html },
            creator: v.creator.into(),
            depth: c.depth,
            local: c.local,
            score: c.score,
            upvotes: c.upvotes,
            downvotes: c.downvotes,
            reply_count: c.child_count,
            deleted: hidden,
            published: c.published,
            updated: c.updated,
            my_vote: None,
        }
    }
}

/// Create-comment request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommentRequest {
    /// Markdown.
    pub body: String,
    /// The comment replied to; absent for a reply to the post.
    #[serde(default)]
    pub parent_id: Option<i64>,
}

/// Comment edit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCommentRequest {
    pub body: String,
}

/// A vote.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// 1 (up), -1 (down) or 0 (withdraw).
    pub score: i64,
}

/// Totals after a vote.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoteResponse {
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub my_vote: i32,
}

impl From<Tally> for VoteResponse {
    fn from(t: Tally) -> Self {
        Self {
            score: t.score,
            upvotes: t.upvotes,
            downvotes: t.downvotes,
            my_vote: t.my_vote,
        }
    }
}

/// Public facts about the instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteDto {
    pub name: String,
    pub description: Option<String>,
    pub domain: String,
    /// open, approval or closed.
    pub registration_mode: String,
    pub version: String,
}
