//! The interop scenarios, run in order against one peer. Each returns what went wrong in the
//! peer's own words, so that the report says what the other implementation expected.

use std::time::Duration;

use cairn_tests::{TestInstance, User};
use serde_json::{Value, json};

use crate::peer::Peer;

/// The outcome of one scenario.
pub type Outcome = Result<(), String>;

/// What the scenarios share: Cairn (alpha), a second Cairn instance (beta) that also follows
/// the community, the community and its owner, and what earlier scenarios produced.
pub struct World {
    pub alpha: TestInstance,
    pub beta: TestInstance,
    pub owner: User,
    pub community: String,
    pub peer: Peer,
    /// The post made in `post_is_announced`, by local id and ActivityPub id.
    pub post: Option<(i64, String)>,
}

impl World {
    fn group_url(&self) -> String {
        self.alpha.url(&format!("/c/{}", self.community))
    }

    fn group_handle(&self) -> String {
        format!("{}@{}", self.community, self.alpha.domain)
    }

    fn post(&self) -> Result<&(i64, String), String> {
        self.post
            .as_ref()
            .ok_or_else(|| "needs the post of the earlier scenario, which failed".to_owned())
    }
}

/// Polls `check` for up to 20 seconds; `Err` carries the last reason it gave.
async fn within<T, F, Fut>(what: &str, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, String>>,
{
    let mut last = String::from("nothing arrived");
    for _ in 0..100 {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{what}: timed out; last: {last}"))
}

/// An inbox item whose activity has type `kind` and passes `pred`.
async fn inbox_item(w: &World, what: &str, pred: impl Fn(&Value) -> bool) -> Result<Value, String> {
    within(what, || async {
        let items = w.peer.inbox().await?;
        if let Some(bad) = items
            .iter()
            .find(|i| i["verified"] == false && pred(&i["activity"]))
        {
            return Err(format!(
                "the peer refused it: {}",
                bad["error"].as_str().unwrap_or("no reason given")
            ));
        }
        Ok(items.into_iter().find(|i| pred(&i["activity"])))
    })
    .await
}

fn id_of(v: &Value) -> &str {
    v.as_str().or_else(|| v["id"].as_str()).unwrap_or("")
}

/// The peer resolves the group, checks it is a Group with a key, and checks the key is the
/// one Cairn signs with.
async fn check_group(w: &World, query: &str) -> Outcome {
    let found = w.peer.post("/lookup", json!({ "query": query })).await?;
    let object = &found["object"];
    let kind = found["type"]
        .as_str()
        .or(object["type"].as_str())
        .unwrap_or("");
    if kind != "Group" {
        return Err(format!("resolved to type {kind:?}, not Group: {object}"));
    }
    let id = found["id"].as_str().or(object["id"].as_str()).unwrap_or("");
    if id != w.group_url() {
        return Err(format!("resolved to {id}, not {}", w.group_url()));
    }
    let pem = found["public_key_pem"].as_str().unwrap_or("");
    let ours =
        w.alpha.get_ap(&format!("/c/{}", w.community)).await.body["publicKey"]["publicKeyPem"]
            .as_str()
            .unwrap_or("")
            .to_owned();
    if pem.trim().is_empty() {
        return Err(format!("the peer found no usable public key: {found}"));
    }
    if normalise_pem(pem) != normalise_pem(&ours) {
        return Err(format!(
            "the peer's key differs from the community's:\n{pem}\nvs\n{ours}"
        ));
    }
    Ok(())
}

/// PEM text without its line breaks, so that re-wrapped keys compare equal.
fn normalise_pem(pem: &str) -> String {
    pem.split_whitespace().collect()
}

pub async fn resolve_by_handle(w: &mut World) -> Outcome {
    check_group(w, &format!("acct:{}", w.group_handle())).await
}

pub async fn resolve_by_url(w: &mut World) -> Outcome {
    check_group(w, &w.group_url()).await
}

pub async fn follow_is_accepted(w: &mut World) -> Outcome {
    let sent = w
        .peer
        .post("/follow", json!({ "actor": w.group_url() }))
        .await?;
    let follow_id = sent["activity"]["id"].as_str().unwrap_or("").to_owned();
    let accept = inbox_item(w, "the Accept", |a| {
        a["type"] == "Accept" && id_of(&a["object"]) == follow_id
    })
    .await?;
    if accept["activity"]["actor"] != w.group_url().as_str() {
        return Err(format!(
            "the Accept came from {}",
            accept["activity"]["actor"]
        ));
    }
    let peer_actor = w.peer.actor.clone();
    within("Cairn lists the peer as a member", || async {
        let members = w
            .alpha
            .get(
                &format!("/api/v1/communities/{}/members", w.community),
                None,
            )
            .await;
        let list = members.body.as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .any(|m| m["person"]["ap_id"] == peer_actor.as_str())
            .then_some(()))
    })
    .await
}

/// The peer must have the Announce of activity `inner_type` about `object_id`, verified, and
/// its inner activity must dereference.
async fn announced(w: &World, inner_type: &str, object_id: &str) -> Result<Value, String> {
    let item = inbox_item(w, &format!("the Announce of the {inner_type}"), |a| {
        a["type"] == "Announce"
            && a["actor"] == w.group_url().as_str()
            && a["object"]["type"] == inner_type
            && id_of(&a["object"]["object"]) == object_id
    })
    .await?;
    if item["verified"] == false {
        return Err(format!("the Announce did not verify: {}", item["error"]));
    }
    Ok(item["activity"]["object"].clone())
}

/// A signed GET by the peer of `url` must answer ActivityPub JSON with that id.
async fn dereferences(w: &World, url: &str, want_type: &str) -> Outcome {
    let got = w.peer.fetch(url).await?;
    let status = got["status"].as_u64().unwrap_or(0);
    let content_type = got["content_type"].as_str().unwrap_or("");
    if status != 200 {
        return Err(format!("GET {url} answered {status}: {}", got["body"]));
    }
    if !content_type.contains("activity+json") && !content_type.contains("ld+json") {
        return Err(format!("GET {url} answered Content-Type {content_type}"));
    }
    if got["body"]["id"] != url || got["body"]["type"] != want_type {
        return Err(format!(
            "GET {url} answered another document: {}",
            got["body"]
        ));
    }
    Ok(())
}

pub async fn post_is_announced(w: &mut World) -> Outcome {
    let created = w
        .alpha
        .post(
            "/api/v1/posts",
            Some(&w.owner.token),
            json!({"community": w.community, "title": "Seed swaps in spring",
                   "body": "Bring *labelled* envelopes."}),
        )
        .await;
    if created.status != 201 {
        return Err(format!("Cairn refused the post: {}", created.body));
    }
    let id = created.body["id"].as_i64().unwrap_or(0);
    let ap_id = created.body["ap_id"].as_str().unwrap_or("").to_owned();
    w.post = Some((id, ap_id.clone()));
    let create = announced(w, "Create", &ap_id).await?;
    let create_id = create["id"].as_str().unwrap_or("").to_owned();
    dereferences(w, &create_id, "Create").await?;
    dereferences(w, &ap_id, "Page").await
}

pub async fn edit_is_announced(w: &mut World) -> Outcome {
    let (id, ap_id) = w.post()?.clone();
    let edited = w
        .alpha
        .patch(
            &format!("/api/v1/posts/{id}"),
            &w.owner.token,
            json!({"title": "Seed swaps in early spring"}),
        )
        .await;
    if edited.status != 200 {
        return Err(format!("Cairn refused the edit: {}", edited.body));
    }
    let update = announced(w, "Update", &ap_id).await?;
    if update["object"]["name"] != "Seed swaps in early spring" {
        return Err(format!("the Update carries an old title: {update}"));
    }
    dereferences(w, update["id"].as_str().unwrap_or(""), "Update").await
}

pub async fn reply_becomes_comment(w: &mut World) -> Outcome {
    let (id, ap_id) = w.post()?.clone();
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let sent = w
        .peer
        .post(
            "/note",
            json!({
                "content": "<p>I will bring tomato seeds.</p>",
                "in_reply_to": ap_id,
                "to": [public],
                "cc": [w.group_url()],
                "tag": [],
                "deliver_to": [w.group_url()],
            }),
        )
        .await?;
    let note_id = sent["note"]["id"].as_str().unwrap_or("").to_owned();
    let comment = within("Cairn shows the comment", || async {
        let post = w.alpha.get(&format!("/api/v1/posts/{id}"), None).await;
        let comments = post.body["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(comments
            .into_iter()
            .map(|node| node["comment"].clone())
            .find(|c| c["ap_id"] == note_id.as_str()))
    })
    .await?;
    if !comment["body_html"]
        .as_str()
        .unwrap_or("")
        .contains("tomato seeds")
    {
        return Err(format!("the comment lost its text: {comment}"));
    }
    // Relayed to the other follower: beta shows it under its copy of the post.
    within("beta receives the relayed comment", || async {
        let posts = w.beta.newest_posts(&w.group_handle()).await;
        let Some(copy) = posts.into_iter().find(|p| p["ap_id"] == ap_id.as_str()) else {
            return Ok(None);
        };
        let detail = w
            .beta
            .get(&format!("/api/v1/posts/{}", copy["id"]), None)
            .await;
        let comments = detail.body["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(comments
            .iter()
            .any(|node| node["comment"]["ap_id"] == note_id.as_str())
            .then_some(()))
    })
    .await
}

pub async fn mention_becomes_post(w: &mut World) -> Outcome {
    let public = "https://www.w3.org/ns/activitystreams#Public";
    let handle = format!("@{}", w.group_handle());
    let sent = w
        .peer
        .post(
            "/note",
            json!({
                "content": format!(
                    "<p><a href=\"{}\" class=\"mention\">{handle}</a> Who has spare bean seeds?</p>",
                    w.group_url()
                ),
                "in_reply_to": null,
                "to": [public],
                "cc": [w.group_url()],
                "tag": [{"type": "Mention", "href": w.group_url(), "name": handle}],
                "deliver_to": [w.group_url()],
            }),
        )
        .await?;
    let note_id = sent["note"]["id"].as_str().unwrap_or("").to_owned();
    let post = within("Cairn lists the post", || async {
        let posts = w.alpha.newest_posts(&w.community).await;
        Ok(posts.into_iter().find(|p| p["ap_id"] == note_id.as_str()))
    })
    .await?;
    let title = post["title"].as_str().unwrap_or("");
    if !title.contains("bean seeds") || title.contains('@') {
        return Err(format!("the post's title is {title:?}"));
    }
    Ok(())
}

pub async fn delete_is_announced(w: &mut World) -> Outcome {
    let (id, ap_id) = w.post()?.clone();
    let deleted = w
        .alpha
        .delete(&format!("/api/v1/posts/{id}"), &w.owner.token)
        .await;
    if deleted.status != 204 && deleted.status != 200 {
        return Err(format!("Cairn refused the delete: {}", deleted.body));
    }
    announced(w, "Delete", &ap_id).await?;
    // The post's id now answers 410 with a Tombstone.
    let got = w.peer.fetch(&ap_id).await?;
    if got["status"] != 410 && got["body"]["type"] != "Tombstone" {
        return Err(format!(
            "GET of the deleted post answered {}: {}",
            got["status"], got["body"]
        ));
    }
    Ok(())
}

pub async fn cairn_follows_peer(w: &mut World) -> Outcome {
    let user = w.alpha.user("follower").await;
    let answer = w
        .alpha
        .post(
            "/api/v1/people/follow",
            Some(&user.token),
            json!({ "handle": w.peer.handle }),
        )
        .await;
    if answer.status != 200 {
        return Err(format!(
            "Cairn could not follow {}: {}",
            w.peer.handle, answer.body
        ));
    }
    within("the peer accepts", || async {
        let list = w.alpha.get("/api/v1/me/following", Some(&user.token)).await;
        let list = list.body.as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .any(|f| f["person"]["ap_id"] == w.peer.actor.as_str() && f["state"] == "active")
            .then_some(()))
    })
    .await?;
    let me = w.alpha.url("/u/follower");
    within("the peer lists the follower", || async {
        let followers = w.peer.get("/followers").await?;
        Ok(followers["items"]
            .as_array()
            .is_some_and(|l| l.iter().any(|f| id_of(f) == me))
            .then_some(()))
    })
    .await
}
