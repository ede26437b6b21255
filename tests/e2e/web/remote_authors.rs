//! People from other servers on the web pages: a post and a comment that bob on beta writes in
//! a community on alpha show on alpha as `bob@beta…`, linked to bob's profile on beta, and
//! never to `/u/bob`, which would be a local account of alpha's.

use cairn_tests::{Backend, TestInstance, backend_tests, eventually};
use serde_json::{Value, json};

use super::browser::Browser;

async fn instance(backend: Backend, name: &str) -> TestInstance {
    TestInstance::start_named(backend, name, |c| c.delivery_retry_base_seconds = 1).await
}

/// Checks that `html` names bob as remote and never links him as a local account.
#[track_caller]
fn shows_remote_bob(html: &str, handle: &str, profile: &str, what: &str) {
    assert!(html.contains(handle), "{what} names {handle}: {html}");
    assert!(
        html.contains(&format!("href=\"{profile}\"")),
        "{what} links {profile}: {html}"
    );
    assert!(
        !html.contains("href=\"/u/bob\""),
        "{what} links /u/bob: {html}"
    );
}

async fn remote_authors_are_never_local(backend: Backend) {
    let alpha = instance(backend, "alpha").await;
    let beta = instance(backend, "beta").await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "gardening", "open").await;
    let community = format!("gardening@{}", alpha.domain);
    let bob = beta.user("bob").await;
    beta.follow_remote(&bob, &community).await;

    beta.post(
        "/api/v1/posts",
        Some(&bob.token),
        json!({"community": community, "title": "From beta", "body": "Hello"}),
    )
    .await
    .expect(201);
    let post = eventually("bob's post reaches alpha", || async {
        let posts = alpha.newest_posts("gardening").await;
        posts.into_iter().find(|p| p["title"] == "From beta")
    })
    .await;
    let post_id = post["id"].as_i64().expect("id");

    // Bob comments on beta's copy of alice's post; alpha gets the comment.
    let alices = alpha.post_in(&alice, "gardening", "From alpha").await;
    let on_beta = eventually("alice's post reaches beta", || async {
        let posts = beta.newest_posts(&community).await;
        posts.into_iter().find(|p| p["title"] == "From alpha")
    })
    .await;
    beta.post(
        &format!("/api/v1/posts/{}/comments", on_beta["id"]),
        Some(&bob.token),
        json!({"body": "A comment from beta"}),
    )
    .await
    .expect(201);
    let comment_id = eventually("bob's comment reaches alpha", || async {
        let p = alpha.get(&format!("/api/v1/posts/{alices}"), None).await;
        p.body["comments"]
            .as_array()
            .and_then(|c| c.first().cloned())
            .and_then(|n: Value| n["comment"]["id"].as_i64())
    })
    .await;

    let handle = format!("bob@{}", beta.domain);
    let profile = beta.url("/u/bob");
    let mut b = Browser::new(&alpha);
    let list = b.get("/c/gardening").await;
    shows_remote_bob(&list.expect(200).body, &handle, &profile, "the post list");
    let page = b.get(&format!("/post/{post_id}")).await;
    shows_remote_bob(&page.expect(200).body, &handle, &profile, "the post page");
    let thread = b.get(&format!("/post/{alices}")).await;
    shows_remote_bob(
        &thread.expect(200).body,
        &handle,
        &profile,
        "the comment tree",
    );
    let comment = b.get(&format!("/comment/{comment_id}")).await;
    shows_remote_bob(
        &comment.expect(200).body,
        &handle,
        &profile,
        "the comment page",
    );
    // Alice is local, and keeps her local link.
    assert!(thread.body.contains("href=\"/u/alice\""), "{}", thread.body);
    alpha.stop().await;
    beta.stop().await;
}

backend_tests!(remote_authors_are_never_local);
