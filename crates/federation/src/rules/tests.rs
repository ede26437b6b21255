//! The trust rules, one row per rule, and properties over generated activities.
//!
//! This server is `cairn.example`. `a.example` is another server with the person `alice`, the
//! community `c` and the person `mod` who moderates it; `b.example` is a third server with the
//! person `bob`. `local` is a community here, and `ours` a person here.

use cairn_core::facts::{
    ActivityFact, CommunityFact, Facts, FollowFact, ObjectFact, ObjectKind, PersonFact,
};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const HERE: &str = "https://cairn.example";
const LOCAL_COMMUNITY: &str = "https://cairn.example/c/local";
const OURS: &str = "https://cairn.example/u/ours";
const ALICE: &str = "https://a.example/u/alice";
const MOD: &str = "https://a.example/u/mod";
const GROUP: &str = "https://a.example/c/c";
const OTHER_GROUP: &str = "https://a.example/c/other";
const BOB: &str = "https://b.example/u/bob";

fn here() -> Here {
    Here::new("cairn.example", false)
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn page(id: &str, author: &str, community: &str) -> Value {
    json!({"type": "Page", "id": id, "attributedTo": author, "name": "A post",
           "to": [community, PUBLIC], "audience": community, "content": "<p>Hi</p>"})
}

fn reply(id: &str, author: &str, parent: &str, community: &str) -> Value {
    json!({"type": "Note", "id": id, "attributedTo": author, "inReplyTo": parent,
           "to": [PUBLIC], "cc": [community], "content": "<p>Yes</p>"})
}

fn activity(kind: &str, id: &str, actor: &str, object: Value) -> Value {
    json!({"type": kind, "id": id, "actor": actor, "object": object, "to": [PUBLIC]})
}

fn announce(group: &str, inner: Value) -> Value {
    activity("Announce", &format!("{group}/announce/1"), group, inner)
}

fn community(local: bool, followed: bool) -> CommunityFact {
    CommunityFact {
        local,
        deleted: false,
        followed_here: followed,
        holds_local_content: false,
        moderators: vec![],
    }
}

fn person(local: bool) -> PersonFact {
    PersonFact {
        local,
        deleted: false,
        followed_here: false,
    }
}

fn post(community: &str, creator: &str, local: bool) -> ObjectFact {
    ObjectFact {
        kind: ObjectKind::Post,
        local,
        creator: creator.into(),
        community: community.into(),
        gone: false,
        post_locked: false,
    }
}

/// The facts of the tables: the local community, the followed remote community `c` moderated
/// by `mod`, an unfollowed `other` community, and the people.
fn base() -> Facts {
    let mut f = Facts::default();
    f.communities
        .insert(LOCAL_COMMUNITY.into(), community(true, false));
    let mut group = community(false, true);
    group.moderators = vec![MOD.into()];
    f.communities.insert(GROUP.into(), group);
    f.communities
        .insert(OTHER_GROUP.into(), community(false, false));
    f.persons.insert(OURS.into(), person(true));
    f.persons.insert(ALICE.into(), person(false));
    f.persons.insert(BOB.into(), person(false));
    f
}

/// What a row expects.
#[derive(Debug)]
enum Expect {
    Apply(&'static str),
    Ignore(Code),
    Refuse(Code),
    Fetch(&'static str),
    Wait(Code),
}

fn effect_name(e: &Effect) -> &'static str {
    match e {
        Effect::FollowCommunity { .. } => "follow-community",
        Effect::FollowPerson { .. } => "follow-person",
        Effect::Unfollow { .. } => "unfollow",
        Effect::Answer { .. } => "answer",
        Effect::RefreshActor { .. } => "refresh",
        Effect::Upsert { .. } => "upsert",
        Effect::Vote { score: 0, .. } => "unvote",
        Effect::Vote { .. } => "vote",
        Effect::Delete {
            how: DeleteAs::Author,
            ..
        } => "delete",
        Effect::Delete {
            how: DeleteAs::Removal,
            ..
        } => "removal",
    }
}

fn fetch_name(f: &Fetch) -> &'static str {
    match f {
        Fetch::Parent(_) => "parent",
        Fetch::Object(_) => "object",
        Fetch::Activity(_) => "activity",
        Fetch::FromOrigin(_) => "origin",
    }
}

fn check(name: &str, doc: Value, facts: Facts, expect: Expect) {
    let a = match Received::parse(&doc) {
        Ok(a) => a,
        Err(v) => match expect {
            Expect::Refuse(code) if code == v.code => return,
            _ => panic!("{name}: does not parse ({v:?}), expected {expect:?}"),
        },
    };
    let d = decide(&a, &facts, &here());
    let ok = match (&d, &expect) {
        (Decision::Apply { effect, .. }, Expect::Apply(e)) => effect_name(effect) == *e,
        (Decision::Ignore(v), Expect::Ignore(c)) => v.code == *c,
        (Decision::Refuse(v), Expect::Refuse(c)) => v.code == *c,
        (Decision::Fetch(f), Expect::Fetch(n)) => fetch_name(f) == *n,
        (Decision::Wait(v), Expect::Wait(c)) => v.code == *c,
        _ => false,
    };
    assert!(ok, "{name}: expected {expect:?}, decided {d:?}");
}

fn with(edit: impl FnOnce(&mut Facts)) -> Facts {
    let mut f = base();
    edit(&mut f);
    f
}

#[test]
fn direct_deliveries() {
    use Expect::*;
    let p = |id: &str| page(id, ALICE, LOCAL_COMMUNITY);
    let create = |o: Value| activity("Create", "https://a.example/act/1", ALICE, o);
    let rows: Vec<(&str, Value, Facts, Expect)> = vec![
        (
            "a post to a local community",
            create(p("https://a.example/post/1")),
            base(),
            Apply("upsert"),
        ),
        (
            "an actor on this server",
            activity(
                "Create",
                "https://a.example/act/1",
                OURS,
                p("https://a.example/post/1"),
            ),
            base(),
            Refuse(Code::LocalActor),
        ),
        (
            "an activity id on this server",
            activity(
                "Create",
                "https://cairn.example/act/1",
                ALICE,
                p("https://a.example/post/1"),
            ),
            base(),
            Refuse(Code::LocalId),
        ),
        (
            "an id on another server than its actor",
            activity(
                "Create",
                "https://b.example/act/1",
                ALICE,
                p("https://a.example/post/1"),
            ),
            base(),
            Refuse(Code::ForeignActivity),
        ),
        (
            "an object id on this server",
            create(page("https://cairn.example/post/9", ALICE, LOCAL_COMMUNITY)),
            base(),
            Refuse(Code::LocalObject),
        ),
        (
            "an object on another server than its author",
            create(page("https://b.example/post/1", ALICE, LOCAL_COMMUNITY)),
            base(),
            Refuse(Code::ForeignObject),
        ),
        (
            "an object by someone else",
            create(page(
                "https://a.example/post/1",
                "https://a.example/u/eve",
                LOCAL_COMMUNITY,
            )),
            base(),
            Refuse(Code::AuthorMismatch),
        ),
        (
            "an object named by id",
            create(json!("https://a.example/post/1")),
            base(),
            Refuse(Code::ObjectNotEmbedded),
        ),
        (
            "a post not addressed to the public",
            {
                let mut o = p("https://a.example/post/1");
                o["to"] = json!([LOCAL_COMMUNITY]);
                let mut a = create(o);
                a["to"] = json!([LOCAL_COMMUNITY]);
                a
            },
            base(),
            Refuse(Code::NotPublic),
        ),
        (
            "an audience of another community",
            {
                let mut a = create(p("https://a.example/post/1"));
                a["audience"] = json!(GROUP);
                a
            },
            base(),
            Refuse(Code::AudienceMismatch),
        ),
        (
            "a post that addresses no community here",
            create(page(
                "https://a.example/post/1",
                ALICE,
                "https://a.example/u/alice/followers",
            )),
            base(),
            Ignore(Code::NoCommunity),
        ),
        (
            "a post of a followed person to their followers",
            create(page(
                "https://a.example/post/1",
                ALICE,
                "https://a.example/u/alice/followers",
            )),
            with(|f| {
                f.persons.insert(
                    ALICE.into(),
                    PersonFact {
                        followed_here: true,
                        ..person(false)
                    },
                );
            }),
            Ignore(Code::FollowedPerson),
        ),
        (
            "a post straight into a remote community",
            create(page("https://a.example/post/1", ALICE, GROUP)),
            base(),
            Ignore(Code::NoCommunity),
        ),
        (
            "an edit by someone else",
            activity(
                "Update",
                "https://a.example/act/2",
                ALICE,
                p("https://a.example/post/1"),
            ),
            with(|f| {
                f.objects.insert(
                    "https://a.example/post/1".into(),
                    post(LOCAL_COMMUNITY, "https://a.example/u/eve", false),
                );
            }),
            Refuse(Code::NotAuthor),
        ),
        (
            "an edit by the author",
            activity(
                "Update",
                "https://a.example/act/2",
                ALICE,
                p("https://a.example/post/1"),
            ),
            with(|f| {
                f.objects.insert(
                    "https://a.example/post/1".into(),
                    post(LOCAL_COMMUNITY, ALICE, false),
                );
            }),
            Apply("upsert"),
        ),
        (
            "a reply lands with its post, whatever it addresses",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://cairn.example/post/1",
                OTHER_GROUP,
            )),
            with(|f| {
                f.objects.insert(
                    "https://cairn.example/post/1".into(),
                    post(LOCAL_COMMUNITY, OURS, true),
                );
            }),
            Apply("upsert"),
        ),
        (
            "a reply to an unknown remote parent",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://b.example/post/1",
                LOCAL_COMMUNITY,
            )),
            base(),
            Fetch("parent"),
        ),
        (
            "a reply to an unknown remote parent, addressed to no community here",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://b.example/post/1",
                "https://a.example/u/alice/followers",
            )),
            base(),
            Ignore(Code::NoCommunity),
        ),
        (
            "a reply to an unknown local parent",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://cairn.example/post/404",
                LOCAL_COMMUNITY,
            )),
            base(),
            Ignore(Code::UnknownObject),
        ),
        (
            "a reply to a locked post",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://cairn.example/post/1",
                LOCAL_COMMUNITY,
            )),
            with(|f| {
                f.objects.insert(
                    "https://cairn.example/post/1".into(),
                    ObjectFact {
                        post_locked: true,
                        ..post(LOCAL_COMMUNITY, OURS, true)
                    },
                );
            }),
            Refuse(Code::PostLocked),
        ),
        (
            "a moderator's reply to a locked post",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://cairn.example/post/1",
                LOCAL_COMMUNITY,
            )),
            with(|f| {
                f.objects.insert(
                    "https://cairn.example/post/1".into(),
                    ObjectFact {
                        post_locked: true,
                        ..post(LOCAL_COMMUNITY, OURS, true)
                    },
                );
                if let Some(c) = f.communities.get_mut(LOCAL_COMMUNITY) {
                    c.moderators.push(ALICE.into());
                }
            }),
            Apply("upsert"),
        ),
        (
            "a reply to a local post in a remote community",
            create(reply(
                "https://a.example/comment/1",
                ALICE,
                "https://cairn.example/post/1",
                GROUP,
            )),
            with(|f| {
                f.objects.insert(
                    "https://cairn.example/post/1".into(),
                    post(OTHER_GROUP, OURS, true),
                );
            }),
            Apply("upsert"),
        ),
        (
            "a seen activity",
            create(p("https://a.example/post/1")),
            with(|f| {
                f.activities.insert(
                    "https://a.example/act/1".into(),
                    ActivityFact { local: false },
                );
            }),
            Ignore(Code::Duplicate),
        ),
        (
            "http in production",
            activity(
                "Create",
                "http://a.example/act/1",
                "http://a.example/u/alice",
                p("https://a.example/post/1"),
            ),
            base(),
            Refuse(Code::InvalidUrl),
        ),
        (
            "a type Cairn does not use",
            activity(
                "Lock",
                "https://a.example/act/3",
                ALICE,
                json!("https://a.example/post/1"),
            ),
            base(),
            Ignore(Code::UnsupportedActivity),
        ),
        (
            "too many addressees",
            {
                let mut a = create(p("https://a.example/post/1"));
                a["cc"] = json!(
                    (0..250)
                        .map(|i| format!("https://a.example/u/{i}"))
                        .collect::<Vec<_>>()
                );
                a
            },
            base(),
            Refuse(Code::TooLong),
        ),
    ];
    for (name, doc, facts, expect) in rows {
        check(name, doc, facts, expect);
    }
}

#[test]
fn votes_and_deletions() {
    use Expect::*;
    let local_post = "https://cairn.example/post/1";
    let remote_post = "https://a.example/post/1";
    let stored = |f: &mut Facts| {
        f.objects
            .insert(local_post.into(), post(LOCAL_COMMUNITY, OURS, true));
        f.objects
            .insert(remote_post.into(), post(LOCAL_COMMUNITY, ALICE, false));
    };
    let like = |actor: &str, object: &str| {
        activity("Like", &format!("{}/like/1", actor), actor, json!(object))
    };
    let undo_like = |actor: &str, voter: &str, object: &str| {
        activity(
            "Undo",
            &format!("{actor}/undo/1"),
            actor,
            like(voter, object),
        )
    };
    let del = |actor: &str, object: &str| {
        activity("Delete", &format!("{actor}/delete/1"), actor, json!(object))
    };
    let rows: Vec<(&str, Value, Facts, Expect)> = vec![
        (
            "a remote like of a local post",
            like(ALICE, local_post),
            with(stored),
            Apply("vote"),
        ),
        (
            "a like of a deleted post",
            like(ALICE, local_post),
            with(|f| {
                f.objects.insert(
                    local_post.into(),
                    ObjectFact {
                        gone: true,
                        ..post(LOCAL_COMMUNITY, OURS, true)
                    },
                );
            }),
            Ignore(Code::ObjectGone),
        ),
        (
            "a like of an unknown object, addressed to a local community",
            {
                let mut a = like(ALICE, "https://b.example/post/7");
                a["audience"] = json!(LOCAL_COMMUNITY);
                a
            },
            base(),
            Fetch("object"),
        ),
        (
            "a like of an unknown object addressed to nobody here",
            like(ALICE, "https://b.example/post/7"),
            base(),
            Ignore(Code::UnknownObject),
        ),
        (
            "a like of an unknown local object",
            like(ALICE, "https://cairn.example/post/404"),
            base(),
            Ignore(Code::UnknownObject),
        ),
        (
            "a like with an audience of another community",
            {
                let mut a = like(ALICE, local_post);
                a["audience"] = json!(GROUP);
                a
            },
            with(stored),
            Refuse(Code::AudienceMismatch),
        ),
        (
            "an undo of one's own stored vote",
            undo_like(ALICE, ALICE, local_post),
            with(|f| {
                stored(f);
                f.votes.insert((ALICE.into(), local_post.into()));
            }),
            Apply("unvote"),
        ),
        (
            "an undo of someone else's vote",
            undo_like(ALICE, BOB, local_post),
            with(stored),
            Refuse(Code::UndoNotOwn),
        ),
        (
            "an undo that overtook its vote",
            undo_like(ALICE, ALICE, local_post),
            with(stored),
            Wait(Code::VoteUnknown),
        ),
        (
            "the author deletes a remote post",
            del(ALICE, remote_post),
            with(stored),
            Apply("delete"),
        ),
        (
            "a stranger deletes a remote post",
            del(BOB, remote_post),
            with(stored),
            Refuse(Code::NotAuthor),
        ),
        (
            "the post's own server removes it",
            del("https://a.example/u/admin", remote_post),
            with(stored),
            Apply("removal"),
        ),
        (
            "someone deletes a local post",
            del(ALICE, local_post),
            with(stored),
            Refuse(Code::LocalObject),
        ),
        (
            "a local community's remote moderator removes a local post",
            del(ALICE, local_post),
            with(|f| {
                stored(f);
                if let Some(c) = f.communities.get_mut(LOCAL_COMMUNITY) {
                    c.moderators.push(ALICE.into());
                }
            }),
            Apply("removal"),
        ),
        (
            "a remote community's moderator removes a local person's post there",
            del(MOD, local_post),
            with(|f| {
                f.objects.insert(local_post.into(), post(GROUP, OURS, true));
            }),
            Apply("removal"),
        ),
        (
            "a delete of something unknown",
            del(ALICE, "https://a.example/post/404"),
            base(),
            Ignore(Code::UnknownObject),
        ),
    ];
    for (name, doc, facts, expect) in rows {
        check(name, doc, facts, expect);
    }
}

#[test]
fn announces() {
    use Expect::*;
    let group_post = "https://a.example/post/1";
    let in_group = |f: &mut Facts| {
        f.objects
            .insert(group_post.into(), post(GROUP, ALICE, false));
    };
    let local_post = "https://cairn.example/post/1";
    let create = |actor: &str, id: &str, community: &str| {
        activity(
            "Create",
            &format!("{actor}/create/1"),
            actor,
            page(id, actor, community),
        )
    };
    let del = |actor: &str, object: &str| {
        activity("Delete", &format!("{actor}/delete/1"), actor, json!(object))
    };
    let rows: Vec<(&str, Value, Facts, Expect)> = vec![
        (
            "a post in the group's own community",
            announce(GROUP, create(ALICE, "https://a.example/post/2", GROUP)),
            base(),
            Apply("upsert"),
        ),
        (
            "a group nobody here follows",
            announce(
                OTHER_GROUP,
                create(ALICE, "https://a.example/post/2", OTHER_GROUP),
            ),
            base(),
            Ignore(Code::UnsolicitedAnnounce),
        ),
        (
            "an unfollowed group that holds local content",
            announce(
                OTHER_GROUP,
                create(ALICE, "https://a.example/post/2", OTHER_GROUP),
            ),
            with(|f| {
                if let Some(c) = f.communities.get_mut(OTHER_GROUP) {
                    c.holds_local_content = true;
                }
            }),
            Apply("upsert"),
        ),
        (
            "a post of another community",
            announce(
                GROUP,
                create(ALICE, "https://a.example/post/2", OTHER_GROUP),
            ),
            base(),
            Refuse(Code::ForeignAnnounce),
        ),
        (
            "a delete of a post stored in another community",
            announce(GROUP, del(ALICE, "https://a.example/post/9")),
            with(|f| {
                f.objects.insert(
                    "https://a.example/post/9".into(),
                    post(OTHER_GROUP, ALICE, false),
                );
            }),
            Refuse(Code::ForeignAnnounce),
        ),
        (
            "a forged delete by a local person",
            announce(
                GROUP,
                activity(
                    "Delete",
                    "https://a.example/delete/1",
                    OURS,
                    json!(local_post),
                ),
            ),
            with(|f| {
                f.objects.insert(local_post.into(), post(GROUP, OURS, true));
            }),
            Refuse(Code::LocalActor),
        ),
        (
            "a forged like by a local person",
            announce(
                GROUP,
                activity(
                    "Like",
                    "https://cairn.example/like/1",
                    OURS,
                    json!(group_post),
                ),
            ),
            with(in_group),
            Refuse(Code::LocalActor),
        ),
        (
            "a like under an id of ours that we never sent",
            announce(
                GROUP,
                activity(
                    "Like",
                    "https://cairn.example/like/1",
                    ALICE,
                    json!(group_post),
                ),
            ),
            with(in_group),
            Refuse(Code::LocalId),
        ),
        (
            "our own activity coming back",
            announce(
                GROUP,
                activity(
                    "Create",
                    "https://cairn.example/act/1",
                    OURS,
                    page(local_post, OURS, GROUP),
                ),
            ),
            with(|f| {
                f.activities.insert(
                    "https://cairn.example/act/1".into(),
                    ActivityFact { local: true },
                );
            }),
            Ignore(Code::OwnActivity),
        ),
        (
            "a forged update of a local comment",
            announce(
                GROUP,
                activity(
                    "Update",
                    "https://a.example/update/1",
                    ALICE,
                    reply("https://cairn.example/comment/1", ALICE, group_post, GROUP),
                ),
            ),
            with(in_group),
            Refuse(Code::LocalObject),
        ),
        (
            "a third server's like in the group",
            announce(
                GROUP,
                activity("Like", "https://b.example/like/1", BOB, json!(group_post)),
            ),
            with(in_group),
            Apply("vote"),
        ),
        (
            "a third server's post is taken from its origin",
            announce(GROUP, create(BOB, "https://b.example/post/1", GROUP)),
            base(),
            Fetch("origin"),
        ),
        (
            "a third server's delete by a stranger",
            announce(GROUP, del(BOB, group_post)),
            with(in_group),
            Refuse(Code::NotAuthor),
        ),
        (
            "a third server's delete by the group's moderator",
            announce(GROUP, del(MOD, group_post)),
            with(in_group),
            Apply("removal"),
        ),
        (
            "a delete by someone on the group's server",
            announce(GROUP, del("https://a.example/u/admin", group_post)),
            with(in_group),
            Apply("removal"),
        ),
        (
            "a bare object",
            announce(GROUP, page(group_post, ALICE, GROUP)),
            base(),
            Ignore(Code::AnnouncedObject),
        ),
        (
            "an activity by id",
            announce(GROUP, json!("https://a.example/act/5")),
            base(),
            Fetch("activity"),
        ),
        (
            "a person's boost",
            announce(ALICE, json!("https://b.example/post/1")),
            base(),
            Ignore(Code::AnnouncedObject),
        ),
        (
            "an Announce of an Announce",
            announce(
                GROUP,
                announce(GROUP, create(ALICE, "https://a.example/post/2", GROUP)),
            ),
            base(),
            Refuse(Code::NestedAnnounce),
        ),
        (
            "a Follow inside an Announce",
            announce(
                GROUP,
                activity(
                    "Follow",
                    "https://a.example/f/1",
                    ALICE,
                    json!(LOCAL_COMMUNITY),
                ),
            ),
            base(),
            Ignore(Code::UnsupportedActivity),
        ),
        (
            "the group's own update",
            announce(
                GROUP,
                activity(
                    "Update",
                    "https://a.example/c/c/update/1",
                    GROUP,
                    json!({"type": "Group", "id": GROUP}),
                ),
            ),
            base(),
            Apply("refresh"),
        ),
    ];
    for (name, doc, facts, expect) in rows {
        check(name, doc, facts, expect);
    }
}

#[test]
fn follows_and_actors() {
    use Expect::*;
    let follow = |actor: &str, object: &str| {
        activity("Follow", "https://a.example/follow/1", actor, json!(object))
    };
    let received_follow = |f: &mut Facts| {
        f.follows.insert(
            "https://a.example/follow/1".into(),
            FollowFact {
                follower: ALICE.into(),
                followee: LOCAL_COMMUNITY.into(),
                follower_local: false,
            },
        );
    };
    let sent_follow = |f: &mut Facts| {
        f.follows.insert(
            "https://cairn.example/activities/follow/1".into(),
            FollowFact {
                follower: OURS.into(),
                followee: GROUP.into(),
                follower_local: true,
            },
        );
    };
    let rows: Vec<(&str, Value, Facts, Expect)> = vec![
        (
            "a follow of a local community",
            follow(ALICE, LOCAL_COMMUNITY),
            base(),
            Apply("follow-community"),
        ),
        (
            "a follow of a local person",
            follow(ALICE, OURS),
            base(),
            Apply("follow-person"),
        ),
        (
            "a follow of something not here",
            follow(ALICE, "https://cairn.example/c/none"),
            base(),
            Ignore(Code::FolloweeNotFound),
        ),
        (
            "an undo of a follow by id",
            activity(
                "Undo",
                "https://a.example/undo/1",
                ALICE,
                json!("https://a.example/follow/1"),
            ),
            with(received_follow),
            Apply("unfollow"),
        ),
        (
            "an undo of someone else's follow",
            activity(
                "Undo",
                "https://b.example/undo/1",
                BOB,
                json!("https://a.example/follow/1"),
            ),
            with(received_follow),
            Refuse(Code::UndoNotOwn),
        ),
        (
            "an undo of an unknown follow",
            activity(
                "Undo",
                "https://a.example/undo/1",
                ALICE,
                json!("https://a.example/follow/9"),
            ),
            base(),
            Ignore(Code::UnknownFollow),
        ),
        (
            "an embedded undo of a follow",
            activity(
                "Undo",
                "https://a.example/undo/1",
                ALICE,
                follow(ALICE, LOCAL_COMMUNITY),
            ),
            base(),
            Apply("unfollow"),
        ),
        (
            "an embedded undo of another's follow",
            activity(
                "Undo",
                "https://a.example/undo/1",
                ALICE,
                follow(MOD, LOCAL_COMMUNITY),
            ),
            base(),
            Refuse(Code::UndoNotOwn),
        ),
        (
            "the followee accepts our follow",
            activity(
                "Accept",
                "https://a.example/accept/1",
                GROUP,
                json!("https://cairn.example/activities/follow/1"),
            ),
            with(sent_follow),
            Apply("answer"),
        ),
        (
            "someone else accepts our follow",
            activity(
                "Accept",
                "https://b.example/accept/1",
                BOB,
                json!("https://cairn.example/activities/follow/1"),
            ),
            with(sent_follow),
            Refuse(Code::AnswerNotFromFollowee),
        ),
        (
            "an accept of an unknown follow",
            activity(
                "Accept",
                "https://a.example/accept/1",
                GROUP,
                json!("https://cairn.example/activities/follow/2"),
            ),
            base(),
            Ignore(Code::UnknownFollow),
        ),
        (
            "a person updates themself",
            activity(
                "Update",
                "https://a.example/u/alice/update/1",
                ALICE,
                json!({"type": "Person", "id": ALICE}),
            ),
            base(),
            Apply("refresh"),
        ),
        (
            "someone updates another person",
            activity(
                "Update",
                "https://a.example/update/1",
                MOD,
                json!({"type": "Person", "id": ALICE}),
            ),
            base(),
            Refuse(Code::ForeignUpdate),
        ),
        (
            "an update of a person not stored",
            activity(
                "Update",
                "https://b.example/update/1",
                "https://b.example/u/carol",
                json!({"type": "Person", "id": "https://b.example/u/carol"}),
            ),
            base(),
            Ignore(Code::NotStored),
        ),
        (
            "a stranger updates a group",
            activity(
                "Update",
                "https://b.example/update/1",
                BOB,
                json!({"type": "Group", "id": GROUP}),
            ),
            base(),
            Refuse(Code::ForeignUpdate),
        ),
        (
            "an update of a local community",
            activity(
                "Update",
                "https://a.example/update/1",
                ALICE,
                json!({"type": "Group", "id": LOCAL_COMMUNITY}),
            ),
            base(),
            Refuse(Code::LocalObject),
        ),
    ];
    for (name, doc, facts, expect) in rows {
        check(name, doc, facts, expect);
    }
}

#[test]
fn here_compares_host_and_port() {
    let here = Here::new("localhost:8080", true);
    assert!(here.is_local(&url("http://localhost:8080/u/x")));
    assert!(here.is_local(&url("http://LOCALHOST:8080/u/x")));
    assert!(!here.is_local(&url("http://localhost:8081/u/x")));
    assert!(!here.is_local(&url("http://localhost/u/x")));
    assert!(Here::new("cairn.example", false).is_local(&url(&format!("{HERE}/x"))));
}

// Properties over generated activities.

/// The servers an id may be on: this one, the community's, a third one.
fn host() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("https://cairn.example"),
        Just("https://a.example"),
        Just("https://b.example"),
    ]
}

#[derive(Debug, Clone)]
struct Generated {
    doc: Value,
    facts: Facts,
}

/// An activity of any kind, by an actor on any server, about objects on any server, possibly
/// inside an Announce, with arbitrary stored facts about every id it names.
fn generated() -> impl Strategy<Value = Generated> {
    (
        (host(), host(), host(), host()),
        0usize..7,
        any::<bool>(),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (actor_host, id_host, object_host, community_host),
                kind,
                announced,
                (stored, object_local, community_local, followed),
                (creator_is_actor, moderator, vote_stored),
            )| {
                let actor = format!("{actor_host}/u/x");
                let id = format!("{id_host}/act/1");
                let object = format!("{object_host}/post/1");
                let community = format!("{community_host}/c/g");
                let inner = match kind {
                    0 => activity("Create", &id, &actor, page(&object, &actor, &community)),
                    1 => activity(
                        "Update",
                        &id,
                        &actor,
                        reply(
                            &object,
                            &actor,
                            &format!("{community_host}/post/0"),
                            &community,
                        ),
                    ),
                    2 => activity("Like", &id, &actor, json!(object)),
                    3 => activity("Dislike", &id, &actor, json!(object)),
                    4 => activity("Delete", &id, &actor, json!(object)),
                    5 => activity(
                        "Undo",
                        &id,
                        &actor,
                        activity("Like", &format!("{id}/l"), &actor, json!(object)),
                    ),
                    _ => activity("Follow", &id, &actor, json!(community)),
                };
                let doc = if announced {
                    announce(&community, inner)
                } else {
                    inner
                };
                let mut facts = Facts::default();
                facts.communities.insert(
                    community.clone(),
                    CommunityFact {
                        local: community_local,
                        deleted: false,
                        followed_here: followed,
                        holds_local_content: object_local,
                        moderators: if moderator {
                            vec![actor.clone()]
                        } else {
                            vec![]
                        },
                    },
                );
                let creator = if creator_is_actor {
                    actor.clone()
                } else {
                    "https://b.example/u/y".into()
                };
                for o in [object.clone(), format!("{community_host}/post/0")] {
                    if stored {
                        facts.objects.insert(
                            o,
                            ObjectFact {
                                kind: ObjectKind::Post,
                                local: object_local,
                                creator: creator.clone(),
                                community: community.clone(),
                                gone: false,
                                post_locked: false,
                            },
                        );
                    }
                }
                if vote_stored {
                    facts.votes.insert((actor.clone(), object.clone()));
                }
                facts
                    .persons
                    .insert(actor.clone(), person(actor_host == HERE));
                Generated { doc, facts }
            },
        )
}

/// Whether an activity, at any depth, is by a local actor or creates or updates an object
/// with a local id.
fn speaks_for_us(a: &Received, here: &Here) -> bool {
    let object_local = match &a.kind {
        Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => {
            here.is_local(&o.id)
        }
        _ => false,
    };
    here.is_local(&a.actor)
        || object_local
        || matches!(&a.kind, Kind::Announce(Announced::Activity(inner)) if speaks_for_us(inner, here))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Nothing received speaks for a local actor or writes a local object.
    #[test]
    fn nothing_acts_for_this_server(g in generated()) {
        let a = Received::parse(&g.doc).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        let here = here();
        if speaks_for_us(&a, &here) {
            let d = decide(&a, &g.facts, &here);
            prop_assert!(!d.is_apply(), "applied {:?} for {}", d, g.doc);
        }
    }

    /// A deletion of something written here is never a deletion, only a moderator's removal.
    #[test]
    fn local_objects_are_never_deleted(g in generated()) {
        let a = Received::parse(&g.doc).map_err(|v| TestCaseError::fail(format!("{v:?}")))?;
        if let Decision::Apply { effect: Effect::Delete { object, how }, .. } = decide(&a, &g.facts, &here()) {
            let local = g.facts.objects.get(object.as_str()).is_some_and(|o| o.local);
            prop_assert!(!(local && how == DeleteAs::Author), "deleted a local object: {}", g.doc);
        }
    }

    /// The parser and the rules take any JSON without panicking.
    #[test]
    fn arbitrary_json_never_panics(doc in arbitrary_json()) {
        if let Ok(a) = Received::parse(&doc) {
            let _ = decide(&a, &base(), &here());
            let _ = a.lookups();
            let _ = a.object_key();
        }
    }
}

/// Votes, follows and replies by a remote person on local things in a local community where
/// they may take part are applied.
#[test]
fn remote_participation_is_applied() {
    let local_post = "https://cairn.example/post/1";
    let facts = with(|f| {
        f.objects
            .insert(local_post.into(), post(LOCAL_COMMUNITY, OURS, true));
    });
    for actor in [ALICE, BOB, "https://b.example/u/z"] {
        let host = &actor[..actor.find("/u/").unwrap_or(0)];
        let docs = [
            activity("Like", &format!("{host}/l/1"), actor, json!(local_post)),
            activity("Dislike", &format!("{host}/d/1"), actor, json!(local_post)),
            activity(
                "Follow",
                &format!("{host}/f/1"),
                actor,
                json!(LOCAL_COMMUNITY),
            ),
            activity(
                "Create",
                &format!("{host}/c/1"),
                actor,
                reply(
                    &format!("{host}/comment/1"),
                    actor,
                    local_post,
                    LOCAL_COMMUNITY,
                ),
            ),
        ];
        for doc in docs {
            let a = Received::parse(&doc).unwrap_or_else(|v| panic!("{v:?}"));
            let d = decide(&a, &facts, &here());
            assert!(d.is_apply(), "{doc}: {d:?}");
        }
    }
}

/// JSON of any shape: the fields activities use, with values of any type.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("https://a.example/x".to_owned()),
            Just("https://cairn.example/y".to_owned()),
            Just("Create".to_owned()),
            Just("Announce".to_owned()),
            Just("Undo".to_owned()),
            Just("Like".to_owned()),
            Just(PUBLIC.to_owned()),
            "[a-z:/.]{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("id"),
                        Just("type"),
                        Just("actor"),
                        Just("object"),
                        Just("to"),
                        Just("cc"),
                        Just("audience"),
                        Just("inReplyTo"),
                        Just("attributedTo"),
                    ],
                    inner
                ),
                0..8
            )
            .prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}
