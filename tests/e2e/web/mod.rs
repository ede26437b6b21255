//! The web interface over HTTP, as a browser without JavaScript uses it: forms with CSRF
//! tokens, cookie sessions, redirects with anchors, friendly error pages, the security headers
//! and the fragments the page script asks for. Browser tests with a real Chromium live
//! elsewhere; these check what the server sends.

pub(crate) mod browser;
mod edit_comments;
mod remote_authors;
mod sessions;

use browser::{Browser, PASSWORD, csp};
use cairn_tests::{Backend, TestInstance, backend_tests};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};

/// Sign-up, sign-out and sign-in through the forms, the cookies' attributes, and `next`.
async fn sign_up_in_and_out(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut b = Browser::new(&cairn);
    let form = b.get("/signup").await;
    form.expect(200);
    let csrf_cookie = form
        .set_cookie("cairn_csrf")
        .expect("a double-submit cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(csrf_cookie.contains(attr), "{csrf_cookie}");
    }
    assert!(!csrf_cookie.contains("Secure"), "plain http: {csrf_cookie}");
    assert_eq!(form.csrf(), b.jar["cairn_csrf"]);

    let done = b
        .post(
            "/signup",
            &[
                ("csrf", &form.csrf()),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.expect(303).location(), "/");
    let session = done.set_cookie("cairn_session").expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    assert!(!session.contains("Secure"), "{session}");
    let home = b.get("/").await;
    assert!(home.body.contains("id=\"sign-out\""), "{}", home.body);
    assert!(home.body.contains("href=\"/u/alice\""));
    // The cookie holds one of core's session tokens, good for the JSON API as well.
    let token = b.jar["cairn_session"].clone();
    cairn.get("/api/v1/me", Some(&token)).await.expect(200);

    // Signing out ends the session itself, not only the cookie.
    let csrf = home.csrf();
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    out.expect(303);
    assert!(
        out.set_cookie("cairn_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    cairn.get("/api/v1/me", Some(&token)).await.expect(401);
    assert!(b.get("/").await.body.contains("id=\"nav-login\""));

    // A page that needs a user sends the visitor to sign in and back.
    let redirect = b.get("/communities/new").await;
    assert_eq!(
        redirect.expect(303).location(),
        "/login?next=/communities/new"
    );
    let login = b.get(redirect.location()).await;
    assert!(
        login
            .body
            .contains("name=\"next\" value=\"/communities/new\"")
    );
    // A wrong password comes back with the username kept and a message.
    let csrf = login.csrf();
    let wrong = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("next", "/communities/new"),
                ("username", "alice"),
                ("password", "not the password"),
            ],
        )
        .await;
    wrong.expect(422);
    assert!(wrong.body.contains("value=\"alice\""), "{}", wrong.body);
    assert!(wrong.body.contains("The username or password is wrong."));
    let right = b
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("next", "/communities/new"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(right.expect(303).location(), "/communities/new");
    b.get("/communities/new").await.expect(200);
    // `next` never leads off the site.
    let page = b.get("/login?next=//evil.example/").await;
    assert!(
        page.body.contains("name=\"next\" value=\"/\""),
        "{}",
        page.body
    );
    cairn.stop().await;
}

/// Every POST needs the right CSRF token; a wrong or missing one is a friendly 403 page.
async fn csrf_is_checked(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut alice = Browser::new(&cairn);
    alice.sign_up("alice").await;
    let fields = [
        ("name", "tea"),
        ("title", "Tea"),
        ("kind", "practice"),
        ("membership", "open"),
    ];
    let missing = alice.post("/communities/new", &fields).await;
    missing.expect(403);
    assert!(
        missing.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        missing.body.contains("This form has expired"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("<h1>"));
    let mut wrong = vec![("csrf", "AAAAAAAAAAAAAAAAAAAAAA")];
    wrong.extend_from_slice(&fields);
    alice.post("/communities/new", &wrong).await.expect(403);

    // Another session's token does not fit this one.
    let mut bob = Browser::new(&cairn);
    bob.sign_up("bob").await;
    let bobs = bob.get("/").await.csrf();
    let mut stolen = vec![("csrf", bobs.as_str())];
    stolen.extend_from_slice(&fields);
    alice.post("/communities/new", &stolen).await.expect(403);
    cairn.get("/api/v1/communities/tea", None).await.expect(404);

    // Signed out, the token must match the double-submit cookie.
    let mut visitor = Browser::new(&cairn);
    visitor.get("/login").await;
    let login = [
        ("csrf", "something else"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    visitor.post("/login", &login).await.expect(403);
    let mut fresh = Browser::new(&cairn);
    let no_cookie = [("csrf", "x"), ("username", "alice"), ("password", PASSWORD)];
    fresh.post("/login", &no_cookie).await.expect(403);

    // With the right token the same form works.
    let ok = alice
        .submit("/communities/new", "/communities/new", &fields)
        .await;
    assert_eq!(ok.expect(303).location(), "/c/tea");
    cairn.stop().await;
}

/// A community, a post, comments, replies, votes, an edit and deletions, all through forms.
async fn community_post_comment_vote(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut alice = Browser::new(&cairn);
    alice.sign_up("alice").await;
    let made = alice
        .submit(
            "/communities/new",
            "/communities/new",
            &[
                ("name", "compost"),
                ("title", "<script>alert(1)</script> Compost"),
                (
                    "description",
                    "Soil, *seeds* and <img src=x onerror=alert(1)>",
                ),
                ("kind", "working_group"),
                ("membership", "approval"),
            ],
        )
        .await;
    assert_eq!(made.expect(303).location(), "/c/compost");
    let page = alice.get("/c/compost").await;
    page.expect(200);
    assert!(!page.body.contains("<script>alert"), "title not escaped");
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; Compost")
    );
    assert!(!page.body.contains("onerror"), "description not sanitised");
    assert!(page.body.contains("<em>seeds</em>"));
    assert!(page.body.contains("Working group"));
    assert!(page.body.contains("Approval"));
    assert!(page.body.contains(&format!("@compost@{}", cairn.domain)));
    assert!(page.body.contains("id=\"copy-handle\""));
    assert!(page.body.contains("Mastodon"));
    assert_eq!(page.body.matches("<h1>").count(), 1);
    // The front page lists it with its kind and member count.
    let home = alice.get("/").await;
    assert!(home.body.contains("href=\"/c/compost\""));
    assert!(home.body.contains("1 member "));

    // Someone else asks to join: an approval community shows "Request to join".
    let mut bob = Browser::new(&cairn);
    bob.sign_up("bob").await;
    let c = bob.get("/c/compost").await;
    assert!(c.body.contains(">Request to join</button>"), "{}", c.body);
    let joined = bob.submit("/c/compost", "/c/compost/join", &[]).await;
    assert_eq!(joined.expect(303).location(), "/c/compost");
    assert!(
        bob.get("/c/compost")
            .await
            .body
            .contains("waiting for a moderator")
    );

    // A post through the compose form.
    let posted = alice
        .submit(
            "/c/compost/submit",
            "/c/compost/submit",
            &[
                ("title", "Hot piles"),
                ("url", "https://example.com/piles"),
                ("body", "Turn them *weekly*."),
            ],
        )
        .await;
    let post_path = posted.expect(303).location().to_owned();
    let post_id: i64 = post_path
        .trim_start_matches("/post/")
        .parse()
        .expect("post id");
    let post = alice.get(&post_path).await;
    assert!(post.body.contains("<h1 id=\"post-heading\">Hot piles</h1>"));
    assert!(post.body.contains("<em>weekly</em>"));
    assert!(post.body.contains("id=\"comment-form\""));
    // The member's feed on the front page has it.
    assert!(
        alice
            .get("/")
            .await
            .body
            .contains(&format!("href=\"/post/{post_id}\""))
    );

    // A comment, and a reply through the comment's own page (as without JavaScript).
    let commented = alice
        .submit(
            &post_path,
            &format!("/post/{post_id}/comments"),
            &[("body", "Add **leaves**.")],
        )
        .await;
    let to = commented.expect(303).location().to_owned();
    assert!(to.starts_with(&format!("/post/{post_id}#comment-")), "{to}");
    let comment_id: i64 = to.rsplit('-').next().unwrap().parse().unwrap();
    let comment_page = alice.get(&format!("/comment/{comment_id}")).await;
    comment_page.expect(200);
    assert!(comment_page.body.contains("id=\"reply-body\""));
    let replied = alice
        .submit(
            &format!("/comment/{comment_id}"),
            &format!("/comment/{comment_id}/reply"),
            &[("body", "And shredded paper.")],
        )
        .await;
    let reply_to = replied.expect(303).location().to_owned();
    let reply_id: i64 = reply_to.rsplit('-').next().unwrap().parse().unwrap();
    let thread = alice.get(&post_path).await;
    let parent_at = thread
        .body
        .find(&format!("id=\"comment-{comment_id}\""))
        .expect("comment");
    let reply_at = thread
        .body
        .find(&format!("id=\"comment-{reply_id}\""))
        .expect("reply");
    assert!(parent_at < reply_at);
    assert!(thread.body.contains("<strong>leaves</strong>"));
    assert!(thread.body.contains("<details open>"));

    // The script's reply gets the new comment's <li>, not a redirect.
    let csrf = thread.csrf();
    let fragment = alice
        .post_with(
            &format!("/comment/{comment_id}/reply"),
            &[("csrf", &csrf), ("body", "Fragment <b>reply</b>")],
            &[("x-cairn-fetch", "1")],
        )
        .await;
    fragment.expect(200);
    assert!(
        fragment.body.trim_start().starts_with("<li id=\"comment-"),
        "{}",
        fragment.body
    );
    assert!(
        fragment.body.contains("Fragment <b>reply</b>") || fragment.body.contains("Fragment reply")
    );

    // Votes: up, clear, down, as plain forms that return to the page at the item.
    let up = alice
        .post(
            &format!("/comment/{comment_id}/vote"),
            &[("csrf", &csrf), ("score", "1")],
        )
        .await;
    assert_eq!(
        up.expect(303).location(),
        format!("{post_path}#comment-{comment_id}")
    );
    let after = alice.get(&post_path).await;
    let pressed = format!(
        "name=\"clear\" value=\"{comment_id}\" aria-pressed=\"true\" aria-label=\"Upvote\""
    );
    assert!(after.body.contains(&pressed), "{}", after.body);
    // The thread's buttons share one form: `down` (or `up`, `clear`) carries the comment id.
    let thread_vote = alice
        .post(
            "/comments/vote",
            &[("csrf", &csrf), ("down", &comment_id.to_string())],
        )
        .await;
    assert_eq!(
        thread_vote.expect(303).location(),
        format!("{post_path}#comment-{comment_id}")
    );
    let api = cairn
        .get(&format!("/api/v1/comments/{comment_id}"), None)
        .await;
    assert_eq!(api.body["score"], -1, "{}", api.body);
    let json = alice
        .post_with(
            &format!("/post/{post_id}/vote"),
            &[("csrf", &csrf), ("score", "-1")],
            &[("x-cairn-fetch", "1")],
        )
        .await;
    json.expect(200);
    let tally: serde_json::Value = serde_json::from_str(&json.body).expect("json");
    assert_eq!(tally["my_vote"], -1);
    assert_eq!(tally["score"], -1);
    let cleared = alice
        .post(
            &format!("/post/{post_id}/vote"),
            &[("csrf", &csrf), ("score", "0")],
        )
        .await;
    assert!(
        cleared
            .expect(303)
            .location()
            .ends_with(&format!("#post-{post_id}"))
    );
    let api = cairn.get(&format!("/api/v1/posts/{post_id}"), None).await;
    assert_eq!(api.body["post"]["score"], 0);

    // Edit the post: the form comes filled in, and an empty link removes the link.
    let edit = alice.get(&format!("/post/{post_id}/edit")).await;
    assert!(edit.body.contains("value=\"Hot piles\""));
    assert!(edit.body.contains("Turn them *weekly*."));
    let saved = alice
        .post(
            &format!("/post/{post_id}/edit"),
            &[
                ("csrf", &csrf),
                ("title", "Hot compost piles"),
                ("url", ""),
                ("body", "Turn them weekly."),
            ],
        )
        .await;
    assert_eq!(saved.expect(303).location(), post_path);
    let edited = alice.get(&post_path).await;
    assert!(
        edited
            .body
            .contains("<h1 id=\"post-heading\">Hot compost piles</h1>")
    );
    assert!(!edited.body.contains("example.com/piles"));
    // Bob may not edit it.
    bob.get(&format!("/post/{post_id}/edit")).await.expect(403);

    // Delete the reply after the confirmation page, then the post.
    let confirm = alice.get(&format!("/comment/{reply_id}/delete")).await;
    assert!(confirm.body.contains("id=\"confirm-delete\""));
    assert!(confirm.body.contains("And shredded paper."));
    let gone = alice
        .post(&format!("/comment/{reply_id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        gone.expect(303).location(),
        format!("/post/{post_id}#comment-{reply_id}")
    );
    assert!(
        !alice
            .get(&post_path)
            .await
            .body
            .contains("And shredded paper.")
    );
    alice
        .get(&format!("/post/{post_id}/delete"))
        .await
        .expect(200);
    let deleted = alice
        .post(&format!("/post/{post_id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(deleted.expect(303).location(), "/c/compost");
    alice.get(&post_path).await.expect(410);

    // The profile lists the community and the comments.
    let profile = alice.get("/u/alice").await;
    assert!(profile.body.contains("href=\"/c/compost\""));
    assert!(profile.body.contains("Add leaves."));
    assert!(profile.body.contains(&format!("@alice@{}", cairn.domain)));
    cairn.stop().await;
}

/// Refused forms come back with what was typed and the message next to the field.
async fn form_errors_keep_input(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut alice = Browser::new(&cairn);
    alice.sign_up("alice").await;
    let bad = alice
        .submit(
            "/communities/new",
            "/communities/new",
            &[
                ("name", "Not A Name!"),
                ("title", "Bees & <wasps>"),
                ("description", "All about *pollinators*"),
                ("kind", "network"),
                ("membership", "invite"),
            ],
        )
        .await;
    bad.expect(422);
    assert!(bad.body.contains("value=\"Not A Name!\""), "{}", bad.body);
    assert!(
        bad.body.contains("value=\"Bees &#38; &#60;wasps&#62;\""),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("All about *pollinators*"));
    assert!(bad.body.contains("id=\"community-name-error\""));
    assert!(bad.body.contains("aria-invalid=\"true\""));
    assert!(bad.body.contains("value=\"network\" selected"));
    assert!(bad.body.contains("value=\"invite\" checked"));

    alice
        .submit(
            "/communities/new",
            "/communities/new",
            &[("name", "bees"), ("title", "Bees")],
        )
        .await
        .expect(303);
    let post = alice
        .submit(
            "/c/bees/submit",
            "/c/bees/submit",
            &[
                ("title", "Hives"),
                ("url", "not a link"),
                ("body", "Kept text"),
            ],
        )
        .await;
    post.expect(422);
    assert!(post.body.contains("value=\"Hives\""));
    assert!(post.body.contains("value=\"not a link\""));
    assert!(post.body.contains(">Kept text</textarea>"));
    assert!(post.body.contains("id=\"post-url-error\""));

    // The find box: an unknown name is explained next to the box, with what was typed; an
    // address of a community here follows (joins) it.
    let mut bob = Browser::new(&cairn);
    bob.sign_up("bob").await;
    let unknown = bob
        .submit("/", "/communities/find", &[("handle", "no_such_group")])
        .await;
    unknown.expect(422);
    assert!(
        unknown.body.contains("id=\"find-handle-error\""),
        "{}",
        unknown.body
    );
    assert!(unknown.body.contains("value=\"no_such_group\""));
    let address = cairn.url("/c/bees");
    let found = bob
        .submit("/", "/communities/find", &[("handle", &address)])
        .await;
    assert_eq!(
        found.expect(303).location(),
        format!("/c/bees@{}", cairn.domain)
    );
    let page = bob.get(found.location()).await;
    page.expect(200);
    assert!(page.body.contains("You are a member"), "{}", page.body);

    // A taken username on sign-up keeps the name and explains.
    let mut other = Browser::new(&cairn);
    let taken = other
        .submit(
            "/signup",
            "/signup",
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("email", "a@example.org"),
            ],
        )
        .await;
    taken.expect(422);
    assert!(taken.body.contains("value=\"a@example.org\""));
    assert!(taken.body.contains("id=\"signup-username-error\""));
    // Unknown pages and ids are friendly 404 pages.
    let missing = other.get("/c/nothing_here").await;
    missing.expect(404);
    assert!(missing.body.contains("<h1>Not found</h1>"));
    cairn.stop().await;
}

/// The security headers, the static files, and ActivityPub JSON on the shared URLs.
async fn headers_assets_and_negotiation(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut alice = Browser::new(&cairn);
    alice.sign_up("alice").await;
    alice
        .submit(
            "/communities/new",
            "/communities/new",
            &[("name", "tea"), ("title", "Tea")],
        )
        .await
        .expect(303);
    let posted = alice
        .submit("/c/tea/submit", "/c/tea/submit", &[("title", "Oolong")])
        .await;
    let post_path = posted.location().to_owned();
    let commented = alice
        .submit(
            &post_path,
            &format!("{post_path}/comments"),
            &[("body", "Lovely.")],
        )
        .await;
    let comment_id = commented.location().rsplit('-').next().unwrap().to_owned();

    let mut visitor = Browser::new(&cairn);
    let comment_path = format!("/comment/{comment_id}");
    for path in [
        "/",
        "/c/tea",
        "/u/alice",
        post_path.as_str(),
        comment_path.as_str(),
        "/login",
        "/signup",
        "/no/such/page",
    ] {
        let page = visitor.get(path).await;
        let policy = csp(&page);
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff", "{path}");
        assert!(page.headers.contains_key("referrer-policy"), "{path}");
        assert!(
            page.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        // No inline script or style anywhere.
        assert!(!page.body.contains("<script>"), "{path}");
        assert!(!page.body.contains(" style="), "{path}");
        assert!(!page.body.contains("<style"), "{path}");
        assert!(page.body.contains("<html lang=\"en\">"), "{path}");
        assert!(page.body.contains("<main id=\"main\""), "{path}");
        assert_eq!(page.body.matches("<h1").count(), 1, "{path}");
    }

    // The stylesheet and script, versioned by content and cached for a year.
    let home = visitor.get("/").await;
    for (name, kind, limit) in [
        ("cairn.css", "text/css", 12_000),
        ("cairn.js", "text/javascript", 5_000),
    ] {
        let at = home
            .body
            .find(&format!("/static/{name}?v="))
            .expect("versioned asset link");
        let url = &home.body[at..at + home.body[at..].find('"').unwrap()];
        let asset = visitor.get(url).await;
        asset.expect(200);
        assert!(
            asset.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(
            asset.headers[CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age=31536000")
        );
        assert!(
            asset.body.len() < limit,
            "{name} is {} bytes",
            asset.body.len()
        );
    }

    // The shared URLs still serve ActivityPub documents to servers.
    for path in [
        "/c/tea",
        "/u/alice",
        post_path.as_str(),
        comment_path.as_str(),
    ] {
        let doc = cairn.get_ap(path).await;
        doc.expect(200);
        assert_eq!(doc.body["id"], cairn.url(path), "{path}");
    }
    // Signed-out visitors who vote are sent to sign in first.
    let csrf = visitor.get(&post_path).await.csrf();
    let vote = visitor
        .post(
            &format!("{post_path}/vote"),
            &[("csrf", &csrf), ("score", "1")],
        )
        .await;
    assert!(
        vote.expect(303).location().starts_with("/login?next="),
        "{}",
        vote.location()
    );
    cairn.stop().await;
}

/// Community listings and the feed page with the core's cursors.
async fn listings_page_with_cursors(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let mut alice = Browser::new(&cairn);
    alice.sign_up("alice").await;
    let token = alice.jar["cairn_session"].clone();
    let user = cairn_tests::User {
        name: "alice".into(),
        token,
    };
    cairn.community(&user, "tea", "open").await;
    for i in 0..23 {
        cairn
            .post_in(&user, "tea", &format!("Brew number {i}"))
            .await;
    }
    let first = alice.get("/c/tea?sort=new").await;
    first.expect(200);
    assert_eq!(first.body.matches("class=\"card post-item\"").count(), 20);
    assert!(first.body.contains("Brew number 22"));
    assert!(first.body.contains("id=\"sort-new\""));
    let at = first.body.find("id=\"next-page\"").expect("a next page");
    let start = first.body[..at].rfind("href=\"").expect("href") + 6;
    let href =
        first.body[start..start + first.body[start..].find('"').unwrap()].replace("&amp;", "&");
    let second = alice.get(&href).await;
    second.expect(200);
    assert_eq!(second.body.matches("class=\"card post-item\"").count(), 3);
    assert!(second.body.contains("Brew number 0"));
    assert!(!second.body.contains("id=\"next-page\""));
    // The owner's feed pages the same way.
    let feed = alice.get("/").await;
    assert!(feed.body.contains("id=\"feed\""));
    assert!(feed.body.contains("Brew number 22"));
    assert!(feed.body.contains("id=\"next-page\""));
    // A cursor this server did not give out is a friendly 400.
    alice
        .get("/c/tea?sort=top&cursor=nonsense")
        .await
        .expect(400);
    cairn.stop().await;
}

/// Over https the cookies are `Secure`.
async fn secure_cookies_over_https(backend: Backend) {
    let cairn = TestInstance::start_with(backend, |c| c.https = Some(true)).await;
    let mut b = Browser::new(&cairn);
    let form = b.get("/signup").await;
    assert!(form.set_cookie("cairn_csrf").unwrap().contains("; Secure"));
    let done = b
        .post(
            "/signup",
            &[
                ("csrf", &form.csrf()),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(
        done.expect(303)
            .set_cookie("cairn_session")
            .unwrap()
            .contains("; Secure")
    );
    cairn.stop().await;
}

backend_tests!(
    sign_up_in_and_out,
    csrf_is_checked,
    community_post_comment_vote,
    form_errors_keep_input,
    headers_assets_and_negotiation,
    listings_page_with_cursors,
    secure_cookies_over_https,
);
