//! Domain types handed to the HTTP and federation layers. They are built from rows here, so the
//! outer crates never see a database type.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};

use cairn_storage::comments::CommentRow;
use cairn_storage::communities::CommunityRow;
use cairn_storage::persons::PersonRow;
use cairn_storage::posts::PostRow;

use crate::error::CoreError;

/// Converts a stored timestamp (naive UTC) to an aware one.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $code:literal, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];
        }

        impl FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, CoreError> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(CoreError::invalid(
                        $code,
                        format!(concat!("`{}` is not a ", $what, "; use one of: {}."), other,
                            [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What sort of community this is; it sets defaults and how the community presents itself.
    CommunityKind, "invalid_kind", "community kind" {
        /// A community of practice: practitioners sharing a domain.
        Practice => "practice",
        /// A working group with a charter and deliverables.
        WorkingGroup => "working_group",
        /// A team around one project.
        ProjectTeam => "project_team",
        /// A loose, informal network.
        Network => "network",
    }
);

text_enum!(
    /// How people become members.
    MembershipMode, "invalid_membership", "membership mode" {
        /// Anyone may join at once.
        Open => "open",
        /// Anyone may ask; a moderator approves.
        Approval => "approval",
        /// Only people a moderator invited may join.
        Invite => "invite",
    }
);

text_enum!(
    /// A member's role.
    Role, "invalid_role", "role" {
        /// Created the community; a moderator who cannot be removed by other moderators.
        Owner => "owner",
        /// Moderates the community.
        Moderator => "moderator",
        /// Takes part.
        Member => "member",
    }
);

text_enum!(
    /// Where a membership stands.
    MemberState, "invalid_member_state", "membership state" {
        /// A member.
        Active => "active",
        /// Asked to join (or followed from afar) and waits for approval.
        Pending => "pending",
        /// Invited by a moderator and not yet joined.
        Invited => "invited",
    }
);

/// A person, local or remote.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub bio_md: Option<String>,
    pub bio_html: Option<String>,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub public_key: String,
    pub local: bool,
    pub bot: bool,
    pub deleted: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// When a remote actor's document was last fetched.
    pub last_refreshed_at: DateTime<Utc>,
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            display_name: r.display_name,
            bio_md: r.bio_md,
            bio_html: r.bio_html,
            ap_id: r.ap_id,
            inbox_url: r.inbox_url,
            shared_inbox_url: r.shared_inbox_url,
            public_key: r.public_key,
            local: r.local,
            bot: r.bot,
            deleted: r.deleted,
            published: utc(r.published),
            updated: r.updated.map(utc),
            last_refreshed_at: utc(r.last_refreshed_at),
        }
    }
}

/// A community, local or remote.
#[derive(Debug, Clone)]
pub struct Community {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub description_md: Option<String>,
    pub description_html: Option<String>,
    pub kind: CommunityKind,
    pub membership: MembershipMode,
    pub ap_id: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub public_key: String,
    pub local: bool,
    pub posting_restricted_to_mods: bool,
    pub deleted: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    /// When a remote community's document was last fetched.
    pub last_refreshed_at: DateTime<Utc>,
}

impl From<CommunityRow> for Community {
    fn from(r: CommunityRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            title: r.title,
            description_md: r.description_md,
            description_html: r.description_html,
            // Rows are only written through this crate, so unknown spellings mean a newer
            // version wrote them; fall back to the most permissive reading rather than fail.
            kind: r.kind.parse().unwrap_or(CommunityKind::Practice),
            membership: r.membership.parse().unwrap_or(MembershipMode::Open),
            ap_id: r.ap_id,
            inbox_url: r.inbox_url,
            shared_inbox_url: r.shared_inbox_url,
            followers_url: r.followers_url,
            public_key: r.public_key,
            local: r.local,
            posting_restricted_to_mods: r.posting_restricted_to_mods,
            deleted: r.deleted,
            published: utc(r.published),
            updated: r.updated.map(utc),
            last_refreshed_at: utc(r.last_refreshed_at),
        }
    }
}

/// A community with the counts and relations pages show.
#[derive(Debug, Clone)]
pub struct CommunityView {
    pub community: Community,
    pub member_count: i64,
    pub moderators: Vec<Person>,
    /// The viewer's membership, if signed in and a member, pending or invited.
    pub viewer: Option<(Role, MemberState)>,
}

/// A post.
#[derive(Debug, Clone)]
pub struct Post {
    pub id: i64,
    pub ap_id: String,
    pub community_id: i64,
    pub creator_id: i64,
    pub title: String,
    pub url: Option<String>,
    pub body_md: Option<String>,
    pub body_html: Option<String>,
    pub kind: String,
    pub local: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub comment_count: i64,
    pub locked: bool,
    pub featured: bool,
    pub deleted: bool,
    pub removed: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

impl From<PostRow> for Post {
    fn from(r: PostRow) -> Self {
        Self {
            id: r.id,
            ap_id: r.ap_id,
            community_id: r.community_id,
            creator_id: r.creator_id,
            title: r.title,
            url: r.url,
            body_md: r.body_md,
            body_html: r.body_html,
            kind: r.post_kind,
            local: r.local,
            score: r.score,
            upvotes: r.upvotes,
            downvotes: r.downvotes,
            comment_count: r.comment_count,
            locked: r.locked,
            featured: r.featured,
            deleted: r.deleted,
            removed: r.removed,
            published: utc(r.published),
            updated: r.updated.map(utc),
        }
    }
}

/// A post with its author, community and the viewer's vote.
#[derive(Debug, Clone)]
pub struct PostView {
    pub post: Post,
    pub creator: Person,
    pub community: Community,
    pub my_vote: Option<i32>,
}

/// A comment.
#[derive(Debug, Clone)]
pub struct Comment {
    pub id: i64,
    pub ap_id: String,
    pub post_id: i64,
    pub parent_id: Option<i64>,
    pub creator_id: i64,
    pub body_md: String,
    pub body_html: String,
    pub depth: i32,
    pub local: bool,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub child_count: i64,
    pub distinguished: bool,
    pub deleted: bool,
    pub removed: bool,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

impl From<CommentRow> for Comment {
    fn from(r: CommentRow) -> Self {
        Self {
            id: r.id,
            ap_id: r.ap_id,
            post_id: r.post_id,
            parent_id: r.parent_id,
            creator_id: r.creator_id,
            body_md: r.body_md,
            body_html: r.body_html,
            depth: r.depth,
            local: r.local,
            score: r.score,
            upvotes: r.upvotes,
            downvotes: r.downvotes,
            child_count: r.child_count,
            distinguished: r.distinguished,
            deleted: r.deleted,
            removed: r.removed,
            published: utc(r.published),
            updated: r.updated.map(utc),
        }
    }
}

/// A comment in a thread, with its replies.
#[derive(Debug, Clone)]
pub struct CommentNode {
    pub comment: Comment,
    pub creator: Person,
    pub my_vote: Option<i32>,
    pub replies: Vec<CommentNode>,
}

/// A post with its comment tree.
#[derive(Debug, Clone)]
pub struct PostDetail {
    pub view: PostView,
    /// One page of the thread: top-level comments with their replies.
    pub comments: Vec<CommentNode>,
    /// Where the next page of top-level comments starts, when there is one.
    pub next_cursor: Option<String>,
}

/// A comment with the post it belongs to, for serving it alone.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub comment: Comment,
    pub creator: Person,
    pub post: Post,
    pub community: Community,
    /// The author of the comment or post this one replies to.
    pub parent_creator: Option<Person>,
    /// The ActivityPub id of what this comment replies to.
    pub in_reply_to: String,
}

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub person_id: i64,
    pub name: String,
    pub is_admin: bool,
    /// The session the caller signed in with, so that a use case can end every session but
    /// this one, or mark it as the current one.
    pub session_id: i64,
}

/// One of an account's sessions, as its owner sees it; never its token.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// When it was last used, renewed at most once an hour.
    pub last_used_at: DateTime<Utc>,
    /// The browser or app that opened it, as its `User-Agent` header named it.
    pub user_agent: Option<String>,
    /// Whether it is the session of the request that asks.
    pub current: bool,
}

/// A local account with its person, as shown to its owner.
#[derive(Debug, Clone)]
pub struct Account {
    pub person: Person,
    pub email: Option<String>,
    pub is_admin: bool,
    pub approved: bool,
    pub registration_answer: Option<String>,
}
