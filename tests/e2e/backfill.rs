//! Content fetched on demand between two real instances: the first local follower of a remote
//! community backfills its outbox and featured posts, and a reply whose parent never reached
//! this server fetches the parent from its origin.

use cairn_storage::AnyConn;
use cairn_storage::posts::PostRow;
use cairn_tests::{Backend, TestInstance, backend_tests, eventually};
use serde_json::json;

async fn instance(backend: Backend, name: &str) -> TestInstance {
    TestInstance::start_named(backend, name, |c| c.delivery_retry_base_seconds = 1).await
}

/// The titles of a community's posts as `who` sees them, newest first.
async fn titles(at: &TestInstance, handle: &str) -> Vec<String> {
    let posts = at.newest_posts(handle).await;
    posts
        .iter()
        .filter_map(|p| p["title"].as_str().map(str::to_owned))
        .collect()
}

/// Posts written before anyone on beta followed the community appear on beta once the first
/// beta user follows it; the featured one is marked featured; a second follower does not
/// store them twice.
async fn first_follow_backfills(backend: Backend) {
    let alpha = instance(backend, "alpha").await;
    let beta = instance(backend, "beta").await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "gardening", "open").await;
    let pinned = alpha.post_in(&alice, "gardening", "Read this first").await;
    alpha.post_in(&alice, "gardening", "Compost").await;
    alpha.post_in(&alice, "gardening", "Seeds").await;
    alpha
        .ctx()
        .db()
        .run(move |conn: &mut AnyConn<'_>| PostRow::set_featured(conn, pinned, true))
        .await
        .expect("feature");

    let handle = format!("gardening@{}", alpha.domain);
    let bob = beta.user("bob").await;
    beta.post(
        "/api/v1/communities/follow",
        Some(&bob.token),
        json!({"handle": handle}),
    )
    .await
    .expect(200);
    eventually("beta backfills the three posts", || async {
        let t = titles(&beta, &handle).await;
        (t.len() == 3).then(|| json!(t))
    })
    .await;
    assert_eq!(
        titles(&beta, &handle).await,
        ["Seeds", "Compost", "Read this first"],
        "backfilled posts keep their order"
    );
    // The featured collection is read after the outbox, so its flag may come a moment later.
    eventually("the featured post is marked", || async {
        let posts = beta.newest_posts(&handle).await;
        let featured: Vec<String> = posts
            .iter()
            .filter(|p| p["featured"] == true)
            .filter_map(|p| p["title"].as_str().map(str::to_owned))
            .collect();
        (featured == ["Read this first"]).then(|| json!(featured))
    })
    .await;

    // A second follower neither backfills again nor duplicates anything; new posts arrive by
    // delivery as usual.
    let carol = beta.user("carol").await;
    beta.follow_remote(&carol, &handle).await;
    alpha.post_in(&alice, "gardening", "Mulch").await;
    eventually("the new post arrives", || async {
        let t = titles(&beta, &handle).await;
        (t.len() == 4).then(|| json!(t))
    })
    .await;
    assert_eq!(
        titles(&beta, &handle).await,
        ["Mulch", "Seeds", "Compost", "Read this first"]
    );
    alpha.stop().await;
    beta.stop().await;
}

/// A comment written while beta did not follow the community never reached beta; a reply to
/// it does, and beta fetches the missing parent from alpha instead of dropping the reply.
async fn unknown_parent_is_fetched(backend: Backend) {
    let alpha = instance(backend, "alpha").await;
    let beta = instance(backend, "beta").await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "gardening", "open").await;
    let post = alpha.post_in(&alice, "gardening", "Compost").await;
    let first = alpha
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&alice.token),
            json!({"body": "Brown and green in equal parts."}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("comment id");

    let handle = format!("gardening@{}", alpha.domain);
    let bob = beta.user("bob").await;
    beta.follow_remote(&bob, &handle).await;
    eventually("the post is backfilled", || async {
        (titles(&beta, &handle).await.len() == 1).then_some(())
    })
    .await;

    alpha
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&alice.token),
            json!({"body": "And keep it moist.", "parent_id": first}),
        )
        .await
        .expect(201);
    let posts = beta.newest_posts(&handle).await;
    let beta_post = posts[0]["id"].as_i64().expect("post on beta");
    let tree = eventually("the reply and its fetched parent are on beta", || async {
        let p = beta.get(&format!("/api/v1/posts/{beta_post}"), None).await;
        let replies = p.body["comments"][0]["replies"]
            .as_array()
            .map_or(0, Vec::len);
        (replies == 1).then_some(p.body.clone())
    })
    .await;
    let parent = &tree["comments"][0]["comment"];
    assert!(
        parent["body_html"]
            .as_str()
            .is_some_and(|b| b.contains("equal parts")),
        "the fetched parent: {parent}"
    );
    assert_eq!(parent["ap_id"], alpha.url(&format!("/comment/{first}")));
    let reply = &tree["comments"][0]["replies"][0]["comment"];
    assert!(
        reply["body_html"]
            .as_str()
            .is_some_and(|b| b.contains("moist"))
    );
    assert_eq!(
        reply["parent_id"], parent["id"],
        "the reply hangs under its parent"
    );
    alpha.stop().await;
    beta.stop().await;
}

backend_tests!(first_follow_backfills, unknown_parent_is_fetched);
