//! Remote communities by handle: an instance resolves `name@host` through WebFinger, fetches
//! the Group over real HTTP from another Cairn instance, verifies and stores it, and serves it
//! through its own API.

use cairn_tests::{Backend, TestInstance, backend_tests};
use serde_json::json;

async fn two_instances(backend: Backend) -> (TestInstance, TestInstance) {
    // A delivery that fails under the load of the whole suite is retried within a second
    // instead of the production default of thirty.
    let alpha =
        TestInstance::start_named(backend, "alpha", |c| c.delivery_retry_base_seconds = 1).await;
    let beta =
        TestInstance::start_named(backend, "beta", |c| c.delivery_retry_base_seconds = 1).await;
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
    // A person's handle is not taken for a missing community.
    beta.get(&format!("/api/v1/communities/alice@{}", alpha.domain), None)
        .await
        .expect_error(400, "not_a_community");
    beta.get("/api/v1/communities/@", None)
        .await
        .expect_error(400, "invalid_handle");
    alpha.stop().await;
    beta.stop().await;
}

backend_tests!(resolves_a_remote_community);

/// Polls `check` until it holds, for up to thirty seconds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn my_state(beta: &TestInstance, token: &str, handle: &str) -> Option<String> {
    let c = beta
        .get(&format!("/api/v1/communities/{handle}"), Some(token))
        .await;
    c.body["my_membership"]["state"].as_str().map(str::to_owned)
}

/// A beta user follows an open alpha community: pending until alpha's Accept arrives, then a
/// member on both sides; unfollowing sends Undo and alpha drops the member.
async fn follows_across_instances(backend: Backend) {
    let (alpha, beta) = two_instances(backend).await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "gardening", "open").await;
    let bob = beta.user("bob").await;
    let handle = format!("gardening@{}", alpha.domain);

    let followed = beta
        .post(
            "/api/v1/communities/follow",
            Some(&bob.token),
            json!({"handle": handle}),
        )
        .await;
    assert_eq!(followed.expect(200)["state"], "pending");
    eventually("alpha's Accept reaches beta", || async {
        my_state(&beta, &bob.token, &handle).await.as_deref() == Some("active")
    })
    .await;
    let members = alpha
        .get("/api/v1/communities/gardening/members", None)
        .await;
    let ids: Vec<&str> = members
        .expect(200)
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["person"]["ap_id"].as_str())
        .collect();
    assert!(
        ids.contains(&beta.url("/u/bob").as_str()),
        "bob is a member on alpha: {ids:?}"
    );

    beta.post(
        "/api/v1/communities/unfollow",
        Some(&bob.token),
        json!({"handle": handle}),
    )
    .await
    .expect(204);
    eventually("alpha drops the member after Undo", || async {
        let c = alpha.get("/api/v1/communities/gardening", None).await;
        c.body["member_count"] == 1
    })
    .await;
    alpha.stop().await;
    beta.stop().await;
}

/// Approval communities keep a remote follow pending until a moderator approves it through the
/// API; invite-only communities refuse it.
async fn follow_modes_across_instances(backend: Backend) {
    let (alpha, beta) = two_instances(backend).await;
    let alice = alpha.user("alice").await;
    alpha.community(&alice, "guild", "approval").await;
    alpha.community(&alice, "circle", "invite").await;
    let bob = beta.user("bob").await;
    let guild = format!("guild@{}", alpha.domain);
    let circle = format!("circle@{}", alpha.domain);

    beta.post(
        "/api/v1/communities/follow",
        Some(&bob.token),
        json!({"handle": guild}),
    )
    .await
    .expect(200);
    eventually("alpha lists the pending follow", || async {
        let p = alpha
            .get(
                "/api/v1/communities/guild/pending-follows",
                Some(&alice.token),
            )
            .await;
        p.body.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    let pending = alpha
        .get(
            "/api/v1/communities/guild/pending-follows",
            Some(&alice.token),
        )
        .await;
    let entry = &pending.expect(200)[0];
    assert_eq!(entry["handle"], format!("bob@{}", beta.domain));
    assert_eq!(
        my_state(&beta, &bob.token, &guild).await.as_deref(),
        Some("pending")
    );
    // Only moderators see and decide.
    let outsider = alpha.user("mallory").await;
    alpha
        .get(
            "/api/v1/communities/guild/pending-follows",
            Some(&outsider.token),
        )
        .await
        .expect_error(403, "moderator_only");
    alpha
        .post(
            "/api/v1/communities/guild/pending-follows",
            Some(&alice.token),
            json!({"actor": beta.url("/u/bob"), "approve": true}),
        )
        .await
        .expect(204);
    eventually("the approval reaches beta", || async {
        my_state(&beta, &bob.token, &guild).await.as_deref() == Some("active")
    })
    .await;

    beta.post(
        "/api/v1/communities/follow",
        Some(&bob.token),
        json!({"handle": circle}),
    )
    .await
    .expect(200);
    eventually("the Reject reaches beta", || async {
        my_state(&beta, &bob.token, &circle).await.is_none()
    })
    .await;
    let c = alpha.get("/api/v1/communities/circle", None).await;
    assert_eq!(
        c.expect(200)["member_count"],
        1,
        "nobody joined the invite-only community"
    );
    alpha.stop().await;
    beta.stop().await;
}

/// The inbox refuses what it cannot verify, with a specific reason.
async fn inbox_rejections(backend: Backend) {
    let alpha = TestInstance::start_with(backend, |c| {
        c.dev_insecure_federation = true;
        // A delivery that fails under the load of the whole suite is retried within a
        // second instead of the production default of thirty.
        c.delivery_retry_base_seconds = 1;
    })
    .await;
    let post_raw = |body: &'static str, content_type: &'static str| {
        let client = alpha.client.clone();
        let url = alpha.url("/inbox");
        async move {
            let resp = client
                .post(url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            (status, body)
        }
    };
    // No Digest or signature at all: refused before anything is parsed or fetched.
    let (status, body) = post_raw(r#"{"type":"Follow"}"#, "application/activity+json").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_signature");
    alpha.stop().await;
}

backend_tests!(
    follows_across_instances,
    follow_modes_across_instances,
    inbox_rejections
);

/// Outgoing fetches are signed by the instance actor, so servers that refuse unsigned GETs
/// (authorized fetch) answer. A recording server plays the remote instance.
async fn fetches_are_signed(backend: Backend) {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    use std::sync::{Arc, Mutex};

    #[derive(Clone)]
    struct Remote {
        base: String,
        pem: String,
        seen: Arc<Mutex<Vec<HeaderMap>>>,
    }
    async fn webfinger(State(r): State<Remote>) -> axum::response::Response {
        let host = r.base.trim_start_matches("http://");
        let doc = json!({"subject": format!("acct:fake@{host}"), "links": [
            {"rel": "self", "type": "application/activity+json", "href": format!("{}/c/fake", r.base)}]});
        ([("content-type", "application/jrd+json")], doc.to_string()).into_response()
    }
    async fn group(State(r): State<Remote>, headers: HeaderMap) -> axum::response::Response {
        r.seen.lock().expect("lock").push(headers);
        let id = format!("{}/c/fake", r.base);
        let doc = json!({"type": "Group", "id": id, "preferredUsername": "fake", "name": "Fake",
            "inbox": format!("{}/inbox", r.base), "outbox": format!("{id}/outbox"),
            "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": r.pem}});
        (
            [("content-type", "application/activity+json")],
            doc.to_string(),
        )
            .into_response()
    }
    use axum::response::IntoResponse;

    let key = rsa::RsaPrivateKey::new(&mut rand_core_compat(), 2048).expect("key");
    let pem = rsa::RsaPublicKey::from(&key)
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://localhost:{}",
        listener.local_addr().expect("addr").port()
    );
    let remote = Remote {
        base: base.clone(),
        pem,
        seen: Arc::default(),
    };
    let app = axum::Router::new()
        .route("/.well-known/webfinger", get(webfinger))
        .route("/c/fake", get(group))
        .with_state(remote.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let beta = TestInstance::start_with(backend, |c| c.dev_insecure_federation = true).await;
    let handle = format!("fake@{}", base.trim_start_matches("http://"));
    let found = beta
        .get(&format!("/api/v1/communities/{handle}"), None)
        .await;
    assert_eq!(found.expect(200)["title"], "Fake");
    let seen = remote.seen.lock().expect("lock").clone();
    let signature = seen
        .first()
        .and_then(|h| h.get("signature"))
        .and_then(|v| v.to_str().ok())
        .expect("the fetch carries a Signature header")
        .to_owned();
    assert!(
        signature.contains(&format!("keyId=\"{}#main-key\"", beta.url("/"))),
        "signed by the instance actor: {signature}"
    );
    beta.stop().await;
}

/// An OS random source for RSA key generation in tests.
fn rand_core_compat() -> rsa::rand_core::OsRng {
    rsa::rand_core::OsRng
}

backend_tests!(fetches_are_signed);
