//! The ActivityPub inbox end to end: a fake remote server on loopback plays another instance,
//! serving its actors over HTTP and POSTing activities signed exactly as Mastodon signs them
//! (draft-cavage HTTP signature over `(request-target) host date digest content-type`).
//!
//! Accepted activities must change what the API shows (posts, comments, scores) exactly once;
//! refused ones must answer 4xx with their specific error code, store nothing, and leave the
//! server working.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_tests::{Answer, Backend, InboxVerdict, TestInstance, backend_tests, fixtures_dir};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

mod hostile;
mod lenient;

/// The ActivityStreams public collection.
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The documents the fake server serves, by path.
type Docs = Arc<Mutex<HashMap<String, Value>>>;

/// What the fake server was asked: `METHOD path`, and the bodies POSTed to it.
#[derive(Default)]
struct Log {
    requests: Vec<String>,
    posted: Vec<Value>,
}

type Shared = (Docs, Arc<Mutex<Log>>);

/// Answers a GET with the document stored at its path, or 404, and takes any POST (an inbox)
/// with 202; every request is logged.
async fn serve_doc(State((docs, log)): State<Shared>, request: axum::extract::Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    log.lock()
        .expect("lock")
        .requests
        .push(format!("{method} {path}"));
    if method == axum::http::Method::POST {
        let body = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        if let Ok(v) = serde_json::from_slice(&body) {
            log.lock().expect("lock").posted.push(v);
        }
        return StatusCode::ACCEPTED.into_response();
    }
    let doc = docs.lock().expect("lock").get(&path).cloned();
    match doc {
        Some(doc) => (
            [("content-type", "application/activity+json")],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A new RSA-2048 key pair.
fn new_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key")
}

/// How a delivery is spoiled, to check that the inbox notices.
#[derive(Clone, Copy)]
enum Flaw<'a> {
    /// A correct request.
    Sound,
    /// The Digest header hashes other bytes than the body.
    WrongDigest,
    /// The signature is made with this key instead of the actor's.
    OtherKey(&'a RsaPrivateKey),
    /// No Signature header at all.
    Unsigned,
    /// Not a flaw: a correct request whose Digest names its algorithm in lower case
    /// (`sha-256=`), as bovine sends it.
    LowercaseDigest,
}

/// A fake remote instance at `http://localhost:PORT`, with one key pair for all its actors.
struct Remote {
    base: String,
    key: RsaPrivateKey,
    docs: Docs,
    log: Arc<Mutex<Log>>,
}

impl Remote {
    /// Starts the server with the Person `/u/tester`.
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let docs = Docs::default();
        let log = Arc::new(Mutex::new(Log::default()));
        let app = Router::new()
            .fallback(serve_doc)
            .with_state((docs.clone(), log.clone()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let remote = Self {
            base: format!("http://localhost:{port}"),
            key: new_key(),
            docs,
            log,
        };
        remote.actor("/u/tester", "Person", "tester");
        remote
    }

    /// An absolute URL on the fake server.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The id of the Person that sends most activities.
    fn tester(&self) -> String {
        self.url("/u/tester")
    }

    /// Serves `doc` at `path`.
    fn serve(&self, path: &str, doc: Value) {
        self.docs.lock().expect("lock").insert(path.to_owned(), doc);
    }

    /// Serves an actor (`Person` or `Group`) at `path` with the server's public key; returns its id.
    fn actor(&self, path: &str, kind: &str, name: &str) -> String {
        let id = self.url(path);
        let pem = rsa::RsaPublicKey::from(&self.key)
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        self.serve(
            path,
            json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "type": kind, "id": id, "preferredUsername": name, "name": name,
                "inbox": format!("{id}/inbox"), "outbox": format!("{id}/outbox"),
                "endpoints": {"sharedInbox": self.url("/inbox")},
                "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pem},
            }),
        );
        id
    }

    /// Loads a fixture and moves it onto this server: each `(from, to)` pair is replaced in
    /// its text, in order.
    fn fixture(&self, name: &str, replace: &[(&str, &str)]) -> Value {
        let path = fixtures_dir().join(name);
        let mut text = std::fs::read_to_string(&path).expect("fixture");
        for (from, to) in replace {
            text = text.replace(from, to);
        }
        serde_json::from_str(&text).expect("fixture JSON")
    }

    /// POSTs `activity`, correctly signed by its `actor`, to `inbox` on `cairn`.
    async fn send(&self, cairn: &TestInstance, inbox: &str, activity: &Value) -> Answer {
        let actor = activity["actor"].as_str().expect("actor");
        let body = activity.to_string().into_bytes();
        self.deliver(cairn, inbox, actor, body, Flaw::Sound).await
    }

    /// Delivers `activity`, which must be answered 202, and waits for the inbox's verdict.
    async fn decided(&self, cairn: &TestInstance, inbox: &str, activity: &Value) -> InboxVerdict {
        self.send(cairn, inbox, activity).await.expect(202);
        cairn
            .verdict(activity["id"].as_str().expect("activity id"))
            .await
    }

    /// Delivers `activity` and checks that the inbox applied it.
    async fn applied(&self, cairn: &TestInstance, inbox: &str, activity: &Value) {
        let v = self.decided(cairn, inbox, activity).await;
        assert_eq!(v.state, "applied", "{activity}: {v:?}");
    }

    /// Delivers `activity` and checks that the inbox refused it with `code`.
    async fn refused(&self, cairn: &TestInstance, inbox: &str, activity: &Value, code: &str) {
        let v = self.decided(cairn, inbox, activity).await;
        assert_eq!(
            (v.state.as_str(), v.code.as_str()),
            ("refused", code),
            "{activity}: {v:?}"
        );
    }

    /// Delivers `activity` and checks that the inbox acknowledged and ignored it with `code`.
    async fn ignored(&self, cairn: &TestInstance, inbox: &str, activity: &Value, code: &str) {
        let v = self.decided(cairn, inbox, activity).await;
        assert_eq!(
            (v.state.as_str(), v.code.as_str()),
            ("ignored", code),
            "{activity}: {v:?}"
        );
    }

    /// POSTs `body` to `inbox` signed draft-cavage style with `actor#main-key`, as Mastodon
    /// does, spoiled as `flaw` says.
    async fn deliver(
        &self,
        cairn: &TestInstance,
        inbox: &str,
        actor: &str,
        body: Vec<u8>,
        flaw: Flaw<'_>,
    ) -> Answer {
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let hashed: &[u8] = match flaw {
            Flaw::WrongDigest => b"another body",
            _ => &body,
        };
        let algorithm = match flaw {
            Flaw::LowercaseDigest => "sha-256",
            _ => "SHA-256",
        };
        let digest = format!("{algorithm}={}", STANDARD.encode(Sha256::digest(hashed)));
        let content_type = "application/activity+json";
        let signing_string = format!(
            "(request-target): post {inbox}\nhost: {}\ndate: {date}\ndigest: {digest}\n\
             content-type: {content_type}",
            cairn.domain
        );
        let key = match flaw {
            Flaw::OtherKey(k) => k,
            _ => &self.key,
        };
        let signature = SigningKey::<Sha256>::new(key.clone()).sign(signing_string.as_bytes());
        let mut req = cairn
            .client
            .post(cairn.url(inbox))
            .header("host", &cairn.domain)
            .header("date", &date)
            .header("digest", &digest)
            .header("content-type", content_type);
        if !matches!(flaw, Flaw::Unsigned) {
            req = req.header(
                "signature",
                format!(
                    "keyId=\"{actor}#main-key\",algorithm=\"rsa-sha256\",\
                     headers=\"(request-target) host date digest content-type\",\
                     signature=\"{}\"",
                    STANDARD.encode(signature.to_bytes())
                ),
            );
        }
        let resp = req.body(body).send().await.expect("inbox request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Lemmy's Create(Page) fixture from the tester, addressed to `community`; `n` makes the
    /// activity and post ids unique.
    fn create_page(&self, community: &str, n: u32) -> Value {
        let tester = self.tester();
        let mut a = self.fixture(
            "lemmy/activities/create_or_update/create_page.json",
            &[
                ("http://ds9.lemmy.ml/u/lemmy_alpha", &tester),
                ("https://enterprise.lemmy.ml/c/main", community),
                ("http://enterprise.lemmy.ml/c/main", community),
            ],
        );
        a["id"] = json!(self.url(&format!("/activities/create/page-{n}")));
        a["object"]["id"] = json!(self.url(&format!("/post/{n}")));
        a["object"]["name"] = json!(format!("Compost in winter {n}"));
        a
    }
}

/// A local instance with the open community `gardening` and a fake remote; returns the
/// community's ActivityPub id too.
async fn setup(backend: Backend) -> (TestInstance, Remote, String) {
    setup_with(backend, |_| {}).await
}

/// As [`setup`], with the instance's configuration changed first.
async fn setup_with(
    backend: Backend,
    tweak: impl FnOnce(&mut cairn_server::config::Config),
) -> (TestInstance, Remote, String) {
    let cairn = TestInstance::start_with(backend, |c| {
        c.dev_insecure_federation = true;
        tweak(c);
    })
    .await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let community = cairn.url("/c/gardening");
    (cairn, Remote::start().await, community)
}

/// The posts listed in `gardening`.
async fn posts(cairn: &TestInstance) -> Vec<Value> {
    let page = cairn
        .get("/api/v1/communities/gardening/posts?sort=new", None)
        .await;
    page.expect(200)["posts"].as_array().expect("posts").clone()
}

/// A post with its comments, as the API shows it.
async fn detail(cairn: &TestInstance, id: &Value) -> Value {
    let path = format!("/api/v1/posts/{}", id.as_i64().expect("post id"));
    cairn.get(&path, None).await.expect(200).clone()
}

/// Applies `edit` to an activity and to its embedded object, which repeat the addressing.
fn both(activity: &mut Value, edit: impl Fn(&mut Value)) {
    edit(&mut activity["object"]);
    edit(activity);
}

/// Checks that the server still answers after what it was sent, and stops it.
async fn still_working(cairn: TestInstance) {
    cairn.get("/nodeinfo/2.1", None).await.expect(200);
    cairn.stop().await;
}

/// Scenario 1: a signed Create(Page) becomes a post; its redelivery changes nothing.
async fn accepts_a_signed_page(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let create = remote.create_page(&community, 1);
    remote.applied(&cairn, "/inbox", &create).await;

    let listed = posts(&cairn).await;
    assert_eq!(listed.len(), 1, "the post is listed: {listed:?}");
    assert_eq!(listed[0]["title"], "Compost in winter 1");
    assert_eq!(listed[0]["ap_id"], remote.url("/post/1"));
    assert_eq!(listed[0]["local"], false);

    // Servers redeliver when unsure; the same activity again is accepted and ignored.
    remote.applied(&cairn, "/inbox", &create).await;
    let listed = posts(&cairn).await;
    assert_eq!(listed.len(), 1, "a redelivery adds no post: {listed:?}");

    // The Digest's algorithm name is read in any case.
    let second = remote.create_page(&community, 2);
    let actor = second["actor"].as_str().expect("actor").to_owned();
    remote
        .deliver(
            &cairn,
            "/inbox",
            &actor,
            second.to_string().into_bytes(),
            Flaw::LowercaseDigest,
        )
        .await
        .expect(202);
    let id = second["id"].as_str().expect("id");
    assert_eq!(cairn.verdict(id).await.state, "applied");
    assert_eq!(
        posts(&cairn).await.len(),
        2,
        "the lower-case Digest is accepted"
    );
    still_working(cairn).await;
}

/// Scenario 2: a Mastodon toot mentioning the group, not a reply, becomes a post titled by its
/// first line without the mention.
async fn mastodon_note_becomes_a_post(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let mut create = remote.fixture(
        "mastodon/activities/create_note.json",
        &[
            ("https://mastodon.madrid/users/felix", &tester),
            ("https://mastodon.madrid/@felix", &remote.url("/@tester")),
            ("https://mamot.fr/users/retiolus", &community),
        ],
    );
    let content = format!(
        "<p><span class=\"h-card\"><a href=\"{community}\" class=\"u-url mention\">\
         @<span>gardening</span></a></span> Winter compost questions</p>\
         <p>How do you keep the pile warm?</p>"
    );
    let note = &mut create["object"];
    note["inReplyTo"] = Value::Null;
    note["inReplyToAtomUri"] = Value::Null;
    note["content"] = json!(content);
    note["contentMap"] = json!({ "en": content });
    note["tag"] = json!([{"type": "Mention", "href": community,
                          "name": format!("@gardening@{}", cairn.domain)}]);
    remote.applied(&cairn, "/c/gardening/inbox", &create).await;

    let listed = posts(&cairn).await;
    assert_eq!(listed.len(), 1, "the toot is a post: {listed:?}");
    assert_eq!(listed[0]["title"], "Winter compost questions");
    assert_eq!(listed[0]["ap_id"], create["object"]["id"]);
    let shown = detail(&cairn, &listed[0]["id"]).await;
    let body = shown["post"]["body_html"].as_str().unwrap_or("");
    assert!(body.contains("keep the pile warm"), "body kept: {shown}");
    still_working(cairn).await;
}

/// Scenario 3: a Note in reply to an accepted post becomes a comment on it.
async fn note_reply_becomes_a_comment(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let page = remote.create_page(&community, 1);
    remote.applied(&cairn, "/inbox", &page).await;
    let reply = json!({
        "id": remote.url("/activities/create/reply-1"), "type": "Create", "actor": tester,
        "to": [PUBLIC], "cc": [community], "audience": community,
        "object": {"type": "Note", "id": remote.url("/comment/1"), "attributedTo": tester,
                   "to": [PUBLIC], "cc": [community], "audience": community,
                   "inReplyTo": remote.url("/post/1"), "content": "<p>Add dry leaves.</p>",
                   "mediaType": "text/html"}
    });
    remote.applied(&cairn, "/u/alice/inbox", &reply).await;

    let listed = posts(&cairn).await;
    let shown = detail(&cairn, &listed[0]["id"]).await;
    assert_eq!(shown["post"]["comment_count"], 1, "{shown}");
    let comment = &shown["comments"][0]["comment"];
    assert_eq!(comment["ap_id"], remote.url("/comment/1"));
    assert!(
        comment["parent_id"].is_null(),
        "a top-level comment: {comment}"
    );
    let html = comment["body_html"].as_str().unwrap_or("");
    assert!(html.contains("Add dry leaves."), "{comment}");
    still_working(cairn).await;
}

/// Scenario 4: a Like raises the post's score to 1, and its Undo brings it back to 0.
async fn like_and_undo(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let page = remote.create_page(&community, 1);
    remote.applied(&cairn, "/inbox", &page).await;
    let post = posts(&cairn).await[0]["id"].clone();
    assert_eq!(detail(&cairn, &post).await["post"]["score"], 0);

    let like = json!({"id": remote.url("/activities/like/1"), "type": "Like", "actor": tester,
                      "object": remote.url("/post/1"), "audience": community});
    remote.applied(&cairn, "/inbox", &like).await;
    assert_eq!(detail(&cairn, &post).await["post"]["score"], 1);

    let undo = json!({"id": remote.url("/activities/undo/1"), "type": "Undo", "actor": tester,
                      "object": like, "audience": community});
    remote.applied(&cairn, "/inbox", &undo).await;
    assert_eq!(detail(&cairn, &post).await["post"]["score"], 0);
    still_working(cairn).await;
}

/// Scenario 4b: Mastodon addresses a Like, its Undo and a Delete to no community, and a reply
/// only to the people in the thread; each lands in the community of the post it is about.
async fn unaddressed_activities_land_with_their_post(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let page = remote.create_page(&community, 1);
    remote.applied(&cairn, "/inbox", &page).await;
    let post = posts(&cairn).await[0]["id"].clone();
    let post_id = remote.url("/post/1");
    let mastodon = |fixture: &str| {
        remote.fixture(
            fixture,
            &[
                (
                    "https://mastodon.madrid/users/felix/statuses/107773559874184870",
                    &post_id,
                ),
                ("https://mastodon.madrid/users/felix", &tester),
                ("https://ds9.lemmy.ml/post/147", &post_id),
            ],
        )
    };

    let like = mastodon("mastodon/activities/like_page.json");
    remote.applied(&cairn, "/u/alice/inbox", &like).await;
    assert_eq!(detail(&cairn, &post).await["post"]["score"], 1);
    let undo = mastodon("mastodon/activities/undo_like_page.json");
    remote.applied(&cairn, "/u/alice/inbox", &undo).await;
    assert_eq!(detail(&cairn, &post).await["post"]["score"], 0);

    let reply = json!({
        "id": remote.url("/activities/create/reply-1"), "type": "Create", "actor": tester,
        "to": [PUBLIC], "cc": [format!("{tester}/followers")],
        "object": {"type": "Note", "id": remote.url("/comment/1"), "attributedTo": tester,
                   "to": [PUBLIC], "cc": [format!("{tester}/followers")],
                   "inReplyTo": post_id, "content": "<p>Add dry leaves.</p>"}
    });
    remote.applied(&cairn, "/inbox", &reply).await;
    assert_eq!(detail(&cairn, &post).await["post"]["comment_count"], 1);

    let delete = mastodon("mastodon/activities/delete.json");
    remote.applied(&cairn, "/inbox", &delete).await;
    let path = format!("/api/v1/posts/{}", post.as_i64().expect("post id"));
    cairn
        .get(&path, None)
        .await
        .expect_error(410, "post_deleted");

    // About nothing known here, it is acknowledged and ignored.
    let mut stray = mastodon("mastodon/activities/like_page.json");
    stray["id"] = json!(format!("{tester}#likes/2"));
    stray["object"] = json!(remote.url("/post/unknown"));
    remote
        .ignored(&cairn, "/inbox", &stray, "unknown_object")
        .await;
    still_working(cairn).await;
}

/// Scenario 5a: requests whose signature, digest, JSON, type or ids cannot be trusted are
/// refused before anything is stored.
async fn refuses_unverifiable_requests(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let page = remote.create_page(&community, 1);
    let body = || page.to_string().into_bytes();

    let wrong_digest = remote
        .deliver(&cairn, "/inbox", &tester, body(), Flaw::WrongDigest)
        .await;
    wrong_digest.expect_error(400, "invalid_digest");

    let stranger = new_key();
    let forged = remote
        .deliver(&cairn, "/inbox", &tester, body(), Flaw::OtherKey(&stranger))
        .await;
    forged.expect_error(401, "invalid_signature");

    // Garbage that is not JSON, with a correct Digest and signature, cannot be parsed.
    let garbage = b"{\"type\": \"Create\", oops".to_vec();
    let malformed = remote
        .deliver(&cairn, "/inbox", &tester, garbage, Flaw::Sound)
        .await;
    malformed.expect_error(400, "malformed_activity");

    // A type Cairn does not use is acknowledged and ignored, not refused: the sender did
    // nothing wrong.
    let travel = json!({"id": remote.url("/activities/travel/1"), "type": "Travel",
                        "actor": tester, "to": [community, PUBLIC]});
    remote
        .ignored(&cairn, "/inbox", &travel, "unsupported_activity")
        .await;

    // An activity must have its id on its actor's host.
    let mut elsewhere = remote.create_page(&community, 2);
    elsewhere["id"] = json!("http://elsewhere.example/activities/create/2");
    remote
        .send(&cairn, "/inbox", &elsewhere)
        .await
        .expect_error(400, "foreign_activity");

    assert_eq!(posts(&cairn).await, Vec::<Value>::new(), "nothing stored");
    still_working(cairn).await;
}

/// Scenario 5b: a request without a Signature header is refused as unauthenticated. The
/// message of `invalid_signature` says it covers a missing signature.
async fn refuses_an_unsigned_request(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let body = remote.create_page(&community, 1).to_string().into_bytes();
    let unsigned = remote
        .deliver(&cairn, "/inbox", &remote.tester(), body, Flaw::Unsigned)
        .await;
    unsigned.expect_error(401, "invalid_signature");
    assert_eq!(posts(&cairn).await, Vec::<Value>::new(), "nothing stored");
    still_working(cairn).await;
}

/// Scenario 5c: correctly signed content that breaks the community rules is refused with
/// the rule's code and stores nothing.
async fn refuses_misaddressed_content(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let tester = remote.tester();
    let other_group = remote.actor("/c/remote", "Group", "remote");

    // Addressed only to the public and the tester's followers: no local community.
    let mut nowhere = remote.create_page(&community, 1);
    let followers = json!([format!("{tester}/followers")]);
    both(&mut nowhere, |a| {
        a["to"] = json!([PUBLIC]);
        a["cc"] = followers.clone();
        a.as_object_mut().expect("object").remove("audience");
    });
    remote
        .ignored(&cairn, "/inbox", &nowhere, "no_community")
        .await;

    // Sent to the local community, but its audience is another community.
    let mut mismatch = remote.create_page(&community, 2);
    mismatch["audience"] = json!(other_group);
    mismatch["object"]["audience"] = json!(other_group);
    remote
        .refused(&cairn, "/inbox", &mismatch, "audience_mismatch")
        .await;

    // The post claims another author than the actor that sends it.
    let mut impostor = remote.create_page(&community, 3);
    impostor["object"]["attributedTo"] = json!(remote.url("/u/someone_else"));
    remote
        .send(&cairn, "/inbox", &impostor)
        .await
        .expect_error(400, "author_mismatch");

    // Addressed to the community but not to the public.
    let mut private = remote.create_page(&community, 4);
    both(&mut private, |a| {
        a["to"] = json!([community]);
        a["cc"] = json!([]);
    });
    remote
        .send(&cairn, "/inbox", &private)
        .await
        .expect_error(400, "not_public");

    // A remote Group that nobody here follows announces a Create that addresses another
    // community: unsolicited, it is acknowledged and ignored before anything else is looked at
    // (tests/e2e/hostile.rs covers a followed Group announcing another community's post).
    let mut inner = remote.create_page(&community, 5);
    both(&mut inner, |a| {
        a["to"] = json!([remote.url("/c/elsewhere"), PUBLIC]);
        a["cc"] = json!([]);
        a["audience"] = json!(remote.url("/c/elsewhere"));
    });
    let announce = json!({"id": remote.url("/activities/announce/1"), "type": "Announce",
                          "actor": other_group, "to": [PUBLIC],
                          "cc": [format!("{other_group}/followers")], "object": inner});
    remote
        .ignored(&cairn, "/inbox", &announce, "unsolicited_announce")
        .await;

    assert_eq!(posts(&cairn).await, Vec::<Value>::new(), "nothing stored");
    still_working(cairn).await;
}

/// Scenario 5d: a body of 2 MiB, above the inbox limit, is refused with 413 or 400, not
/// accepted and not a server error.
async fn refuses_an_oversized_body(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    let mut huge = remote.create_page(&community, 1);
    huge["object"]["content"] = json!("x".repeat(2 * 1024 * 1024));
    let body = huge.to_string().into_bytes();
    let answer = remote
        .deliver(&cairn, "/inbox", &remote.tester(), body, Flaw::Sound)
        .await;
    let status = answer.status.as_u16();
    assert!(
        status == 413 || status == 400,
        "an oversized body must answer 413 or 400, not {status}: {}",
        answer.body
    );
    assert_eq!(posts(&cairn).await, Vec::<Value>::new(), "nothing stored");
    still_working(cairn).await;
}

/// A reply that arrives before the post it answers waits: the inbox tries again to fetch the
/// post, and once the post has arrived the reply is applied. The sender's redelivery of the
/// reply is acknowledged and not applied twice.
async fn a_reply_before_its_post_waits_for_it(backend: Backend) {
    let (cairn, remote, community) = setup_with(backend, |c| c.inbox_retry_base_seconds = 1).await;
    let tester = remote.tester();
    let reply = json!({
        "id": remote.url("/activities/create/reply-1"), "type": "Create", "actor": tester,
        "to": [PUBLIC], "cc": [community], "audience": community,
        "object": {"type": "Note", "id": remote.url("/comment/1"), "attributedTo": tester,
                   "to": [PUBLIC], "cc": [community], "inReplyTo": remote.url("/post/1"),
                   "content": "<p>Early reply.</p>"}
    });
    remote.send(&cairn, "/inbox", &reply).await.expect(202);

    let page = remote.create_page(&community, 1);
    remote.applied(&cairn, "/inbox", &page).await;
    remote.applied(&cairn, "/inbox", &reply).await;
    remote.send(&cairn, "/inbox", &reply).await.expect(202);
    let post = posts(&cairn).await[0]["id"].clone();
    let shown = detail(&cairn, &post).await;
    assert_eq!(
        shown["post"]["comment_count"], 1,
        "the waiting reply is stored once: {shown}"
    );
    still_working(cairn).await;
}

/// A sender that rotated its key is believed once its actor, fetched again, shows the new key;
/// a key the actor never published is still refused.
async fn follows_a_key_rotation(backend: Backend) {
    let (cairn, mut remote, community) = setup(backend).await;
    remote
        .applied(&cairn, "/inbox", &remote.create_page(&community, 1))
        .await;

    remote.key = new_key();
    remote.actor("/u/tester", "Person", "tester");
    remote
        .applied(&cairn, "/inbox", &remote.create_page(&community, 2))
        .await;
    assert_eq!(
        posts(&cairn).await.len(),
        2,
        "the newly signed post is stored"
    );

    let stranger = new_key();
    let body = remote.create_page(&community, 3).to_string().into_bytes();
    remote
        .deliver(
            &cairn,
            "/inbox",
            &remote.tester(),
            body,
            Flaw::OtherKey(&stranger),
        )
        .await
        .expect_error(401, "invalid_signature");
    still_working(cairn).await;
}

/// An Update of a person refreshes the stored profile from the person's server; nobody else
/// may update it.
async fn applies_a_profile_update(backend: Backend) {
    let (cairn, remote, community) = setup(backend).await;
    remote
        .applied(&cairn, "/inbox", &remote.create_page(&community, 1))
        .await;
    assert_eq!(posts(&cairn).await[0]["creator"]["display_name"], "tester");

    let tester = remote.tester();
    let mut profile = remote.docs.lock().expect("lock")["/u/tester"].clone();
    profile["name"] = json!("Tess, who tests");
    remote.serve("/u/tester", profile.clone());
    let update = json!({
        "id": remote.url("/activities/update/profile-1"), "type": "Update", "actor": tester,
        "to": [PUBLIC], "cc": [remote.url("/u/tester/followers")], "object": profile,
    });
    remote.applied(&cairn, "/inbox", &update).await;
    assert_eq!(
        posts(&cairn).await[0]["creator"]["display_name"],
        "Tess, who tests"
    );

    let other = remote.actor("/u/other", "Person", "other");
    let forged = json!({
        "id": remote.url("/activities/update/profile-2"), "type": "Update", "actor": other,
        "to": [PUBLIC], "object": profile,
    });
    remote
        .refused(&cairn, "/inbox", &forged, "foreign_update")
        .await;
    still_working(cairn).await;
}

backend_tests!(
    follows_a_key_rotation,
    applies_a_profile_update,
    accepts_a_signed_page,
    mastodon_note_becomes_a_post,
    note_reply_becomes_a_comment,
    like_and_undo,
    unaddressed_activities_land_with_their_post,
    refuses_unverifiable_requests,
    refuses_an_unsigned_request,
    refuses_misaddressed_content,
    refuses_an_oversized_body,
    a_reply_before_its_post_waits_for_it,
);
