//! Hostile peers: a Group and Persons on other hosts that the test controls and signs for try
//! to act for this server's people, to put words in other servers' mouths, to squat on local
//! ids and to make the server fetch or store what it should not. Each case asserts the answer
//! (400/401 in the request, or the stored verdict of an activity answered 202) and that nothing
//! else changed in the database.

use cairn_tests::{User, eventually};

use super::*;

/// Everything the inbox could change, as one string: row counts, scores, deletions and the
/// latest edit of posts and comments, memberships and people.
async fn fingerprint(cairn: &TestInstance) -> String {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        f: String,
    }
    const SQL: &str = "SELECT \
        CAST((SELECT COUNT(*) FROM posts) AS TEXT) || '/' || \
        CAST((SELECT COUNT(*) FROM comments) AS TEXT) || '/' || \
        CAST((SELECT COUNT(*) FROM post_votes) AS TEXT) || '/' || \
        CAST((SELECT COUNT(*) FROM comment_votes) AS TEXT) || '/' || \
        CAST((SELECT COALESCE(SUM(score), 0) FROM posts) AS TEXT) || '/' || \
        CAST((SELECT COALESCE(SUM(score), 0) FROM comments) AS TEXT) || '/' || \
        CAST((SELECT COUNT(*) FROM posts WHERE deleted OR removed) AS TEXT) || '/' || \
        CAST((SELECT COUNT(*) FROM comments WHERE deleted OR removed) AS TEXT) || '/' || \
        COALESCE(CAST((SELECT MAX(updated) FROM posts) AS TEXT), '-') || '/' || \
        COALESCE(CAST((SELECT MAX(updated) FROM comments) AS TEXT), '-') || '/' || \
        CAST((SELECT COUNT(*) FROM persons) AS TEXT) || '/' || \
        CAST((SELECT COUNT(*) FROM community_members) AS TEXT) AS f";
    cairn
        .ctx()
        .db()
        .run(|conn| -> Result<String, cairn_storage::StorageError> {
            let row: Row =
                cairn_storage::with_conn!(conn, |c| diesel::sql_query(SQL).get_result(c))?;
            Ok(row.f)
        })
        .await
        .expect("fingerprint")
}

impl Remote {
    /// Serves a Group at `/c/NAME`, moderated by `moderators`, with its WebFinger document;
    /// returns its id.
    fn group(&self, name: &str, moderators: &[&str]) -> String {
        let path = format!("/c/{name}");
        let id = self.actor(&path, "Group", name);
        let mut doc = self.docs.lock().expect("lock")[&path].clone();
        doc["attributedTo"] = json!(format!("{id}/moderators"));
        doc["followers"] = json!(format!("{id}/followers"));
        self.serve(&path, doc);
        self.serve(
            &format!("{path}/moderators"),
            json!({"type": "OrderedCollection", "id": format!("{id}/moderators"),
                   "orderedItems": moderators}),
        );
        let host = self.base.trim_start_matches("http://");
        self.serve(
            "/.well-known/webfinger",
            json!({"subject": format!("acct:{name}@{host}"),
                   "links": [{"rel": "self", "type": "application/activity+json", "href": id}]}),
        );
        id
    }

    /// `user` follows the Group `name` through the API, and the Group accepts the Follow it
    /// receives.
    async fn follow_group(&self, cairn: &TestInstance, user: &User, name: &str, group: &str) {
        let host = self.base.trim_start_matches("http://");
        cairn
            .post(
                "/api/v1/communities/follow",
                Some(&user.token),
                json!({"handle": format!("{name}@{host}")}),
            )
            .await
            .expect(200);
        let follow = eventually("the Follow reaches the group", || async {
            self.log
                .lock()
                .expect("lock")
                .posted
                .iter()
                .find(|a| a["type"] == "Follow" && a["object"] == group)
                .cloned()
        })
        .await;
        let accept = json!({"id": format!("{group}/accept/1"), "type": "Accept",
                            "actor": group, "object": follow});
        self.applied(cairn, "/inbox", &accept).await;
    }

    /// The group's Announce of `inner`, with an id of its own.
    fn announce(&self, group: &str, n: u32, inner: Value) -> Value {
        json!({"id": format!("{group}/announce/{n}"), "type": "Announce", "actor": group,
               "to": [PUBLIC], "cc": [format!("{group}/followers")], "object": inner})
    }

    /// How many requests the fake server has had.
    fn requests(&self) -> Vec<String> {
        self.log.lock().expect("lock").requests.clone()
    }
}

/// A local instance where alice follows the remote Group `c` (moderated by the remote `mod`)
/// and has posted in it, and also posted in the local `gardening`, with a comment of hers.
struct World {
    cairn: TestInstance,
    remote: Remote,
    alice: User,
    gardening: String,
    group: String,
    moderator: String,
    /// Alice's post in the remote Group, and its ActivityPub id.
    post_in_group: (i64, String),
    /// Alice's post in gardening and her comment on it, by ActivityPub id.
    local_post: String,
    local_comment: String,
}

async fn world(backend: Backend) -> World {
    let cairn = TestInstance::start_with(backend, |c| {
        c.dev_insecure_federation = true;
        c.inbox_retry_base_seconds = 1;
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let remote = Remote::start().await;
    let moderator = remote.actor("/u/mod", "Person", "mod");
    let group = remote.group("c", &[&moderator]);
    remote.follow_group(&cairn, &alice, "c", &group).await;
    let host = remote.base.trim_start_matches("http://").to_owned();
    let in_group = cairn
        .post_in(&alice, &format!("c@{host}"), "Alice asks the group")
        .await;
    let local = cairn.post_in(&alice, "gardening", "Alice at home").await;
    let comment = cairn
        .post(
            &format!("/api/v1/posts/{local}/comments"),
            Some(&alice.token),
            json!({"body": "Alice's own comment"}),
        )
        .await
        .expect(201)["ap_id"]
        .as_str()
        .expect("comment ap_id")
        .to_owned();
    // The tester follows gardening, so that it is a person this server already knows: the
    // cases below then show that nothing at all is stored, not merely no content.
    let gardening = cairn.url("/c/gardening");
    let follow = json!({"id": remote.url("/activities/follow/gardening"), "type": "Follow",
                        "actor": remote.tester(), "object": gardening});
    remote.applied(&cairn, "/inbox", &follow).await;
    World {
        gardening,
        post_in_group: (in_group, cairn.url(&format!("/post/{in_group}"))),
        local_post: cairn.url(&format!("/post/{local}")),
        local_comment: comment,
        cairn,
        remote,
        alice,
        group,
        moderator,
    }
}

/// Delivers `activity` and checks the verdict and that nothing changed.
async fn refused_unchanged(w: &World, activity: &Value, code: &str) {
    let before = fingerprint(&w.cairn).await;
    w.remote.refused(&w.cairn, "/inbox", activity, code).await;
    assert_eq!(
        fingerprint(&w.cairn).await,
        before,
        "{activity} changed something"
    );
}

/// Sends `activity`, which the request refuses with `status` and `code`, changing nothing.
async fn rejected_unchanged(w: &World, activity: &Value, status: u16, code: &str) {
    let before = fingerprint(&w.cairn).await;
    w.remote
        .send(&w.cairn, "/inbox", activity)
        .await
        .expect_error(status, code);
    assert_eq!(
        fingerprint(&w.cairn).await,
        before,
        "{activity} changed something"
    );
}

/// A Group on another server signs Announces whose inner activity names one of our people as
/// its actor, or changes what they wrote; none of it is applied.
async fn forged_local_actors_in_an_announce(backend: Backend) {
    let w = world(backend).await;
    let alice_id = w.cairn.url("/u/alice");
    let (post_id, post_in_group) = w.post_in_group.clone();
    let tester = w.remote.tester();
    let forged_id = |what: &str| w.remote.url(&format!("/activities/{what}/forged"));

    let delete = json!({"id": forged_id("delete"), "type": "Delete", "actor": alice_id,
                        "to": [PUBLIC], "object": post_in_group});
    refused_unchanged(&w, &w.remote.announce(&w.group, 1, delete), "local_actor").await;
    let like = json!({"id": forged_id("like"), "type": "Like", "actor": alice_id,
                      "object": post_in_group});
    refused_unchanged(
        &w,
        &w.remote.announce(&w.group, 2, like.clone()),
        "local_actor",
    )
    .await;
    let undo = json!({"id": forged_id("undo"), "type": "Undo", "actor": alice_id,
                      "object": like});
    refused_unchanged(&w, &w.remote.announce(&w.group, 3, undo), "local_actor").await;
    // An Update by a remote person of a comment stored under our id.
    let update = json!({"id": forged_id("update"), "type": "Update", "actor": tester,
        "to": [PUBLIC], "object": {"type": "Note", "id": w.local_comment, "attributedTo": tester,
            "inReplyTo": w.local_post, "to": [PUBLIC], "content": "<p>Forged words</p>"}});
    refused_unchanged(&w, &w.remote.announce(&w.group, 4, update), "local_object").await;
    // A remote person who moderates nothing deletes alice's post in the group.
    let stranger = json!({"id": forged_id("delete-2"), "type": "Delete", "actor": tester,
                          "to": [PUBLIC], "object": post_in_group});
    refused_unchanged(
        &w,
        &w.remote.announce(&w.group, 5, stranger),
        "local_object",
    )
    .await;

    let path = format!("/api/v1/posts/{post_id}");
    w.cairn.get(&path, None).await.expect(200);
    // The group's own moderator, as its moderators collection lists them, may remove it there.
    let removal = json!({"id": w.remote.url("/activities/delete/mod"), "type": "Delete",
                         "actor": w.moderator, "to": [PUBLIC], "object": post_in_group,
                         "summary": ""});
    w.remote
        .applied(&w.cairn, "/inbox", &w.remote.announce(&w.group, 6, removal))
        .await;
    w.cairn
        .get(&path, None)
        .await
        .expect_error(410, "post_deleted");
    // The removal is the group's; alice's own record stays hers to read and to delete.
    let hers = w.cairn.get(&path, Some(&w.alice.token)).await;
    assert_eq!(hers.expect(200)["post"]["removed"], true);
    w.cairn.delete(&path, &w.alice.token).await.expect(204);
    w.cairn
        .get(&path, Some(&w.alice.token))
        .await
        .expect_error(410, "post_deleted");
    still_working(w.cairn).await;
}

/// A followed Group vouches only for its own community: its Announces of content, votes and
/// replies in another community are refused.
async fn announces_of_another_communitys_content(backend: Backend) {
    let w = world(backend).await;
    let tester = w.remote.tester();
    // A post by the tester in gardening, delivered directly, so that it is stored there.
    let remote_post = w.remote.create_page(&w.gardening, 1);
    w.remote.applied(&w.cairn, "/inbox", &remote_post).await;
    let remote_post_id = remote_post["object"]["id"].clone();

    let mut create = w.remote.create_page(&w.gardening, 2);
    create["id"] = json!(w.remote.url("/activities/create/elsewhere"));
    refused_unchanged(
        &w,
        &w.remote.announce(&w.group, 1, create),
        "foreign_announce",
    )
    .await;
    let like = json!({"id": w.remote.url("/activities/like/1"), "type": "Like",
                      "actor": tester, "object": remote_post_id});
    refused_unchanged(
        &w,
        &w.remote.announce(&w.group, 2, like),
        "foreign_announce",
    )
    .await;
    let reply = json!({"id": w.remote.url("/activities/create/reply"), "type": "Create",
        "actor": tester, "to": [PUBLIC], "cc": [w.group],
        "object": {"type": "Note", "id": w.remote.url("/comment/1"), "attributedTo": tester,
            "inReplyTo": w.local_post, "to": [PUBLIC], "cc": [w.group],
            "content": "<p>Out of place</p>"}});
    refused_unchanged(
        &w,
        &w.remote.announce(&w.group, 3, reply),
        "foreign_announce",
    )
    .await;
    let delete = json!({"id": w.remote.url("/activities/delete/9"), "type": "Delete",
                        "actor": tester, "to": [PUBLIC], "object": remote_post_id});
    refused_unchanged(
        &w,
        &w.remote.announce(&w.group, 4, delete),
        "foreign_announce",
    )
    .await;
    still_working(w.cairn).await;
}

/// Activities and objects under ids of this server are refused in the request, and the ids
/// they tried to take stay free for local rows.
async fn local_ids_cannot_be_squatted(backend: Backend) {
    let w = world(backend).await;
    let tester = w.remote.tester();
    let next_post = w.cairn.url("/post/1000");
    let mut squat = w.remote.create_page(&w.gardening, 1);
    squat["object"]["id"] = json!(next_post);
    rejected_unchanged(&w, &squat, 400, "local_object").await;
    let mut own_id = w.remote.create_page(&w.gardening, 2);
    own_id["id"] = json!(w.cairn.url("/activities/create/squat"));
    rejected_unchanged(&w, &own_id, 400, "local_id").await;
    // Claiming to be a local person is refused before the signature is even looked at.
    let mut as_alice = w.remote.create_page(&w.gardening, 3);
    as_alice["actor"] = json!(w.cairn.url("/u/alice"));
    rejected_unchanged(&w, &as_alice, 400, "local_actor").await;
    // A reply whose parent is an id of ours that does not exist is not fetched.
    let before = w.remote.requests().len();
    let reply = json!({"id": w.remote.url("/activities/create/r"), "type": "Create",
        "actor": tester, "to": [PUBLIC], "cc": [w.gardening],
        "object": {"type": "Note", "id": w.remote.url("/comment/7"), "attributedTo": tester,
            "inReplyTo": next_post, "to": [PUBLIC], "cc": [w.gardening],
            "content": "<p>To nothing</p>"}});
    let before_db = fingerprint(&w.cairn).await;
    w.remote
        .ignored(&w.cairn, "/inbox", &reply, "unknown_object")
        .await;
    assert_eq!(fingerprint(&w.cairn).await, before_db);
    assert_eq!(w.remote.requests().len(), before, "nothing was fetched");
    // Local rows still get the ids.
    let id = w.cairn.post_in(&w.alice, "gardening", "A fresh post").await;
    let ap_id = w
        .cairn
        .get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200)["post"]["ap_id"]
        .clone();
    assert_eq!(ap_id, json!(w.cairn.url(&format!("/post/{id}"))));
    still_working(w.cairn).await;
}

/// An actor whose shared inbox, outbox or key is on another host than its own is not believed:
/// its delivery is refused and it is not stored.
async fn actors_keep_their_endpoints_at_home(backend: Backend) {
    let w = world(backend).await;
    for (n, (field, value)) in [
        ("endpoints", json!({"sharedInbox": w.cairn.url("/inbox")})),
        ("outbox", json!(w.cairn.url("/u/alice/outbox"))),
        ("publicKey.id", json!("http://elsewhere.example/keys/1")),
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("/u/mallory{n}");
        let id = w.remote.actor(&path, "Person", "mallory");
        let mut doc = w.remote.docs.lock().expect("lock")[&path].clone();
        match field.split_once('.') {
            Some((outer, inner)) => doc[outer][inner] = value,
            None => doc[field] = value,
        }
        w.remote.serve(&path, doc);
        let mut create = w.remote.create_page(&w.gardening, 10 + n as u32);
        create["actor"] = json!(id);
        create["object"]["attributedTo"] = json!(id);
        rejected_unchanged(&w, &create, 401, "invalid_signature").await;
        let stored = cairn_core::remote::person_by_ap_id(w.cairn.ctx(), &id)
            .await
            .expect("lookup");
        assert!(stored.is_none(), "{field} on another host: {id} was stored");
    }
    still_working(w.cairn).await;
}

/// An unsigned delivery makes the server fetch nothing; a forged one fetches the claimed actor
/// to check the signature, and stores nothing of it.
async fn forged_deliveries_fetch_and_store_nothing(backend: Backend) {
    let w = world(backend).await;
    let other = Remote::start().await;
    let create = other.create_page(&w.gardening, 1);
    let body = create.to_string().into_bytes();
    let before = fingerprint(&w.cairn).await;
    other
        .deliver(
            &w.cairn,
            "/inbox",
            &other.tester(),
            body.clone(),
            Flaw::Unsigned,
        )
        .await
        .expect_error(401, "invalid_signature");
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    let stranger = new_key();
    other
        .deliver(
            &w.cairn,
            "/inbox",
            &other.tester(),
            body,
            Flaw::OtherKey(&stranger),
        )
        .await
        .expect_error(401, "invalid_signature");
    assert_eq!(
        other.requests(),
        vec!["GET /u/tester".to_owned()],
        "only the actor is fetched"
    );
    assert_eq!(fingerprint(&w.cairn).await, before, "nothing stored");
    still_working(w.cairn).await;
}

/// A Group nobody here follows, holding nothing of ours, cannot push anything in.
async fn unsolicited_announces_are_ignored(backend: Backend) {
    let w = world(backend).await;
    let stranger_group = w.remote.group("strangers", &[]);
    let mut create = w.remote.create_page(&stranger_group, 1);
    create["id"] = json!(w.remote.url("/activities/create/unsolicited"));
    let before = fingerprint(&w.cairn).await;
    w.remote
        .ignored(
            &w.cairn,
            "/inbox",
            &w.remote.announce(&stranger_group, 1, create),
            "unsolicited_announce",
        )
        .await;
    assert_eq!(fingerprint(&w.cairn).await, before);
    still_working(w.cairn).await;
}

/// For an author on a third server the Group vouches only that the post is in its community:
/// the post is taken from the author's own server, and a deletion by someone who is neither its
/// author nor a moderator is refused.
async fn third_party_content_comes_from_its_origin(backend: Backend) {
    let w = world(backend).await;
    let third = Remote::start().await;
    let bob = third.tester();
    let post_id = third.url("/post/1");
    let genuine = json!({"type": "Page", "id": post_id, "attributedTo": bob,
        "to": [w.group, PUBLIC], "audience": w.group, "name": "Bob's genuine title",
        "content": "<p>What Bob wrote.</p>", "mediaType": "text/html"});
    third.serve("/post/1", genuine);
    let mut forged = json!({"type": "Page", "id": post_id, "attributedTo": bob,
        "to": [w.group, PUBLIC], "audience": w.group, "name": "Words put in Bob's mouth",
        "content": "<p>Forged.</p>", "mediaType": "text/html"});
    let create = json!({"id": third.url("/activities/create/1"), "type": "Create",
                        "actor": bob, "to": [w.group, PUBLIC], "object": forged.clone()});
    w.remote
        .applied(&w.cairn, "/inbox", &w.remote.announce(&w.group, 1, create))
        .await;
    let host = w.remote.base.trim_start_matches("http://").to_owned();
    let listed = w
        .cairn
        .get(
            &format!("/api/v1/communities/c@{host}/posts?sort=new"),
            None,
        )
        .await
        .expect(200)["posts"]
        .clone();
    let titles: Vec<&str> = listed
        .as_array()
        .expect("posts")
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert!(titles.contains(&"Bob's genuine title"), "{titles:?}");
    assert!(!titles.iter().any(|t| t.contains("mouth")), "{titles:?}");

    // One the author's server does not serve is not stored.
    forged["id"] = json!(third.url("/post/2"));
    let create = json!({"id": third.url("/activities/create/2"), "type": "Create",
                        "actor": bob, "to": [w.group, PUBLIC], "object": forged});
    let before = fingerprint(&w.cairn).await;
    let announce = w.remote.announce(&w.group, 2, create);
    w.remote
        .send(&w.cairn, "/inbox", &announce)
        .await
        .expect(202);
    let v = w
        .cairn
        .first_attempt(announce["id"].as_str().expect("id"))
        .await;
    assert_eq!(
        (v.state.as_str(), v.code.as_str()),
        ("pending", "unknown_object"),
        "{v:?}"
    );
    assert_eq!(fingerprint(&w.cairn).await, before);

    // A third server's person deletes a post that is neither theirs nor theirs to remove.
    let delete = json!({"id": third.url("/activities/delete/1"), "type": "Delete",
        "actor": bob, "to": [PUBLIC], "object": w.post_in_group.1});
    refused_unchanged(&w, &w.remote.announce(&w.group, 3, delete), "local_object").await;
    // Bob's own server could sign as Bob anyway, so its people are believed about its objects
    // (as Lemmy does); a person on a fourth server is not.
    let fourth = Remote::start().await;
    let eve = fourth.actor("/u/eve", "Person", "eve");
    let delete = json!({"id": fourth.url("/activities/delete/2"), "type": "Delete",
        "actor": eve, "to": [PUBLIC], "object": post_id});
    refused_unchanged(&w, &w.remote.announce(&w.group, 4, delete), "not_author").await;
    still_working(w.cairn).await;
}

/// A reply lands in the community of the post it replies to, whatever it addresses; an
/// audience naming another community is refused.
async fn replies_land_with_their_post(backend: Backend) {
    let w = world(backend).await;
    w.cairn.community(&w.alice, "cooking", "open").await;
    let cooking = w.cairn.url("/c/cooking");
    let tester = w.remote.tester();
    let reply = |n: u32, audience: Option<&str>| {
        let mut r = json!({"id": w.remote.url(&format!("/activities/create/reply-{n}")),
            "type": "Create", "actor": tester, "to": [PUBLIC], "cc": [cooking],
            "object": {"type": "Note", "id": w.remote.url(&format!("/comment/{n}")),
                "attributedTo": tester, "inReplyTo": w.local_post, "to": [PUBLIC],
                "cc": [cooking], "content": "<p>A reply</p>"}});
        if let Some(a) = audience {
            r["audience"] = json!(a);
        }
        r
    };
    refused_unchanged(&w, &reply(1, Some(&cooking)), "audience_mismatch").await;
    w.remote.applied(&w.cairn, "/inbox", &reply(2, None)).await;
    let id = w.local_post.rsplit('/').next().expect("id");
    let shown = w
        .cairn
        .get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(shown["post"]["comment_count"], 2, "{shown}");
    let cooking_posts = w
        .cairn
        .get("/api/v1/communities/cooking/posts?sort=new", None)
        .await
        .expect(200)["posts"]
        .clone();
    assert_eq!(cooking_posts, json!([]), "nothing lands in cooking");
    still_working(w.cairn).await;
}

/// A chain of replies deeper than local replies may go is stored within the limit, and the
/// post still renders as a page and as JSON.
async fn deep_reply_chains_are_bounded(backend: Backend) {
    let w = world(backend).await;
    let tester = w.remote.tester();
    let levels = 130;
    let mut parent = w.local_post.clone();
    for n in 0..levels {
        let id = w.remote.url(&format!("/comment/deep-{n}"));
        let create = json!({"id": w.remote.url(&format!("/activities/create/deep-{n}")),
            "type": "Create", "actor": tester, "to": [PUBLIC], "cc": [w.gardening],
            "object": {"type": "Note", "id": id, "attributedTo": tester, "inReplyTo": parent,
                "to": [PUBLIC], "cc": [w.gardening], "content": format!("<p>Level {n}</p>")}});
        // Each reply waits for its parent's verdict, as a real sender's replies come one
        // after another; the chain, not a race between the worker's tasks, is under test.
        w.remote.applied(&w.cairn, "/inbox", &create).await;
        parent = id;
    }
    let deepest: i32 = w
        .cairn
        .ctx()
        .db()
        .run(|conn| -> Result<i32, cairn_storage::StorageError> {
            use cairn_storage::schema::comments::dsl::*;
            use diesel::prelude::*;
            Ok(cairn_storage::with_conn!(conn, |c| comments
                .select(diesel::dsl::max(depth))
                .first::<Option<i32>>(c))?
            .unwrap_or(0))
        })
        .await
        .expect("depth");
    assert_eq!(
        deepest,
        cairn_core::comments::MAX_DEPTH,
        "stored within the limit"
    );
    let id = w.local_post.rsplit('/').next().expect("id");
    let shown = w
        .cairn
        .get(&format!("/api/v1/posts/{id}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        shown["post"]["comment_count"],
        levels + 1,
        "every reply is kept"
    );
    let page = w
        .cairn
        .client
        .get(w.cairn.url(&format!("/post/{id}")))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    still_working(w.cairn).await;
}

backend_tests!(
    forged_local_actors_in_an_announce,
    announces_of_another_communitys_content,
    local_ids_cannot_be_squatted,
    actors_keep_their_endpoints_at_home,
    forged_deliveries_fetch_and_store_nothing,
    unsolicited_announces_are_ignored,
    third_party_content_comes_from_its_origin,
    replies_land_with_their_post,
    deep_reply_chains_are_bounded,
);
