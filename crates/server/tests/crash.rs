//! Crash safety of outgoing federation, tested with real processes and a real SIGKILL.
//!
//! The origin instance `alpha` hosts a community that users on three follower instances follow.
//! After a few earlier posts have reached everyone, alpha gets a burst of new posts, comments,
//! replies, edits and votes, and is killed with SIGKILL while the fan-out of that burst is under
//! way: some events not yet published, some deliveries done, others queued, and some leased and
//! in flight. It is then started again on the same database and port. Once its outbox and its
//! delivery queue are empty, every follower's JSON API must show every post and comment of
//! alpha exactly once, with the titles and scores alpha itself shows.
//!
//! This is the promise of the durable outbox: killing the process at any moment and starting it
//! again loses no delivery, and receivers drop the duplicates a restart resends, by activity id.
//! Only separate processes can be killed at an arbitrary instant and leave the database as a
//! crash leaves it, so every instance here is the real `cairn` binary.
//!
//! Deliveries that were in flight at the kill stay leased by the dead process until their lease
//! runs out (`delivery_lease_seconds`, set to its minimum of 15 here), so recovery takes that
//! long and the test waits for it. The test runs once on SQLite and once on PostgreSQL.
//!
//! Every byte of traffic stays on loopback: the instances listen on 127.0.0.1, call each other
//! through `localhost`, and run with an empty environment, so no proxy setting applies.

// A panic is how a test reports failure, so helpers may unwrap as test functions do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The crate root resolves `mod x;` beside itself, to tests/x.rs, where cargo would build it as a
// test of its own; the paths keep the machinery in tests/crash/, which cargo does not scan.
#[path = "crash/api.rs"]
mod api;
#[path = "crash/db.rs"]
mod db;
#[path = "crash/instance.rs"]
mod instance;
#[path = "crash/pg.rs"]
mod pg;
#[path = "crash/view.rs"]
mod view;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_storage::Database;
use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::api::{call, comment, create_post, eventually, expect, user, vote};
use crate::db::{already_received, observer, outgoing};
use crate::instance::{Backend, Instance};
use crate::view::{PostState, differences, list_posts, snapshot, summary, without_comments};

/// How long a step of the set-up (a follow being accepted) may take.
const STEP_WITHIN: Duration = Duration::from_secs(60);

/// How long the followers may take to catch up after the restart: the 15-second lease of the
/// deliveries that were in flight at the kill, plus time for resending everything on a busy
/// machine.
const RECOVERY_WITHIN: Duration = Duration::from_secs(120);

/// Posts in the burst; each gets a comment, a reply to it and a few votes.
const POSTS: usize = 30;

/// The community on alpha that everyone follows.
const COMMUNITY: &str = "lighthouse";

/// Signed-in users of alpha: the community's owner and three voters.
struct People {
    alice: String,
    vera: String,
    victor: String,
    violet: String,
}

/// Posts made and delivered before the burst, so that the burst can edit them, comment on
/// them, and change and withdraw votes on them.
const EARLIER: usize = 3;

/// The posts made before the burst, each with a downvote by vera and an upvote by violet.
async fn earlier_posts(client: &reqwest::Client, base: &str, people: &People) -> Vec<i64> {
    let mut ids = vec![];
    for k in 0..EARLIER {
        let id = create_post(client, base, &people.alice, &format!("Earlier post {k}")).await;
        vote(client, base, &people.vera, &format!("posts/{id}"), -1).await;
        vote(client, base, &people.violet, &format!("posts/{id}"), 1).await;
        ids.push(id);
    }
    ids
}

/// Alpha's burst: `POSTS` new posts, each with a comment by alice, a reply by vera and votes
/// that differ from post to post; and on each earlier post an edit, a comment, vera's
/// downvote turned into an upvote and violet's upvote withdrawn (an Undo). Each phase sends
/// its requests concurrently, so that the burst outpaces the delivery worker.
///
/// Every voter votes at most once per object within the burst. ActivityPub does not order
/// deliveries: a Like and its Undo sent moments apart may be applied in either order, and no
/// receiver can tell which was meant last. What this test checks, that nothing is lost or
/// doubled, must hold whatever the order, so the burst's final state must not depend on it.
async fn burst(client: &reqwest::Client, base: &str, people: &People, earlier: &[i64]) {
    let mut tasks = JoinSet::new();
    for i in 0..POSTS {
        let (client, base, alice) = (client.clone(), base.to_owned(), people.alice.clone());
        tasks.spawn(async move {
            let title = format!("Crash post {i:02}");
            (i, create_post(&client, &base, &alice, &title).await)
        });
    }
    let posts = tasks.join_all().await;

    let mut tasks = JoinSet::new();
    for (k, &post) in earlier.iter().enumerate() {
        let (client, base) = (client.clone(), base.to_owned());
        let (alice, vera) = (people.alice.clone(), people.vera.clone());
        let violet = people.violet.clone();
        tasks.spawn(async move {
            let url = format!("{base}/api/v1/posts/{post}");
            let edit = json!({"title": format!("Earlier post {k}, edited")});
            expect(&client, Method::PATCH, &url, Some(&alice), Some(edit), 200).await;
            let text = format!("Alice, later, on earlier post {k}.");
            comment(&client, &base, &alice, post, None, &text).await;
            vote(&client, &base, &vera, &format!("posts/{post}"), 1).await;
            vote(&client, &base, &violet, &format!("posts/{post}"), 0).await;
        });
    }
    for (i, post) in posts {
        let (client, base) = (client.clone(), base.to_owned());
        let (alice, vera) = (people.alice.clone(), people.vera.clone());
        let (victor, violet) = (people.victor.clone(), people.violet.clone());
        tasks.spawn(async move {
            let text = format!("Alice on post {i}.");
            let first = comment(&client, &base, &alice, post, None, &text).await;
            let text = format!("Vera replies on post {i}.");
            comment(&client, &base, &vera, post, Some(first), &text).await;
            if i % 2 == 0 {
                vote(&client, &base, &vera, &format!("posts/{post}"), 1).await;
            }
            if i % 3 == 0 {
                vote(&client, &base, &victor, &format!("posts/{post}"), -1).await;
            }
            if i % 4 == 0 {
                vote(&client, &base, &violet, &format!("comments/{first}"), 1).await;
            }
        });
    }
    tasks.join_all().await;
}

/// Waits until alpha has no outgoing work left and every follower lists the community's posts
/// as `expected` says, comments aside; then compares every post in full, comments included.
async fn wait_until_caught_up(
    client: &reqwest::Client,
    alpha_db: &Database,
    followers: &[Instance],
    handle: &str,
    expected: &BTreeMap<String, PostState>,
    within: Duration,
) {
    let listed = without_comments(expected);
    eventually(
        "alpha's outgoing work drains and every follower lists what alpha lists",
        within,
        Duration::from_millis(500),
        || async {
            let now = outgoing(alpha_db).await;
            if !now.is_empty() {
                return Err(format!("alpha still has work: {now:?}"));
            }
            for f in followers {
                let seen = summary(&list_posts(client, f, handle).await);
                if seen != listed {
                    let diff = differences(&listed, &seen);
                    return Err(format!("{} differs: {diff}", f.name));
                }
            }
            Ok(())
        },
    )
    .await;
    // Nothing is in flight any more, so what the followers show now is final.
    for f in followers {
        let seen = snapshot(client, f, handle).await;
        assert!(
            seen == *expected,
            "{} shows the community otherwise than alpha: {}",
            f.name,
            differences(expected, &seen)
        );
    }
}

/// The whole scenario on one backend.
async fn crash_during_fan_out(backend: Backend) {
    let test_started = Instant::now();
    // No proxy, whatever the environment says: every request goes to loopback directly.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let mut alpha = Instance::start("alpha", backend);
    let mut followers = [
        Instance::start("beta", backend),
        Instance::start("gamma", backend),
        Instance::start("delta", backend),
    ];
    alpha.ready(&client).await;
    for f in &mut followers {
        f.ready(&client).await;
    }
    let handle = format!("{COMMUNITY}@{}", alpha.domain());

    let people = People {
        alice: user(&client, &alpha, "alice").await,
        vera: user(&client, &alpha, "vera").await,
        victor: user(&client, &alpha, "victor").await,
        violet: user(&client, &alpha, "violet").await,
    };
    expect(
        &client,
        Method::POST,
        &alpha.url("/api/v1/communities"),
        Some(&people.alice),
        Some(json!({"name": COMMUNITY, "title": "Keepers of the light", "membership": "open"})),
        201,
    )
    .await;

    // Each follower instance gets a reader who follows the community.
    for f in &followers {
        let reader = user(&client, f, "reader").await;
        expect(
            &client,
            Method::POST,
            &f.url("/api/v1/communities/follow"),
            Some(&reader),
            Some(json!({"handle": handle})),
            200,
        )
        .await;
        let community = f.url(&format!("/api/v1/communities/{handle}"));
        eventually(
            &format!("alpha accepts the follow from {}", f.name),
            STEP_WITHIN,
            Duration::from_millis(50),
            || async {
                let (_, c) = call(&client, Method::GET, &community, Some(&reader), None).await;
                if c["my_membership"]["state"] == "active" {
                    Ok(())
                } else {
                    Err(format!("the membership is {}", c["my_membership"]))
                }
            },
        )
        .await;
    }

    // Observers of alpha's outgoing work and the followers' received activities, straight from
    // the databases.
    let alpha_db = observer(&alpha);
    let follower_dbs: Vec<(String, Database)> = followers
        .iter()
        .map(|f| (f.domain(), observer(f)))
        .collect();

    // The earlier posts reach every follower before the burst, as in a community with a past.
    let earlier = earlier_posts(&client, &alpha.url(""), &people).await;
    let before = snapshot(&client, &alpha, COMMUNITY).await;
    wait_until_caught_up(
        &client,
        &alpha_db,
        &followers,
        &handle,
        &before,
        STEP_WITHIN,
    )
    .await;

    let burst_started = Instant::now();
    burst(&client, &alpha.url(""), &people, &earlier).await;
    let burst_took = burst_started.elapsed();

    // Kill alpha as soon as the fan-out is under way: deliveries are leased and a first post
    // of the burst has reached a follower. Most of the burst's work is then still to do.
    let first_listing: Vec<String> = followers
        .iter()
        .map(|f| {
            f.url(&format!(
                "/api/v1/communities/{handle}/posts?sort=new&limit=50"
            ))
        })
        .collect();
    eventually(
        "a first post of the burst reaches a follower",
        STEP_WITHIN,
        Duration::from_millis(10),
        || async {
            let now = outgoing(&alpha_db).await;
            if now.leased == 0 {
                return Err(format!("nothing is leased: {now:?}"));
            }
            for url in &first_listing {
                let (_, page) = call(&client, Method::GET, url, None, None).await;
                if page["posts"].as_array().is_some_and(|p| p.len() > EARLIER) {
                    return Ok(());
                }
            }
            Err("no follower shows a post of the burst".into())
        },
    )
    .await;
    let before_kill = outgoing(&alpha_db).await;
    alpha.kill();
    let at_kill = outgoing(&alpha_db).await;
    let mut received = vec![];
    for f in &followers {
        let burst_posts = list_posts(&client, f, &handle).await.len() - EARLIER;
        received.push((f.name, burst_posts));
    }
    let duplicates = already_received(&alpha_db, &follower_dbs).await;
    eprintln!(
        "[{backend:?}] the burst of {POSTS} posts took {burst_took:?}; just before the kill: \
         {before_kill:?}; after it: {at_kill:?}, {duplicates} of the leased ones already \
         received; posts of the burst shown by the followers: {received:?}"
    );
    assert!(
        at_kill.waiting > 0,
        "the fan-out had finished before the kill; the burst must outpace delivery"
    );

    alpha.spawn();
    alpha.ready(&client).await;
    let restarted = Instant::now();

    // Alpha's own view is the truth the followers must reach, and it lost nothing either.
    let expected = snapshot(&client, &alpha, COMMUNITY).await;
    assert_eq!(expected.len(), EARLIER + POSTS, "alpha lost posts");
    let comments: usize = expected.values().map(|p| p.comments.len()).sum();
    assert_eq!(comments, EARLIER + 2 * POSTS, "alpha lost comments");

    wait_until_caught_up(
        &client,
        &alpha_db,
        &followers,
        &handle,
        &expected,
        RECOVERY_WITHIN,
    )
    .await;
    eprintln!(
        "[{backend:?}] every follower caught up {:?} after the restart; the test took {:?}",
        restarted.elapsed(),
        test_started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_instance_killed_during_fan_out_loses_and_doubles_nothing() {
    crash_during_fan_out(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instance_killed_during_fan_out_loses_and_doubles_nothing() {
    crash_during_fan_out(Backend::Postgres).await;
}
