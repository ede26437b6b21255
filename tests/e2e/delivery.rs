//! Delivery over real HTTP: the queued Announce reaches a follower's inbox signed by the
//! community (draft-cavage HTTP signature with a correct Digest), failures are retried with
//! backoff, and permanent refusals are not.
//!
//! The receiving inbox is a small axum server on loopback that records what it gets and checks
//! the signature against the key in the community's published Group document.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_storage::instances::InstanceRow;
use cairn_storage::{AnyConn, deliveries};
use cairn_tests::{Backend, TestInstance, backend_tests};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Clone, Default)]
struct Inbox {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// The Mastodon compatibility `Announce(Page)` copies, kept apart so that the scripted
    /// statuses and counts below concern the FEP-1b12 Announces only.
    compat: Arc<Mutex<Vec<Bytes>>>,
    /// Statuses to answer with, in order; 202 once exhausted.
    script: Arc<Mutex<Vec<u16>>>,
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let inner_type = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["object"]["type"].as_str().map(str::to_owned));
    if inner_type.as_deref() == Some("Page") {
        inbox.compat.lock().expect("lock").push(body);
        return StatusCode::ACCEPTED;
    }
    inbox.received.lock().expect("lock").push((headers, body));
    let next = {
        let mut script = inbox.script.lock().expect("lock");
        if script.is_empty() {
            202
        } else {
            script.remove(0)
        }
    };
    StatusCode::from_u16(next).unwrap_or(StatusCode::ACCEPTED)
}

/// Starts a recording inbox and returns its base URL (`http://localhost:PORT`).
async fn start_inbox(inbox: Inbox) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Router::new()
        .route("/inbox", post(receive))
        .with_state(inbox);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://localhost:{port}")
}

async fn wait_for(inbox: &Inbox, n: usize) -> Vec<(HeaderMap, Bytes)> {
    for _ in 0..200 {
        let got = inbox.received.lock().expect("lock").clone();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the inbox did not receive {n} requests within 10 s");
}

async fn queue_len(cairn: &TestInstance) -> i64 {
    cairn
        .ctx()
        .db()
        .run(deliveries::count)
        .await
        .expect("count")
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("missing header {name}"))
}

/// Checks a draft-cavage signature and its Digest against `public_key_pem`; returns the keyId.
fn verify_signature(h: &HeaderMap, body: &[u8], public_key_pem: &str) -> String {
    let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
    assert_eq!(header(h, "digest"), digest, "Digest must match the body");
    let sig = header(h, "signature");
    let field = |name: &str| -> String {
        sig.split(',')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("signature lacks {name}: {sig}"))
    };
    let signed_headers = field("headers");
    for required in ["(request-target)", "host", "date", "digest"] {
        assert!(
            signed_headers.split(' ').any(|x| x == required),
            "{required} must be signed: {signed_headers}"
        );
    }
    let signing_string = signed_headers
        .split(' ')
        .map(|name| match name {
            "(request-target)" => "(request-target): post /inbox".to_owned(),
            other => format!("{other}: {}", header(h, other)),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let key = rsa::RsaPublicKey::from_public_key_pem(public_key_pem).expect("public key");
    let signature = Signature::try_from(
        STANDARD
            .decode(field("signature"))
            .expect("base64")
            .as_slice(),
    )
    .expect("signature");
    VerifyingKey::<Sha256>::new(key)
        .verify(signing_string.as_bytes(), &signature)
        .expect("the HTTP signature verifies with the community's published key");
    field("keyId")
}

async fn signed_announce_reaches_the_inbox(backend: Backend) {
    let inbox = Inbox::default();
    let base = start_inbox(inbox.clone()).await;
    let cairn = TestInstance::start_with(backend, |c| c.dev_insecure_federation = true).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    cairn.add_remote_follower("gardening", "carol", &base).await;
    let post = cairn.post_in(&alice, "gardening", "Compost").await;

    let got = wait_for(&inbox, 1).await;
    assert_eq!(got.len(), 1, "one request per inbox");
    let (headers, body) = &got[0];
    let group = cairn.get_ap("/c/gardening").await;
    let pem = group.expect(200)["publicKey"]["publicKeyPem"]
        .as_str()
        .expect("pem")
        .to_owned();
    let key_id = verify_signature(headers, body, &pem);
    assert_eq!(key_id, cairn.url("/c/gardening#main-key"));
    assert!(header(headers, "content-type").starts_with("application/activity+json"));
    let activity: Value = serde_json::from_slice(body).expect("JSON body");
    assert_eq!(activity["type"], "Announce");
    assert_eq!(
        activity["object"]["object"]["id"],
        cairn.url(&format!("/post/{post}"))
    );

    // Delivered work leaves the queue, and the instance is known to answer.
    for _ in 0..100 {
        if queue_len(&cairn).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queue_len(&cairn).await, 0);
    // Mastodon cannot read Announce(Create(Page)); the compatibility copy carries the Page itself.
    let compat = inbox.compat.lock().expect("lock").clone();
    assert_eq!(compat.len(), 1, "one compatibility Announce(Page)");
    let compat: Value = serde_json::from_slice(&compat[0]).expect("JSON body");
    assert_eq!(compat["type"], "Announce");
    assert_eq!(compat["object"]["id"], cairn.url(&format!("/post/{post}")));
    let host = base.trim_start_matches("http://").to_owned();
    let row = cairn
        .ctx()
        .db()
        .run(move |conn: &mut AnyConn<'_>| InstanceRow::get(conn, &host))
        .await
        .expect("instance")
        .expect("instance row");
    assert!(row.last_success_at.is_some());
    assert_eq!(row.consecutive_failures, 0);
    cairn.stop().await;
}

async fn failures_are_retried_and_refusals_dropped(backend: Backend) {
    let inbox = Inbox::default();
    // The first attempt meets a server error, the retry succeeds; the next activity is refused
    // for good with a 400 and must not be retried.
    *inbox.script.lock().expect("lock") = vec![503, 202, 400];
    let base = start_inbox(inbox.clone()).await;
    let cairn = TestInstance::start_with(backend, |c| {
        c.dev_insecure_federation = true;
        c.delivery_retry_base_seconds = 1;
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    cairn.add_remote_follower("gardening", "carol", &base).await;
    cairn.post_in(&alice, "gardening", "Compost").await;

    let got = wait_for(&inbox, 2).await;
    assert_eq!(got[0].1, got[1].1, "the retry sends the same activity");
    for _ in 0..100 {
        if queue_len(&cairn).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queue_len(&cairn).await, 0, "the retried delivery succeeded");

    cairn.post_in(&alice, "gardening", "Refused").await;
    wait_for(&inbox, 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        inbox.received.lock().expect("lock").len(),
        3,
        "a 400 is not retried"
    );
    assert_eq!(queue_len(&cairn).await, 0);
    cairn.stop().await;
}

backend_tests!(
    signed_announce_reaches_the_inbox,
    failures_are_retried_and_refusals_dropped
);
