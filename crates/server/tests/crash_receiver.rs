//! Crash safety of incoming federation, tested with real processes and a real SIGKILL.
//!
//! The origin instance `alpha` hosts a community that a reader on `beta` follows. Alpha gets a
//! burst of posts, comments, replies and votes (two hundred activities for beta), and `beta` is
//! killed with SIGKILL while it receives them: some activities applied, some stored and not yet
//! applied, some leased by its inbox worker, and some not yet sent by alpha, whose deliveries
//! then fail and are retried. Beta is started again on the same database and port. Once alpha's
//! queue is empty and beta's inbox has decided on everything it stored, beta's JSON API must
//! show every post and comment of alpha exactly once, with alpha's titles, scores and counts,
//! and every stored activity must be applied (or ignored as a repeat), none refused or failed.
//!
//! This is the promise of the durable inbox: an activity answered `202` is stored with its
//! dedupe mark in one transaction, applied later, and marked applied in the transaction of the
//! change, so a crash between any two steps loses nothing and applies nothing twice.
//!
//! The machinery (processes, API calls, database observers, views) is shared with `crash.rs`.
//! Every byte of traffic stays on loopback.

// A panic is how a test reports failure, so helpers may unwrap as test functions do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// This binary uses only part of the shared machinery; the rest serves `crash.rs`.
#[allow(dead_code)]
#[path = "crash/api.rs"]
mod api;
#[allow(dead_code)]
#[path = "crash/db.rs"]
mod db;
#[allow(dead_code)]
#[path = "crash/instance.rs"]
mod instance;
#[allow(dead_code)]
#[path = "crash/pg.rs"]
mod pg;
#[allow(dead_code)]
#[path = "crash/view.rs"]
mod view;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cairn_storage::schema::inbound_activities;
use cairn_storage::{Database, StorageError};
use diesel::prelude::*;
use reqwest::Method;
use serde_json::json;
use tokio::task::JoinSet;

use crate::api::{call, comment, create_post, eventually, expect, user, vote};
use crate::db::{observer, outgoing};
use crate::instance::{Backend, Instance};
use crate::view::{differences, snapshot};

/// The community on alpha that beta's reader follows.
const COMMUNITY: &str = "harbour";

/// Posts in the burst; each gets a comment, a reply and a vote, so beta receives four
/// activities per post.
const POSTS: usize = 50;

/// How long a step of the set-up may take.
const STEP_WITHIN: Duration = Duration::from_secs(60);

/// How long beta may take to catch up after its restart: the 15-second lease of what its inbox
/// worker held at the kill, plus alpha's retries with backoff, on a busy machine.
const RECOVERY_WITHIN: Duration = Duration::from_secs(150);

/// Beta's stored activities by state and verdict code (`applied`, `ignored duplicate`, ...).
async fn inbox_states(db: &Database) -> BTreeMap<String, i64> {
    let rows = db
        .run(
            |conn| -> Result<Vec<(String, Option<String>, i64)>, StorageError> {
                Ok(cairn_storage::with_conn!(conn, |c| {
                    inbound_activities::table
                        .group_by((inbound_activities::state, inbound_activities::code))
                        .select((
                            inbound_activities::state,
                            inbound_activities::code,
                            diesel::dsl::count_star(),
                        ))
                        .load(c)
                })?)
            },
        )
        .await
        .expect("read beta's inbox");
    let mut states = BTreeMap::new();
    for (state, code, n) in rows {
        let key = match code {
            Some(code) if code != state => format!("{state} {code}"),
            _ => state,
        };
        *states.entry(key).or_default() += n;
    }
    states
}

/// How many stored activities are in `state`, whatever their code.
fn count(states: &BTreeMap<String, i64>, state: &str) -> i64 {
    states
        .iter()
        .filter(|(k, _)| k.split(' ').next() == Some(state))
        .map(|(_, n)| n)
        .sum()
}

/// Alpha's burst, each post's comment, reply and vote sent as soon as the post exists.
async fn burst(client: &reqwest::Client, base: &str, alice: &str, vera: &str) {
    let mut tasks = JoinSet::new();
    for i in 0..POSTS {
        let (client, base) = (client.clone(), base.to_owned());
        let (alice, vera) = (alice.to_owned(), vera.to_owned());
        tasks.spawn(async move {
            let post = create_post(&client, &base, &alice, &format!("Harbour note {i:02}")).await;
            let first = comment(&client, &base, &alice, post, None, &format!("On {i}.")).await;
            let text = format!("Vera replies on {i}.");
            comment(&client, &base, &vera, post, Some(first), &text).await;
            vote(&client, &base, &vera, &format!("posts/{post}"), 1).await;
        });
    }
    tasks.join_all().await;
}

/// The whole scenario on one backend.
async fn receiver_killed_while_receiving(backend: Backend) {
    let started = Instant::now();
    // No proxy, whatever the environment says: every request goes to loopback directly.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut alpha = Instance::start("alpha", backend);
    let mut beta = Instance::start("beta", backend);
    alpha.ready(&client).await;
    beta.ready(&client).await;
    let handle = format!("{COMMUNITY}@{}", alpha.domain());
    let alice = user(&client, &alpha, "alice").await;
    let vera = user(&client, &alpha, "vera").await;
    expect(
        &client,
        Method::POST,
        &alpha.url("/api/v1/communities"),
        Some(&alice),
        Some(json!({"name": COMMUNITY, "title": "Notes from the harbour", "membership": "open"})),
        201,
    )
    .await;
    let reader = user(&client, &beta, "reader").await;
    expect(
        &client,
        Method::POST,
        &beta.url("/api/v1/communities/follow"),
        Some(&reader),
        Some(json!({"handle": handle})),
        200,
    )
    .await;
    let community = beta.url(&format!("/api/v1/communities/{handle}"));
    eventually(
        "alpha accepts beta's follow",
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
    let alpha_db = observer(&alpha);
    let beta_db = observer(&beta);

    // The burst runs while the test watches beta's inbox, and beta is killed once it has
    // applied a share of it.
    let sending = {
        let (client, base) = (client.clone(), alpha.url(""));
        tokio::spawn(async move { burst(&client, &base, &alice, &vera).await })
    };
    eventually(
        "beta applies a first part of the burst",
        STEP_WITHIN,
        Duration::from_millis(10),
        || async {
            let states = inbox_states(&beta_db).await;
            if count(&states, "applied") >= 40 {
                Ok(())
            } else {
                Err(format!("beta's inbox: {states:?}"))
            }
        },
    )
    .await;
    beta.kill();
    let at_kill = inbox_states(&beta_db).await;
    sending.await.expect("the burst");
    let queued = outgoing(&alpha_db).await;
    eprintln!(
        "[{backend:?}] beta killed with its inbox at {at_kill:?}; alpha's queue after the \
         burst: {queued:?}"
    );
    let unapplied = count(&at_kill, "pending") + count(&at_kill, "leased");
    assert!(
        unapplied > 0 || queued.waiting > 0,
        "beta had received and applied everything before the kill; the burst must outpace it"
    );

    beta.spawn();
    beta.ready(&client).await;
    let restarted = Instant::now();
    let expected = snapshot(&client, &alpha, COMMUNITY).await;
    assert_eq!(expected.len(), POSTS, "alpha lost posts");
    eventually(
        "alpha's queue drains, beta's inbox decides on everything, and beta shows what alpha shows",
        RECOVERY_WITHIN,
        Duration::from_millis(500),
        || async {
            let now = outgoing(&alpha_db).await;
            if !now.is_empty() {
                return Err(format!("alpha still has work: {now:?}"));
            }
            let states = inbox_states(&beta_db).await;
            if count(&states, "pending") + count(&states, "leased") > 0 {
                return Err(format!("beta's inbox is not done: {states:?}"));
            }
            let seen = snapshot(&client, &beta, &handle).await;
            if seen != expected {
                return Err(format!("beta differs: {}", differences(&expected, &seen)));
            }
            Ok(())
        },
    )
    .await;
    let states = inbox_states(&beta_db).await;
    let decided: i64 = states.values().sum();
    assert_eq!(
        decided,
        count(&states, "applied") + count(&states, "ignored"),
        "nothing refused or failed: {states:?}"
    );
    assert!(
        count(&states, "applied") >= (4 * POSTS) as i64,
        "every activity of the burst applied: {states:?}"
    );
    eprintln!(
        "[{backend:?}] beta caught up {:?} after its restart, inbox {states:?}; the test took {:?}",
        restarted.elapsed(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_receiver_killed_while_receiving_loses_and_doubles_nothing() {
    receiver_killed_while_receiving(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_receiver_killed_while_receiving_loses_and_doubles_nothing() {
    receiver_killed_while_receiving(Backend::Postgres).await;
}
