//! People following people across servers: a Follow from alpha's user to beta's user, the
//! Accept that makes it active, and the Undo that ends it, over real HTTP.

use cairn_tests::{Backend, TestInstance, backend_tests, eventually};
use serde_json::json;

async fn beta_followers(beta: &TestInstance, name: &str) -> Vec<String> {
    let person = cairn_core::accounts::person_by_name(beta.ctx(), name)
        .await
        .expect("person");
    cairn_core::people::followers(beta.ctx(), person.id)
        .await
        .expect("followers")
        .into_iter()
        .map(|p| p.ap_id)
        .collect()
}

async fn follows_a_person_on_another_server(backend: Backend) {
    let alpha =
        TestInstance::start_named(backend, "alpha", |c| c.delivery_retry_base_seconds = 1).await;
    let beta =
        TestInstance::start_named(backend, "beta", |c| c.delivery_retry_base_seconds = 1).await;
    let ann = alpha.user("ann").await;
    let _bob = beta.user("bob").await;

    let handle = format!("@bob@{}", beta.domain);
    let followed = alpha
        .post(
            "/api/v1/people/follow",
            Some(&ann.token),
            json!({ "handle": handle }),
        )
        .await;
    let body = followed.expect(200);
    assert_eq!(body["person"]["ap_id"], beta.url("/u/bob"));
    assert_eq!(body["person"]["local"], false);

    // Beta accepts at once; the Accept makes alpha's follow active.
    eventually("the follow is accepted", || async {
        let list = alpha.get("/api/v1/me/following", Some(&ann.token)).await;
        let list = list.expect(200).as_array().cloned().unwrap_or_default();
        (list.len() == 1 && list[0]["state"] == "active").then_some(())
    })
    .await;
    assert_eq!(
        beta_followers(&beta, "bob").await,
        vec![alpha.url("/u/ann")]
    );

    // Following again changes nothing, and the profile URL names the same person.
    let again = alpha
        .post(
            "/api/v1/people/follow",
            Some(&ann.token),
            json!({ "handle": beta.url("/u/bob") }),
        )
        .await;
    assert_eq!(again.expect(200)["state"], "active");

    // Unfollowing sends an Undo that beta applies.
    alpha
        .post(
            "/api/v1/people/unfollow",
            Some(&ann.token),
            json!({ "handle": handle }),
        )
        .await
        .expect(204);
    eventually("beta forgets the follower", || async {
        beta_followers(&beta, "bob").await.is_empty().then_some(())
    })
    .await;
    let list = alpha.get("/api/v1/me/following", Some(&ann.token)).await;
    assert_eq!(list.expect(200), &json!([]));

    // Misuse gets clear errors.
    alpha
        .post(
            "/api/v1/people/follow",
            Some(&ann.token),
            json!({ "handle": "ann" }),
        )
        .await
        .expect_error(400, "cannot_follow_self");
    alpha
        .post(
            "/api/v1/people/unfollow",
            Some(&ann.token),
            json!({ "handle": handle }),
        )
        .await
        .expect_error(409, "not_following");
    alpha
        .post("/api/v1/people/follow", None, json!({ "handle": handle }))
        .await
        .expect(401);
}

backend_tests!(follows_a_person_on_another_server);
