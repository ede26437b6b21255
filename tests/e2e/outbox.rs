//! The durable outbox: changes in a local community become activities, wrapped in the
//! community's Announce and queued, once per shared inbox, for its remote followers.
//!
//! Remote followers are written straight into the database here, because following from another
//! server needs the inbox, which is not built yet; the queue is read back from the database.
//! The instances run without background workers, so nothing tries to reach the made-up
//! follower hosts and the test drives the publisher itself.

use cairn_storage::deliveries::{self, DueDelivery};
use cairn_storage::events::EventRow;
use cairn_storage::{AnyConn, db_now};
use cairn_tests::{Backend, TestInstance, backend_tests};
use serde_json::{Value, json};

/// Takes every queued delivery (leasing it, which no sender contends for yet).
async fn take_deliveries(cairn: &TestInstance) -> Vec<DueDelivery> {
    cairn
        .ctx()
        .db()
        .transaction(|conn: &mut AnyConn<'_>| {
            let now = db_now();
            deliveries::lease_due(conn, now, now + chrono::Duration::minutes(5), 1000, &[])
        })
        .await
        .expect("lease")
}

/// Runs the publisher over every pending event, then takes every queued delivery.
async fn published_all(cairn: &TestInstance) -> Vec<DueDelivery> {
    cairn_federation::publish::publish_pending(cairn.ctx())
        .await
        .expect("publish");
    let pending = cairn
        .ctx()
        .db()
        .run(|conn: &mut AnyConn<'_>| EventRow::pending(conn, 1))
        .await
        .expect("pending");
    assert!(pending.is_empty(), "every event is processed");
    take_deliveries(cairn).await
}

/// An instance whose background workers are off.
async fn quiet_instance(backend: Backend) -> TestInstance {
    TestInstance::start_with(backend, |c| c.background_workers = false).await
}

/// True for the compatibility Announce of a bare Page that Mastodon needs.
fn is_compat(d: &DueDelivery) -> bool {
    parse(d)["object"]["type"] == "Page"
}

/// The FEP-1b12 deliveries (Announces of activities), without the compatibility Announces.
async fn published(cairn: &TestInstance) -> Vec<DueDelivery> {
    published_all(cairn)
        .await
        .into_iter()
        .filter(|d| !is_compat(d))
        .collect()
}

fn parse(d: &DueDelivery) -> Value {
    serde_json::from_str(&d.data).expect("stored activity is JSON")
}

/// Fetches an activity at its id and checks it is the stored document.
async fn dereferences(cairn: &TestInstance, activity: &Value) {
    let id = activity["id"].as_str().expect("id");
    let path = id.strip_prefix(&cairn.base).expect("local id");
    let answer = cairn.get_ap(path).await;
    assert_eq!(answer.expect(200)["id"], id);
    assert_eq!(answer.body["type"], activity["type"]);
}

async fn announces_to_remote_followers(backend: Backend) {
    let cairn = quiet_instance(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    cairn.community(&alice, "gardening", "open").await;
    cairn.community(&alice, "quiet", "open").await;
    // Two followers on one instance share an inbox; a third instance has its own.
    cairn
        .add_remote_follower("gardening", "carol", "https://beta.example")
        .await;
    cairn
        .add_remote_follower("gardening", "dave", "https://beta.example")
        .await;
    cairn
        .add_remote_follower("gardening", "erin", "https://gamma.example")
        .await;

    // A community without remote followers queues nothing, yet its events are processed.
    cairn.post_in(&alice, "quiet", "Only local").await;
    assert!(published(&cairn).await.is_empty());

    let post = cairn.post_in(&bob, "gardening", "Compost").await;
    let (compat, queued): (Vec<DueDelivery>, Vec<DueDelivery>) =
        published_all(&cairn).await.into_iter().partition(is_compat);
    // Each inbox also gets the bare Page announced, which is what Mastodon shows as a boost.
    assert_eq!(compat.len(), 2, "one compatibility Announce per inbox");
    let boost = parse(&compat[0]);
    assert_eq!(boost["actor"], cairn.url("/c/gardening"));
    assert_eq!(boost["object"]["id"], cairn.url(&format!("/post/{post}")));
    let mut inboxes: Vec<&str> = queued.iter().map(|d| d.inbox_url.as_str()).collect();
    inboxes.sort();
    assert_eq!(
        inboxes,
        vec!["https://beta.example/inbox", "https://gamma.example/inbox"]
    );
    let community_id = cairn.url("/c/gardening");
    for d in &queued {
        assert_eq!(
            d.signer_ap_id, community_id,
            "the community signs its Announce"
        );
        assert_eq!(d.attempts, 0);
    }
    let announce = parse(&queued[0]);
    assert_eq!(announce["type"], "Announce");
    assert_eq!(announce["actor"], community_id.as_str());
    assert_eq!(announce["cc"][0], cairn.url("/c/gardening/followers"));
    let create = &announce["object"];
    assert_eq!(create["type"], "Create");
    assert_eq!(create["actor"], cairn.url("/u/bob"));
    assert!(
        create.get("@context").is_none(),
        "the inner activity is embedded without context"
    );
    assert_eq!(create["object"]["type"], "Page");
    assert_eq!(create["object"]["id"], cairn.url(&format!("/post/{post}")));
    assert_eq!(create["object"]["name"], "Compost");
    assert_eq!(create["audience"], community_id.as_str());
    dereferences(&cairn, &announce).await;
    dereferences(&cairn, create).await;

    // An edit becomes an Update, a vote a Like, a withdrawn vote an Undo of it, a comment a
    // Create of a Note, and the author's deletion a Delete.
    cairn
        .patch(
            &format!("/api/v1/posts/{post}"),
            &bob.token,
            json!({"title": "Compost, revised"}),
        )
        .await
        .expect(200);
    let update = parse(&published(&cairn).await[0]);
    assert_eq!(update["object"]["type"], "Update");
    assert_eq!(update["object"]["object"]["name"], "Compost, revised");

    cairn
        .post(
            &format!("/api/v1/posts/{post}/vote"),
            Some(&alice.token),
            json!({"score": 1}),
        )
        .await
        .expect(200);
    let like = parse(&published(&cairn).await[0]);
    assert_eq!(like["object"]["type"], "Like");
    assert_eq!(like["object"]["actor"], cairn.url("/u/alice"));
    assert_eq!(
        like["object"]["object"],
        cairn.url(&format!("/post/{post}"))
    );

    cairn
        .post(
            &format!("/api/v1/posts/{post}/vote"),
            Some(&alice.token),
            json!({"score": 0}),
        )
        .await
        .expect(200);
    let undo = parse(&published(&cairn).await[0]);
    assert_eq!(undo["object"]["type"], "Undo");
    assert_eq!(undo["object"]["object"]["type"], "Like");
    // The undone Like is the one that was sent, by its id, so it dereferences.
    assert_eq!(undo["object"]["object"]["id"], like["object"]["id"]);

    // Voting the same way twice changes nothing and publishes nothing.
    for _ in 0..2 {
        cairn
            .post(
                &format!("/api/v1/posts/{post}/vote"),
                Some(&alice.token),
                json!({"score": -1}),
            )
            .await
            .expect(200);
    }
    let dislikes = published(&cairn).await;
    assert_eq!(dislikes.len(), 2, "one Dislike, to two inboxes");
    assert_eq!(parse(&dislikes[0])["object"]["type"], "Dislike");

    let comment = cairn
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&bob.token),
            json!({"body": "Add leaves"}),
        )
        .await;
    let comment_id = comment.expect(201)["id"].as_i64().expect("id");
    let note = parse(&published(&cairn).await[0]);
    assert_eq!(note["object"]["type"], "Create");
    assert_eq!(note["object"]["object"]["type"], "Note");
    assert_eq!(
        note["object"]["object"]["inReplyTo"],
        cairn.url(&format!("/post/{post}"))
    );

    // The owner removing Bob's comment is a moderator's removal, which carries a summary,
    // Lemmy's sign of a Remove.
    cairn
        .delete(&format!("/api/v1/comments/{comment_id}"), &alice.token)
        .await
        .expect(204);
    let removal = parse(&published(&cairn).await[0]);
    assert_eq!(removal["object"]["type"], "Delete");
    assert_eq!(
        removal["object"]["object"],
        cairn.url(&format!("/comment/{comment_id}"))
    );
    assert_eq!(removal["object"]["summary"], "");

    cairn
        .delete(&format!("/api/v1/posts/{post}"), &bob.token)
        .await
        .expect(204);
    let delete = parse(&published(&cairn).await[0]);
    assert_eq!(delete["object"]["type"], "Delete");
    assert!(
        delete["object"].get("summary").is_none(),
        "an author's deletion is no removal"
    );

    // Unknown activity ids are 404s.
    cairn
        .get_ap("/activities/create/00000000-0000-0000-0000-000000000000")
        .await
        .expect_error(404, "activity_not_found");
    cairn.stop().await;
}

/// Publishing is idempotent: two publishers racing (as processes sharing the database do)
/// never queue an event twice.
async fn publishing_twice_queues_once(backend: Backend) {
    let cairn = quiet_instance(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    cairn
        .add_remote_follower("gardening", "carol", "https://beta.example")
        .await;
    let post = cairn.post_in(&alice, "gardening", "Before").await;
    assert_eq!(published(&cairn).await.len(), 1);

    let ctx = cairn.ctx().clone();
    cairn
        .post(
            &format!("/api/v1/posts/{post}/vote"),
            Some(&alice.token),
            json!({"score": 1}),
        )
        .await
        .expect(200);
    let (a, b) = tokio::join!(
        cairn_federation::publish::publish_pending(&ctx),
        cairn_federation::publish::publish_pending(&ctx)
    );
    a.expect("first publisher");
    b.expect("second publisher");
    let after = published(&cairn).await;
    assert_eq!(after.len(), 1, "one Like for one inbox");
    assert_eq!(parse(&after[0])["object"]["type"], "Like");
    cairn.stop().await;
}

/// Microblog servers (known from their NodeInfo) get posts, but not comments and votes, whose
/// boosts would flood their users' home timelines.
async fn microblogs_get_posts_only(backend: Backend) {
    let cairn = quiet_instance(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    cairn
        .add_remote_follower("gardening", "carol", "https://beta.example")
        .await;
    cairn
        .add_remote_follower("gardening", "toot", "https://social.example")
        .await;
    cairn
        .add_remote_follower("gardening", "dave", "https://lemmy.example")
        .await;
    for (host, software) in [("social.example", "mastodon"), ("lemmy.example", "lemmy")] {
        cairn
            .ctx()
            .db()
            .run(move |conn: &mut AnyConn<'_>| {
                cairn_storage::instances::InstanceRow::set_software(
                    conn,
                    host,
                    Some(software),
                    Some("1.0.0"),
                    db_now(),
                )
            })
            .await
            .expect("software");
    }

    let post = cairn.post_in(&alice, "gardening", "For everyone").await;
    let hosts = |ds: &[DueDelivery]| {
        let mut h: Vec<String> = ds.iter().map(|d| d.host.clone()).collect();
        h.sort();
        h.dedup();
        h
    };
    let all = published_all(&cairn).await;
    let (compat, announces): (Vec<DueDelivery>, Vec<DueDelivery>) =
        all.into_iter().partition(is_compat);
    assert_eq!(
        hosts(&announces),
        vec!["beta.example", "lemmy.example", "social.example"],
        "posts go everywhere"
    );
    assert_eq!(
        hosts(&compat),
        vec!["beta.example", "social.example"],
        "the Announce(Page) copy goes to microblogs and unknown software, not to Lemmy"
    );

    cairn
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&alice.token),
            json!({"body": "Threadiverse only"}),
        )
        .await
        .expect(201);
    cairn
        .post(
            &format!("/api/v1/posts/{post}/vote"),
            Some(&alice.token),
            json!({"score": 1}),
        )
        .await
        .expect(200);
    let later = published_all(&cairn).await;
    assert_eq!(later.len(), 4, "a comment and a vote, to two inboxes");
    assert_eq!(
        hosts(&later),
        vec!["beta.example", "lemmy.example"],
        "no comments or votes for the microblog"
    );
    cairn.stop().await;
}

backend_tests!(
    announces_to_remote_followers,
    publishing_twice_queues_once,
    microblogs_get_posts_only
);
