//! Big and deep threads: a post's comments come in pages of top-level comments with their
//! replies, through a cursor, on the API and on the post page; replies nest to a bounded depth
//! in JSON and HTML; a comment's own thread is readable alone.

use cairn_tests::{Backend, TestInstance, User, backend_tests};
use serde_json::{Value, json};

/// Adds a comment (a reply when `parent` is given) and returns its id.
async fn comment(cairn: &TestInstance, author: &User, post: i64, parent: Option<i64>) -> i64 {
    cairn
        .post(
            &format!("/api/v1/posts/{post}/comments"),
            Some(&author.token),
            json!({"body": "A thought", "parent_id": parent}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .expect("comment id")
}

/// The ids in a comment tree, walked without recursion, and its deepest nesting level.
fn walk(nodes: &Value) -> (Vec<i64>, usize) {
    let mut ids = vec![];
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = vec![(nodes, 1)];
    while let Some((list, level)) = stack.pop() {
        for n in list.as_array().expect("a list of comments") {
            ids.push(n["comment"]["id"].as_i64().expect("id"));
            deepest = deepest.max(level);
            stack.push((&n["replies"], level + 1));
        }
    }
    (ids, deepest)
}

/// Fifty-five top-level comments come in two pages; replies come with their comment.
async fn threads_are_paged(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "Many answers").await;
    let mut top = vec![];
    for _ in 0..55 {
        top.push(comment(&cairn, &alice, post, None).await);
    }
    let reply = comment(&cairn, &alice, post, Some(top[0])).await;

    let first = cairn
        .get(&format!("/api/v1/posts/{post}"), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(first["post"]["comment_count"], 56);
    assert_eq!(first["comments"].as_array().expect("page").len(), 50);
    assert_eq!(first["comments"][0]["comment"]["id"], top[0]);
    assert_eq!(first["comments"][0]["replies"][0]["comment"]["id"], reply);
    let cursor = first["next_comments_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = cairn
        .get(
            &format!("/api/v1/posts/{post}?comments_cursor={cursor}"),
            None,
        )
        .await
        .expect(200)
        .clone();
    let (ids, _) = walk(&second["comments"]);
    assert_eq!(ids, top[50..].to_vec(), "the rest, in order");
    assert!(second["next_comments_cursor"].is_null(), "{second}");
    cairn
        .get(
            &format!("/api/v1/posts/{post}?comments_cursor=nonsense"),
            None,
        )
        .await
        .expect_error(400, "invalid_cursor");

    // The post page offers the next page of comments, and the page after it is the last.
    let page = cairn
        .client
        .get(cairn.url(&format!("/post/{post}")))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let body = page.text().await.expect("body");
    assert!(
        body.contains("id=\"more-comments\""),
        "a link to more comments"
    );
    let more = format!("/post/{post}?comments={cursor}");
    assert!(body.contains(&more), "{more} is linked");
    let page = cairn
        .client
        .get(cairn.url(&more))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let body = page.text().await.expect("body");
    assert!(!body.contains("id=\"more-comments\""));
    assert!(body.contains("id=\"first-comments\""));
    assert!(body.contains(&format!("id=\"comment-{}\"", top[54])));

    // A comment's own thread is readable alone.
    let thread = cairn
        .get(&format!("/api/v1/comments/{}/thread", top[0]), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(walk(&thread["comments"]).0, vec![top[0], reply]);
    cairn
        .get("/api/v1/comments/999999/thread", None)
        .await
        .expect_error(404, "comment_not_found");
    cairn.stop().await;
}

/// A chain of replies deeper than the API nests is returned whole, at most forty levels deep,
/// and the web pages of the post and of its deepest comment answer.
async fn deep_chains_nest_to_a_bound(backend: Backend) {
    let cairn = TestInstance::start(backend).await;
    let alice = cairn.user("alice").await;
    cairn.community(&alice, "gardening", "open").await;
    let post = cairn.post_in(&alice, "gardening", "A long exchange").await;
    let mut parent = None;
    let mut chain = vec![];
    for _ in 0..45 {
        let id = comment(&cairn, &alice, post, parent).await;
        chain.push(id);
        parent = Some(id);
    }
    let read = cairn
        .get(&format!("/api/v1/posts/{post}"), None)
        .await
        .expect(200)
        .clone();
    let (mut ids, deepest) = walk(&read["comments"]);
    ids.sort_unstable();
    assert_eq!(ids, chain, "every reply is there");
    assert_eq!(deepest, 40, "nesting stops at forty levels");
    // The stored depth still says where the deepest one belongs.
    let last = cairn
        .get(&format!("/api/v1/comments/{}", chain[44]), None)
        .await
        .expect(200)
        .clone();
    assert_eq!(last["depth"], 44);
    for path in [format!("/post/{post}"), format!("/comment/{}", chain[44])] {
        let page = cairn
            .client
            .get(cairn.url(&path))
            .send()
            .await
            .expect("page");
        assert_eq!(page.status(), 200, "{path}");
        let body = page.text().await.expect("body");
        assert!(
            body.matches("<ul>").count() <= 12,
            "{path} nests at most twelve levels"
        );
    }
    cairn.stop().await;
}

backend_tests!(threads_are_paged, deep_chains_nest_to_a_bound);
