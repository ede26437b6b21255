//! Activities, classified the way the inbox handles them: parsed into the inbox's own
//! [`InboxActivity`], URL-checked as the federation library does, then put through the same
//! checks as `verify` and `receive`, in the same order, with the same rejection codes.

use activitypub_federation::protocol::verification::verify_urls_match;
use activitypub_federation::traits::Activity;
use cairn_core::inbound::{RemoteBody, reply_target};
use cairn_core::{CoreError, remote};
use cairn_storage::communities::MemberRow;
use serde_json::Value;
use url::Url;

use super::{Env, Report, Verdict, check_urls, name_from_url, origin};
use crate::error::FederationError;
use crate::inbound::{
    self, Announcable, AnnouncableType, InboundAnnounce, created_comment, created_object,
    created_post, landing_candidates, post_title, subject, undone_vote,
};
use crate::inbox::InboxActivity;
use crate::protocol::PUBLIC;
use crate::protocol::activities::{Follow, FollowAnswer, FollowAnswerType, FollowRef, Undo};

/// The activity types the inbox handles; anything else is refused as `unsupported_activity`.
const HANDLED: &[&str] = &[
    "Follow", "Undo", "Accept", "Reject", "Announce", "Create", "Update", "Delete", "Like",
    "Dislike",
];

/// The activity types a community relays and the inbox applies from inside an Announce.
const ANNOUNCABLE: &[&str] = &["Create", "Update", "Delete", "Like", "Dislike", "Undo"];

/// What the commonest activities Cairn does not handle are for, so the refusal says what is
/// missing rather than only the type's name.
const NOT_HANDLED: &[(&str, &str)] = &[
    ("Add", "adding a moderator or featuring a post"),
    ("Remove", "removing a moderator or unfeaturing a post"),
    ("Block", "banning someone from a community"),
    ("Lock", "locking a post or comment"),
    ("Flag", "reporting content to moderators"),
    ("Resolve", "closing a report"),
    ("Warn", "warning a user"),
    ("Join", "joining a group"),
    ("Leave", "leaving a group"),
    ("Move", "moving an account"),
    ("EmojiReact", "reacting with an emoji"),
];

/// Classifies an activity as the inbox would handle it.
pub(super) async fn classify(value: &Value, report: &mut Report, env: Env<'_>) -> Verdict {
    report.actor = value
        .get("actor")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let parsed: InboxActivity = match serde_json::from_value(value.clone()) {
        Ok(a) => a,
        Err(_) => return Verdict::rejected("unsupported_activity", parse_failure(value)),
    };
    if let Err(e) = check_urls(parsed.id(), parsed.actor(), env.options) {
        return Verdict::from_error(&e);
    }
    report.notes.push(format!(
        "Not checked here: the inbox fetches the actor {} and checks the HTTP signature with \
         its key.",
        parsed.actor()
    ));
    let outcome = match parsed {
        InboxActivity::Follow(f) => follow(f, report, env).await,
        InboxActivity::UndoFollow(u) => unfollow(u, report, env).await,
        InboxActivity::Answer(a) => answer(a, report, env).await,
        InboxActivity::Announce(a) => announce(a, report, env).await,
        InboxActivity::Content(a) => direct(&a, report, env).await,
    };
    outcome.unwrap_or_else(|e| Verdict::from_error(&e))
}

/// Why a document with an activity type does not parse as any activity the inbox handles. The
/// inbox itself only says that no variant matched; this names the missing piece.
fn parse_failure(value: &Value) -> String {
    let Some(kind) = super::type_name(value) else {
        return "The activity has no `type`.".into();
    };
    if !HANDLED.contains(&kind) {
        let what = NOT_HANDLED
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, what)| format!(" ({what})"))
            .unwrap_or_default();
        return format!(
            "Cairn does not handle `{kind}` activities{what}; it handles {}.",
            HANDLED.join(", ")
        );
    }
    let error = match kind {
        "Follow" => serde_json::from_value::<Follow>(value.clone()).err(),
        "Accept" | "Reject" => serde_json::from_value::<FollowAnswer>(value.clone()).err(),
        "Announce" => serde_json::from_value::<InboundAnnounce>(value.clone()).err(),
        _ => serde_json::from_value::<Announcable>(value.clone()).err(),
    };
    match error {
        Some(e) => format!("The {kind} activity does not parse: {e}."),
        None => format!("The {kind} activity does not parse."),
    }
}

fn core(e: CoreError) -> FederationError {
    FederationError::Core(e)
}

/// Whether `url` is on the same host and port as `actor`. An activity's actor is never on this
/// server (the inbox refuses ids of ours), so nothing on the actor's host is a local community:
/// the one conclusion about landing that needs no database.
fn same_host(url: &Url, actor: &Url) -> bool {
    origin(url).is_some() && origin(url) == origin(actor)
}

/// Checks that `id` is a local community or a local person, as the inbox's Follow and
/// Undo(Follow) require; offline, only that it is not on the actor's own server.
async fn local_followee(
    id: &Url,
    actor: &Url,
    report: &mut Report,
    env: Env<'_>,
) -> Result<(), FederationError> {
    let missing = || {
        core(CoreError::not_found(
            "followee_not_found",
            format!("{id} is neither a community nor a person on this server"),
        ))
    };
    match env.db {
        Some(ctx) => {
            if let Some(c) = remote::community_by_ap_id(ctx, id.as_str()).await?
                && c.local
            {
                report.community = Some(format!("{id} (`{}`, on this server)", c.name));
                return Ok(());
            }
            match remote::person_by_ap_id(ctx, id.as_str()).await? {
                Some(p) if p.local && !p.deleted => {
                    report.notes.push(format!(
                        "The followee is `{}`, a person on this server.",
                        p.name
                    ));
                    Ok(())
                }
                _ => Err(missing()),
            }
        }
        None if same_host(id, actor) => Err(missing()),
        None => {
            report.community = Some(format!(
                "{id} (must be a community or a person on this server)"
            ));
            Ok(())
        }
    }
}

async fn follow(f: Follow, report: &mut Report, env: Env<'_>) -> Result<Verdict, FederationError> {
    local_followee(&f.object, &f.actor, report, env).await?;
    Ok(Verdict::accepted(
        "follow",
        format!(
            "follow of {}: a member at once, or a pending request when the community approves \
             its members; a person accepts at once; answered with Accept",
            f.object
        ),
    ))
}

async fn unfollow(
    u: Undo<FollowRef>,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Verdict, FederationError> {
    let followee = match (&u.object, env.db) {
        (FollowRef::Embedded(f), _) => {
            verify_urls_match(&u.actor, &f.actor).map_err(|_| {
                core(CoreError::invalid(
                    "undo_not_own",
                    "Only the follower may undo a Follow.",
                ))
            })?;
            f.object.clone()
        }
        (FollowRef::Id(_), Some(ctx)) => crate::inbox::undone_followee(ctx, &u).await?,
        (FollowRef::Id(id), None) => {
            report.notes.push(format!(
                "The Follow is named by id only; the inbox looks {id} up among the follows it \
                 received."
            ));
            return Ok(Verdict::accepted(
                "unfollow",
                format!("unfollow by the Follow {id}"),
            ));
        }
    };
    local_followee(&followee, &u.actor, report, env).await?;
    Ok(Verdict::accepted(
        "unfollow",
        format!("unfollow of {followee}"),
    ))
}

async fn answer(
    a: FollowAnswer,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Verdict, FederationError> {
    let not_followee = || {
        core(CoreError::invalid(
            "answer_not_from_followee",
            "Only the followed community may answer a Follow.",
        ))
    };
    if let FollowRef::Embedded(f) = &a.object {
        verify_urls_match(&a.actor, &f.object).map_err(|_| not_followee())?;
    }
    report.community = Some(a.actor.to_string());
    let follow_id = a.object.id().to_string();
    if let Some(ctx) = env.db {
        let id = follow_id.clone();
        let member = ctx
            .db()
            .run(move |conn| MemberRow::by_follow_activity(conn, &id))
            .await
            .map_err(|e| core(e.into()))?;
        let Some(member) = member else {
            return Err(core(CoreError::not_found(
                "unknown_follow",
                "This server sent no Follow with that id.",
            )));
        };
        let community = cairn_core::communities::by_id(ctx, member.community_id).await?;
        if community.ap_id != a.actor.as_str() {
            return Err(not_followee());
        }
    } else {
        report
            .notes
            .push("The Follow must be one this server sent; not checked offline.".into());
    }
    Ok(match a.kind {
        FollowAnswerType::Accept => Verdict::accepted(
            "follow-accepted",
            format!("acceptance of the Follow {follow_id}: the follower becomes a member"),
        ),
        FollowAnswerType::Reject => Verdict::accepted(
            "follow-rejected",
            format!("refusal of the Follow {follow_id}: the pending membership ends"),
        ),
    })
}

/// The community an activity lands in, as far as it is known.
struct Landing {
    /// Its name, for titles made from a Note; guessed from its URL offline.
    name: String,
    /// Whether it came inside the community's Announce rather than directly.
    relayed: bool,
}

async fn announce(
    a: InboundAnnounce,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Verdict, FederationError> {
    let mut name = name_from_url(a.actor.as_str());
    match env.db {
        Some(ctx) => match remote::community_by_ap_id(ctx, a.actor.as_str()).await? {
            Some(c) if c.local => {
                return Err(core(CoreError::invalid(
                    "own_announce",
                    "This server's communities announce nothing to it.",
                )));
            }
            Some(c) => {
                report.community = Some(format!("{} (`{}`, known here)", a.actor, c.name));
                name = c.name;
            }
            None => {
                report.community = Some(format!(
                    "{} (not known here yet: the inbox fetches it, and it must be a Group)",
                    a.actor
                ));
            }
        },
        None => {
            report.community = Some(format!(
                "{} (the announcing community; the inbox fetches it, and it must be a Group)",
                a.actor
            ));
        }
    }
    let Some(inner) = a.announced(a.actor.as_str())? else {
        let inner_type = super::type_name(&a.object).unwrap_or("unknown");
        let why = if a.object.get("actor").is_none() {
            format!(
                "nothing: an Announce of a bare `{inner_type}` (a boost for microblogs); the \
                 Announce of the activity that goes with it carries the content"
            )
        } else if let Err(e) = serde_json::from_value::<Announcable>(a.object.clone())
            && ANNOUNCABLE.contains(&inner_type)
        {
            format!(
                "nothing: the announced {inner_type} does not parse ({e}), and the inbox ignores it"
            )
        } else {
            format!(
                "nothing: the announced `{inner_type}` is not an activity Cairn applies, and the \
                 inbox accepts and ignores it"
            )
        };
        return Ok(Verdict::accepted("ignored", why));
    };
    report.actor = Some(format!("{} (announced by {})", inner.actor, a.actor));
    if let Some(target) = inner.updated_actor() {
        return actor_update(&inner, target, Some(&a.actor), report, env).await;
    }
    report.notes.push(
        "Inside its community's Announce, the activity is trusted as the community relays it."
            .into(),
    );
    let landing = Landing {
        name,
        relayed: true,
    };
    effect(&inner, &landing, report, env).await
}

/// A content activity delivered on its own: it lands in a community of this server, or it is
/// one that a community on another server relays inside its Announce.
pub(super) async fn direct(
    a: &Announcable,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Verdict, FederationError> {
    if let Some(target) = a.updated_actor() {
        return actor_update(a, target, None, report, env).await;
    }
    let landing = match land(a, report, env).await {
        // As the inbox does: someone followed here writes to their followers, not to a
        // community, and that is acknowledged and not stored.
        Err(FederationError::Core(e)) if e.code() == "no_community" => match env.db {
            Some(ctx) if cairn_core::people::is_followed_here(ctx, a.actor.as_str()).await? => {
                return Ok(Verdict::accepted(
                    "ignored",
                    format!(
                        "nothing: {} is followed by someone here, and Cairn keeps no personal \
                         timeline",
                        a.actor
                    ),
                ));
            }
            _ => return Err(FederationError::Core(e)),
        },
        other => other?,
    };
    effect(a, &landing, report, env).await
}

/// An Update of a person or community, with the rules of `inbound::apply_actor_update`: the
/// actor is fetched again from its server, so only who may ask for that matters.
async fn actor_update(
    a: &Announcable,
    target: Url,
    announced_by: Option<&Url>,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Verdict, FederationError> {
    let is_group = a.object().ok().and_then(super::type_name) == Some("Group");
    let allowed = if is_group {
        announced_by == Some(&target) || same_host(&target, &a.actor)
    } else {
        a.actor == target
    };
    if !allowed {
        let message = if is_group {
            "A community is updated only by itself, its server or its own Announce."
        } else {
            "A person's profile is updated only by that person."
        };
        return Err(core(CoreError::invalid("foreign_update", message)));
    }
    if let Some(ctx) = env.db {
        let stored = if is_group {
            remote::community_by_ap_id(ctx, target.as_str())
                .await?
                .map(|c| c.local)
        } else {
            remote::person_by_ap_id(ctx, target.as_str())
                .await?
                .map(|p| p.local)
        };
        match stored {
            Some(true) => {
                return Err(core(CoreError::invalid(
                    "not_yours",
                    "Only this server updates its own communities and people.",
                )));
            }
            None => {
                return Ok(Verdict::accepted(
                    "ignored",
                    format!("nothing: {target} is not stored here"),
                ));
            }
            Some(false) => {}
        }
    }
    report.notes.push(
        "The embedded copy is not used: the actor is fetched again from its own server.".into(),
    );
    Ok(Verdict::accepted(
        "actor-update",
        format!("a refresh of {target}"),
    ))
}

/// The addressees that could be the community: not the public collection, not the actor
/// itself, not a followers collection.
fn addressees(a: &Announcable) -> (Vec<Url>, Option<String>) {
    let (candidates, audience) = landing_candidates(a);
    let mut possible: Vec<Url> = vec![];
    for url in candidates {
        if url.as_str() != PUBLIC
            && url != a.actor
            && !url.path().ends_with("/followers")
            && !possible.contains(&url)
        {
            possible.push(url);
        }
    }
    (possible, audience)
}

fn no_community() -> FederationError {
    core(CoreError::not_found(
        "no_community",
        "The activity addresses no community on this server.",
    ))
}

/// Where a content activity lands. Delivered directly it must address a community of this
/// server (`inbound::landing`); one in a community on another server reaches this server
/// inside that community's Announce instead, and is described as relayed.
async fn land(
    a: &Announcable,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Landing, FederationError> {
    let (possible, audience) = addressees(a);
    let Some(ctx) = env.db else {
        return offline_landing(a, &possible, audience.as_deref(), report);
    };
    let error = match inbound::landing(ctx, a, None).await {
        Ok(c) => {
            report.community = Some(format!("{} (`{}`, on this server)", c.ap_id, c.name));
            return Ok(Landing {
                name: c.name,
                relayed: false,
            });
        }
        Err(FederationError::Core(e)) if e.code() == "no_community" => FederationError::Core(e),
        Err(e) => return Err(e),
    };
    for url in &possible {
        if let Some(c) = remote::community_by_ap_id(ctx, url.as_str()).await?
            && !c.local
        {
            report.community = Some(format!(
                "{url} (`{}`, a community on another server known here: this arrives inside \
                 its Announce)",
                c.name
            ));
            return Ok(Landing {
                name: c.name,
                relayed: true,
            });
        }
    }
    if !possible.is_empty() {
        let all: Vec<&str> = possible.iter().map(Url::as_str).collect();
        report.notes.push(format!(
            "It addresses {}; none is a community known here.",
            all.join(", ")
        ));
    }
    Err(error)
}

/// Where an activity could land when nothing can be looked up: the `audience` when it is one
/// of the addressees, else the first addressee.
fn offline_landing(
    a: &Announcable,
    possible: &[Url],
    audience: Option<&str>,
    report: &mut Report,
) -> Result<Landing, FederationError> {
    let Some(first) = possible.first() else {
        // The inbox's last resort: the community of the post or comment the activity is
        // about, which the actor itself never is.
        return match subject(a).filter(|s| *s != a.actor) {
            Some(subject) => {
                report.community = Some(format!(
                    "that of {subject} (it addresses no community, so it lands where that post \
                     or comment is, when that is a community on this server; not checked \
                     offline)"
                ));
                Ok(Landing {
                    name: String::new(),
                    relayed: false,
                })
            }
            None => Err(no_community()),
        };
    };
    let chosen = audience
        .and_then(|aud| possible.iter().find(|u| u.as_str() == aud))
        .unwrap_or(first);
    // A community on the sender's own server is not one of ours (the inbox refuses activities
    // from this server), so the activity reaches this server inside that community's Announce.
    let relayed = same_host(chosen, &a.actor);
    let how = if relayed {
        "on the sender's server, so this arrives inside that community's Announce"
    } else {
        "a community on this server, or on another server whose Announce brings this"
    };
    report.community = Some(format!("{chosen} ({how}; not checked offline)"));
    let others: Vec<&str> = possible
        .iter()
        .filter(|u| *u != chosen)
        .map(Url::as_str)
        .collect();
    if !others.is_empty() {
        report.notes.push(format!(
            "It also addresses {}; it lands in the first addressee that is a community here.",
            others.join(", ")
        ));
    }
    if let Some(aud) = audience
        && !relayed
    {
        report.notes.push(format!(
            "Delivered directly, it must land in its audience {aud}, or the inbox answers \
             audience_mismatch."
        ));
    }
    Ok(Landing {
        name: name_from_url(chosen.as_str()),
        relayed,
    })
}

/// Whether the post or comment `id` is known here: `None` offline.
async fn known(id: &Url, env: Env<'_>) -> Result<Option<bool>, FederationError> {
    match env.db {
        Some(ctx) => Ok(Some(reply_target(ctx, id.as_str()).await?.is_some())),
        None => Ok(None),
    }
}

/// What a content activity does once it has landed, with the checks `inbound::apply` and the
/// domain layer make, in their order.
async fn effect(
    a: &Announcable,
    landing: &Landing,
    report: &mut Report,
    env: Env<'_>,
) -> Result<Verdict, FederationError> {
    let edit = a.kind == AnnouncableType::Update;
    match a.kind {
        AnnouncableType::Create | AnnouncableType::Update => {
            if let Some(kind) = a.object().ok().and_then(super::type_name)
                && super::document::is_actor_type(kind)
            {
                report.notes.push(format!(
                    "A `{kind}` is not a post or comment: Cairn takes changes to communities and \
                     people from fetching their actor documents again, not from activities."
                ));
            }
            let obj = created_object(a)?;
            if let Some(note) = created_comment(&a.actor, &obj)? {
                let body = RemoteBody {
                    markdown: note.source.map(|s| s.content),
                    html: Some(note.content),
                };
                if body.render().1.is_none() {
                    return Err(core(CoreError::invalid(
                        "empty_comment",
                        "A comment needs content.",
                    )));
                }
                if known(&note.in_reply_to, env).await? == Some(false) {
                    return Err(core(CoreError::not_found(
                        "unknown_parent",
                        "The post or comment replied to is unknown here.",
                    )));
                }
                if env.db.is_none() {
                    report.notes.push(format!(
                        "The post or comment replied to, {}, must be known here; not checked \
                         offline.",
                        note.in_reply_to
                    ));
                }
                let what = format!("comment on {}", note.in_reply_to);
                return Ok(if edit {
                    Verdict::accepted("comment-edit", format!("edit of the {what}"))
                } else {
                    Verdict::accepted("comment", what)
                });
            }
            let page = created_post(&a.actor, obj)?;
            let title = cairn_core::inbound::title(&post_title(&page, &landing.name))?;
            let mut what = format!("post {title:?}");
            if let Some(link) = page
                .attachment
                .first()
                .and_then(|att| att.href.as_ref().or(att.url.as_ref()))
            {
                what.push_str(&format!(" linking to {link}"));
            }
            if !landing.relayed {
                report.notes.push(
                    "The author must be allowed to post in the community (not banned, not \
                     restricted to moderators); checked on arrival."
                        .into(),
                );
            }
            Ok(if edit {
                Verdict::accepted(
                    "post-edit",
                    format!("edit of the {what} (a new post if it is unknown here)"),
                )
            } else {
                Verdict::accepted("post", what)
            })
        }
        AnnouncableType::Like | AnnouncableType::Dislike => {
            let target = a.object_id()?;
            vote_target_known(&target, env).await?;
            Ok(if a.kind == AnnouncableType::Like {
                Verdict::accepted("upvote", format!("upvote of {target}"))
            } else {
                Verdict::accepted("downvote", format!("downvote of {target}"))
            })
        }
        AnnouncableType::Undo => {
            let target = undone_vote(a)?;
            vote_target_known(&target, env).await?;
            Ok(Verdict::accepted(
                "vote-withdrawn",
                format!("withdrawal of the vote on {target}"),
            ))
        }
        AnnouncableType::Delete => {
            let target = a.object_id()?;
            if a.rest.contains_key("summary") {
                report.notes.push(
                    "It has a `summary`: Lemmy's removal by a moderator. Cairn decides between \
                     deletion and removal by who sends it."
                        .into(),
                );
            }
            Ok(match known(&target, env).await? {
                Some(false) => Verdict::accepted(
                    "delete",
                    format!("nothing: {target} is not a post or comment known here"),
                ),
                _ => Verdict::accepted(
                    "delete",
                    format!("deletion of {target} (by its author, or removal by a moderator)"),
                ),
            })
        }
    }
}

/// Votes need their post or comment to be known here.
async fn vote_target_known(target: &Url, env: Env<'_>) -> Result<(), FederationError> {
    if known(target, env).await? == Some(false) {
        return Err(core(CoreError::not_found(
            "unknown_object",
            "The voted object is unknown here.",
        )));
    }
    Ok(())
}
