//! Posts, comments and votes over HTTP: creation and validation, the comment tree, editing and
//! deleting (by authors and moderators, with ActivityPub tombstones), voting, and the sorted,
//! keyset-paginated community listing.

use cairn_tests::{Answer, Backend, TestInstance, User, backend_tests};
use serde_json::{Value, json};

/// The API path of a post.
fn post_path(id: i64) -> String {
    format!("/api/v1/posts/{id}")
}

/// The API path of a comment.
fn comment_path(id: i64) -> String {
    format!("/api/v1/comments/{id}")
}

/// The API path where comments on a post are created.
fn comments_of(post: i64) -> String {
    format!("/api/v1/posts/{post}/comments")
}

/// POSTs JSON signed in as `user`.
async fn post_as(cairn: &TestInstance, user: &User, path: &str, body: Value) -> Answer {
    cairn.post(path, Some(&user.token), body).await
}

/// Adds a comment (a reply when `parent` is given) and returns it with its id.
async fn comment(
    cairn: &TestInstance,
    author: &User,
    post: i64,
    parent: Option<i64>,
    body: &str,
) -> (i64, Value) {
    let body = json!({"body": body, "parent_id": parent});
    let answer = post_as(cairn, author, &comments_of(post), body).await;
    let c = answer.expect(201).clone();
    (c["id"].as_i64().expect("comment id"), c)
}

/// Votes on `/api/v1/{what}/{id}/vote`, where `what` is `posts` or `comments`.
async fn vote(cairn: &TestInstance, voter: &User, what: &str, id: i64, score: Value) -> Answer {
    let path = format!("/api/v1/{what}/{id}/vote");
    post_as(cairn, voter, &path, json!({ "score": score })).await
}

/// Votes `score` and returns the new totals: score, upvotes, downvotes and the caller's vote.
async fn cast(cairn: &TestInstance, voter: &User, what: &str, id: i64, score: i64) -> [i64; 4] {
    let answer = vote(cairn, voter, what, id, json!(score)).await;
    let t = answer.expect(200);
    ["score", "upvotes", "downvotes", "my_vote"].map(|k| t[k].as_i64().expect("a number"))
}

/// The score, upvotes and downvotes of a post or comment.
#[track_caller]
fn totals(item: &Value) -> [i64; 3] {
    ["score", "upvotes", "downvotes"].map(|k| item[k].as_i64().expect("a number"))
}

/// A post with its comment tree, as `viewer` sees it.
async fn detail(cairn: &TestInstance, id: i64, viewer: Option<&User>) -> Value {
    let token = viewer.map(|u| u.token.as_str());
    cairn.get(&post_path(id), token).await.expect(200).clone()
}

/// GETs a page of the `gardening` listing with the given query string.
async fn listing(cairn: &TestInstance, query: &str) -> Value {
    let path = format!("/api/v1/communities/gardening/posts{query}");
    cairn.get(&path, None).await.expect(200).clone()
}

/// The post ids of a listing page.
fn ids(page: &Value) -> Vec<i64> {
    let posts = page["posts"].as_array().expect("posts");
    posts
        .iter()
        .map(|p| p["id"].as_i64().expect("id"))
        .collect()
}

/// Follows `next_cursor` through the `gardening` listing from the first page to the last and
/// returns every id in order.
async fn all_pages(cairn: &TestInstance, sort: &str, limit: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut query = format!("?sort={sort}&limit={limit}");
    for _ in 0..20 {
        let page = listing(cairn, &query).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= limit, "page over the limit: {page}");
        let full = page_ids.len() == limit;
        seen.extend(page_ids);
        match &page["next_cursor"] {
            Value::String(next) => {
                assert!(full, "only full pages have a next page: {page}");
                query = format!("?sort={sort}&limit={limit}&cursor={next}");
            }
            Value::Null => return seen,
            other => panic!("next_cursor is neither a string nor null: {other}"),
        }
    }
    panic!("pagination did not end: {seen:?}");
}

/// Creating posts: Markdown is rendered and sanitised, links and titles are validated.
async fn create_post(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;

    let body =
        "Use *leaves* and **coffee**.\n\n<script>alert(1)</script><img src=x onerror=alert(1)>";
    let request = json!({"community": "gardening", "title": "  Compost tips ", "body": body,
                         "url": "https://example.org/compost"});
    let created = post_as(&cairn, &alice, "/api/v1/posts", request).await;
    let post = created.expect(201).clone();
    let id = post["id"].as_i64().expect("id");
    assert_eq!(post["title"], "Compost tips", "titles are trimmed");
    assert_eq!(post["body"], body);
    let html = post["body_html"].as_str().expect("body_html");
    assert!(html.contains("<em>leaves</em>"), "{html}");
    assert!(html.contains("<strong>coffee</strong>"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("onerror"), "{html}");
    assert_eq!(post["url"], "https://example.org/compost");
    assert_eq!(post["community"], "gardening");
    let base = &cairn.base;
    assert_eq!(post["community_ap_id"], format!("{base}/c/gardening"));
    assert_eq!(post["ap_id"], format!("{base}/post/{id}"));
    assert_eq!(post["creator"]["name"], "alice");
    assert_eq!(post["local"], true);
    assert_eq!(totals(&post), [0, 0, 0]);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["deleted"], false);
    assert!(post["updated"].is_null());

    // A post without body or link has neither.
    let bare = json!({"community": "gardening", "title": "Just a title"});
    let bare = post_as(&cairn, &alice, "/api/v1/posts", bare).await;
    let bare = bare.expect(201);
    assert!(bare["body"].is_null() && bare["body_html"].is_null() && bare["url"].is_null());

    let try_create = |body: Value| cairn.post("/api/v1/posts", Some(&alice.token), body);
    for url in [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "not a url",
        "https://",
    ] {
        let answer = try_create(json!({"community": "gardening", "title": "T", "url": url}));
        answer.await.expect_error(400, "invalid_url");
    }
    for title in [String::new(), "   ".into(), "x".repeat(201), "a\nb".into()] {
        let answer = try_create(json!({"community": "gardening", "title": title}));
        answer.await.expect_error(400, "invalid_title");
    }
    // The limit counts characters, not bytes.
    for title in ["x".repeat(200), "é".repeat(200)] {
        let answer = try_create(json!({"community": "gardening", "title": title}));
        assert_eq!(answer.await.expect(201)["title"], title);
    }
    let lost = try_create(json!({"community": "nowhere", "title": "Lost"})).await;
    lost.expect_error(404, "community_not_found");
    let anonymous = json!({"community": "gardening", "title": "Anonymous"});
    let anonymous = cairn.post("/api/v1/posts", None, anonymous).await;
    anonymous.expect_error(401, "not_signed_in");

    // Reading: the post with an empty tree; unknown ids, bad ids and bad tokens are refused.
    let read = detail(&cairn, id, None).await;
    assert_eq!(read["post"]["title"], "Compost tips");
    assert_eq!(read["post"]["body_html"], html);
    assert!(read["post"]["my_vote"].is_null());
    assert_eq!(read["comments"], json!([]));
    let answer = cairn.get(&post_path(999_999), None).await;
    answer.expect_error(404, "post_not_found");
    let answer = cairn.get("/api/v1/posts/abc", None).await;
    answer.expect_error(400, "invalid_path");
    let answer = cairn.get(&post_path(id), Some("not-a-session")).await;
    answer.expect_error(401, "invalid_token");
    cairn.stop().await;
}

/// Comments nest under their parents, siblings by score; parents must be on the same post.
async fn comment_tree(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Compost tips").await;
    let other_post = cairn.post_in(&alice, "gardening", "Other").await;

    let (first, c) = comment(&cairn, &bob, post, None, "Use *leaves*").await;
    assert_eq!(c["post_id"], post);
    assert!(c["parent_id"].is_null());
    assert_eq!(c["depth"], 0);
    assert_eq!(c["creator"]["name"], "bob");
    assert_eq!(c["body_html"], "<p>Use <em>leaves</em></p>\n");
    assert_eq!(c["ap_id"], format!("{}/comment/{first}", cairn.base));
    let (reply, c) = comment(&cairn, &alice, post, Some(first), "Thanks").await;
    assert_eq!((&c["parent_id"], &c["depth"]), (&json!(first), &json!(1)));
    let (deep, c) = comment(&cairn, &bob, post, Some(reply), "You are welcome").await;
    assert_eq!((&c["parent_id"], &c["depth"]), (&json!(reply), &json!(2)));
    let (second, _) = comment(&cairn, &alice, post, None, "Also coffee grounds").await;

    let read = detail(&cairn, post, None).await;
    assert_eq!(read["post"]["comment_count"], 4);
    let top = read["comments"].as_array().expect("comments");
    assert_eq!(top.len(), 2, "two top-level comments: {read}");
    assert_eq!(top[0]["comment"]["id"], first);
    assert_eq!(top[0]["comment"]["reply_count"], 1);
    assert_eq!(top[1]["comment"]["id"], second);
    assert_eq!(top[1]["replies"], json!([]));
    let replies = top[0]["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 1, "{read}");
    assert_eq!(replies[0]["comment"]["id"], reply);
    assert_eq!(replies[0]["comment"]["body"], "Thanks");
    assert_eq!(replies[0]["replies"][0]["comment"]["id"], deep);
    assert_eq!(replies[0]["replies"][0]["replies"], json!([]));

    // Siblings are ordered by score: an upvote lifts the second comment above the first.
    vote(&cairn, &bob, "comments", second, json!(1))
        .await
        .expect(200);
    let read = detail(&cairn, post, None).await;
    assert_eq!(read["comments"][0]["comment"]["id"], second);
    assert_eq!(read["comments"][1]["comment"]["id"], first);
    assert_eq!(read["comments"][1]["replies"][0]["comment"]["id"], reply);

    // A comment is readable alone.
    let alone = cairn.get(&comment_path(reply), None).await;
    let alone = alone.expect(200);
    assert_eq!(alone["parent_id"], first);
    assert_eq!(alone["body"], "Thanks");
    let answer = cairn.get(&comment_path(999_999), None).await;
    answer.expect_error(404, "comment_not_found");

    // Parents from another post, or that do not exist, are refused, as are empty bodies.
    let (elsewhere, _) = comment(&cairn, &bob, other_post, None, "Elsewhere").await;
    for parent in [elsewhere, 999_999] {
        let body = json!({"body": "Confused", "parent_id": parent});
        let answer = post_as(&cairn, &bob, &comments_of(post), body).await;
        answer.expect_error(400, "invalid_parent");
    }
    let answer = post_as(&cairn, &bob, &comments_of(post), json!({"body": "  "})).await;
    answer.expect_error(400, "invalid_body");
    let answer = post_as(&cairn, &bob, &comments_of(999_999), json!({"body": "Hi"})).await;
    answer.expect_error(404, "post_not_found");
    assert_eq!(detail(&cairn, post, None).await["post"]["comment_count"], 4);
    cairn.stop().await;
}

/// Authors edit their posts; authors delete them (served as tombstones afterwards), moderators
/// remove them, and nobody else may do either.
async fn edit_and_delete_post(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    let carol = cairn.user("carol").await;
    cairn.community(&alice, "gardening", "open").await;
    let id = cairn.post_in(&bob, "gardening", "Compost tips").await;
    let path = post_path(id);

    let change = json!({"title": "Better compost tips", "body": "Turn **weekly**"});
    let edited = cairn.patch(&path, &bob.token, change).await;
    let edited = edited.expect(200).clone();
    assert_eq!(edited["title"], "Better compost tips");
    assert_eq!(edited["body"], "Turn **weekly**");
    assert_eq!(edited["body_html"], "<p>Turn <strong>weekly</strong></p>\n");
    // An edit sets `updated`.
    assert!(edited["updated"].is_string(), "{edited}");
    let read = detail(&cairn, id, None).await;
    assert_eq!(read["post"]["title"], "Better compost tips");
    assert_eq!(read["post"]["updated"], edited["updated"]);

    // Absent fields stay, empty body and url clear, and invalid values are refused.
    let link = json!({"url": "https://example.org/turning"});
    let edited = cairn.patch(&path, &bob.token, link).await;
    let edited = edited.expect(200);
    assert_eq!(edited["title"], "Better compost tips");
    assert_eq!(edited["body"], "Turn **weekly**");
    assert_eq!(edited["url"], "https://example.org/turning");
    let cleared = cairn
        .patch(&path, &bob.token, json!({"body": "", "url": ""}))
        .await;
    let cleared = cleared.expect(200);
    let fields = ["body", "body_html", "url"];
    assert!(fields.iter().all(|f| cleared[f].is_null()), "{cleared}");
    let answer = cairn.patch(&path, &bob.token, json!({"title": ""})).await;
    answer.expect_error(400, "invalid_title");
    let answer = cairn
        .patch(&path, &bob.token, json!({"url": "javascript:alert(1)"}))
        .await;
    answer.expect_error(400, "invalid_url");

    // Neither the community owner nor a stranger may edit someone else's post.
    for other in [&alice, &carol] {
        let answer = cairn
            .patch(&path, &other.token, json!({"title": "Mine"}))
            .await;
        answer.expect_error(403, "not_author");
    }
    let read = detail(&cairn, id, None).await;
    assert_eq!(read["post"]["title"], "Better compost tips");
    let ap = cairn.get_ap(&format!("/post/{id}")).await;
    assert_eq!(ap.expect(200)["type"], "Page");

    // A stranger may not delete it; its author may.
    cairn
        .delete(&path, &carol.token)
        .await
        .expect_error(403, "not_author");
    detail(&cairn, id, None).await;
    cairn.delete(&path, &bob.token).await.expect(204);
    cairn
        .get(&path, None)
        .await
        .expect_error(410, "post_deleted");
    let tomb = cairn.get_ap(&format!("/post/{id}")).await;
    let tomb = tomb.expect(410);
    assert_eq!(tomb["type"], "Tombstone");
    assert_eq!(tomb["id"], format!("{}/post/{id}", cairn.base));
    assert_eq!(tomb["formerType"], "Page");

    // A deleted post takes no edits, comments or votes, and is gone from the listing.
    let answer = cairn
        .patch(&path, &bob.token, json!({"title": "Back"}))
        .await;
    answer.expect_error(410, "post_deleted");
    let answer = post_as(&cairn, &bob, &comments_of(id), json!({"body": "Hi"})).await;
    answer.expect_error(410, "post_deleted");
    let answer = vote(&cairn, &carol, "posts", id, json!(1)).await;
    answer.expect_error(410, "post_deleted");
    assert_eq!(ids(&listing(&cairn, "").await), Vec::<i64>::new());

    // The community owner removes someone else's post; a stranger still may not.
    let second = cairn.post_in(&bob, "gardening", "Second").await;
    let path = post_path(second);
    cairn
        .delete(&path, &carol.token)
        .await
        .expect_error(403, "not_author");
    cairn.delete(&path, &alice.token).await.expect(204);
    cairn
        .get(&path, None)
        .await
        .expect_error(410, "post_deleted");
    let tomb = cairn.get_ap(&format!("/post/{second}")).await;
    assert_eq!(tomb.expect(410)["type"], "Tombstone");
    let answer = cairn.delete(&post_path(999_999), &alice.token).await;
    answer.expect_error(404, "post_not_found");
    cairn.stop().await;
}

/// Votes on posts and comments: totals follow every change, and the voter sees their vote.
async fn votes(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    let carol = cairn.user("carol").await;
    cairn.community(&alice, "gardening", "open").await;
    let id = cairn.post_in(&alice, "gardening", "Compost tips").await;

    assert_eq!(cast(&cairn, &bob, "posts", id, 1).await, [1, 1, 0, 1]);
    assert_eq!(cast(&cairn, &carol, "posts", id, -1).await, [0, 1, 1, -1]);
    // Voting the same again changes nothing.
    assert_eq!(cast(&cairn, &carol, "posts", id, -1).await, [0, 1, 1, -1]);
    let seen = detail(&cairn, id, Some(&bob)).await["post"].clone();
    assert_eq!(seen["my_vote"], 1);
    assert_eq!(totals(&seen), [0, 1, 1]);
    let seen = detail(&cairn, id, Some(&carol)).await;
    assert_eq!(seen["post"]["my_vote"], -1);
    assert!(detail(&cairn, id, None).await["post"]["my_vote"].is_null());
    assert!(detail(&cairn, id, Some(&alice)).await["post"]["my_vote"].is_null());

    // Changing a vote moves it from one side to the other; withdrawing removes it.
    assert_eq!(cast(&cairn, &bob, "posts", id, -1).await, [-2, 0, 2, -1]);
    assert_eq!(cast(&cairn, &bob, "posts", id, 0).await, [-1, 0, 1, 0]);
    assert!(detail(&cairn, id, Some(&bob)).await["post"]["my_vote"].is_null());
    let page = cairn
        .get("/api/v1/communities/gardening/posts", Some(&carol.token))
        .await;
    let listed = page.expect(200)["posts"][0].clone();
    assert_eq!(totals(&listed), [-1, 0, 1]);
    assert_eq!(listed["my_vote"], -1);

    // Only 1, -1 and 0 are votes, and they are numbers.
    for bad in [json!(2), json!(-2), json!(100)] {
        let answer = vote(&cairn, &bob, "posts", id, bad).await;
        answer.expect_error(400, "invalid_vote");
    }
    for bad in [json!("1"), json!(1.5), json!(null)] {
        let answer = vote(&cairn, &bob, "posts", id, bad).await;
        answer.expect_error(400, "invalid_json");
    }
    let answer = vote(&cairn, &bob, "posts", 999_999, json!(1)).await;
    answer.expect_error(404, "post_not_found");
    let path = format!("/api/v1/posts/{id}/vote");
    let answer = cairn.post(&path, None, json!({"score": 1})).await;
    answer.expect_error(401, "not_signed_in");
    assert_eq!(totals(&detail(&cairn, id, None).await["post"]), [-1, 0, 1]);

    // Comments are voted on the same way, and the tree shows each voter their own vote.
    let (cid, _) = comment(&cairn, &alice, id, None, "Use leaves").await;
    assert_eq!(cast(&cairn, &bob, "comments", cid, 1).await, [1, 1, 0, 1]);
    let after = cast(&cairn, &carol, "comments", cid, -1).await;
    assert_eq!(after, [0, 1, 1, -1]);
    assert_eq!(cast(&cairn, &carol, "comments", cid, 1).await, [2, 2, 0, 1]);
    assert_eq!(cast(&cairn, &bob, "comments", cid, 0).await, [1, 1, 0, 0]);
    let answer = vote(&cairn, &bob, "comments", cid, json!(2)).await;
    answer.expect_error(400, "invalid_vote");
    let answer = vote(&cairn, &bob, "comments", cid, json!("1")).await;
    answer.expect_error(400, "invalid_json");
    let answer = vote(&cairn, &bob, "comments", 999_999, json!(1)).await;
    answer.expect_error(404, "comment_not_found");
    let tree = detail(&cairn, id, Some(&carol)).await;
    let node = &tree["comments"][0]["comment"];
    assert_eq!(totals(node), [1, 1, 0]);
    assert_eq!(node["my_vote"], 1);
    let tree = detail(&cairn, id, Some(&bob)).await;
    let mine = &tree["comments"][0]["comment"]["my_vote"];
    assert!(mine.is_null(), "{tree}");

    // In a community that admits members only, outsiders cannot vote or comment.
    cairn.community(&alice, "council", "approval").await;
    let closed = cairn.post_in(&alice, "council", "Agenda").await;
    let answer = vote(&cairn, &bob, "posts", closed, json!(1)).await;
    answer.expect_error(403, "members_only");
    let answer = post_as(&cairn, &bob, &comments_of(closed), json!({"body": "Hi"})).await;
    answer.expect_error(403, "members_only");
    cairn.stop().await;
}

/// Votes cast at the same moment are all counted. Each vote recounts the item's totals; on
/// PostgreSQL two of them counted at once used to miss each other, and the totals stayed one
/// vote short for good.
async fn simultaneous_votes(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let id = cairn.post_in(&alice, "gardening", "Compost tips").await;
    let (cid, _) = comment(&cairn, &alice, id, None, "Use leaves").await;
    let mut voters = vec![];
    for n in 0..12 {
        voters.push(cairn.user(&format!("voter{n}")).await);
    }
    // Every voter upvotes the post and the comment, all requests in flight together.
    let mut casts = tokio::task::JoinSet::new();
    for voter in &voters {
        for path in [
            format!("/api/v1/posts/{id}/vote"),
            format!("/api/v1/comments/{cid}/vote"),
        ] {
            let request = cairn
                .client
                .post(cairn.url(&path))
                .bearer_auth(&voter.token)
                .json(&json!({"score": 1}));
            casts.spawn(async move { request.send().await.expect("vote").status() });
        }
    }
    for status in casts.join_all().await {
        assert_eq!(status, 200);
    }
    let seen = detail(&cairn, id, None).await;
    assert_eq!(totals(&seen["post"]), [12, 12, 0], "{}", seen["post"]);
    let node = &seen["comments"][0]["comment"];
    assert_eq!(totals(node), [12, 12, 0], "{node}");
    cairn.stop().await;
}

/// Comment edits and deletions; a deleted comment keeps its place so its replies stay readable.
async fn edit_and_delete_comment(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let bob = cairn.user("bob").await;
    let carol = cairn.user("carol").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Compost tips").await;
    let (pid, _) = comment(&cairn, &bob, post, None, "Use leaves").await;
    let (child, _) = comment(&cairn, &carol, post, Some(pid), "Which leaves?").await;
    let path = comment_path(pid);

    let edited = cairn
        .patch(&path, &bob.token, json!({"body": "Use *oak* leaves"}))
        .await;
    let edited = edited.expect(200);
    assert_eq!(edited["body"], "Use *oak* leaves");
    assert_eq!(edited["body_html"], "<p>Use <em>oak</em> leaves</p>\n");
    assert!(edited["updated"].is_string(), "{edited}");
    for other in [&alice, &carol] {
        let answer = cairn
            .patch(&path, &other.token, json!({"body": "Mine"}))
            .await;
        answer.expect_error(403, "not_author");
    }
    let answer = cairn.patch(&path, &bob.token, json!({"body": ""})).await;
    answer.expect_error(400, "invalid_body");
    let tree = detail(&cairn, post, None).await;
    assert_eq!(tree["comments"][0]["comment"]["body"], "Use *oak* leaves");

    cairn
        .delete(&path, &carol.token)
        .await
        .expect_error(403, "not_author");
    cairn.delete(&path, &bob.token).await.expect(204);
    let tree = detail(&cairn, post, None).await;
    let top = tree["comments"].as_array().expect("comments");
    assert_eq!(top.len(), 1, "the deleted comment keeps its place: {tree}");
    let gone = &top[0]["comment"];
    assert_eq!(gone["id"], pid);
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["body"], "");
    assert_eq!(gone["body_html"], "");
    let kept = &top[0]["replies"][0]["comment"];
    assert_eq!(kept["id"], child);
    assert_eq!(kept["body"], "Which leaves?");
    assert_eq!(kept["deleted"], false);
    let alone = cairn.get(&path, None).await;
    let alone = alone.expect(200);
    assert_eq!(alone["deleted"], true);
    assert_eq!(alone["body"], "");
    assert_eq!(alone["body_html"], "");

    // A deleted comment takes no edits, replies or votes.
    let answer = cairn
        .patch(&path, &bob.token, json!({"body": "Back"}))
        .await;
    answer.expect_error(410, "comment_deleted");
    let body = json!({"body": "Hello?", "parent_id": pid});
    let answer = post_as(&cairn, &carol, &comments_of(post), body).await;
    answer.expect_error(400, "invalid_parent");
    let answer = vote(&cairn, &carol, "comments", pid, json!(1)).await;
    answer.expect_error(410, "comment_deleted");

    // The community owner removes someone else's comment.
    cairn
        .delete(&comment_path(child), &alice.token)
        .await
        .expect(204);
    let tree = detail(&cairn, post, None).await;
    let removed = &tree["comments"][0]["replies"][0]["comment"];
    assert_eq!(removed["deleted"], true);
    assert_eq!(removed["body"], "");
    cairn.stop().await;
}

/// Listing a community's posts: new, top and hot orders, and keyset pages that cover every post
/// exactly once.
async fn listing_and_pagination(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    let voters = [cairn.user("bob").await, cairn.user("carol").await];
    cairn.community(&alice, "gardening", "open").await;
    let mut c = Vec::new();
    for n in 0..7 {
        c.push(cairn.post_in(&alice, "gardening", &format!("P{n}")).await);
    }
    let newest_first: Vec<i64> = c.iter().rev().copied().collect();

    // New: newest first, on one page and across pages of three.
    let page = listing(&cairn, "?sort=new").await;
    assert_eq!(ids(&page), newest_first);
    assert!(page["next_cursor"].is_null());
    assert_eq!(all_pages(&cairn, "new", 3).await, newest_first);

    // Votes: post 2 gets +2, post 5 gets +1, post 0 gets -1; the rest stay at 0.
    for v in &voters {
        vote(&cairn, v, "posts", c[2], json!(1)).await.expect(200);
    }
    let bob = &voters[0];
    vote(&cairn, bob, "posts", c[5], json!(1)).await.expect(200);
    vote(&cairn, bob, "posts", c[0], json!(-1))
        .await
        .expect(200);

    // Top: by score, ties newest (highest id) first.
    let top = vec![c[2], c[5], c[6], c[4], c[3], c[1], c[0]];
    let page = listing(&cairn, "?sort=top").await;
    assert_eq!(ids(&page), top);
    let posts = page["posts"].as_array().expect("posts");
    let scores: Vec<i64> = posts.iter().map(|p| totals(p)[0]).collect();
    assert_eq!(scores, [2, 1, 0, 0, 0, 0, -1]);
    assert_eq!(all_pages(&cairn, "top", 3).await, top);
    assert_eq!(all_pages(&cairn, "top", 2).await, top);

    // Hot: among posts of the same age, votes decide; it is also the default order.
    let hot = all_pages(&cairn, "hot", 3).await;
    assert_eq!(&hot[..2], &[c[2], c[5]], "hot: {hot:?}");
    assert_eq!(hot.last(), Some(&c[0]), "hot: {hot:?}");
    let mut sorted = hot.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, c, "every post exactly once");
    assert_eq!(ids(&listing(&cairn, "").await), hot);
    assert_eq!(all_pages(&cairn, "hot", 1).await, hot);

    // Deleted posts leave the listing, and pages still cover the rest exactly once.
    cairn
        .delete(&post_path(c[4]), &alice.token)
        .await
        .expect(204);
    let without: Vec<i64> = newest_first
        .iter()
        .copied()
        .filter(|&i| i != c[4])
        .collect();
    assert_eq!(all_pages(&cairn, "new", 3).await, without);

    // Cursors belong to their sort order; garbage and unknown sorts are refused.
    let page = listing(&cairn, "?sort=new&limit=3").await;
    let cursor = page["next_cursor"].as_str().expect("cursor").to_owned();
    let path = |query: String| format!("/api/v1/communities/gardening/posts?{query}");
    for sort in ["top", "hot"] {
        let answer = cairn
            .get(&path(format!("sort={sort}&cursor={cursor}")), None)
            .await;
        answer.expect_error(400, "invalid_cursor");
    }
    // Not base64, base64 of no cursor at all, and a well-formed `new` cursor with a bad time.
    for garbage in ["garbage!!", "bm90LWEtY3Vyc29y", "bjp4Ojk"] {
        let answer = cairn
            .get(&path(format!("sort=new&cursor={garbage}")), None)
            .await;
        answer.expect_error(400, "invalid_cursor");
    }
    let answer = cairn.get(&path("sort=bogus".into()), None).await;
    answer.expect_error(400, "invalid_sort");
    let answer = cairn.get(&path("limit=many".into()), None).await;
    answer.expect_error(400, "invalid_query");
    cairn.stop().await;
}

backend_tests!(
    create_post,
    comment_tree,
    edit_and_delete_post,
    votes,
    simultaneous_votes,
    edit_and_delete_comment,
    listing_and_pagination,
);
