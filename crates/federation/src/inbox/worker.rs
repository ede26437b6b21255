//! The inbox worker: leases stored activities, decides and applies them, records verdicts.
//!
//! Each activity gets one budget of remote fetches (the federation library's request counter,
//! reset per activity) for everything its decision asks for: the parent of a reply, the
//! object of a vote, an activity announced by id, the origin's copy of an announced object.
//! A transient failure (a fetch that times out, a database error) puts the activity back with
//! exponential backoff; an activity that waits for something not yet arrived (an Undo that
//! overtook its Like) is retried a few times and then ignored.

use std::collections::HashMap;
use std::time::Duration;

use activitypub_federation::config::Data;
use cairn_core::{Cairn, CoreError};
use cairn_storage::db_now;
use cairn_storage::inbound::InboundRow;
use serde_json::Value;
use tokio::task::JoinSet;

use super::apply::{self, Recorded};
use crate::error::FederationError;
use crate::rules::{self, Code, Decision, Fetch, Object, Received, Verdict};

/// The worker's limits.
#[derive(Debug, Clone)]
pub struct InboxOptions {
    /// Activities leased at once.
    pub batch: i64,
    /// Activities about different objects applied at the same time.
    pub concurrency: usize,
    /// How long a worker holds a leased activity before another may take it over.
    pub lease: Duration,
    /// The delay before the first retry; each further one doubles it.
    pub retry_base: Duration,
    /// Attempts before an activity that keeps failing is given up.
    pub max_attempts: i32,
    /// Attempts of an activity that waits for something to arrive before it is ignored.
    pub wait_attempts: i32,
    /// How long verdicts are kept, for `cairn inspect` and to recognise redeliveries.
    pub keep: Duration,
}

impl Default for InboxOptions {
    fn default() -> Self {
        Self {
            batch: 32,
            concurrency: 8,
            lease: Duration::from_secs(120),
            retry_base: Duration::from_secs(10),
            max_attempts: 8,
            wait_attempts: 5,
            keep: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How many times one activity may ask for a fetch before it is given up: a reply's parent,
/// then the origin's copy of the object, is as many as a real activity needs.
const MAX_ROUNDS: usize = 4;

/// Runs the worker until the process stops.
pub async fn run(data: Data<Cairn>, options: InboxOptions) {
    let signal = data.inbox_signal();
    let mut last_prune = tokio::time::Instant::now();
    loop {
        match work(&data, &options).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "the inbox worker failed a round; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        }
        if last_prune.elapsed() > Duration::from_secs(3600) {
            last_prune = tokio::time::Instant::now();
            prune(&data, &options).await;
        }
        let wait = next_wait(&data).await;
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// How long to sleep: until the next retry or lease expiry, at most a minute (another process
/// sharing a PostgreSQL database may store activities without waking this one).
async fn next_wait(data: &Data<Cairn>) -> Duration {
    let next = data.db().run(InboundRow::next_due_at).await.ok().flatten();
    let cap = Duration::from_secs(60);
    match next {
        Some(at) => (at - db_now()).to_std().unwrap_or(Duration::ZERO).min(cap),
        None => cap,
    }
}

async fn prune(data: &Data<Cairn>, options: &InboxOptions) {
    let before = db_now() - chrono::TimeDelta::from_std(options.keep).unwrap_or_default();
    match data
        .db()
        .run(move |conn| InboundRow::prune(conn, before))
        .await
    {
        Ok(n) => tracing::debug!(rows = n, "pruned old inbox verdicts"),
        Err(e) => tracing::warn!(error = %e, "cannot prune old inbox verdicts"),
    }
}

/// Leases one batch and works through it; returns how many activities it took.
pub async fn work(data: &Data<Cairn>, options: &InboxOptions) -> Result<usize, CoreError> {
    let now = db_now();
    let lease_until = now + chrono::TimeDelta::from_std(options.lease).unwrap_or_default();
    let limit = options.batch;
    let rows = data
        .db()
        .transaction(move |conn| InboundRow::lease_due(conn, now, lease_until, limit))
        .await?;
    let n = rows.len();
    // Activities about one object stay in order, one after the other; different objects are
    // worked on side by side.
    let mut groups: Vec<Vec<InboundRow>> = vec![];
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in rows {
        match index.get(&row.object_key) {
            Some(&i) => groups[i].push(row),
            None => {
                index.insert(row.object_key.clone(), groups.len());
                groups.push(vec![row]);
            }
        }
    }
    let mut tasks = JoinSet::new();
    for group in groups {
        while tasks.len() >= options.concurrency.max(1) {
            tasks.join_next().await;
        }
        let data = data.reset_request_count();
        let options = options.clone();
        tasks.spawn(async move {
            for row in group {
                process(&data, row, &options).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(n)
}

/// What became of one activity.
#[derive(Debug)]
enum Outcome {
    /// Applied, and recorded as such in the transaction of the change.
    Recorded,
    /// A final verdict to record.
    Final(&'static str, Verdict),
    /// Try again later.
    Retry(Verdict),
    /// Another worker took the activity over after this one's lease ran out.
    Abandoned,
}

/// Works on one stored activity and records what became of it.
async fn process(data: &Data<Cairn>, row: InboundRow, options: &InboxOptions) {
    // Each activity has its own budget of fetches.
    let data = data.reset_request_count();
    let outcome = handle(&data, &row).await;
    let id = row.id;
    let result = match outcome {
        Outcome::Recorded | Outcome::Abandoned => Ok(()),
        Outcome::Final(state, v) => finish(&data, id, state, &v).await,
        Outcome::Retry(v)
            if v.code == Code::VoteUnknown && row.attempts + 1 >= options.wait_attempts =>
        {
            finish(&data, id, "ignored", &v).await
        }
        Outcome::Retry(v) if row.attempts + 1 >= options.max_attempts => {
            finish(&data, id, "failed", &v).await
        }
        Outcome::Retry(v) => {
            let delay = options
                .retry_base
                .saturating_mul(2u32.saturating_pow(row.attempts.max(0) as u32))
                .min(MAX_BACKOFF);
            let at = db_now() + chrono::TimeDelta::from_std(delay).unwrap_or_default();
            let code = v.code.as_str();
            let message = v.message.clone();
            data.db()
                .run(move |conn| InboundRow::retry(conn, id, at, code, &message))
                .await
                .map_err(CoreError::from)
        }
    };
    if let Err(e) = result {
        // The lease runs out and the activity is tried again.
        tracing::warn!(error = %e, activity = %row.ap_id, "cannot record an inbox verdict");
    }
}

async fn finish(
    data: &Data<Cairn>,
    id: i64,
    state: &'static str,
    v: &Verdict,
) -> Result<(), CoreError> {
    tracing::info!(%state, code = %v.code, message = %v.message, "inbox verdict");
    let code = v.code.as_str();
    let message = v.message.clone();
    data.db()
        .run(move |conn| InboundRow::finish(conn, id, state, code, Some(&message), db_now()))
        .await?;
    Ok(())
}

async fn handle(data: &Data<Cairn>, row: &InboundRow) -> Outcome {
    let value: Value = match serde_json::from_str(&row.data) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Final(
                "refused",
                Verdict::new(
                    Code::MalformedActivity,
                    format!("stored JSON unreadable: {e}"),
                ),
            );
        }
    };
    let mut activity = match Received::parse(&value) {
        Ok(a) => a,
        Err(v) => return Outcome::Final("refused", v),
    };
    let here = super::here(data);
    for _ in 0..MAX_ROUNDS {
        let facts = match cairn_core::facts::gather(data, activity.lookups()).await {
            Ok(f) => f,
            Err(e) => return transient(&e.to_string()),
        };
        let fetch = match rules::decide(&activity, &facts, &here) {
            Decision::Apply {
                activity: inner,
                effect,
            } => {
                return match apply::apply(data, inner, effect, Some(row.id)).await {
                    Ok(Recorded::InTransaction) => Outcome::Recorded,
                    Ok(Recorded::NotYet) => {
                        Outcome::Final("applied", Verdict::new(Code::Applied, "applied"))
                    }
                    Err(e) => failure(e),
                };
            }
            Decision::Ignore(v) => return Outcome::Final("ignored", v),
            Decision::Refuse(v) => return Outcome::Final("refused", v),
            Decision::Wait(v) => return Outcome::Retry(v),
            Decision::Fetch(f) => f,
        };
        if let Err(outcome) = perform(data, &mut activity, fetch).await {
            return outcome;
        }
    }
    Outcome::Final(
        "refused",
        Verdict::new(
            Code::TooLong,
            "The activity needed more fetches than any real activity does.",
        ),
    )
}

/// Fetches what a decision asked for, storing it or putting it into the activity.
async fn perform(data: &Data<Cairn>, activity: &mut Received, fetch: Fetch) -> Result<(), Outcome> {
    match fetch {
        Fetch::Parent(url) | Fetch::Object(url) => {
            let json = crate::fetch::fetch_json(data, &url)
                .await
                .map_err(fetch_failure)?;
            crate::fetch::store_fetched(data, json, None, 0)
                .await
                .map_err(failure)?;
        }
        Fetch::Activity(url) => {
            let json = crate::fetch::fetch_json(data, &url)
                .await
                .map_err(fetch_failure)?;
            *activity = activity
                .with_announced(json)
                .map_err(|v| Outcome::Final("refused", v))?;
        }
        Fetch::FromOrigin(url) => {
            let json = crate::fetch::fetch_json(data, &url)
                .await
                .map_err(fetch_failure)?;
            let object = Object::parse(&json, true).map_err(|v| Outcome::Final("refused", v))?;
            activity.set_object_from_origin(object);
        }
    }
    Ok(())
}

fn transient(message: &str) -> Outcome {
    Outcome::Retry(Verdict::new(Code::RemoteFailure, message))
}

/// A fetch that failed. What it refers to may not be there yet (a reply that overtook its
/// post) or its server may be down for a moment, so the activity is tried again later, within
/// the bound on attempts; a rule that refuses what was fetched is final.
fn fetch_failure(e: FederationError) -> Outcome {
    match &e {
        FederationError::Core(CoreError::Storage(_) | CoreError::Internal(_)) => failure(e),
        FederationError::Core(_) => failure(e),
        _ => Outcome::Retry(Verdict::new(
            Code::UnknownObject,
            format!("What the activity refers to cannot be fetched yet: {e}"),
        )),
    }
}

/// An error of applying: our own failures and the network's are transient, a rule of core's
/// refuses for good, and a duplicate is acknowledged.
fn failure(e: FederationError) -> Outcome {
    match e {
        FederationError::Core(CoreError::Conflict {
            code: "duplicate",
            message,
        }) => Outcome::Final("ignored", Verdict::new(Code::Duplicate, message)),
        FederationError::Core(CoreError::Conflict {
            code: "lease_lost", ..
        }) => Outcome::Abandoned,
        FederationError::Core(c @ (CoreError::Storage(_) | CoreError::Internal(_))) => {
            transient(&c.to_string())
        }
        FederationError::Core(c) => {
            Outcome::Final("refused", Verdict::new(Code::Core(c.code()), c.to_string()))
        }
        FederationError::Inbound { code, message, .. } => {
            Outcome::Final("refused", Verdict::new(Code::Core(code), message))
        }
        FederationError::Remote(m) => transient(&m),
        FederationError::Internal(m) => transient(&m),
        FederationError::BadRequest { code, message } => {
            Outcome::Final("refused", Verdict::new(Code::Core(code), message))
        }
    }
}
