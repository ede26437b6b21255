//! Golden tests of the ActivityPub wire types.
//!
//! First, real documents from Lemmy and other group software (tests/fixtures/activitypub) parse
//! into Cairn's wire types, or are rejected with a specific error where they are not that kind
//! of object. Second, the documents a running Cairn instance serves parse with the same types,
//! survive a parse-and-serialise round trip unchanged, and carry every key Lemmy requires that
//! Lemmy's own documents carry (docs/federation.md sections 1.1 to 1.7).

use cairn_federation::protocol::actors::{Group, Instance, Person, PersonType};
use cairn_federation::protocol::collections::{
    Announce, Collection, CreateOrUpdate, CreateOrUpdateType, OrderedCollection,
};
use cairn_federation::protocol::objects::{Note, NoteType, Page, PageType, Tombstone};
use cairn_tests::{Backend, TestInstance, backend_tests, fixtures_dir};
use serde_json::{Value, json};

/// The ActivityStreams context.
const AS: &str = "https://www.w3.org/ns/activitystreams";

/// The text of a fixture file, by its path under tests/fixtures/activitypub.
fn fixture_text(path: &str) -> String {
    std::fs::read_to_string(fixtures_dir().join(path))
        .unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

/// A fixture as untyped JSON.
fn fixture(path: &str) -> Value {
    serde_json::from_str(&fixture_text(path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Parses a fixture with the wire type the binding asks for, failing the test with the reason
/// when it does not parse. A macro because the tests crate does not depend on serde itself.
macro_rules! parse {
    ($path:expr) => {{
        let path: &str = $path;
        match serde_json::from_str(&fixture_text(path)) {
            Ok(parsed) => parsed,
            Err(e) => panic!("{path} does not parse: {e}"),
        }
    }};
}

/// The wire types a fixture can be tried with.
#[derive(Debug, Clone, Copy)]
enum Wire {
    Group,
    Person,
    Page,
    Note,
}

/// Parses `text` as the given wire type, keeping only the error message.
fn try_parse(wire: Wire, text: &str) -> Result<(), String> {
    let outcome = match wire {
        Wire::Group => serde_json::from_str::<Group>(text).map(drop),
        Wire::Person => serde_json::from_str::<Person>(text).map(drop),
        Wire::Page => serde_json::from_str::<Page>(text).map(drop),
        Wire::Note => serde_json::from_str::<Note>(text).map(drop),
    };
    outcome.map_err(|e| e.to_string())
}

/// What each fixture must do with each wire type: `None` means it parses, `Some(reason)` means
/// it is rejected with an error that contains `reason`.
const EXPECTATIONS: &[(&str, Wire, Option<&str>)] = &[
    // Lemmy's own objects parse as their own type only.
    ("lemmy/objects/group.json", Wire::Group, None),
    (
        "lemmy/objects/group.json",
        Wire::Person,
        Some("unknown variant `Group`"),
    ),
    (
        "lemmy/objects/group.json",
        Wire::Page,
        Some("unknown variant `Group`"),
    ),
    ("lemmy/objects/person.json", Wire::Person, None),
    (
        "lemmy/objects/person.json",
        Wire::Group,
        Some("unknown variant `Person`"),
    ),
    (
        "lemmy/objects/person.json",
        Wire::Note,
        Some("unknown variant `Person`"),
    ),
    ("lemmy/objects/page.json", Wire::Page, None),
    (
        "lemmy/objects/page.json",
        Wire::Group,
        Some("unknown variant `Page`"),
    ),
    // A post is not a comment: it replies to nothing.
    (
        "lemmy/objects/page.json",
        Wire::Note,
        Some("missing field `inReplyTo`"),
    ),
    ("lemmy/objects/page_image_and_link.json", Wire::Page, None),
    (
        "lemmy/objects/page_image_and_link.json",
        Wire::Note,
        Some("missing field `inReplyTo`"),
    ),
    ("lemmy/objects/comment.json", Wire::Note, None),
    (
        "lemmy/objects/comment.json",
        Wire::Group,
        Some("unknown variant `Note`"),
    ),
    // A private message is a Note without inReplyTo, so never a comment.
    (
        "lemmy/objects/private_message.json",
        Wire::Note,
        Some("missing field `inReplyTo`"),
    ),
    // PieFed: a community and a post parse; a Feed (multi-community) is not a Group.
    ("piefed/objects/group.json", Wire::Group, None),
    (
        "piefed/objects/group.json",
        Wire::Person,
        Some("unknown variant `Group`"),
    ),
    ("piefed/objects/page.json", Wire::Page, None),
    (
        "piefed/objects/page.json",
        Wire::Note,
        Some("missing field `inReplyTo`"),
    ),
    (
        "piefed/objects/feed.json",
        Wire::Group,
        Some("unknown variant `Feed`"),
    ),
    (
        "piefed/objects/feed.json",
        Wire::Person,
        Some("unknown variant `Feed`"),
    ),
    // NodeBB: a category is a Group, a topic an Article with `inReplyTo: null`.
    ("nodebb/objects/group.json", Wire::Group, None),
    ("nodebb/objects/person.json", Wire::Person, None),
    (
        "nodebb/objects/person.json",
        Wire::Group,
        Some("unknown variant `Person`"),
    ),
    ("nodebb/objects/page.json", Wire::Page, None),
    (
        "nodebb/objects/page.json",
        Wire::Group,
        Some("unknown variant `Article`"),
    ),
    (
        "nodebb/objects/page.json",
        Wire::Note,
        Some("invalid type: null"),
    ),
    // Discourse: the topic is a Note without inReplyTo, hence a post.
    ("discourse/objects/group.json", Wire::Group, None),
    ("discourse/objects/person.json", Wire::Person, None),
    (
        "discourse/objects/person.json",
        Wire::Group,
        Some("unknown variant `Person`"),
    ),
    ("discourse/objects/page.json", Wire::Page, None),
    (
        "discourse/objects/page.json",
        Wire::Note,
        Some("missing field `inReplyTo`"),
    ),
    // Mobilizon: groups, people and events (which Lemmy turns into posts).
    ("mobilizon/objects/group.json", Wire::Group, None),
    (
        "mobilizon/objects/group.json",
        Wire::Person,
        Some("unknown variant `Group`"),
    ),
    ("mobilizon/objects/person.json", Wire::Person, None),
    (
        "mobilizon/objects/person.json",
        Wire::Group,
        Some("unknown variant `Person`"),
    ),
    ("mobilizon/objects/event.json", Wire::Page, None),
    (
        "mobilizon/objects/event.json",
        Wire::Note,
        Some("unknown variant `Event`"),
    ),
    // Mastodon: a toot is a comment only when it replies to something.
    ("mastodon/objects/person.json", Wire::Person, None),
    (
        "mastodon/objects/person.json",
        Wire::Group,
        Some("unknown variant `Person`"),
    ),
    ("mastodon/objects/page.json", Wire::Page, None),
    (
        "mastodon/objects/page.json",
        Wire::Note,
        Some("invalid type: null"),
    ),
    ("mastodon/objects/note_1.json", Wire::Note, None),
    ("mastodon/objects/note_2.json", Wire::Note, None),
    (
        "mastodon/objects/note_1.json",
        Wire::Group,
        Some("unknown variant `Note`"),
    ),
];

#[test]
fn fixtures_parse_or_are_rejected_for_a_reason() {
    let mut failures = vec![];
    for (path, wire, expected) in EXPECTATIONS {
        let outcome = try_parse(*wire, &fixture_text(path));
        match (expected, outcome) {
            (None, Ok(())) => {}
            (Some(reason), Err(e)) if e.contains(reason) => {}
            (None, Err(e)) => failures.push(format!("{path} as {wire:?}: rejected: {e}")),
            (Some(reason), Ok(())) => failures.push(format!(
                "{path} as {wire:?}: parsed, but should be rejected with `{reason}`"
            )),
            (Some(reason), Err(e)) => failures.push(format!(
                "{path} as {wire:?}: rejected with `{e}`, expected `{reason}`"
            )),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn lemmy_actors_parse_with_their_values() {
    let g: Group = parse!("lemmy/objects/group.json");
    assert_eq!(g.id.as_str(), "https://enterprise.lemmy.ml/c/tenforward");
    assert_eq!(g.preferred_username, "tenforward");
    assert_eq!(g.name.as_deref(), Some("Ten Forward"));
    assert_eq!(
        g.attributed_to.as_ref().map(|u| u.as_str()),
        Some("https://enterprise.lemmy.ml/c/tenforward/moderators")
    );
    assert_eq!(
        g.endpoints.as_ref().map(|e| e.shared_inbox.as_str()),
        Some("https://enterprise.lemmy.ml/inbox")
    );
    assert_eq!(g.public_key.owner, g.id);
    assert_eq!(g.language.len(), 2);
    assert!(g.icon.is_some() && g.image.is_some() && g.published.is_some());
    assert_eq!(g.posting_restricted_to_mods, Some(false));

    let p: Person = parse!("lemmy/objects/person.json");
    assert_eq!(p.kind, PersonType::Person);
    assert_eq!(p.preferred_username, "picard");
    assert_eq!(
        p.outbox.as_ref().map(|u| u.as_str()),
        Some("https://enterprise.lemmy.ml/u/picard/outbox")
    );
    assert!(p.source.is_some() && p.icon.is_some());

    let i: Instance = parse!("lemmy/objects/instance.json");
    assert_eq!(i.id.as_str(), "https://enterprise.lemmy.ml/");
    assert_eq!(i.preferred_username.as_deref(), Some("enterprise.lemmy.ml"));
    assert_eq!(i.inbox.as_str(), "https://enterprise.lemmy.ml/inbox");
    // Mbin's instance actor has no `published` or `endpoints`, and parses too.
    let mbin: Instance = parse!("mbin/objects/instance.json");
    assert_eq!(mbin.id.as_str(), "https://fedia.io/i/actor");

    // Other software's actors lack Lemmy's extras; the optional fields are simply absent.
    let nodebb: Group = parse!("nodebb/objects/group.json");
    assert!(nodebb.featured.is_none() && nodebb.attributed_to.is_none());
    let mobilizon: Group = parse!("mobilizon/objects/group.json");
    assert_eq!(
        mobilizon.endpoints.map(|e| e.shared_inbox.to_string()),
        Some("https://mobilizon.fr/inbox".to_owned())
    );
    let piefed: Group = parse!("piefed/objects/group.json");
    assert!(
        piefed.attributed_to.is_some(),
        "PieFed names its moderators"
    );
}

#[test]
fn lemmy_objects_parse_with_their_values() {
    let page: Page = parse!("lemmy/objects/page.json");
    assert_eq!(page.kind, PageType::Page);
    assert_eq!(page.name.as_deref(), Some("Post title"));
    assert_eq!(
        page.attributed_to[0].0.as_str(),
        "https://enterprise.lemmy.ml/u/picard"
    );
    let to: Vec<&str> = page.to.iter().map(|u| u.as_str()).collect();
    assert!(to.contains(&"https://enterprise.lemmy.ml/c/tenforward"));
    assert!(page.in_reply_to.is_none());
    assert_eq!(
        page.attachment[0].href.as_ref().map(|u| u.as_str()),
        Some("https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png")
    );
    // The community tag (no href) and the Mention are both kept.
    assert_eq!(page.tag.len(), 2);
    assert!(page.tag.iter().any(|t| t.kind == "Mention"));

    let both: Page = parse!("lemmy/objects/page_image_and_link.json");
    let kinds: Vec<&str> = both.attachment.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["Image", "Link"]);
    assert!(both.attachment[0].url.is_some() && both.attachment[1].href.is_some());

    let note: Note = parse!("lemmy/objects/comment.json");
    assert_eq!(note.kind, NoteType::Note);
    assert_eq!(
        note.in_reply_to.as_str(),
        "https://enterprise.lemmy.ml/post/55143"
    );
    assert_eq!(note.cc[0].as_str(), "https://enterprise.lemmy.ml/u/picard");
    assert_eq!(note.tag.iter().filter(|t| t.kind == "Mention").count(), 2);
    assert_eq!(note.distinguished, Some(false));

    let gone: Tombstone = parse!("lemmy/objects/tombstone.json");
    assert_eq!(gone.id.as_str(), "https://lemmy.ml/comment/110273");
}

#[test]
fn other_posts_parse_as_the_right_kind() {
    // Posts from other software keep their own type, which decides how they are shown.
    let nodebb: Page = parse!("nodebb/objects/page.json");
    assert_eq!(nodebb.kind, PageType::Article);
    assert!(nodebb.in_reply_to.is_none());
    let discourse: Page = parse!("discourse/objects/page.json");
    assert_eq!(discourse.kind, PageType::Note);
    assert!(discourse.to.is_empty(), "the Discourse sample has no `to`");
    let event: Page = parse!("mobilizon/objects/event.json");
    assert_eq!(event.kind, PageType::Event);
    let toot: Page = parse!("mastodon/objects/page.json");
    assert_eq!(toot.kind, PageType::Note);
    assert!(toot.in_reply_to.is_none());

    // A Mastodon reply still reads as a Page, but its `inReplyTo` marks it as a comment, as
    // Lemmy's NoteWrapper decides; as a Note it has its parent.
    let reply: Page = parse!("mastodon/objects/note_1.json");
    assert!(reply.in_reply_to.is_some());
    let note: Note = parse!("mastodon/objects/note_1.json");
    assert_eq!(
        note.in_reply_to.as_str(),
        "https://mamot.fr/users/retiolus/statuses/107224244380204526"
    );
    let kde: Note = parse!("mastodon/objects/note_2.json");
    assert!(kde.tag.iter().any(|t| t.kind == "Mention"));
}

#[test]
fn lemmy_collections_parse() {
    let outbox: OrderedCollection<Announce<CreateOrUpdate<Page>>> =
        parse!("lemmy/collections/group_outbox.json");
    assert_eq!(outbox.total_items, Some(2));
    let names: Vec<Option<&str>> = outbox
        .ordered_items
        .iter()
        .map(|a| a.object.object.name.as_deref())
        .collect();
    assert_eq!(names, [Some("another outbox test"), Some("outbox test")]);
    assert!(
        outbox
            .ordered_items
            .iter()
            .all(|a| a.object.kind == CreateOrUpdateType::Create)
    );

    let featured: OrderedCollection<Page> = parse!("lemmy/collections/group_featured_posts.json");
    assert_eq!(featured.ordered_items.len(), 2);

    let mods: OrderedCollection<Value> = parse!("lemmy/collections/group_moderators.json");
    assert_eq!(
        mods.ordered_items,
        [json!("https://enterprise.lemmy.ml/u/picard")]
    );
    assert_eq!(mods.total_items, None);

    let followers: Collection = parse!("lemmy/collections/group_followers.json");
    assert_eq!(followers.total_items, Some(3));
    assert!(followers.items.is_empty());

    let person_outbox: OrderedCollection<Value> = parse!("lemmy/collections/person_outbox.json");
    assert_eq!(person_outbox.total_items, Some(0));

    // Mastodon's featured collection holds top-level toots: posts, not comments.
    let pinned: OrderedCollection<Page> = parse!("mastodon/collections/featured.json");
    assert_eq!(pinned.ordered_items.len(), 1);
    let err = serde_json::from_str::<OrderedCollection<Note>>(&fixture_text(
        "mastodon/collections/featured.json",
    ))
    .expect_err("a toot without inReplyTo is not a comment");
    assert!(err.to_string().contains("invalid type: null"), "{err}");

    // The wrong collection type is named in the error.
    let err = serde_json::from_str::<Collection>(&fixture_text(
        "lemmy/collections/group_moderators.json",
    ))
    .expect_err("an OrderedCollection is not a Collection");
    assert!(
        err.to_string()
            .contains("unknown variant `OrderedCollection`"),
        "{err}"
    );
}

#[test]
fn create_and_announce_activities_parse() {
    let announce: Announce<CreateOrUpdate<Page>> =
        parse!("lemmy/activities/community/announce_create_page.json");
    assert_eq!(announce.actor.as_str(), "http://enterprise.lemmy.ml/c/main");
    assert_eq!(announce.object.object.name.as_deref(), Some("post 4"));

    let create: CreateOrUpdate<Page> = parse!("lemmy/activities/create_or_update/create_page.json");
    assert_eq!(create.kind, CreateOrUpdateType::Create);
    let update: CreateOrUpdate<Page> = parse!("lemmy/activities/create_or_update/update_page.json");
    assert_eq!(update.kind, CreateOrUpdateType::Update);
    let comment: CreateOrUpdate<Note> =
        parse!("lemmy/activities/create_or_update/create_comment.json");
    assert_eq!(
        comment.object.in_reply_to.as_str(),
        "http://ds9.lemmy.ml/post/1"
    );
    let toot: CreateOrUpdate<Note> = parse!("mastodon/activities/create_note.json");
    assert_eq!(toot.kind, CreateOrUpdateType::Create);

    // Mitra's new thread is a Note without inReplyTo: a post.
    let thread: CreateOrUpdate<Page> = parse!("mitra/activities/create_post.json");
    assert_eq!(thread.object.kind, PageType::Note);
    let err = serde_json::from_str::<CreateOrUpdate<Note>>(&fixture_text(
        "mitra/activities/create_post.json",
    ))
    .expect_err("a thread is not a comment");
    assert!(err.to_string().contains("inReplyTo"), "{err}");
}

/// The keys Lemmy requires on parse, per object kind (docs/federation.md 1.3 to 1.6).
const GROUP_KEYS: &[&str] = &[
    "type",
    "id",
    "preferredUsername",
    "inbox",
    "outbox",
    "publicKey",
];
const PERSON_KEYS: &[&str] = &[
    "type",
    "id",
    "preferredUsername",
    "inbox",
    "outbox",
    "publicKey",
];
const PAGE_KEYS: &[&str] = &["type", "id", "attributedTo", "to", "name"];
const NOTE_KEYS: &[&str] = &["id", "type", "attributedTo", "to", "content", "inReplyTo"];

/// Checks a document Cairn served against the Lemmy fixture of the same kind: its id is `id`,
/// and it carries the ActivityStreams context and every required key the fixture carries.
#[track_caller]
fn check_keys(served: &Value, id: &str, lemmy_fixture: &str, required: &[&str]) {
    let context = served["@context"].as_array().expect("@context is a list");
    assert!(context.contains(&json!(AS)), "{id}: @context {context:?}");
    assert_eq!(served["id"], id);
    let lemmy = fixture(lemmy_fixture);
    for key in required.iter().filter(|k| lemmy.get(**k).is_some()) {
        assert!(
            served.get(*key).is_some_and(|v| !v.is_null()),
            "{id} is served without `{key}`, which Lemmy requires: {served}"
        );
    }
}

/// Parses a served document with the wire type `$ty` and checks that serialising it again
/// gives back the document (without its `@context`) unchanged; evaluates to the parsed value.
macro_rules! round_trip {
    ($ty:ty, $served:expr) => {{
        let served: &Value = $served;
        let parsed: $ty = serde_json::from_value(served.clone()).unwrap_or_else(|e| {
            panic!(
                "served document does not parse as {}: {e}\n{served}",
                stringify!($ty)
            )
        });
        let mut without_context = served.clone();
        without_context
            .as_object_mut()
            .expect("an object")
            .remove("@context");
        let again = serde_json::to_value(&parsed).expect("serialises");
        assert_eq!(
            again,
            without_context,
            "{} does not round-trip",
            stringify!($ty)
        );
        parsed
    }};
}

/// Fetches `path`, checks its keys against the Lemmy fixture and its round trip through `$ty`.
macro_rules! served_as {
    ($ty:ty, $cairn:expr, $path:expr, $fixture:expr, $keys:expr) => {{
        let cairn: &TestInstance = $cairn;
        let path: &str = $path;
        let doc = served(cairn, path).await;
        check_keys(&doc, &cairn.url(path), $fixture, $keys);
        round_trip!($ty, &doc)
    }};
}

/// GETs an ActivityPub document and returns its JSON.
async fn served(cairn: &TestInstance, path: &str) -> Value {
    cairn.get_ap(path).await.expect(200).clone()
}

async fn served_documents_match_the_wire_types(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    cairn
        .patch(
            "/api/v1/me",
            &alice.token,
            json!({"display_name": "Alice", "bio": "Gardener."}),
        )
        .await
        .expect(200);
    cairn
        .post(
            "/api/v1/communities",
            Some(&alice.token),
            json!({"name": "gardening", "title": "Gardening", "description": "All *green* things."}),
        )
        .await
        .expect(201);
    let created = cairn
        .post(
            "/api/v1/posts",
            Some(&alice.token),
            json!({"community": "gardening", "title": "Compost", "body": "Mix **well**.",
                   "url": "https://example.com/compost"}),
        )
        .await;
    let post = created.expect(201)["id"].as_i64().expect("post id");
    let comments = format!("/api/v1/posts/{post}/comments");
    let top = cairn
        .post(&comments, Some(&bob.token), json!({"body": "Leaves!"}))
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("comment id");
    let reply = cairn
        .post(
            &comments,
            Some(&alice.token),
            json!({"body": "Yes.", "parent_id": top}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("comment id");

    let group = served_as!(
        Group,
        &cairn,
        "/c/gardening",
        "lemmy/objects/group.json",
        GROUP_KEYS
    );
    assert_eq!(group.preferred_username, "gardening");
    let person = served_as!(
        Person,
        &cairn,
        "/u/alice",
        "lemmy/objects/person.json",
        PERSON_KEYS
    );
    assert_eq!(person.name.as_deref(), Some("Alice"));
    let path = format!("/post/{post}");
    let page = served_as!(Page, &cairn, &path, "lemmy/objects/page.json", PAGE_KEYS);
    assert_eq!(page.name.as_deref(), Some("Compost"));
    for id in [top, reply] {
        let path = format!("/comment/{id}");
        let note = served_as!(Note, &cairn, &path, "lemmy/objects/comment.json", NOTE_KEYS);
        assert_eq!(note.kind, NoteType::Note);
    }
    let instance_keys = &["type", "id", "inbox", "publicKey"];
    let instance = served_as!(
        Instance,
        &cairn,
        "/",
        "lemmy/objects/instance.json",
        instance_keys
    );
    assert_eq!(instance.preferred_username.as_deref(), Some(&*cairn.domain));

    // The community's collections parse with the collection types Lemmy's collections do.
    let outbox: OrderedCollection<Announce<CreateOrUpdate<Page>>> =
        serde_json::from_value(served(&cairn, "/c/gardening/outbox").await).expect("outbox");
    assert_eq!(outbox.ordered_items.len(), 1);
    assert_eq!(outbox.ordered_items[0].object.object.id, page.id);
    let followers: Collection =
        serde_json::from_value(served(&cairn, "/c/gardening/followers").await).expect("followers");
    assert_eq!(followers.total_items, Some(1));
    let featured: OrderedCollection<Page> =
        serde_json::from_value(served(&cairn, "/c/gardening/featured").await).expect("featured");
    assert!(featured.ordered_items.is_empty());
    let mods: OrderedCollection<Value> =
        serde_json::from_value(served(&cairn, "/c/gardening/moderators").await).expect("mods");
    assert_eq!(mods.ordered_items, [json!(cairn.url("/u/alice"))]);

    // A deleted post is a Tombstone, as Lemmy's tombstone fixture is.
    cairn
        .delete(&format!("/api/v1/posts/{post}"), &alice.token)
        .await
        .expect(204);
    let answer = cairn.get_ap(&format!("/post/{post}")).await;
    assert_eq!(answer.status, 410);
    let gone: Tombstone = serde_json::from_value(answer.body).expect("tombstone");
    assert_eq!(gone.id, page.id);
    assert_eq!(gone.former_type.as_deref(), Some("Page"));
    cairn.stop().await;
}

backend_tests!(served_documents_match_the_wire_types);
