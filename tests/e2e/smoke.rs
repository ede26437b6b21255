//! The five-minute tour of the README, as a test.

use cairn_tests::{Backend, TestInstance, backend_tests};
use serde_json::json;

async fn tour(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let id = cairn.post_in(&alice, "gardening", "Compost tips").await;
    let group = cairn.get_ap("/c/gardening").await;
    assert_eq!(group.expect(200)["type"], "Group");
    let post = cairn.get(&format!("/api/v1/posts/{id}"), None).await;
    assert_eq!(post.expect(200)["post"]["title"], "Compost tips");
    let c = cairn
        .post(
            &format!("/api/v1/posts/{id}/comments"),
            Some(&alice.token),
            json!({"body": "Use leaves"}),
        )
        .await;
    c.expect(201);
    cairn.stop().await;
}

backend_tests!(tour);
