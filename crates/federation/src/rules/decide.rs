//! The decision: one function per kind of activity, each reading only the activity and the
//! stored facts. The rules are those of ARCHITECTURE.md's trust table; the comments here say
//! which row each check enforces.

use cairn_core::facts::{CommunityFact, Facts, ObjectFact};
use url::Url;

use super::parse::{Announced, FollowRef, Kind, Object, ObjectRef, Received};
use super::{Code, Decision, DeleteAs, Effect, Fetch, Here, Verdict, same_origin};

/// The community an announced activity came through: its id and what is stored of it.
type Via<'f> = Option<(&'f Url, &'f CommunityFact)>;

/// Decides what to do with an activity delivered to this server.
pub fn decide<'a>(a: &'a Received, f: &Facts, here: &Here) -> Decision<'a> {
    one(a, f, here, None)
}

/// The checks every activity must pass at every depth, which need no stored facts. The inbox
/// makes them on the delivered activity before storing it, so a delivery that fails them is
/// answered with 400 at once; `decide` makes them again at every depth.
pub fn check_structure(a: &Received, here: &Here) -> Result<(), Verdict> {
    for url in [&a.id, &a.actor] {
        check_url(url, here)?;
    }
    // This server is the only authority on its actors and ids.
    if here.is_local(&a.actor) {
        return Err(Verdict::new(
            Code::LocalActor,
            "The activity's actor is on this server; only this server speaks for its actors.",
        ));
    }
    if here.is_local(&a.id) {
        return Err(Verdict::new(
            Code::LocalId,
            "The activity's id is on this server, which did not send it.",
        ));
    }
    if !same_origin(&a.id, &a.actor) {
        return Err(Verdict::new(
            Code::ForeignActivity,
            "The activity's id is not on its actor's server.",
        ));
    }
    match &a.kind {
        Kind::Create(o) | Kind::Update(o) => {
            let o = match o {
                ObjectRef::Embedded(o) => o,
                ObjectRef::Id(_) => {
                    return Err(Verdict::new(
                        Code::ObjectNotEmbedded,
                        "Create and Update must embed their object.",
                    ));
                }
            };
            if here.is_local(&o.id) {
                return Err(Verdict::new(
                    Code::LocalObject,
                    "The object's id is on this server; only this server writes its objects.",
                ));
            }
            if !o.actor_type {
                content_structure(a, o)?;
            }
        }
        Kind::UndoVote { voter, .. } if voter != &a.actor => {
            return Err(Verdict::new(
                Code::UndoNotOwn,
                "Only the voter may undo a vote.",
            ));
        }
        Kind::UndoFollow(FollowRef::Embedded { actor, .. }) if actor != &a.actor => {
            return Err(Verdict::new(
                Code::UndoNotOwn,
                "Only the follower may undo a Follow.",
            ));
        }
        Kind::Answer {
            follow: FollowRef::Embedded { object, .. },
            ..
        } if object != &a.actor => {
            return Err(Verdict::new(
                Code::AnswerNotFromFollowee,
                "Only the followed community or person may answer a Follow.",
            ));
        }
        Kind::Announce(Announced::Activity(inner)) if matches!(inner.kind, Kind::Announce(_)) => {
            return Err(Verdict::new(
                Code::NestedAnnounce,
                "An Announce may not carry another Announce.",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// The URL checks the federation library makes of ids: https (or http in insecure mode), a
/// domain, and no explicit port outside insecure mode.
fn check_url(url: &Url, here: &Here) -> Result<(), Verdict> {
    let refuse = |why: &str| Err(Verdict::new(Code::InvalidUrl, format!("{url}: {why}.")));
    match url.scheme() {
        "https" => {}
        "http" if here.insecure => {}
        "http" => return refuse("plain http is only allowed in development mode"),
        _ => return refuse("the scheme is not https"),
    }
    let Some(domain) = url.domain() else {
        return refuse("an id must have a domain name");
    };
    if !domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return refuse("the domain has invalid characters");
    }
    if !here.insecure && url.port().is_some() {
        return refuse("an explicit port is only allowed in development mode");
    }
    Ok(())
}

/// A post or comment must be public, live on its author's server and be attributed to the
/// activity's actor.
fn content_structure(a: &Received, o: &Object) -> Result<(), Verdict> {
    if !o.public && !a.public {
        return Err(Verdict::new(
            Code::NotPublic,
            "Only public posts and comments are accepted.",
        ));
    }
    if !same_origin(&o.id, &a.actor) {
        return Err(Verdict::new(
            Code::ForeignObject,
            "The object is not on its author's server.",
        ));
    }
    if !o.attributed_to.contains(&a.actor) {
        return Err(Verdict::new(
            Code::AuthorMismatch,
            "The object's author is not the activity's actor.",
        ));
    }
    Ok(())
}

fn one<'a>(a: &'a Received, f: &Facts, here: &Here, via: Via<'_>) -> Decision<'a> {
    // Our own activity, relayed back to us by the remote community it was sent to.
    if via.is_some() && f.activities.get(a.id.as_str()).is_some_and(|s| s.local) {
        return Decision::ignore(Code::OwnActivity, "This server sent this activity.");
    }
    if let Err(v) = check_structure(a, here) {
        return Decision::Refuse(v);
    }
    if f.activities.contains_key(a.id.as_str()) {
        return Decision::ignore(Code::Duplicate, "This activity was received before.");
    }
    match &a.kind {
        Kind::Announce(announced) if via.is_none() => announce(a, announced, f, here),
        Kind::Announce(_) => Decision::refuse(
            Code::NestedAnnounce,
            "An Announce may not carry another Announce.",
        ),
        // Follows and their answers go between the follower and the followee, never through
        // a community's Announce.
        Kind::Follow { .. } | Kind::UndoFollow(_) | Kind::Answer { .. } | Kind::UndoById(_)
            if via.is_some() =>
        {
            Decision::ignore(
                Code::UnsupportedActivity,
                "Follows are not taken from a community's Announce.",
            )
        }
        Kind::Follow { object } => follow(a, object, f),
        Kind::UndoFollow(follow) => undo_follow(a, follow, f),
        Kind::UndoById(id) if f.follows.contains_key(id.as_str()) => {
            undo_follow(a, &FollowRef::Id(id.clone()), f)
        }
        Kind::UndoById(id) => Decision::ignore(
            Code::UnknownFollow,
            format!(
                "The Undo names {id}, which is no Follow received here; an Undo of anything \
                 else must embed the activity it undoes."
            ),
        ),
        Kind::Answer { accepted, follow } => answer(a, *accepted, follow, f),
        Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => {
            match (o.actor_type, &a.kind) {
                (true, Kind::Update(_)) => actor_update(a, o, f, via),
                (true, _) => Decision::ignore(
                    Code::UnsupportedActivity,
                    "Actors are not created by activities; they are fetched.",
                ),
                (false, _) => content(a, o, f, here, via),
            }
        }
        Kind::Create(ObjectRef::Id(_)) | Kind::Update(ObjectRef::Id(_)) => Decision::refuse(
            Code::ObjectNotEmbedded,
            "Create and Update must embed their object.",
        ),
        Kind::Delete { object } => delete(a, object, f, via),
        Kind::Vote { object, score } => vote(a, object, *score, f, here, via),
        Kind::UndoVote { object, .. } => undo_vote(a, object, f, via),
        Kind::Other => Decision::ignore(
            Code::UnsupportedActivity,
            format!("Cairn does not use `{}` activities.", a.type_line()),
        ),
    }
}

/// A community's Announce (FEP-1b12). The Group is believed only about its own community, and
/// only when someone here follows it or it holds something of ours.
fn announce<'a>(a: &'a Received, announced: &'a Announced, f: &Facts, here: &Here) -> Decision<'a> {
    let Some(group) = f.communities.get(a.actor.as_str()) else {
        if f.persons.contains_key(a.actor.as_str()) {
            return Decision::ignore(
                Code::AnnouncedObject,
                "A person's boost; Cairn keeps no timeline of boosts.",
            );
        }
        return Decision::ignore(
            Code::UnsolicitedAnnounce,
            "The Announce comes from no community known here.",
        );
    };
    if !group.followed_here && !group.holds_local_content {
        return Decision::ignore(
            Code::UnsolicitedAnnounce,
            "Nobody here follows this community and it holds nothing of ours.",
        );
    }
    match announced {
        Announced::Object => Decision::ignore(
            Code::AnnouncedObject,
            "An Announce of a bare object: the Announce of its activity carries the content.",
        ),
        Announced::Id(id) if here.is_local(id) => {
            if f.activities.get(id.as_str()).is_some_and(|s| s.local) {
                Decision::ignore(Code::OwnActivity, "This server sent this activity.")
            } else {
                Decision::refuse(
                    Code::LocalId,
                    "The announced activity's id is on this server, which did not send it.",
                )
            }
        }
        Announced::Id(id) if f.activities.contains_key(id.as_str()) => Decision::ignore(
            Code::Duplicate,
            "The announced activity was received before.",
        ),
        Announced::Id(id) => Decision::Fetch(Fetch::Activity(id.clone())),
        Announced::Activity(inner) => one(inner, f, here, Some((&a.actor, group))),
    }
}

fn follow<'a>(a: &'a Received, object: &Url, f: &Facts) -> Decision<'a> {
    if f.communities
        .get(object.as_str())
        .is_some_and(|c| c.local && !c.deleted)
    {
        return apply(
            a,
            Effect::FollowCommunity {
                community: object.clone(),
            },
        );
    }
    if f.persons
        .get(object.as_str())
        .is_some_and(|p| p.local && !p.deleted)
    {
        return apply(
            a,
            Effect::FollowPerson {
                person: object.clone(),
            },
        );
    }
    followee_not_found(object)
}

fn followee_not_found<'a>(object: &Url) -> Decision<'a> {
    Decision::ignore(
        Code::FolloweeNotFound,
        format!("{object} is neither a community nor a person on this server."),
    )
}

fn is_local_followee(f: &Facts, id: &Url) -> bool {
    f.communities.get(id.as_str()).is_some_and(|c| c.local)
        || f.persons.get(id.as_str()).is_some_and(|p| p.local)
}

fn undo_follow<'a>(a: &'a Received, follow: &FollowRef, f: &Facts) -> Decision<'a> {
    let followee = match follow {
        // The structural checks made sure that the follower undoes it.
        FollowRef::Embedded { object, .. } => object.clone(),
        FollowRef::Id(id) => match f.follows.get(id.as_str()) {
            Some(stored) if !stored.follower_local => {
                if stored.follower != a.actor.as_str() {
                    return Decision::refuse(
                        Code::UndoNotOwn,
                        "Only the follower may undo a Follow.",
                    );
                }
                match Url::parse(&stored.followee) {
                    Ok(u) => u,
                    Err(_) => return followee_not_found(id),
                }
            }
            _ => {
                return Decision::ignore(
                    Code::UnknownFollow,
                    format!("{id} is no Follow received here."),
                );
            }
        },
    };
    if !is_local_followee(f, &followee) {
        return followee_not_found(&followee);
    }
    apply(a, Effect::Unfollow { followee })
}

fn answer<'a>(a: &'a Received, accepted: bool, follow: &FollowRef, f: &Facts) -> Decision<'a> {
    let id = follow.id();
    match f.follows.get(id.as_str()) {
        Some(stored) if stored.follower_local => {
            if stored.followee != a.actor.as_str() {
                return Decision::refuse(
                    Code::AnswerNotFromFollowee,
                    "Only the followed community or person may answer a Follow.",
                );
            }
            apply(
                a,
                Effect::Answer {
                    follow: id.clone(),
                    accepted,
                },
            )
        }
        _ => Decision::ignore(
            Code::UnknownFollow,
            "This server sent no Follow with that id.",
        ),
    }
}

/// An Update of an actor is applied by fetching the actor again from its own server. A person
/// updates only themself; a community is updated by itself, by someone on its server (its
/// moderators there), or through its own Announce.
fn actor_update<'a>(a: &'a Received, o: &Object, f: &Facts, via: Via<'_>) -> Decision<'a> {
    let group = o.type_name == "Group";
    if group {
        if !f.communities.contains_key(o.id.as_str()) {
            return Decision::ignore(Code::NotStored, "The community is not stored here.");
        }
        let vouched = via.is_some_and(|(g, _)| g == &o.id);
        if !vouched && !same_origin(&a.actor, &o.id) {
            return Decision::refuse(
                Code::ForeignUpdate,
                "A community is updated only by itself, its server or its own Announce.",
            );
        }
    } else {
        if a.actor != o.id {
            return Decision::refuse(
                Code::ForeignUpdate,
                "A person's profile is updated only by that person.",
            );
        }
        if !f.persons.contains_key(o.id.as_str()) {
            return Decision::ignore(Code::NotStored, "The person is not stored here.");
        }
    }
    apply(
        a,
        Effect::RefreshActor {
            actor: o.id.clone(),
            group,
        },
    )
}

/// The community a new post lands in. Announced, it is the announcing Group when the post
/// addresses it. Delivered directly, it is the first community of ours that the post addresses,
/// the `audience` first; an addressed community of another server is returned so the caller can
/// say why the post is not for us.
fn landing_of_new_post(a: &Received, o: &Object, f: &Facts, via: Via<'_>) -> Option<String> {
    let candidates: Vec<&Url> = a
        .audience
        .iter()
        .chain(o.audience.iter())
        .chain(a.addressed.iter())
        .chain(o.addressed.iter())
        .collect();
    if let Some((g, _)) = via {
        return candidates
            .iter()
            .find(|u| *u == &g)
            .or_else(|| {
                candidates
                    .iter()
                    .find(|u| f.communities.contains_key(u.as_str()))
            })
            .map(|u| u.to_string());
    }
    let stored = |local: bool| {
        candidates.iter().find(|u| {
            f.communities
                .get(u.as_str())
                .is_some_and(|c| c.local == local)
        })
    };
    stored(true)
        .or_else(|| stored(false))
        .map(|u| u.to_string())
}

/// An `audience`, when the activity or its object names one, must be the community it
/// concerns.
fn audience_matches(a: &Received, o: Option<&Object>, community: &str) -> Result<(), Verdict> {
    let audience = a.audience.as_ref().or(o.and_then(|o| o.audience.as_ref()));
    match audience {
        Some(aud) if aud.as_str() != community => Err(Verdict::new(
            Code::AudienceMismatch,
            "The activity's audience is another community.",
        )),
        _ => Ok(()),
    }
}

/// Why content that reached us directly is not for this server: it concerns a community of
/// another server, or none at all.
fn not_for_us<'a>(a: &Received, f: &Facts) -> Decision<'a> {
    if f.persons
        .get(a.actor.as_str())
        .is_some_and(|p| p.followed_here)
    {
        return Decision::ignore(
            Code::FollowedPerson,
            "Written by a person followed here to their followers; Cairn keeps no personal \
             timeline.",
        );
    }
    Decision::ignore(
        Code::NoCommunity,
        "The activity addresses no community on this server.",
    )
}

/// Whether the activity concerns `community` as its envelope allows: announced, the Group's
/// own community; delivered directly, a community of ours, or an object of ours (a reply to or
/// a vote on something written here, wherever it lives).
fn envelope<'a>(
    a: &Received,
    community: &str,
    local_object: bool,
    f: &Facts,
    via: Via<'_>,
) -> Result<(), Decision<'a>> {
    match via {
        Some((g, _)) if g.as_str() != community => Err(Decision::refuse(
            Code::ForeignAnnounce,
            "The announced activity concerns another community than the announcing one.",
        )),
        Some(_) => Ok(()),
        None => {
            let local = f.communities.get(community).is_some_and(|c| c.local);
            if local || local_object {
                Ok(())
            } else {
                Err(not_for_us(a, f))
            }
        }
    }
}

fn is_moderator(f: &Facts, community: &str, actor: &Url) -> bool {
    f.communities
        .get(community)
        .is_some_and(|c| c.moderators.iter().any(|m| m == actor.as_str()))
}

fn content<'a>(a: &'a Received, o: &Object, f: &Facts, here: &Here, via: Via<'_>) -> Decision<'a> {
    let mut local_parent = false;
    let community = match (f.objects.get(o.id.as_str()), &o.in_reply_to) {
        // An edit: the community is the stored one, whatever the activity claims.
        (Some(existing), _) => {
            if existing.creator != a.actor.as_str() {
                return Decision::refuse(Code::NotAuthor, "Only the author may edit this.");
            }
            existing.community.clone()
        }
        // A new reply lands in the community of the post it replies to.
        (None, Some(parent)) => match f.objects.get(parent.as_str()) {
            Some(p) => {
                if p.post_locked && !is_moderator(f, &p.community, &a.actor) {
                    return Decision::refuse(Code::PostLocked, "The post is locked.");
                }
                local_parent = p.local;
                p.community.clone()
            }
            None if here.is_local(parent) => {
                return Decision::ignore(
                    Code::UnknownObject,
                    "The reply answers a post or comment that is not on this server.",
                );
            }
            None if via.is_none() && !addresses_local_community(a, Some(o), f) => {
                return not_for_us(a, f);
            }
            None => return Decision::Fetch(Fetch::Parent(parent.clone())),
        },
        (None, None) => match landing_of_new_post(a, o, f, via) {
            Some(c) => c,
            None if via.is_some() => {
                return Decision::refuse(
                    Code::ForeignAnnounce,
                    "The announced post does not address the announcing community.",
                );
            }
            None => return not_for_us(a, f),
        },
    };
    if let Err(v) = audience_matches(a, Some(o), &community) {
        return Decision::Refuse(v);
    }
    if let Err(d) = envelope(a, &community, local_parent, f, via) {
        return d;
    }
    // Announced for an author on a third server: the Group vouches that the post is in its
    // community, not for what the author wrote, so the object is taken from its own server.
    if let Some((g, _)) = via
        && !same_origin(&a.actor, g)
        && !o.from_origin
    {
        return Decision::Fetch(Fetch::FromOrigin(o.id.clone()));
    }
    apply(
        a,
        Effect::Upsert {
            object: Box::new(o.clone()),
            community,
        },
    )
}

/// Whether the activity (or its object) addresses a community of ours: only then does an
/// unknown object it names deserve a fetch.
fn addresses_local_community(a: &Received, o: Option<&Object>, f: &Facts) -> bool {
    a.audience
        .iter()
        .chain(a.addressed.iter())
        .chain(o.into_iter().flat_map(|o| o.addressed.iter()))
        .any(|u| f.communities.get(u.as_str()).is_some_and(|c| c.local))
}

/// The stored post or comment an activity names, checked against its community; `Err` is the
/// decision when it is not usable.
fn target<'a, 'f>(
    a: &Received,
    object: &Url,
    f: &'f Facts,
    via: Via<'_>,
) -> Result<&'f ObjectFact, Decision<'a>> {
    let Some(t) = f.objects.get(object.as_str()) else {
        return Err(Decision::ignore(
            Code::UnknownObject,
            "The post or comment it names is not here.",
        ));
    };
    audience_matches(a, None, &t.community).map_err(Decision::Refuse)?;
    envelope(a, &t.community, t.local, f, via)?;
    Ok(t)
}

fn vote<'a>(
    a: &'a Received,
    object: &Url,
    score: i32,
    f: &Facts,
    here: &Here,
    via: Via<'_>,
) -> Decision<'a> {
    // A vote often overtakes the Create of its object; the object is fetched when the vote
    // is for us: announced by the Group, or addressed to a community of ours.
    if !f.objects.contains_key(object.as_str())
        && !here.is_local(object)
        && (via.is_some() || addresses_local_community(a, None, f))
    {
        return Decision::Fetch(Fetch::Object(object.clone()));
    }
    let t = match target(a, object, f, via) {
        Ok(t) => t,
        Err(d) => return d,
    };
    if t.gone {
        return Decision::ignore(Code::ObjectGone, "The post or comment was deleted.");
    }
    apply(
        a,
        Effect::Vote {
            object: object.clone(),
            score,
        },
    )
}

fn undo_vote<'a>(a: &'a Received, object: &Url, f: &Facts, via: Via<'_>) -> Decision<'a> {
    if let Err(d) = target(a, object, f, via) {
        return d;
    }
    if !f.votes.contains(&(a.actor.to_string(), object.to_string())) {
        return Decision::Wait(Verdict::new(
            Code::VoteUnknown,
            "No vote of the actor's on this is stored; the Undo may have overtaken its vote.",
        ));
    }
    apply(
        a,
        Effect::Vote {
            object: object.clone(),
            score: 0,
        },
    )
}

/// A Delete: by the author a deletion; by a moderator of the community (as that community's
/// own server lists them), by the object's own server or, announced, by the Group's server, a
/// removal. Nothing received deletes what was written here; a moderator of the community it is
/// in may only mark it removed there.
fn delete<'a>(a: &'a Received, object: &Url, f: &Facts, via: Via<'_>) -> Decision<'a> {
    let t = match target(a, object, f, via) {
        Ok(t) => t,
        Err(d) => return d,
    };
    if t.gone {
        return Decision::ignore(Code::ObjectGone, "The post or comment is gone already.");
    }
    let moderator = is_moderator(f, &t.community, &a.actor);
    let how = if t.local {
        if !moderator {
            return Decision::refuse(
                Code::LocalObject,
                "Only this server deletes what was written here; a moderator of its community \
                 may remove it.",
            );
        }
        DeleteAs::Removal
    } else if t.creator == a.actor.as_str() {
        DeleteAs::Author
    } else if moderator
        || same_origin(&a.actor, object)
        || via.is_some_and(|(g, _)| same_origin(&a.actor, g))
    {
        DeleteAs::Removal
    } else {
        return Decision::refuse(
            Code::NotAuthor,
            "Only the author or a moderator may delete this.",
        );
    };
    apply(
        a,
        Effect::Delete {
            object: object.clone(),
            how,
        },
    )
}

fn apply(a: &Received, effect: Effect) -> Decision<'_> {
    Decision::Apply {
        activity: a,
        effect,
    }
}
