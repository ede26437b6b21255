//! What independent implementations send that Lemmy and Mastodon do not, found by the interop
//! suite against bovine and Fedify and pinned here so that the main suite keeps it working
//! without those peers: the public address compacted inside a list, an Undo that names its
//! Follow by id, an Accept that embeds the follower whole, posts of a followed person that
//! address no community, and RFC 9421 signatures.

use cairn_storage::person_follows::PersonFollowRow;
use cairn_tests::{Backend, backend_tests};
use serde_json::json;

use super::{PUBLIC, posts, setup, still_working};

/// bovine compacts the public address to `as:Public` and puts it in a list with the community,
/// and sends a lone tag and `cc` as bare values rather than lists.
async fn compacted_public_address_in_a_list(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let note = remote.url("/objects/note-1");
    remote.serve(
        "/objects/note-1",
        json!({"id": note, "type": "Note", "attributedTo": tester}),
    );
    let create = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.url("/objects/create-1"), "type": "Create", "actor": tester,
        "to": [community, "as:Public"], "cc": tester,
        "object": {
            "id": note, "type": "Note", "attributedTo": tester,
            "to": [community, "as:Public"], "cc": tester,
            "content": "<p>Who has spare bean seeds?</p>",
            "tag": {"type": "Mention", "href": community, "name": "@gardening"},
        },
    });
    remote.applied(&cairn, "/inbox", &create).await;
    let listed = posts(&cairn).await;
    assert_eq!(listed.len(), 1, "the Note is a post: {listed:?}");
    assert_eq!(listed[0]["title"], "Who has spare bean seeds?");
    still_working(cairn).await;
}

/// bovine undoes a Follow by naming its id only; the follow is found among those received.
async fn undo_of_a_follow_named_by_id(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let follow_id = remote.url("/objects/follow-1");
    let follow = json!({
        "id": follow_id, "type": "Follow", "actor": tester, "object": community,
    });
    remote.applied(&cairn, "/inbox", &follow).await;
    assert!(is_member(&cairn, &tester).await, "the follower is a member");

    // Someone else cannot undo it by naming it.
    let other = remote.actor("/u/other", "Person", "other");
    let forged = json!({
        "id": remote.url("/objects/undo-0"), "type": "Undo", "actor": other,
        "object": follow_id, "to": community,
    });
    remote
        .refused(&cairn, "/inbox", &forged, "undo_not_own")
        .await;

    let undo = json!({
        "id": remote.url("/objects/undo-1"), "type": "Undo", "actor": tester,
        "object": follow_id, "to": community,
    });
    remote.applied(&cairn, "/inbox", &undo).await;
    assert!(!is_member(&cairn, &tester).await, "the follower left");

    // An Undo naming an id that is no Follow received here says so.
    let unknown = json!({
        "id": remote.url("/objects/undo-2"), "type": "Undo", "actor": tester,
        "object": remote.url("/objects/like-9"), "to": community,
    });
    remote
        .ignored(&cairn, "/inbox", &unknown, "unknown_follow")
        .await;
    still_working(cairn).await;
}

/// Fedify's Accept embeds the Follow with its actor as a whole object. Once accepted, the
/// followed person's own posts, addressed to their followers and no community, are
/// acknowledged and not stored.
async fn accept_embedding_the_follower(backend: Backend) {
    let (cairn, remote, _community) = setup(backend).await;
    let tester = remote.tester();
    let bob = cairn.user("bob").await;
    let followed = cairn
        .post(
            "/api/v1/people/follow",
            Some(&bob.token),
            json!({"handle": tester}),
        )
        .await;
    assert_eq!(followed.expect(200)["state"], "pending");

    let follow_id = follow_id_of(&cairn, &tester).await;
    let bob_url = cairn.url("/u/bob");
    let accept = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": remote.url("/accepts/1"), "type": "Accept", "actor": tester,
        "object": {
            "id": follow_id, "type": "Follow", "object": tester,
            "actor": {"id": bob_url, "type": "Person", "preferredUsername": "bob",
                      "inbox": format!("{bob_url}/inbox")},
        },
    });
    remote.applied(&cairn, "/inbox", &accept).await;
    let following = cairn.get("/api/v1/me/following", Some(&bob.token)).await;
    assert_eq!(following.expect(200)[0]["state"], "active");

    let note = remote.url("/notes/1");
    let own_post = json!({
        "id": remote.url("/creates/1"), "type": "Create", "actor": tester,
        "to": [PUBLIC], "cc": [remote.url("/u/tester/followers")],
        "object": {"id": note, "type": "Note", "attributedTo": tester,
                   "to": [PUBLIC], "cc": [remote.url("/u/tester/followers")],
                   "content": "<p>Lunch.</p>"},
    });
    remote
        .ignored(&cairn, "/inbox", &own_post, "followed_person")
        .await;
    assert!(posts(&cairn).await.is_empty(), "nothing is stored");

    // The same from someone nobody here follows concerns nothing here either.
    let other = remote.actor("/u/other", "Person", "other");
    let stray = json!({
        "id": remote.url("/creates/2"), "type": "Create", "actor": other,
        "to": [PUBLIC],
        "object": {"id": remote.url("/notes/2"), "type": "Note", "attributedTo": other,
                   "to": [PUBLIC], "content": "<p>Dinner.</p>"},
    });
    remote
        .ignored(&cairn, "/inbox", &stray, "no_community")
        .await;
    still_working(cairn).await;
}

/// Whether `person` is a member of `gardening`.
async fn is_member(cairn: &cairn_tests::TestInstance, person: &str) -> bool {
    let list = cairn
        .get("/api/v1/communities/gardening/members", None)
        .await;
    list.body
        .as_array()
        .is_some_and(|l| l.iter().any(|m| m["person"]["ap_id"] == person))
}

/// The id of the Follow that Cairn sent to `followee`, read from its database.
async fn follow_id_of(cairn: &cairn_tests::TestInstance, followee: &str) -> String {
    let followee = followee.to_owned();
    cairn
        .ctx()
        .db()
        .run(move |conn| {
            let person = cairn_storage::persons::PersonRow::by_ap_id(conn, &followee)?
                .expect("the followee is stored");
            let bob = cairn_storage::persons::PersonRow::local_by_name(conn, "bob")?.expect("bob");
            Ok::<_, cairn_storage::StorageError>(
                PersonFollowRow::get(conn, bob.id, person.id)?
                    .and_then(|f| f.follow_activity_id)
                    .expect("a Follow was sent"),
            )
        })
        .await
        .expect("database")
}

/// Fedify retries a refused delivery with an RFC 9421 signature, which is not verified here;
/// the refusal names that rather than a missing Digest.
async fn rfc9421_signatures_are_refused_by_name(backend: Backend) {
    let (cairn, _remote, _community) = setup(backend).await;
    let answer = cairn
        .client
        .post(cairn.url("/inbox"))
        .header("content-type", "application/activity+json")
        .header(
            "content-digest",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        )
        .header(
            "signature-input",
            "sig1=(\"@method\" \"@target-uri\");keyid=\"k\"",
        )
        .header("signature", "sig1=:AAAA:")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["error"], "unsupported_signature");
    still_working(cairn).await;
}

backend_tests!(
    compacted_public_address_in_a_list,
    undo_of_a_follow_named_by_id,
    accept_embedding_the_follower,
    rfc9421_signatures_are_refused_by_name,
);
