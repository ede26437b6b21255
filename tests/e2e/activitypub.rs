//! The ActivityPub read side over HTTP, on both backends: WebFinger, NodeInfo, content
//! negotiation on the URLs shared with web pages, and the exact shapes of the Group, Person,
//! Page and Note documents and of the community collections that Lemmy and other servers read
//! (docs/federation.md sections 1.2 to 1.7 and 4).

use cairn_tests::{Answer, Backend, TestInstance, User, backend_tests};
use reqwest::header::{CONTENT_TYPE, VARY};
use serde_json::{Value, json};

/// The ActivityStreams context, which every document must name.
const AS: &str = "https://www.w3.org/ns/activitystreams";
/// The ActivityStreams public collection.
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// The media type of ActivityPub documents.
const AP: &str = "application/activity+json";
/// The other `Accept` value the ActivityPub specification requires servers to honour.
const LD_JSON: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
/// What a web browser sends.
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The value of a header, or an empty string when it is missing.
fn header(answer: &Answer, name: reqwest::header::HeaderName) -> String {
    answer
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// True when one of the answer's `Vary` headers names `Accept`.
fn varies_on_accept(answer: &Answer) -> bool {
    answer.headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("accept"))
        })
    })
}

/// The strings of a JSON array (an empty list for anything else).
fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Asserts that the answer is an ActivityPub document with the ActivityStreams context.
#[track_caller]
fn expect_ap(answer: &Answer) -> &Value {
    let doc = answer.expect(200);
    assert!(
        header(answer, CONTENT_TYPE).starts_with(AP),
        "Content-Type is {:?}",
        header(answer, CONTENT_TYPE)
    );
    assert!(
        strings(&doc["@context"]).contains(&AS),
        "@context lacks ActivityStreams: {doc}"
    );
    doc
}

/// Looks `resource` up with WebFinger.
async fn webfinger(cairn: &TestInstance, resource: &str) -> Answer {
    cairn
        .get(&format!("/.well-known/webfinger?resource={resource}"), None)
        .await
}

/// The `self` links of a WebFinger document.
fn self_links(doc: &Value) -> Vec<&Value> {
    doc["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter(|l| l["rel"] == "self")
        .collect()
}

/// Adds a comment (a reply when `parent` is given) and returns its id.
async fn comment(
    cairn: &TestInstance,
    author: &User,
    post: i64,
    parent: Option<i64>,
    body: &str,
) -> i64 {
    let answer = cairn
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&author.token),
            json!({"body": body, "parent_id": parent}),
        )
        .await;
    answer.expect(201)["id"].as_i64().expect("comment id")
}

async fn webfinger_lookups(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let domain = cairn.domain.clone();
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;

    // A user: the subject echoes the account and the `self` link points at the Person.
    let answer = webfinger(&cairn, &format!("acct:alice@{domain}")).await;
    let doc = answer.expect(200);
    assert_eq!(header(&answer, CONTENT_TYPE), "application/jrd+json");
    assert_eq!(doc["subject"], format!("acct:alice@{domain}"));
    let links = self_links(doc);
    assert_eq!(links.len(), 1, "{doc}");
    assert_eq!(links[0]["type"], AP);
    assert_eq!(links[0]["href"], cairn.url("/u/alice"));
    assert_eq!(
        links[0]["properties"]["https://www.w3.org/ns/activitystreams#type"],
        "Person"
    );

    // A community: the `self` link points at the Group.
    let answer = webfinger(&cairn, &format!("acct:gardening@{domain}")).await;
    let doc = answer.expect(200);
    assert_eq!(header(&answer, CONTENT_TYPE), "application/jrd+json");
    let links = self_links(doc);
    assert_eq!(links.len(), 1, "{doc}");
    assert_eq!(links[0]["type"], AP);
    assert_eq!(links[0]["href"], cairn.url("/c/gardening"));
    assert_eq!(
        links[0]["properties"]["https://www.w3.org/ns/activitystreams#type"],
        "Group"
    );

    // A user and a community with the same name: both links, the Group last, because
    // Mastodon takes the last `self` link.
    let garden = cairn.user("garden").await;
    cairn.community(&garden, "garden", "open").await;
    let doc = webfinger(&cairn, &format!("acct:garden@{domain}")).await;
    let links = self_links(doc.expect(200));
    let hrefs: Vec<&str> = links.iter().filter_map(|l| l["href"].as_str()).collect();
    assert_eq!(hrefs, [cairn.url("/u/garden"), cairn.url("/c/garden")]);
    assert!(links.iter().all(|l| l["type"] == AP));

    // Another host, a malformed resource, a missing resource and an unknown name.
    webfinger(&cairn, "acct:alice@example.org")
        .await
        .expect_error(404, "unknown_host");
    webfinger(&cairn, "acct:alice")
        .await
        .expect_error(400, "invalid_resource");
    cairn
        .get("/.well-known/webfinger", None)
        .await
        .expect_error(400, "missing_resource");
    webfinger(&cairn, &format!("acct:nobody@{domain}"))
        .await
        .expect_error(404, "account_not_found");

    // The instance actor, as Mastodon asks for it with authorized fetch.
    let answer = webfinger(&cairn, &format!("acct:{domain}@{domain}")).await;
    let doc = answer.expect(200);
    assert_eq!(header(&answer, CONTENT_TYPE), "application/jrd+json");
    let links = self_links(doc);
    assert_eq!(links.len(), 1, "{doc}");
    assert_eq!(links[0]["href"], cairn.url("/"));
    assert_eq!(links[0]["type"], AP);
    cairn.stop().await;
}

/// The NodeInfo 2.1 document the well-known index links to.
async fn nodeinfo_doc(cairn: &TestInstance) -> Value {
    let index = cairn.get("/.well-known/nodeinfo", None).await;
    let links = index.expect(200)["links"]
        .as_array()
        .expect("links")
        .clone();
    let link = links
        .iter()
        .find(|l| l["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1")
        .expect("a NodeInfo 2.1 link");
    let href = link["href"].as_str().expect("href");
    assert_eq!(href, cairn.url("/nodeinfo/2.1"));
    let resp = cairn.client.get(href).send().await.expect("request");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("NodeInfo JSON")
}

/// The usage counts of a NodeInfo document: users, posts, comments.
fn usage(doc: &Value) -> [i64; 3] {
    let u = &doc["usage"];
    [&u["users"]["total"], &u["localPosts"], &u["localComments"]]
        .map(|v| v.as_i64().expect("a count"))
}

async fn nodeinfo(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let before = nodeinfo_doc(&cairn).await;
    assert_eq!(before["version"], "2.1");
    assert_eq!(before["software"]["name"], "cairn");
    assert!(before["software"]["version"].is_string());
    assert_eq!(before["protocols"], json!(["activitypub"]));
    assert_eq!(before["openRegistrations"], true);
    let [users, posts, comments] = usage(&before);

    // One more user, post and comment each raise their count by one.
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Compost").await;
    comment(&cairn, &alice, post, None, "Leaves work").await;
    let after = nodeinfo_doc(&cairn).await;
    assert_eq!(usage(&after), [users + 1, posts + 1, comments + 1]);
    // Alice signed in, so she counts as active.
    let month = after["usage"]["users"]["activeMonth"].as_i64().expect("n");
    let halfyear = after["usage"]["users"]["activeHalfyear"]
        .as_i64()
        .expect("n");
    assert!(month >= 1 && halfyear >= month, "{after}");
    cairn.stop().await;

    // With registration closed, NodeInfo says so.
    let closed = TestInstance::start_with(backend, |c| c.registration_mode = "closed".into()).await;
    assert_eq!(nodeinfo_doc(&closed).await["openRegistrations"], false);
    closed.stop().await;
}

async fn content_negotiation(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Compost").await;
    let reply = comment(&cairn, &alice, post, None, "Leaves work").await;
    let paths = [
        "/c/gardening".to_owned(),
        "/u/alice".to_owned(),
        format!("/post/{post}"),
        format!("/comment/{reply}"),
        "/".to_owned(),
    ];
    for path in &paths {
        // Both ActivityPub media types get the JSON document, whose id is the URL asked for.
        for accept in [AP, LD_JSON] {
            let answer = cairn.get_accept(path, accept).await;
            let doc = expect_ap(&answer);
            assert_eq!(doc["id"], cairn.url(path), "{path} with {accept}");
            assert!(varies_on_accept(&answer), "{path} with {accept}: no Vary");
        }

        // A browser gets a web page; a comment's page links to its place in the thread.
        let answer = cairn.get_accept(path, BROWSER).await;
        assert!(varies_on_accept(&answer), "{path} for a browser: no Vary");
        if path.starts_with("/comment/") {
            let html = answer.body.as_str().expect("an HTML page");
            assert!(
                html.contains(&format!("/post/{post}#comment-{reply}")),
                "{html}"
            );
        }
        assert_eq!(answer.status, 200, "{path} for a browser");
        assert!(
            header(&answer, CONTENT_TYPE).starts_with("text/html"),
            "{path} for a browser: {:?}",
            header(&answer, CONTENT_TYPE)
        );
        let html = answer.body.as_str().expect("an HTML page, not JSON");
        assert!(html.to_ascii_lowercase().contains("<html"), "{path}");
    }

    // The instance actor is an Application.
    let instance = cairn.get_ap("/").await;
    let doc = expect_ap(&instance);
    assert_eq!(doc["type"], "Application");
    assert_eq!(doc["preferredUsername"], cairn.domain);
    assert_eq!(doc["inbox"], cairn.url("/inbox"));
    assert_eq!(doc["publicKey"]["owner"], cairn.url("/"));
    cairn.stop().await;
}

async fn group_document(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let description = "Growing *things* together.";
    cairn
        .post(
            "/api/v1/communities",
            Some(&alice.token),
            json!({"name": "gardening", "title": "Gardening", "description": description}),
        )
        .await
        .expect(201);

    let answer = cairn.get_ap("/c/gardening").await;
    let g = expect_ap(&answer);
    let id = cairn.url("/c/gardening");
    assert_eq!(g["type"], "Group");
    assert_eq!(g["id"], id);
    assert_eq!(g["preferredUsername"], "gardening");
    assert_eq!(g["name"], "Gardening");
    let summary = g["summary"].as_str().expect("summary");
    assert!(summary.contains("<em>things</em>"), "{summary}");
    assert_eq!(
        g["source"],
        json!({"content": description, "mediaType": "text/markdown"})
    );
    assert_eq!(g["inbox"], cairn.url("/c/gardening/inbox"));
    assert_eq!(g["outbox"], cairn.url("/c/gardening/outbox"));
    assert_eq!(g["followers"], cairn.url("/c/gardening/followers"));
    assert_eq!(g["featured"], cairn.url("/c/gardening/featured"));
    // Lemmy reads the moderators collection from attributedTo: a URL, not a list.
    assert_eq!(g["attributedTo"], cairn.url("/c/gardening/moderators"));
    assert_eq!(g["endpoints"]["sharedInbox"], cairn.url("/inbox"));
    assert_eq!(g["publicKey"]["id"], format!("{id}#main-key"));
    assert_eq!(g["publicKey"]["owner"], id);
    let pem = g["publicKey"]["publicKeyPem"].as_str().expect("pem");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let published = g["published"].as_str().expect("published");
    assert!(
        chrono_like(published),
        "published is not a timestamp: {published}"
    );
    assert_eq!(g["manuallyApprovesFollowers"], false);

    // A community that approves its members tells followers they will wait.
    cairn.community(&alice, "closed_club", "approval").await;
    let club = cairn.get_ap("/c/closed_club").await;
    assert_eq!(expect_ap(&club)["manuallyApprovesFollowers"], true);
    cairn.stop().await;
}

/// True for an RFC 3339 timestamp such as `2024-01-02T03:04:05.678Z`.
fn chrono_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && s.get(19..)
            .is_some_and(|zone| zone.ends_with('Z') || zone.contains('+') || zone.contains('-'))
}

async fn group_collections(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    cairn.community(&alice, "gardening", "open").await;
    cairn.community(&alice, "cooking", "open").await;
    cairn
        .post(
            "/api/v1/communities/gardening/join",
            Some(&bob.token),
            json!({}),
        )
        .await
        .expect(200);
    let first = cairn.post_in(&alice, "gardening", "First").await;
    let second = cairn.post_in(&bob, "gardening", "Second").await;
    let third = cairn.post_in(&alice, "gardening", "Third").await;
    cairn.post_in(&alice, "cooking", "Elsewhere").await;
    let deleted = cairn.post_in(&alice, "gardening", "Deleted").await;
    cairn
        .delete(&format!("/api/v1/posts/{deleted}"), &alice.token)
        .await
        .expect(204);

    // The outbox: Announce{Create{Page}} of the community's visible posts, newest first.
    let answer = cairn.get_ap("/c/gardening/outbox").await;
    let outbox = expect_ap(&answer);
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["id"], cairn.url("/c/gardening/outbox"));
    assert_eq!(outbox["totalItems"], 3);
    let items = outbox["orderedItems"].as_array().expect("orderedItems");
    let pages: Vec<&Value> = items.iter().map(|i| &i["object"]["object"]).collect();
    let ids: Vec<&str> = pages.iter().filter_map(|p| p["id"].as_str()).collect();
    let expected = [third, second, first].map(|p| cairn.url(&format!("/post/{p}")));
    assert_eq!(ids, expected);
    for item in items {
        assert_eq!(item["type"], "Announce");
        assert_eq!(item["actor"], cairn.url("/c/gardening"));
        assert!(strings(&item["to"]).contains(&PUBLIC), "{item}");
        assert_eq!(item["object"]["type"], "Create");
        assert_eq!(item["object"]["object"]["type"], "Page");
        // The Create is the author's.
        assert_eq!(
            item["object"]["actor"],
            item["object"]["object"]["attributedTo"]
        );
    }
    assert_eq!(items[1]["object"]["actor"], cairn.url("/u/bob"));

    // The followers collection carries the member count only.
    let members = cairn.get("/api/v1/communities/gardening", None).await;
    let count = members.expect(200)["member_count"].as_i64().expect("count");
    assert_eq!(count, 2);
    let answer = cairn.get_ap("/c/gardening/followers").await;
    let followers = expect_ap(&answer);
    assert_eq!(followers["type"], "Collection");
    assert_eq!(followers["id"], cairn.url("/c/gardening/followers"));
    assert_eq!(followers["totalItems"], count);

    // Nothing is pinned yet.
    let answer = cairn.get_ap("/c/gardening/featured").await;
    let featured = expect_ap(&answer);
    assert_eq!(featured["type"], "OrderedCollection");
    assert_eq!(featured["id"], cairn.url("/c/gardening/featured"));
    assert_eq!(featured["orderedItems"], json!([]));

    // The owner moderates; a plain member does not.
    let answer = cairn.get_ap("/c/gardening/moderators").await;
    let mods = expect_ap(&answer);
    assert_eq!(mods["type"], "OrderedCollection");
    assert_eq!(mods["id"], cairn.url("/c/gardening/moderators"));
    let mod_ids = strings(&mods["orderedItems"]);
    assert!(mod_ids.contains(&cairn.url("/u/alice").as_str()), "{mods}");
    assert!(!mod_ids.contains(&cairn.url("/u/bob").as_str()), "{mods}");

    // The collections of an unknown community do not exist.
    for part in ["outbox", "followers", "featured", "moderators"] {
        let answer = cairn.get_ap(&format!("/c/nowhere/{part}")).await;
        answer.expect_error(404, "community_not_found");
    }
    cairn.stop().await;
}

async fn person_document(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn
        .patch(
            "/api/v1/me",
            &alice.token,
            json!({"display_name": "Alice A.", "bio": "I grow **beans**."}),
        )
        .await
        .expect(200);

    let answer = cairn.get_ap("/u/alice").await;
    let p = expect_ap(&answer);
    let id = cairn.url("/u/alice");
    assert_eq!(p["type"], "Person");
    assert_eq!(p["id"], id);
    assert_eq!(p["preferredUsername"], "alice");
    assert_eq!(p["name"], "Alice A.");
    let summary = p["summary"].as_str().expect("summary");
    assert!(summary.contains("<strong>beans</strong>"), "{summary}");
    assert_eq!(p["source"]["content"], "I grow **beans**.");
    assert_eq!(p["inbox"], cairn.url("/u/alice/inbox"));
    assert_eq!(p["outbox"], cairn.url("/u/alice/outbox"));
    assert_eq!(p["endpoints"]["sharedInbox"], cairn.url("/inbox"));
    assert_eq!(p["publicKey"]["id"], format!("{id}#main-key"));
    assert_eq!(p["publicKey"]["owner"], id);
    assert!(
        p["publicKey"]["publicKeyPem"]
            .as_str()
            .is_some_and(|k| k.starts_with("-----BEGIN PUBLIC KEY-----")),
        "{p}"
    );

    // Lemmy fetches the outbox with the person; it is an empty ordered collection.
    let answer = cairn.get_ap("/u/alice/outbox").await;
    let outbox = expect_ap(&answer);
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["id"], cairn.url("/u/alice/outbox"));
    assert_eq!(outbox["totalItems"], 0);
    cairn.stop().await;
}

async fn page_document(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let created = cairn
        .post(
            "/api/v1/posts",
            Some(&alice.token),
            json!({
                "community": "gardening",
                "title": "Compost tips",
                "body": "Mix *greens* and browns.",
                "url": "https://example.com/compost"
            }),
        )
        .await;
    let post = created.expect(201)["id"].as_i64().expect("id");

    let answer = cairn.get_ap(&format!("/post/{post}")).await;
    let page = expect_ap(&answer);
    let id = cairn.url(&format!("/post/{post}"));
    let community = cairn.url("/c/gardening");
    assert_eq!(page["type"], "Page");
    assert_eq!(page["id"], id);
    assert_eq!(page["attributedTo"], cairn.url("/u/alice"));
    let to = strings(&page["to"]);
    assert!(
        to.contains(&community.as_str()) && to.contains(&PUBLIC),
        "{page}"
    );
    assert_eq!(page["audience"], community);
    assert_eq!(page["name"], "Compost tips");
    let content = page["content"].as_str().expect("content");
    assert!(content.contains("<em>greens</em>"), "{content}");
    assert_eq!(page["mediaType"], "text/html");
    assert_eq!(page["source"]["content"], "Mix *greens* and browns.");
    assert_eq!(page["source"]["mediaType"], "text/markdown");
    // Mastodon shows `summary` under the title and links to `url`.
    let summary = page["summary"].as_str().expect("summary");
    assert!(
        summary.contains("Mix greens and browns."),
        "summary is not a plain excerpt: {summary}"
    );
    assert_eq!(page["url"], id);
    // The link is the first attachment, where Lemmy looks for it.
    assert_eq!(page["attachment"][0]["type"], "Link");
    assert_eq!(page["attachment"][0]["href"], "https://example.com/compost");
    assert!(page.get("inReplyTo").is_none(), "a Page has no inReplyTo");
    assert!(page["published"].as_str().is_some_and(chrono_like));
    cairn.stop().await;
}

async fn note_document(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Compost").await;
    let top = comment(&cairn, &bob, post, None, "Use *leaves*").await;
    let reply = comment(&cairn, &alice, post, Some(top), "Thanks!").await;
    let community = cairn.url("/c/gardening");
    let alice_id = cairn.url("/u/alice");
    let bob_id = cairn.url("/u/bob");

    // A top-level comment replies to the post and addresses the post's author.
    let answer = cairn.get_ap(&format!("/comment/{top}")).await;
    let note = expect_ap(&answer);
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], cairn.url(&format!("/comment/{top}")));
    assert_eq!(note["attributedTo"], bob_id);
    assert_eq!(note["inReplyTo"], cairn.url(&format!("/post/{post}")));
    let to = strings(&note["to"]);
    assert!(
        to.contains(&community.as_str()) && to.contains(&PUBLIC),
        "{note}"
    );
    assert!(strings(&note["cc"]).contains(&alice_id.as_str()), "{note}");
    assert_eq!(note["audience"], community);
    let content = note["content"].as_str().expect("content");
    assert!(content.contains("<em>leaves</em>"), "{content}");
    assert_eq!(note["source"]["content"], "Use *leaves*");
    let mentions: Vec<&str> = note["tag"]
        .as_array()
        .expect("tag")
        .iter()
        .filter(|t| t["type"] == "Mention")
        .filter_map(|t| t["href"].as_str())
        .collect();
    assert!(mentions.contains(&alice_id.as_str()), "{note}");
    assert!(mentions.contains(&community.as_str()), "{note}");

    // A reply replies to its parent comment and addresses the parent's author.
    let answer = cairn.get_ap(&format!("/comment/{reply}")).await;
    let note = expect_ap(&answer);
    assert_eq!(note["attributedTo"], alice_id);
    assert_eq!(note["inReplyTo"], cairn.url(&format!("/comment/{top}")));
    assert!(strings(&note["cc"]).contains(&bob_id.as_str()), "{note}");
    let mentions: Vec<&str> = note["tag"]
        .as_array()
        .expect("tag")
        .iter()
        .filter(|t| t["type"] == "Mention")
        .filter_map(|t| t["href"].as_str())
        .collect();
    assert!(mentions.contains(&bob_id.as_str()), "{note}");
    cairn.stop().await;
}

async fn tombstones_and_unknown_ids(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Short-lived").await;
    let kept = cairn.post_in(&alice, "gardening", "Kept").await;
    let reply = comment(&cairn, &alice, kept, None, "Soon gone").await;
    cairn
        .delete(&format!("/api/v1/posts/{post}"), &alice.token)
        .await
        .expect(204);
    cairn
        .delete(&format!("/api/v1/comments/{reply}"), &alice.token)
        .await
        .expect(204);

    // Deleted objects answer 410 Gone with a Tombstone, so other servers delete their copies.
    for (path, former) in [
        (format!("/post/{post}"), "Page"),
        (format!("/comment/{reply}"), "Note"),
    ] {
        let answer = cairn.get_ap(&path).await;
        assert_eq!(answer.status, 410, "{path}: {}", answer.body);
        assert!(header(&answer, CONTENT_TYPE).starts_with(AP), "{path}");
        assert_eq!(answer.body["type"], "Tombstone", "{path}");
        assert_eq!(answer.body["id"], cairn.url(&path));
        assert_eq!(answer.body["formerType"], former);
    }
    // The post that was kept is still served.
    expect_ap(&cairn.get_ap(&format!("/post/{kept}")).await);

    // Unknown ids are 404 with a JSON error, not a page.
    for (path, code) in [
        ("/post/999999", "post_not_found"),
        ("/comment/999999", "comment_not_found"),
        ("/c/nowhere", "community_not_found"),
        ("/u/nobody", "user_not_found"),
        ("/u/nobody/outbox", "user_not_found"),
    ] {
        let answer = cairn.get_ap(path).await;
        answer.expect_error(404, code);
    }
    cairn.stop().await;
}

/// A thread's context collection lists the post, then its visible comments oldest first, and the
/// instance actor's outbox and malformed ids answer as documents rather than pages.
async fn context_and_site_outbox(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Threaded").await;
    let first = comment(&cairn, &alice, post, None, "First").await;
    let second = comment(&cairn, &alice, post, Some(first), "Second, a reply").await;
    let third = comment(&cairn, &alice, post, None, "Third, then deleted").await;
    cairn
        .delete(&format!("/api/v1/comments/{third}"), &alice.token)
        .await
        .expect(204);

    let page = cairn.get_ap(&format!("/post/{post}")).await;
    let context_url = expect_ap(&page)["context"]
        .as_str()
        .expect("context")
        .to_owned();
    assert_eq!(context_url, cairn.url(&format!("/post/{post}/context")));
    let context = cairn.get_ap(&format!("/post/{post}/context")).await;
    let body = expect_ap(&context);
    assert_eq!(body["type"], "OrderedCollection");
    assert_eq!(body["id"], context_url.as_str());
    let items: Vec<&str> = body["orderedItems"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v.as_str().expect("id"))
        .collect();
    assert_eq!(
        items,
        vec![
            cairn.url(&format!("/post/{post}")),
            cairn.url(&format!("/comment/{first}")),
            cairn.url(&format!("/comment/{second}")),
        ]
    );
    assert_eq!(body["totalItems"], 3);

    let outbox = cairn.get_ap("/site_outbox").await;
    assert_eq!(expect_ap(&outbox)["type"], "OrderedCollection");
    assert_eq!(outbox.body["totalItems"], 0);

    // A malformed id is a missing document for servers and a missing page for browsers.
    cairn
        .get_ap("/post/abc")
        .await
        .expect_error(404, "post_not_found");
    let html = cairn.get_accept("/post/abc", "text/html").await;
    assert_eq!(html.status, 404);
    assert!(header(&html, CONTENT_TYPE).starts_with("text/html"));
    // Unknown pages are friendly HTML too.
    let missing = cairn.get_accept("/no/such/page", "text/html").await;
    assert_eq!(missing.status, 404);
    assert!(header(&missing, CONTENT_TYPE).starts_with("text/html"));

    // WebFinger links carry no null members.
    let wf = webfinger(&cairn, &format!("acct:alice@{}", cairn.domain)).await;
    for link in wf.body["links"].as_array().expect("links") {
        for (key, value) in link.as_object().expect("link object") {
            assert!(!value.is_null(), "null `{key}` in {link}");
        }
    }
    cairn.stop().await;
}

backend_tests!(
    context_and_site_outbox,
    webfinger_lookups,
    nodeinfo,
    content_negotiation,
    group_document,
    group_collections,
    person_document,
    page_document,
    note_document,
    tombstones_and_unknown_ids,
);
