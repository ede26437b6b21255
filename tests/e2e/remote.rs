//! Remote communities by handle: an instance resolves `name@host` through WebFinger, fetches
//! the Group over real HTTP from another Cairn instance, verifies and stores it, and serves it
//! through its own API.

use cairn_tests::{Backend, TestInstance, backend_tests};
use serde_json::json;

async fn two_instances(backend: Backend) -> (TestInstance, TestInstance) {
    let alpha = TestInstance::start_with(backend, |c| c.dev_insecure_federation = true).await;
    let beta = TestInstance::start_with(backend, |c| c.dev_insecure_federation = true).await;
    (alpha, beta)
}

async fn resolves_a_remote_community(backend: Backend) {
    let (alpha, beta) = two_instances(backend).await;
    let owner = alpha.user("alice").await;
    alpha
        .post(
            "/api/v1/communities",
            Some(&owner.token),
            json!({"name": "gardening", "title": "Gardeners", "description": "Soil **and** seeds",
                   "kind": "working_group", "membership": "approval"}),
        )
        .await
        .expect(201);

    let handle = format!("gardening@{}", alpha.domain);
    let found = beta
        .get(&format!("/api/v1/communities/{handle}"), None)
        .await;
    let c = found.expect(200);
    assert_eq!(c["name"], "gardening");
    assert_eq!(c["title"], "Gardeners");
    assert_eq!(c["local"], false);
    assert_eq!(c["ap_id"], alpha.url("/c/gardening"));
    assert_eq!(c["kind"], "working_group");
    assert_eq!(
        c["membership"], "approval",
        "manuallyApprovesFollowers is read"
    );
    assert!(
        c["description_html"]
            .as_str()
            .unwrap_or("")
            .contains("<strong>and</strong>")
    );

    // The second look-up finds the stored copy, with the same id.
    let again = beta
        .get(&format!("/api/v1/communities/{handle}"), None)
        .await;
    assert_eq!(again.expect(200)["id"], c["id"]);

    // Its posts are listed through the same handle (none mirrored yet).
    let posts = beta
        .get(
            &format!("/api/v1/communities/{handle}/posts?sort=new"),
            None,
        )
        .await;
    assert_eq!(posts.expect(200)["posts"], json!([]));

    // A local name given with the local host is the local community.
    let local = alpha
        .get(&format!("/api/v1/communities/{handle}"), None)
        .await;
    assert_eq!(local.expect(200)["local"], true);

    // Unknown communities and malformed handles fail clearly.
    beta.get(
        &format!("/api/v1/communities/nosuch@{}", alpha.domain),
        None,
    )
    .await
    .expect_error(404, "remote_community_not_found");
    beta.get("/api/v1/communities/@", None)
        .await
        .expect_error(400, "invalid_handle");
    alpha.stop().await;
    beta.stop().await;
}

backend_tests!(resolves_a_remote_community);
