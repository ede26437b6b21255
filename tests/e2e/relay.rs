//! The FEP-1b12 flow between three real instances: alpha hosts a community that users on beta
//! and gamma follow. Posts, comments, votes, edits and deletions made on any of them reach the
//! others through alpha's Announce.

use cairn_tests::{Backend, TestInstance, backend_tests, eventually};
use serde_json::{Value, json};

async fn instance(backend: Backend, name: &str) -> TestInstance {
    TestInstance::start_named(backend, name, |c| {
        // A delivery that fails under the load of the whole suite is retried within a
        // second instead of the production default of thirty.
        c.delivery_retry_base_seconds = 1;
    })
    .await
}

/// The post titled `title` as `on` lists it in the community `handle`, once it arrived.
async fn arrived(on: &TestInstance, handle: &str, title: &str) -> Value {
    eventually(&format!("`{title}` reaches {}", on.domain), || async {
        let posts = on.newest_posts(handle).await;
        posts.into_iter().find(|p| p["title"] == title)
    })
    .await
}

async fn three_instances(backend: Backend) {
    let alpha = instance(backend, "alpha").await;
    let beta = instance(backend, "beta").await;
    let gamma = instance(backend, "gamma").await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "gardening", "open").await;
    let handle = format!("gardening@{}", alpha.domain);
    let bob = beta.user("bob").await;
    let carol = gamma.user("carol").await;
    beta.follow_remote(&bob, &handle).await;
    gamma.follow_remote(&carol, &handle).await;

    // A post on alpha reaches both followers' instances.
    let id = alpha.post_in(&alice, "gardening", "Compost on alpha").await;
    let on_beta = arrived(&beta, &handle, "Compost on alpha").await;
    arrived(&gamma, &handle, "Compost on alpha").await;
    assert_eq!(on_beta["ap_id"], alpha.url(&format!("/post/{id}")));
    assert_eq!(on_beta["local"], false);
    assert_eq!(on_beta["creator"]["ap_id"], alpha.url("/u/alice"));
    assert!(
        on_beta["body_html"]
            .as_str()
            .unwrap_or("")
            .contains("<em>Compost on alpha</em>")
    );

    // Bob on beta comments and votes; alpha applies both and relays them to gamma.
    let beta_post = on_beta["id"].as_i64().expect("id");
    beta.post(
        &format!("/api/v1/posts/{beta_post}/comments"),
        Some(&bob.token),
        json!({"body": "From *beta*"}),
    )
    .await
    .expect(201);
    beta.post(
        &format!("/api/v1/posts/{beta_post}/vote"),
        Some(&bob.token),
        json!({"score": 1}),
    )
    .await
    .expect(200);
    eventually("bob's comment and vote reach alpha", || async {
        let p = alpha.get(&format!("/api/v1/posts/{id}"), None).await;
        let has_comment = p.body["comments"].as_array().is_some_and(|c| {
            c.iter()
                .any(|n| n["comment"]["creator"]["ap_id"] == beta.url("/u/bob"))
        });
        (has_comment && p.body["post"]["score"] == 1).then_some(Value::Null)
    })
    .await;
    let on_gamma = arrived(&gamma, &handle, "Compost on alpha").await;
    let gamma_post = on_gamma["id"].as_i64().expect("id");
    eventually(
        "bob's comment and vote reach gamma through alpha",
        || async {
            let p = gamma
                .get(&format!("/api/v1/posts/{gamma_post}"), None)
                .await;
            let comment = p.body["comments"]
                .as_array()
                .and_then(|c| c.first().cloned())?;
            (comment["comment"]["body"] == "From *beta*" && p.body["post"]["score"] == 1)
                .then_some(Value::Null)
        },
    )
    .await;

    // A post from beta into alpha's community is announced to gamma.
    beta.post(
        "/api/v1/posts",
        Some(&bob.token),
        json!({"community": handle, "title": "Posted from beta", "body": "Hello"}),
    )
    .await
    .expect(201);
    arrived(&alpha, "gardening", "Posted from beta").await;
    arrived(&gamma, &handle, "Posted from beta").await;

    // Edits and deletions on alpha propagate.
    alpha
        .patch(
            &format!("/api/v1/posts/{id}"),
            &alice.token,
            json!({"title": "Compost, edited"}),
        )
        .await
        .expect(200);
    arrived(&beta, &handle, "Compost, edited").await;
    alpha
        .delete(&format!("/api/v1/posts/{id}"), &alice.token)
        .await
        .expect(204);
    eventually("the deletion reaches gamma", || async {
        let posts = gamma.newest_posts(&handle).await;
        let gone = posts.iter().all(|p| p["title"] != "Compost, edited");
        gone.then_some(Value::Null)
    })
    .await;

    // Once carol on gamma unfollows, alpha's posts reach beta and no longer gamma.
    let members = |c: Value| c["member_count"].as_i64();
    let before =
        members(alpha.get("/api/v1/communities/gardening", None).await.body).expect("member count");
    gamma
        .post(
            "/api/v1/communities/unfollow",
            Some(&carol.token),
            json!({"handle": handle}),
        )
        .await
        .expect(204);
    eventually("alpha drops gamma's member after the Undo", || async {
        let c = alpha.get("/api/v1/communities/gardening", None).await;
        (members(c.body) == Some(before - 1)).then_some(())
    })
    .await;
    alpha.post_in(&alice, "gardening", "After gamma left").await;
    arrived(&beta, &handle, "After gamma left").await;
    // Beta has it, so the fan-out ran; give a late delivery to gamma a moment to show up.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let posts = gamma.newest_posts(&handle).await;
    assert!(
        posts.iter().all(|p| p["title"] != "After gamma left"),
        "an unfollowed instance gets no more posts: {posts:?}"
    );

    alpha.stop().await;
    beta.stop().await;
    gamma.stop().await;
}

backend_tests!(three_instances);
