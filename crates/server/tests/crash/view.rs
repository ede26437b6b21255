//! What an instance shows of the community through its JSON API, read into comparable values,
//! and the comparison of one instance's view with another's for failure messages.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::Value;

use crate::api::expect;
use crate::instance::Instance;

/// A comment as a follower should see it: parent and text, with its ActivityPub id as the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommentState {
    pub(crate) parent: Option<String>,
    pub(crate) body: String,
    pub(crate) score: i64,
}

/// A post as a follower should see it, comments included, keyed by its ActivityPub id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PostState {
    pub(crate) title: String,
    pub(crate) score: i64,
    pub(crate) upvotes: i64,
    pub(crate) downvotes: i64,
    pub(crate) comment_count: i64,
    pub(crate) comments: BTreeMap<String, CommentState>,
}

/// Every post of the community as listed by `on` (newest first, following `next_cursor`),
/// failing on any post listed twice.
pub(crate) async fn list_posts(
    client: &reqwest::Client,
    on: &Instance,
    handle: &str,
) -> Vec<Value> {
    let mut posts: Vec<Value> = vec![];
    let mut cursor: Option<String> = None;
    loop {
        // Small pages, so that the listing goes through several cursors.
        let mut url = url::Url::parse(&on.url(&format!("/api/v1/communities/{handle}/posts")))
            .expect("listing URL");
        url.query_pairs_mut()
            .append_pair("sort", "new")
            .append_pair("limit", "7");
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let page = expect(client, Method::GET, url.as_str(), None, None, 200).await;
        posts.extend(page["posts"].as_array().expect("posts").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut ids = BTreeSet::new();
    let mut ap_ids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    for p in &posts {
        assert!(
            ids.insert(p["id"].as_i64().expect("id")),
            "{} lists post {} twice",
            on.name,
            p["id"]
        );
        assert!(
            ap_ids.insert(p["ap_id"].as_str().expect("ap_id").to_owned()),
            "{} lists {} twice",
            on.name,
            p["ap_id"]
        );
        assert!(
            titles.insert(p["title"].as_str().expect("title").to_owned()),
            "{} has two posts titled {}",
            on.name,
            p["title"]
        );
    }
    posts
}

/// The posts of a listing with their counters, without comments: cheap enough to poll.
pub(crate) fn summary(posts: &[Value]) -> BTreeMap<String, PostState> {
    posts
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().unwrap_or_else(|| panic!("no {k} in {p}"));
            let state = PostState {
                title: p["title"].as_str().expect("title").to_owned(),
                score: n("score"),
                upvotes: n("upvotes"),
                downvotes: n("downvotes"),
                comment_count: n("comment_count"),
                comments: BTreeMap::new(),
            };
            (p["ap_id"].as_str().expect("ap_id").to_owned(), state)
        })
        .collect()
}

/// What `seen` lacks, has in excess or shows otherwise than `expected`, for a failure message.
pub(crate) fn differences(
    expected: &BTreeMap<String, PostState>,
    seen: &BTreeMap<String, PostState>,
) -> String {
    let mut out = vec![];
    for (ap_id, want) in expected {
        match seen.get(ap_id) {
            None => out.push(format!("lacks {ap_id} ({})", want.title)),
            Some(got) if got != want => out.push(format!("{ap_id}: {got:?} instead of {want:?}")),
            Some(_) => {}
        }
    }
    for ap_id in seen.keys().filter(|k| !expected.contains_key(*k)) {
        out.push(format!("has {ap_id}, which alpha does not"));
    }
    out.join("; ")
}

/// Everything `on` shows of the community: each post with its comment tree, flattened, each
/// parent named by its ActivityPub id since local ids differ between instances. Fails on a
/// comment shown twice.
pub(crate) async fn snapshot(
    client: &reqwest::Client,
    on: &Instance,
    handle: &str,
) -> BTreeMap<String, PostState> {
    let posts = list_posts(client, on, handle).await;
    let mut states = summary(&posts);
    for p in &posts {
        let id = p["id"].as_i64().expect("id");
        let detail = expect(
            client,
            Method::GET,
            &on.url(&format!("/api/v1/posts/{id}")),
            None,
            None,
            200,
        )
        .await;
        let mut flat = BTreeMap::new();
        let mut stack: Vec<(Option<String>, &Value)> = detail["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .map(|n| (None, n))
            .collect();
        while let Some((parent, node)) = stack.pop() {
            let c = &node["comment"];
            let ap_id = c["ap_id"].as_str().expect("comment ap_id").to_owned();
            for reply in node["replies"].as_array().expect("replies") {
                stack.push((Some(ap_id.clone()), reply));
            }
            let state = CommentState {
                parent,
                body: c["body"].as_str().unwrap_or_default().to_owned(),
                score: c["score"].as_i64().expect("comment score"),
            };
            assert!(
                flat.insert(ap_id.clone(), state).is_none(),
                "{} shows the comment {ap_id} twice",
                on.name
            );
        }
        let ap_id = p["ap_id"].as_str().expect("ap_id");
        states.get_mut(ap_id).expect("listed").comments = flat;
    }
    states
}

/// The posts of a snapshot without their comments, as a listing shows them.
pub(crate) fn without_comments(full: &BTreeMap<String, PostState>) -> BTreeMap<String, PostState> {
    full.iter()
        .map(|(k, v)| {
            let post = PostState {
                comments: BTreeMap::new(),
                ..v.clone()
            };
            (k.clone(), post)
        })
        .collect()
}
