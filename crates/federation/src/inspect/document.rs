//! Documents that are fetched rather than delivered: objects (what a Create carrying them would
//! make), actors (what Cairn stores of a community or person) and collections.

use cairn_core::remote;
use serde_json::Value;
use url::Url;

use super::{Env, Report, Verdict, type_line};
use crate::protocol::actors::{Group, Instance, Person, PersonType};
use crate::protocol::collections::{Collection, OrderedCollection};
use crate::protocol::objects::Tombstone;

/// Actor types Cairn reads: Group as a community, the others as people (bots included).
const ACTORS: &[&str] = &["Group", "Person", "Service", "Organization", "Application"];

const COLLECTIONS: &[&str] = &[
    "Collection",
    "OrderedCollection",
    "CollectionPage",
    "OrderedCollectionPage",
];

/// Activity types of ActivityStreams and of the software Cairn meets. `Question` is missing on
/// purpose: polls arrive as Question objects.
const ACTIVITIES: &[&str] = &[
    "Accept",
    "Add",
    "Announce",
    "Arrive",
    "Block",
    "Create",
    "Delete",
    "Dislike",
    "EmojiReact",
    "Flag",
    "Follow",
    "Ignore",
    "Invite",
    "Join",
    "Leave",
    "Like",
    "Listen",
    "Lock",
    "Move",
    "Offer",
    "Read",
    "Reject",
    "Remove",
    "Resolve",
    "TentativeAccept",
    "TentativeReject",
    "Travel",
    "Undo",
    "Update",
    "View",
    "Warn",
];

/// The kinds of document, told apart by type and, for types Cairn does not know, by shape.
pub(super) enum Family {
    Actor,
    Collection,
    Activity,
    Object,
}

/// Which kind of document this is.
pub(super) fn family(kind: &str, value: &Value) -> Family {
    if ACTORS.contains(&kind) {
        Family::Actor
    } else if COLLECTIONS.contains(&kind) {
        Family::Collection
    } else if ACTIVITIES.contains(&kind) {
        Family::Activity
    } else if value.get("inbox").is_some() && value.get("publicKey").is_some() {
        Family::Actor
    } else if value.get("actor").is_some() && value.get("object").is_some() {
        Family::Activity
    } else {
        Family::Object
    }
}

/// The checks made on an actor document fetched from `id` (`ApubCommunity::verify` and
/// `ApubPerson::verify`): its inbox is on its server and its key is its own.
fn verify_actor(kind: &str, id: &Url, inbox: &Url, key_owner: &Url) -> Result<(), String> {
    if inbox.domain() != id.domain() {
        return Err(format!(
            "The {kind}'s inbox {inbox} is not on its own server."
        ));
    }
    if key_owner != id {
        return Err(format!(
            "The {kind}'s key belongs to another actor ({key_owner})."
        ));
    }
    Ok(())
}

/// Describes an actor: what Cairn would store of it, or why it cannot.
pub(super) fn actor(kind: &str, value: &Value, report: &mut Report) -> Verdict {
    let invalid = |e: &dyn std::fmt::Display| {
        Verdict::rejected("invalid_actor", format!("The {kind} does not parse: {e}."))
    };
    let handle = |name: &str| remote::name(name).map_err(|e| Verdict::from_error(&e.into()));
    match kind {
        "Group" => {
            let g: Group = match serde_json::from_value(value.clone()) {
                Ok(g) => g,
                Err(e) => return invalid(&e),
            };
            if let Err(why) = verify_actor(kind, &g.id, &g.inbox, &g.public_key.owner) {
                return Verdict::rejected("invalid_actor", why);
            }
            let name = match handle(&g.preferred_username) {
                Ok(n) => n,
                Err(v) => return v,
            };
            let host = g.id.host_str().unwrap_or_default();
            let mut what = format!("community !{name}@{host}");
            if let Some(title) = g.name.as_deref().filter(|t| !t.trim().is_empty()) {
                what.push_str(&format!(" ({title:?})"));
            }
            what.push_str(", which people here can follow and post to");
            if g.manually_approves_followers == Some(true) {
                what.push_str("; its moderators approve new followers");
            }
            if g.posting_restricted_to_mods == Some(true) {
                report
                    .notes
                    .push("Only its moderators may post in it.".into());
            }
            report.notes.push(format!(
                "Activities go to {}.",
                g.endpoints.as_ref().map_or(&g.inbox, |e| &e.shared_inbox)
            ));
            Verdict::accepted("community-actor", what)
        }
        "Person" | "Service" | "Organization" => {
            let p: Person = match serde_json::from_value(value.clone()) {
                Ok(p) => p,
                Err(e) => return invalid(&e),
            };
            if let Err(why) = verify_actor(kind, &p.id, &p.inbox, &p.public_key.owner) {
                return Verdict::rejected("invalid_actor", why);
            }
            let name = match handle(&p.preferred_username) {
                Ok(n) => n,
                Err(v) => return v,
            };
            let host = p.id.host_str().unwrap_or_default();
            let mut what = format!("person @{name}@{host}");
            if let Some(shown) = p.name.as_deref().filter(|t| !t.trim().is_empty()) {
                what.push_str(&format!(" ({shown:?})"));
            }
            if p.kind == PersonType::Service {
                what.push_str(", a bot");
            }
            what.push_str(", who can follow communities here, post, comment and vote");
            Verdict::accepted("person-actor", what)
        }
        "Application" => {
            let i: Instance = match serde_json::from_value(value.clone()) {
                Ok(i) => i,
                Err(e) => return invalid(&e),
            };
            let host = i.id.host_str().unwrap_or_default();
            Verdict::accepted(
                "instance-actor",
                format!("the instance actor of {host}, which signs that server's requests"),
            )
        }
        "Feed" => Verdict::rejected(
            "unsupported_actor",
            "A `Feed` (PieFed's feed of several communities) is not a community: Cairn cannot \
             follow it; follow its communities one by one.",
        ),
        other => Verdict::rejected(
            "unsupported_actor",
            format!(
                "`{other}` actors are not something Cairn follows or hears from; it knows Group \
                 (communities), Person, Service, Organization and Application."
            ),
        ),
    }
}

/// Describes a collection: how many items of which types.
pub(super) fn collection(kind: &str, value: &Value, report: &mut Report) -> Verdict {
    // The wire types read the collections Cairn exchanges; pages are described from the JSON.
    let parsed = match kind {
        "OrderedCollection" => serde_json::from_value::<OrderedCollection<Value>>(value.clone())
            .map(|c| (c.total_items, c.ordered_items)),
        "Collection" => {
            serde_json::from_value::<Collection>(value.clone()).map(|c| (c.total_items, c.items))
        }
        _ => Ok((
            value.get("totalItems").and_then(Value::as_i64),
            ["orderedItems", "items"]
                .iter()
                .find_map(|k| value.get(*k).and_then(Value::as_array).cloned())
                .unwrap_or_default(),
        )),
    };
    let (total, items) = match parsed {
        Ok(found) => found,
        Err(e) => {
            return Verdict::rejected(
                "invalid_collection",
                format!("The {kind} does not parse: {e}."),
            );
        }
    };
    // Count the items by type, in order of first appearance.
    let mut counts: Vec<(String, usize)> = vec![];
    for item in &items {
        let t = if item.is_string() {
            "link".to_owned()
        } else {
            type_line(item, 0)
        };
        match counts.iter_mut().find(|(k, _)| *k == t) {
            Some((_, n)) => *n += 1,
            None => counts.push((t, 1)),
        }
    }
    let mut what = format!("{kind} of {} item(s) here", items.len());
    if let Some(t) = total {
        what.push_str(&format!(", {t} in all"));
    }
    if !counts.is_empty() {
        let listed: Vec<String> = counts.iter().map(|(k, n)| format!("{n} × {k}")).collect();
        what.push_str(&format!(": {}", listed.join(", ")));
    }
    if items.len() > 1 {
        report
            .notes
            .push("Inspect an item's URL or JSON on its own to see what it becomes.".into());
    }
    Verdict::accepted("collection", what)
}

/// What an object becomes when its author's Create brings it: the activity Cairn would
/// receive is built around it and classified like a delivered one.
pub(super) async fn object(
    kind: &str,
    value: &Value,
    report: &mut Report,
    env: Env<'_>,
) -> Verdict {
    report.notes.push(
        "An object, not an activity: this is what it becomes when its author's Create (or a \
         community's Announce of it) brings it."
            .into(),
    );
    if kind == "Tombstone" {
        return match serde_json::from_value::<Tombstone>(value.clone()) {
            Ok(t) => Verdict::accepted(
                "tombstone",
                format!(
                    "nothing: {} was deleted (a Delete carrying it removes it)",
                    t.id
                ),
            ),
            Err(e) => Verdict::rejected(
                "invalid_object",
                format!("The Tombstone does not parse: {e}."),
            ),
        };
    }
    let Some(id) = value
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| Url::parse(s).ok())
    else {
        return Verdict::rejected("invalid_object", "The object has no usable id.");
    };
    // The author sends the Create. PeerTube lists the channel (a Group) next to the person.
    let authors = match value.get("attributedTo") {
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => vec![],
    };
    let author = authors
        .iter()
        .filter(|a| a.get("type").and_then(Value::as_str) != Some("Group"))
        .chain(authors.iter())
        .find_map(|a| match a {
            Value::String(s) => Url::parse(s).ok(),
            other => other
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Url::parse(s).ok()),
        });
    report.actor = author.as_ref().map(Url::to_string);
    // Without an author the activity's actor is the object itself, which no object is
    // attributed to: the author check then refuses it, as it would any such Create.
    let create = serde_json::json!({
        "id": id.as_str(),
        "type": "Create",
        "actor": author.unwrap_or(id.clone()).as_str(),
        "object": value,
    });
    super::activity::classify(&create, report, env).await
}
