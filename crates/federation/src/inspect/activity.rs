//! Activities, classified by the inbox's own rules: parsed into `rules::Received`, checked by
//! `rules::check_structure` as the inbox checks a delivery, then decided by `rules::decide`
//! with the facts the inbox would gather. Inspect only renders the decision.
//!
//! With a database the facts are the stored ones, read without writing. Offline there are
//! none, so inspect assumes the most favourable ones the activity allows ([`assume`]): that
//! the community it addresses is one of ours (or, on the sender's server, one followed here),
//! and that what it replies to, votes on or deletes is known here. The verdict then says
//! whether the activity could be applied at all, and the notes say what was assumed.

use cairn_core::facts::{
    self, CommunityFact, Facts, FollowFact, ObjectFact, ObjectKind, PersonFact,
};
use cairn_core::inbound::RemoteBody;
use serde_json::Value;
use url::Url;

use super::{Env, Report, Verdict, name_from_url};
use crate::content::{created_comment, created_post, post_title};
use crate::protocol::PUBLIC;
use crate::rules::{
    self, Announced, Decision, Effect, Fetch, FollowRef, Here, Kind, Object, ObjectRef, Received,
    same_origin,
};

/// How many times inspect follows a decision to fetch before it stops: as many as the inbox.
const MAX_ROUNDS: usize = 4;

/// Classifies an activity as the inbox would handle it.
pub(super) async fn classify(value: &Value, report: &mut Report, env: Env<'_>) -> Verdict {
    report.actor = value
        .get("actor")
        .and_then(rules::parse::id_of)
        .map(|u| u.to_string());
    let mut activity = match Received::parse(value) {
        Ok(a) => a,
        Err(v) => return Verdict::rejected(v.code.as_str(), v.message),
    };
    let here = Here::new(
        env.options
            .local_domain
            .as_deref()
            .unwrap_or("inspect.invalid"),
        env.options.insecure,
    );
    if let Err(v) = rules::check_structure(&activity, &here) {
        return Verdict::rejected(v.code.as_str(), v.message);
    }
    report.notes.push(format!(
        "Not checked here: the inbox checks the HTTP signature with the key of {}.",
        activity.actor
    ));
    if let Kind::Announce(_) = activity.kind {
        report.actor = Some(format!(
            "{} (announced by {})",
            activity.innermost().actor,
            activity.actor
        ));
    }
    if env.db.is_none() {
        activity = offline_envelope(activity, report);
    }
    for _ in 0..MAX_ROUNDS {
        let facts = match env.db {
            Some(ctx) => match facts::gather(ctx, activity.lookups()).await {
                Ok(f) => f,
                Err(e) => return Verdict::rejected(e.code(), e.to_string()),
            },
            None => {
                report.notes.push(
                    "Offline: the community it addresses is assumed to be one here, and what it \
                     replies to, votes on or deletes to be known here."
                        .into(),
                );
                assume(&activity, &here)
            }
        };
        match rules::decide(&activity, &facts, &here) {
            Decision::Apply {
                activity: inner,
                effect,
            } => return describe(inner, &effect, report, &facts),
            Decision::Ignore(v) => return Verdict::ignored(v.code.as_str(), v.message),
            Decision::Refuse(v) => return Verdict::rejected(v.code.as_str(), v.message),
            Decision::Wait(v) => {
                report
                    .notes
                    .push("The inbox tries it again a few times before ignoring it.".into());
                return Verdict::ignored(v.code.as_str(), v.message);
            }
            Decision::Fetch(Fetch::FromOrigin(url)) => {
                report.notes.push(format!(
                    "The author is on a third server: the inbox takes the object from {url} \
                     rather than the copy the Announce embeds."
                ));
                // Inspect fetches nothing more; it judges the embedded copy as if it came
                // from its origin.
                let object = match &activity.innermost().kind {
                    Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => {
                        let mut o: Object = (**o).clone();
                        o.from_origin = true;
                        o
                    }
                    _ => return Verdict::rejected("internal_error", "nothing to fetch"),
                };
                activity.set_object_from_origin(object);
            }
            Decision::Fetch(fetch) => {
                let (becomes, what) = match fetch {
                    Fetch::Parent(u) => (
                        "comment",
                        format!("a comment, once the inbox has fetched what it replies to, {u}"),
                    ),
                    Fetch::Object(u) => (
                        "vote",
                        format!("a vote, once the inbox has fetched the voted object {u}"),
                    ),
                    Fetch::Activity(u) => (
                        "announced-activity",
                        format!("what the activity {u} is, once the inbox has fetched it"),
                    ),
                    Fetch::FromOrigin(u) => ("post", format!("the object at {u}")),
                };
                return Verdict::accepted(becomes, what);
            }
        }
    }
    Verdict::rejected(
        "too_long",
        "The activity needs more fetches than the inbox makes.",
    )
}

/// What an applied effect becomes, with the checks core makes when it applies it.
fn describe(a: &Received, effect: &Effect, report: &mut Report, facts: &Facts) -> Verdict {
    match effect {
        Effect::FollowCommunity { community } => {
            report.community = Some(community.to_string());
            Verdict::accepted(
                "follow",
                format!(
                    "follow of {community}: a member at once, or a pending request when the \
                     community approves its members; answered with Accept"
                ),
            )
        }
        Effect::FollowPerson { person } => Verdict::accepted(
            "follow",
            format!("follow of {person}, a person here: accepted at once"),
        ),
        Effect::Unfollow { followee } => {
            Verdict::accepted("unfollow", format!("unfollow of {followee}"))
        }
        Effect::Answer { follow, accepted } => {
            report.community = Some(a.actor.to_string());
            if *accepted {
                Verdict::accepted(
                    "follow-accepted",
                    format!("acceptance of the Follow {follow}: the follower becomes a member"),
                )
            } else {
                Verdict::accepted(
                    "follow-rejected",
                    format!("refusal of the Follow {follow}: the pending membership ends"),
                )
            }
        }
        Effect::RefreshActor { actor, .. } => {
            report.notes.push(
                "The embedded copy is not used: the actor is fetched again from its own server."
                    .into(),
            );
            Verdict::accepted("actor-update", format!("a refresh of {actor}"))
        }
        Effect::Upsert { object, community } => {
            report.community = Some(community.clone());
            upsert(a, object, community, facts)
        }
        Effect::Vote { object, score } => match score {
            1 => Verdict::accepted("upvote", format!("upvote of {object}")),
            -1 => Verdict::accepted("downvote", format!("downvote of {object}")),
            _ => Verdict::accepted(
                "vote-withdrawn",
                format!("withdrawal of the vote on {object}"),
            ),
        },
        Effect::Delete { object, how } => match how {
            rules::DeleteAs::Author => {
                Verdict::accepted("delete", format!("deletion of {object} by its author"))
            }
            rules::DeleteAs::Removal => {
                Verdict::accepted("removal", format!("removal of {object} by a moderator"))
            }
        },
    }
}

/// A post or comment, with the checks core makes when storing it.
fn upsert(a: &Received, object: &Object, community: &str, facts: &Facts) -> Verdict {
    let edit = facts.objects.contains_key(object.id.as_str());
    let author = &a.actor;
    match created_comment(author, &object.json) {
        Err(e) => return Verdict::from_error(&e),
        Ok(Some(note)) => {
            let body = RemoteBody {
                markdown: note.source.map(|s| s.content),
                html: Some(note.content),
            };
            if body.render().1.is_none() {
                return Verdict::rejected("empty_comment", "A comment needs content.");
            }
            let what = format!("comment on {}", note.in_reply_to);
            return if edit {
                Verdict::accepted("comment-edit", format!("edit of the {what}"))
            } else {
                Verdict::accepted("comment", what)
            };
        }
        Ok(None) => {}
    }
    let page = match created_post(author, object.json.clone()) {
        Ok(p) => p,
        Err(e) => return Verdict::from_error(&e),
    };
    let title = match cairn_core::inbound::title(&post_title(&page, &name_from_url(community))) {
        Ok(t) => t,
        Err(e) => return Verdict::rejected(e.code(), e.to_string()),
    };
    let mut what = format!("post {title:?}");
    if let Some(link) = page
        .attachment
        .first()
        .and_then(|att| att.href.as_ref().or(att.url.as_ref()))
    {
        what.push_str(&format!(" linking to {link}"));
    }
    if edit {
        Verdict::accepted("post-edit", format!("edit of the {what}"))
    } else {
        Verdict::accepted("post", what)
    }
}

/// The object a Create or Update embeds.
fn embedded(a: &Received) -> Option<&Object> {
    match &a.kind {
        Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => Some(o),
        _ => None,
    }
}

/// Offline, content for a community on the sender's own server is judged as it reaches this
/// server: inside that community's Announce, since a community on the sender's server is not
/// one of ours.
fn offline_envelope(a: Received, report: &mut Report) -> Received {
    let content = matches!(
        a.kind,
        Kind::Create(_)
            | Kind::Update(_)
            | Kind::Delete { .. }
            | Kind::Vote { .. }
            | Kind::UndoVote { .. }
    );
    if !content || embedded(&a).is_some_and(|o| o.actor_type) {
        return a;
    }
    let Some(community) = community_candidates(&a, embedded(&a)).into_iter().next() else {
        return a;
    };
    if !same_origin(&community, &a.actor) {
        return a;
    }
    let announce = serde_json::json!({
        "type": "Announce",
        "id": format!("{community}#announce"),
        "actor": community.as_str(),
        "to": [PUBLIC],
        "object": a.raw,
    });
    match Received::parse(&announce) {
        Ok(wrapped) => {
            report.community = Some(format!(
                "{community} (on the sender's server: this arrives inside its Announce)"
            ));
            wrapped
        }
        Err(_) => a,
    }
}

/// The addressees that could be the community: not the public collection, not the actor, not
/// a followers collection.
fn community_candidates(a: &Received, o: Option<&Object>) -> Vec<Url> {
    let mut out: Vec<Url> = vec![];
    let all = a
        .audience
        .iter()
        .chain(o.and_then(|o| o.audience.as_ref()))
        .chain(a.addressed.iter())
        .chain(o.into_iter().flat_map(|o| o.addressed.iter()));
    for url in all {
        if url.as_str() != PUBLIC
            && url != &a.actor
            && !url.path().ends_with("/followers")
            && !out.contains(url)
        {
            out.push(url.clone());
        }
    }
    out
}

fn community_fact(local: bool) -> CommunityFact {
    CommunityFact {
        local,
        deleted: false,
        followed_here: true,
        holds_local_content: false,
        moderators: vec![],
    }
}

/// The most favourable facts an activity allows, for inspecting it without a database.
fn assume(activity: &Received, here: &Here) -> Facts {
    let mut f = Facts::default();
    let (a, via) = match &activity.kind {
        Kind::Announce(Announced::Activity(inner)) => (inner.as_ref(), Some(&activity.actor)),
        _ => (activity, None),
    };
    if let Some(group) = via {
        f.communities
            .insert(group.to_string(), community_fact(false));
    }
    let object = match &a.kind {
        Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => {
            Some(o.as_ref())
        }
        _ => None,
    };
    // The community: the announcing Group, else the first community-like addressee, which is
    // ours unless it is on the sender's own server.
    // Without any, the community of the post or comment the activity is about, which is
    // assumed to be one here.
    let community = match via {
        Some(g) => Some(g.clone()),
        None => community_candidates(a, object)
            .into_iter()
            .next()
            .or_else(|| Url::parse(&format!("https://{}/c/community", here.host)).ok()),
    };
    if let (Some(c), None) = (&community, via) {
        let local = !same_origin(c, &a.actor);
        f.communities.insert(c.to_string(), community_fact(local));
    }
    f.persons.insert(
        a.actor.to_string(),
        PersonFact {
            local: false,
            deleted: false,
            followed_here: false,
        },
    );
    let known = |f: &mut Facts, id: &Url, creator: &Url| {
        if let Some(c) = &community {
            f.objects.insert(
                id.to_string(),
                ObjectFact {
                    kind: ObjectKind::Post,
                    local: here.is_local(id),
                    creator: creator.to_string(),
                    community: c.to_string(),
                    gone: false,
                    post_locked: false,
                },
            );
        }
    };
    match &a.kind {
        Kind::Follow { object } => {
            f.communities
                .insert(object.to_string(), community_fact(true));
        }
        Kind::UndoFollow(follow) | Kind::Answer { follow, .. } => {
            let answer = matches!(a.kind, Kind::Answer { .. });
            let followee = match follow {
                FollowRef::Embedded { object, .. } => object.clone(),
                FollowRef::Id(_) if answer => a.actor.clone(),
                FollowRef::Id(id) => id.clone(),
            };
            f.communities
                .insert(followee.to_string(), community_fact(!answer));
            f.follows.insert(
                follow.id().to_string(),
                FollowFact {
                    follower: a.actor.to_string(),
                    followee: followee.to_string(),
                    follower_local: answer,
                },
            );
        }
        Kind::UndoById(id) => {
            let followee = community.clone().unwrap_or_else(|| id.clone());
            f.communities
                .insert(followee.to_string(), community_fact(true));
            f.follows.insert(
                id.to_string(),
                FollowFact {
                    follower: a.actor.to_string(),
                    followee: followee.to_string(),
                    follower_local: false,
                },
            );
        }
        Kind::Create(ObjectRef::Embedded(o)) | Kind::Update(ObjectRef::Embedded(o)) => {
            if o.actor_type {
                if o.type_name == "Group" {
                    f.communities
                        .insert(o.id.to_string(), community_fact(false));
                } else {
                    f.persons.insert(
                        o.id.to_string(),
                        PersonFact {
                            local: false,
                            deleted: false,
                            followed_here: false,
                        },
                    );
                }
            } else {
                if matches!(a.kind, Kind::Update(_)) {
                    known(&mut f, &o.id, &a.actor);
                }
                if let Some(parent) = &o.in_reply_to
                    && !here.is_local(parent)
                {
                    known(&mut f, parent, parent);
                }
            }
        }
        // A Delete of the actor itself is an account's deletion, not of a post or comment.
        Kind::Delete { object } if object != &a.actor => known(&mut f, object, &a.actor),
        Kind::Vote { object, .. } => known(&mut f, object, object),
        Kind::UndoVote { object, .. } => {
            known(&mut f, object, object);
            f.votes.insert((a.actor.to_string(), object.to_string()));
        }
        _ => {}
    }
    f
}
