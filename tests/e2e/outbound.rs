//! Outgoing requests cannot be turned against the server: redirects to addresses it must not
//! reach are refused, redirect chains end, oversized bodies are cut off while they arrive,
//! backfills of hostile collections stop, and forged inbox deliveries store no host.
//!
//! Everything here talks to fake servers on 127.0.0.1. A refused redirect names 0.0.0.0, which
//! on Linux reaches this machine too, so even a broken check never leaves loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use cairn_federation::Network;
use cairn_federation::inspect::Fetcher;
use cairn_tests::{Backend, TestInstance, backend_tests};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Responder = Arc<dyn Fn(&str, &str) -> Response + Send + Sync>;

/// What the fake server's handler holds: the recorded requests, the responder and the base URL.
type FakeState = (Arc<Mutex<Vec<String>>>, Responder, String);

/// A fake server on loopback that records the path and query of every request.
struct Fake {
    base: String,
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    /// Starts a server answering with `respond(path_and_query, base)`.
    async fn start(respond: impl Fn(&str, &str) -> Response + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://localhost:{port}");
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let state = (hits.clone(), Arc::new(respond) as Responder, base.clone());
        async fn handle(State((hits, respond, base)): State<FakeState>, uri: Uri) -> Response {
            let target = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
            hits.lock().expect("lock").push(target.clone());
            respond(&target, &base)
        }
        let app = Router::new().fallback(handle).with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, port, hits }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().expect("lock").clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.hits().iter().filter(|h| h.starts_with(prefix)).count()
    }
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [("location", to.to_owned())]).into_response()
}

fn activity_json(doc: Value) -> Response {
    (
        [("content-type", "application/activity+json")],
        doc.to_string(),
    )
        .into_response()
}

/// An unsigned fetcher in insecure mode, as `cairn inspect` makes without a database.
async fn fetcher() -> Fetcher {
    let network = Network {
        insecure: true,
        dev_hosts: vec![],
    };
    Fetcher::new(None, "cairn.invalid", &network)
        .await
        .expect("fetcher")
        .0
}

/// A redirect to an address the server must not reach is refused before any request is made
/// there, even in insecure mode (which allows loopback, and 0.0.0.0 is not loopback by name).
#[tokio::test]
async fn redirect_to_a_forbidden_address_is_refused() {
    let target = Fake::start(|_, _| StatusCode::OK.into_response()).await;
    let to = format!("http://0.0.0.0:{}/.well-known/webfinger", target.port);
    let trap = Fake::start(move |_, _| redirect(&to)).await;
    let handle = format!("x@localhost:{}", trap.port);
    let err = fetcher().await.webfinger(&handle).await.unwrap_err();
    assert!(err.to_string().contains("may not be requested"), "{err}");
    assert_eq!(trap.hits().len(), 1, "the trap was asked once");
    assert_eq!(
        target.hits(),
        Vec::<String>::new(),
        "the redirect was not followed"
    );
}

/// A redirect loop ends after the allowed number of hops.
#[tokio::test]
async fn redirect_chains_end() {
    let looping = Fake::start(|target, base| redirect(&format!("{base}{target}"))).await;
    let handle = format!("x@localhost:{}", looping.port);
    let err = fetcher().await.webfinger(&handle).await.unwrap_err();
    assert!(err.to_string().contains("redirects more than"), "{err}");
    assert_eq!(
        looping.hits().len(),
        1 + cairn_federation::network::MAX_REDIRECTS
    );
}

/// An endless body is refused once it passes the limit, long before the request timeout, and
/// a declared length beyond the limit is refused without reading.
#[tokio::test]
async fn oversized_bodies_are_refused_while_read() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/jrd+json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                // Endless whitespace: valid JSON padding that never ends.
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let started = Instant::now();
    let err = fetcher()
        .await
        .webfinger(&format!("x@localhost:{port}"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused after {:?}",
        started.elapsed()
    );

    let declared = Fake::start(|_, _| {
        (
            [("content-type", "application/jrd+json")],
            " ".repeat(2 * 1024 * 1024),
        )
            .into_response()
    })
    .await;
    let err = fetcher()
        .await
        .webfinger(&format!("x@localhost:{}", declared.port))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
}

/// The documents of a hostile community: an outbox whose pages never end, and a featured
/// collection of a thousand URLs.
fn hostile_community(target: &str, base: &str, pem: &str) -> Response {
    let group = format!("{base}/c/big");
    let page = |n: u32| {
        json!({"type": "OrderedCollectionPage", "id": format!("{group}/outbox?page={n}"),
               "orderedItems": [format!("{base}/post/{n}")],
               "next": format!("{group}/outbox?page={}", n + 1)})
    };
    match target {
        t if t.starts_with("/.well-known/webfinger") => (
            [("content-type", "application/jrd+json")],
            json!({"subject": format!("acct:big@{}", base.trim_start_matches("http://")),
                   "links": [{"rel": "self", "type": "application/activity+json", "href": group}]})
            .to_string(),
        )
            .into_response(),
        "/c/big" => activity_json(json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "type": "Group", "id": group, "preferredUsername": "big", "name": "Big",
            "inbox": format!("{group}/inbox"), "outbox": format!("{group}/outbox"),
            "followers": format!("{group}/followers"), "featured": format!("{group}/featured"),
            "publicKey": {"id": format!("{group}#main-key"), "owner": group, "publicKeyPem": pem},
        })),
        "/c/big/outbox" => activity_json(json!({
            "type": "OrderedCollection", "id": format!("{group}/outbox"), "totalItems": 1_000_000,
            "first": format!("{group}/outbox?page=1")})),
        t if t.starts_with("/c/big/outbox?page=") => {
            let n: u32 = t
                .rsplit('=')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            activity_json(page(n))
        }
        "/c/big/featured" => activity_json(json!({
            "type": "OrderedCollection", "id": format!("{group}/featured"),
            "orderedItems": (0..1000).map(|n| format!("{base}/featured/{n}")).collect::<Vec<_>>()})),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Backfilling a community with an endless outbox and a thousand featured URLs reads a few
/// pages and a few featured posts, then stops.
async fn backfill_of_an_endless_collection_stops(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.dev_insecure_federation = true).await;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("key");
    let pem = rsa::RsaPublicKey::from(&key)
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let fake = Fake::start(move |target, base| hostile_community(target, base, &pem)).await;
    let handle = format!("big@localhost:{}", fake.port);
    let community = cairn_core::remote::resolve_community(cairn.ctx(), &handle)
        .await
        .expect("the community resolves");
    let resolver = cairn.ctx().resolver().expect("resolver").clone();
    let stored = resolver.backfill(&community).await.expect("backfill");
    assert_eq!(stored, 0, "nothing fetched was a post");
    let outbox = fake.count("/c/big/outbox");
    assert!(
        outbox <= cairn_federation::fetch::MAX_COLLECTION_PAGES,
        "outbox documents read: {outbox}"
    );
    let featured = fake.count("/featured/");
    assert!(
        (1..=cairn_federation::fetch::BACKFILL_FEATURED).contains(&featured),
        "featured posts fetched: {featured}"
    );
    assert!(
        fake.count("/post/") <= cairn_federation::fetch::MAX_COLLECTION_PAGES,
        "one post per page read: {:?}",
        fake.hits()
    );
    cairn.stop().await;
}

/// The number of instance rows, and whether the person `actor` is stored.
async fn known(cairn: &TestInstance, actor: &str) -> (i64, bool) {
    use cairn_storage::instances::InstanceRow;
    let actor = actor.to_owned();
    cairn
        .ctx()
        .db()
        .run(move |conn| {
            let instances = InstanceRow::count(conn)?;
            let person = cairn_storage::persons::PersonRow::by_ap_id(conn, &actor)?;
            Ok::<_, cairn_storage::StorageError>((instances, person.is_some()))
        })
        .await
        .expect("counts")
}

/// An unsigned inbox POST naming an actor on a fake server makes no request there; one signed
/// with a key that is not the actor's makes only the key fetch. Neither stores the host or the
/// actor.
async fn forged_deliveries_store_no_host(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.dev_insecure_federation = true).await;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("key");
    let pem = rsa::RsaPublicKey::from(&key)
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let fake = Fake::start(move |target, base| {
        let id = format!("{base}/u/mallory");
        match target {
            "/u/mallory" => activity_json(json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "type": "Person", "id": id, "preferredUsername": "mallory",
                "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
                "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
            })),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    })
    .await;
    let actor = format!("{}/u/mallory", fake.base);
    let before = known(&cairn, &actor).await;
    assert!(!before.1);
    let activity = json!({"id": format!("{}/activities/follow/1", fake.base), "type": "Follow",
                          "actor": actor, "object": cairn.url("/c/nowhere")});
    let body = activity.to_string();
    let unsigned = cairn
        .client
        .post(cairn.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(unsigned.status().as_u16(), 401);
    assert_eq!(
        fake.hits(),
        Vec::<String>::new(),
        "no request for an unsigned POST"
    );

    // Signed, but not by the actor's key: a key of another pair, whose signature cannot verify.
    let other = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("key");
    let forged = signed_post(&cairn, "/inbox", &actor, &body, &other).await;
    assert_eq!(forged.as_u16(), 401);
    assert_eq!(
        fake.hits(),
        vec!["/u/mallory".to_owned()],
        "only the key was fetched"
    );
    assert_eq!(
        known(&cairn, &actor).await,
        before,
        "no instance or person stored"
    );
    cairn.stop().await;
}

/// POSTs `body` signed draft-cavage style with `key` under `actor#main-key`; returns the status.
async fn signed_post(
    cairn: &TestInstance,
    inbox: &str,
    actor: &str,
    body: &str,
    key: &rsa::RsaPrivateKey,
) -> StatusCode {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use sha2::{Digest, Sha256};
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let digest = format!(
        "SHA-256={}",
        STANDARD.encode(Sha256::digest(body.as_bytes()))
    );
    let signing = format!(
        "(request-target): post {inbox}\nhost: {}\ndate: {date}\ndigest: {digest}",
        cairn.domain
    );
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(signing.as_bytes());
    cairn
        .client
        .post(cairn.url(inbox))
        .header("host", &cairn.domain)
        .header("date", &date)
        .header("digest", &digest)
        .header("content-type", "application/activity+json")
        .header(
            "signature",
            format!(
                "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",\
                 headers=\"(request-target) host date digest\",signature=\"{}\"",
                STANDARD.encode(signature.to_bytes())
            ),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("post")
        .status()
}

backend_tests!(
    backfill_of_an_endless_collection_stops,
    forged_deliveries_store_no_host
);
