//! Rate limits end to end: writes counted per account and per client address (taken from
//! `X-Forwarded-For` only behind a trusted proxy), the web form's 429 page, and inbox
//! deliveries counted per sending host once their signature is verified.

use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_tests::{Answer, Backend, TestInstance, User, backend_tests};
use reqwest::StatusCode;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::web::browser::Browser;

/// Creates a post in `gardening` as `user`, with `X-Forwarded-For: forwarded` if given.
async fn post(cairn: &TestInstance, user: &User, title: &str, forwarded: Option<&str>) -> Answer {
    let mut req = cairn
        .client
        .post(cairn.url("/api/v1/posts"))
        .bearer_auth(&user.token)
        .json(&json!({"community": "gardening", "title": title}));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    Answer::read(req.send().await.expect("request")).await
}

/// The `Retry-After` of a 429 answer, in seconds.
#[track_caller]
fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    let secs: u64 = headers
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .expect("text")
        .parse()
        .expect("whole seconds");
    assert!(secs >= 1, "Retry-After {secs}");
    secs
}

#[track_caller]
fn limited(a: &Answer) {
    a.expect_error(429, "rate_limited");
    // Three posts per minute: one more every 20 seconds.
    assert!(retry_after(&a.headers) <= 20, "{:?}", a.headers);
}

async fn three_posts_per_minute(backend: Backend, proxies: &[&str]) -> (TestInstance, User) {
    let proxies = proxies.iter().map(|p| (*p).to_owned()).collect();
    let cairn = TestInstance::start_with(backend, |c| {
        c.rate_limit_posts_per_minute = 3;
        c.trusted_proxies = proxies;
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    (cairn, alice)
}

/// Without trusted proxies: the fourth post in a minute is refused, a second account from the
/// same address is refused by the address's count, and `X-Forwarded-For` changes nothing.
async fn posts_limited_per_account_and_address(backend: Backend) {
    let (cairn, alice) = three_posts_per_minute(backend, &[]).await;
    for n in 0..3 {
        post(&cairn, &alice, &format!("Post {n}"), None)
            .await
            .expect(201);
    }
    limited(&post(&cairn, &alice, "One too many", None).await);
    let bob = cairn.user("bob").await;
    limited(&post(&cairn, &bob, "From the same address", None).await);
    // The peer is no trusted proxy, so what it claims about the client is ignored.
    limited(&post(&cairn, &bob, "Claims another address", Some("203.0.113.7")).await);
    // Reads are not limited.
    cairn
        .get("/api/v1/communities/gardening/posts", None)
        .await
        .expect(200);
    cairn.stop().await;
}

/// Behind a trusted proxy (the tests' loopback peer), the client is the right-most untrusted
/// `X-Forwarded-For` entry: another client is counted apart, while the account's own count
/// follows it to any address.
async fn forwarded_for_behind_trusted_proxy(backend: Backend) {
    let (cairn, alice) = three_posts_per_minute(backend, &["127.0.0.1", "::1"]).await;
    let bob = cairn.user("bob").await;
    for n in 0..3 {
        post(&cairn, &alice, &format!("Post {n}"), Some("203.0.113.1"))
            .await
            .expect(201);
    }
    limited(&post(&cairn, &alice, "One too many", Some("203.0.113.1")).await);
    // Bob, at another address behind the same proxy, still has his quota; a spoofed entry to
    // the left of the proxy's own is not believed.
    post(
        &cairn,
        &bob,
        "Another client",
        Some("203.0.113.1, 198.51.100.2"),
    )
    .await
    .expect(201);
    // Alice from anywhere is over her account's quota.
    limited(&post(&cairn, &alice, "Elsewhere", Some("198.51.100.9")).await);
    // Bob from Alice's address is over the address's quota.
    limited(&post(&cairn, &bob, "Alice's address", Some("203.0.113.1")).await);
    cairn.stop().await;
}

/// The compose form over the limit answers a 429 page that says how long to wait.
async fn web_form_limited(backend: Backend) {
    let (cairn, alice) = three_posts_per_minute(backend, &[]).await;
    let mut bob = Browser::new(&cairn);
    bob.sign_up("bob").await;
    // Alice's three API posts spend the address's quota that Bob's browser shares.
    for n in 0..3 {
        post(&cairn, &alice, &format!("Post {n}"), None)
            .await
            .expect(201);
    }
    let page = bob
        .submit(
            "/c/gardening/submit",
            "/c/gardening/submit",
            &[("title", "Too soon"), ("body", "")],
        )
        .await;
    page.expect(429);
    retry_after(&page.headers);
    assert!(page.body.contains("Slow down"), "{}", page.body);
    assert!(page.body.contains("Too many posts"), "{}", page.body);
    cairn.stop().await;
}

/// Sign-in attempts over the limit answer 429 with Retry-After, on the form itself, which
/// keeps the name typed.
async fn web_sign_in_limited(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.login_per_minute = 2).await;
    cairn.user("jane").await;
    let mut b = Browser::new(&cairn);
    // Setting jane up signed her in once through the API, from the same address; one wrong
    // guess through the form spends the rest of the quota.
    let page = b
        .submit(
            "/login",
            "/login",
            &[("username", "jane"), ("password", "wrong guess")],
        )
        .await;
    page.expect(422);
    let page = b
        .submit(
            "/login",
            "/login",
            &[("username", "jane"), ("password", "wrong guess")],
        )
        .await;
    page.expect(429);
    retry_after(&page.headers);
    assert!(page.body.contains("Too many"), "{}", page.body);
    assert!(page.body.contains("value=\"jane\""), "{}", page.body);
    cairn.stop().await;
}

/// A fake remote server with one actor, `/u/tester`, whose key signs its deliveries.
struct Remote {
    base: String,
    key: RsaPrivateKey,
}

async fn serve_actor(State(doc): State<Value>, uri: Uri) -> axum::response::Response {
    if uri.path() == "/u/tester" {
        (
            [("content-type", "application/activity+json")],
            doc.to_string(),
        )
            .into_response()
    } else {
        axum::http::StatusCode::NOT_FOUND.into_response()
    }
}

impl Remote {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!(
            "http://localhost:{}",
            listener.local_addr().expect("addr").port()
        );
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
        let id = format!("{base}/u/tester");
        let pem = rsa::RsaPublicKey::from(&key)
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        let doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Person", "id": id, "preferredUsername": "tester",
            "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
            "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
        });
        let app = Router::new().fallback(serve_actor).with_state(doc);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, key }
    }

    /// Delivers a Follow of `gardening`, numbered `n`, to the shared inbox, signed as Mastodon
    /// signs.
    async fn follow(&self, cairn: &TestInstance, n: u32) -> Answer {
        self.follow_from(cairn, n, None).await
    }

    /// Delivers a signed Follow, through a proxy that names the client `from` when given.
    async fn follow_from(&self, cairn: &TestInstance, n: u32, from: Option<&str>) -> Answer {
        let actor = format!("{}/u/tester", self.base);
        let body = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/activities/follow/{n}", self.base),
            "type": "Follow", "actor": actor, "object": cairn.url("/c/gardening"),
        })
        .to_string();
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let digest = format!(
            "SHA-256={}",
            STANDARD.encode(Sha256::digest(body.as_bytes()))
        );
        let content_type = "application/activity+json";
        let signing_string = format!(
            "(request-target): post /inbox\nhost: {}\ndate: {date}\ndigest: {digest}\n\
             content-type: {content_type}",
            cairn.domain
        );
        let signature = SigningKey::<Sha256>::new(self.key.clone()).sign(signing_string.as_bytes());
        let mut request = cairn.client.post(cairn.url("/inbox"));
        if let Some(client) = from {
            request = request.header("x-forwarded-for", client);
        }
        let resp = request
            .header("host", &cairn.domain)
            .header("date", &date)
            .header("digest", &digest)
            .header("content-type", content_type)
            .header(
                "signature",
                format!(
                    "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",\
                     headers=\"(request-target) host date digest content-type\",\
                     signature=\"{}\"",
                    STANDARD.encode(signature.to_bytes())
                ),
            )
            .body(body)
            .send()
            .await
            .expect("inbox request");
        Answer::read(resp).await
    }
}

/// Past its per-minute quota a host's deliveries answer 429 with Retry-After, while another
/// host's are still accepted.
async fn inbox_limited_per_host(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| {
        c.dev_insecure_federation = true;
        c.rate_limit_inbox_per_host_per_minute = 2;
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let (busy, quiet) = tokio::join!(Remote::start(), Remote::start());
    busy.follow(&cairn, 1).await.expect(202);
    busy.follow(&cairn, 2).await.expect(202);
    let refused = busy.follow(&cairn, 3).await;
    refused.expect_error(429, "rate_limited");
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused.headers) <= 30);
    quiet.follow(&cairn, 1).await.expect(202);
    cairn.stop().await;
}

/// Before its signature is checked (which may fetch an unknown actor's key), a delivery counts
/// against its sending address: past the quota it answers 429, while another address's
/// deliveries are still accepted.
async fn inbox_limited_per_address(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| {
        c.dev_insecure_federation = true;
        c.rate_limit_inbox_per_address_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.1".into(), "::1".into()];
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let (one, two) = tokio::join!(Remote::start(), Remote::start());
    let crowded = Some("203.0.113.7");
    one.follow_from(&cairn, 1, crowded).await.expect(202);
    two.follow_from(&cairn, 1, crowded).await.expect(202);
    // The third delivery from that address is refused, whichever server signed it.
    let refused = two.follow_from(&cairn, 2, crowded).await;
    refused.expect_error(429, "rate_limited");
    assert!(retry_after(&refused.headers) <= 30);
    one.follow_from(&cairn, 2, Some("198.51.100.20"))
        .await
        .expect(202);
    cairn.stop().await;
}

backend_tests!(
    inbox_limited_per_address,
    posts_limited_per_account_and_address,
    forwarded_for_behind_trusted_proxy,
    web_form_limited,
    web_sign_in_limited,
    inbox_limited_per_host,
);
