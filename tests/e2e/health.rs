//! What load balancers and monitoring see: `/healthz`, `/readyz` and `/metrics`.

use cairn_core::accounts::{self, Origin, Registration};
use cairn_tests::{Backend, TestInstance, backend_tests, eventually};
use serde_json::json;

/// The sum of the samples of `metric` in a metrics text.
fn total(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// An administrator's token on `at`.
async fn admin_token(at: &TestInstance) -> String {
    let password = "correct horse battery staple";
    accounts::register(
        at.ctx(),
        Registration {
            username: "root".into(),
            password: password.into(),
            email: None,
            answer: None,
        },
        Origin::Admin { admin: true },
    )
    .await
    .expect("admin account");
    let login = at
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "root", "password": password}),
        )
        .await;
    login.expect(200)["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// The metrics text as an administrator reads it.
async fn metrics(at: &TestInstance, token: &str) -> String {
    let resp = at
        .client
        .get(at.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.expect("text")
}

/// Both probes answer while the instance runs; metrics need an administrator, and the inbox
/// count rises once another instance delivers a Follow.
async fn probes_and_metrics(backend: Backend) {
    let alpha = TestInstance::start_named(backend, "alpha", |_| {}).await;
    let beta = TestInstance::start_named(backend, "beta", |_| {}).await;

    let health = alpha
        .client
        .get(alpha.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.expect("text"), "ok");
    let ready = alpha
        .client
        .get(alpha.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);

    let anonymous = alpha
        .client
        .get(alpha.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(anonymous.status().as_u16(), 401);
    let alice = alpha.user("alice").await;
    let member = alpha
        .client
        .get(alpha.url("/metrics"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("metrics");
    assert_eq!(member.status().as_u16(), 403);

    let token = admin_token(&alpha).await;
    let before = metrics(&alpha, &token).await;
    assert!(before.contains("cairn_deliveries_queued"), "{before}");
    assert_eq!(total(&before, "cairn_inbox_activities"), 0.0, "{before}");
    assert!(
        before.contains("cairn_http_request_duration_seconds_bucket"),
        "{before}"
    );

    alpha.community(&alice, "gardening", "open").await;
    let bob = beta.user("bob").await;
    beta.follow_remote(&bob, &format!("gardening@{}", alpha.domain))
        .await;
    let after = eventually("alpha counts the Follow it received", || async {
        let text = metrics(&alpha, &token).await;
        (total(&text, "cairn_inbox_activities") >= 1.0).then_some(text)
    })
    .await;
    assert!(after.contains("state=\"applied\""), "{after}");
    assert!(
        after.contains("route=\"/inbox\"") || after.contains("route=\"/c/{name}/inbox\""),
        "{after}"
    );
    alpha.stop().await;
    beta.stop().await;
}

/// With `metrics_address`, `/metrics` is served there without a token and not on the main
/// address.
async fn metrics_on_their_own_address(backend: Backend) {
    // A free port, found by binding and letting go; only this test asks for it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let cairn = TestInstance::start_with(backend, |c| {
        c.metrics_address = format!("127.0.0.1:{port}");
    })
    .await;
    let main = cairn
        .client
        .get(cairn.url("/metrics"))
        .send()
        .await
        .expect("main");
    assert_eq!(main.status().as_u16(), 404);
    let separate = cairn
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(separate.status().as_u16(), 200);
    let text = separate.text().await.expect("text");
    assert!(text.contains("cairn_deliveries_queued"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    cairn.stop().await;
}

backend_tests!(probes_and_metrics, metrics_on_their_own_address);
