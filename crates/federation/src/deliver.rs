//! The delivery worker: leases due deliveries, signs each as its local actor (HTTP signatures,
//! draft-cavage with Digest, via `activitypub_federation`) and sends it, with several requests
//! in flight per instance and many instances at once.
//!
//! Every outcome is written back at once: a delivered (or permanently refused) row is deleted,
//! a failed one is rescheduled with exponential backoff. A host that keeps failing is marked
//! dead and probed at the backoff's ceiling; when it answers again its waiting work falls due
//! at once. The worker sleeps until the next row falls due or until woken by the publisher, so
//! new work goes out immediately and an idle worker costs nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use activitypub_federation::activity_sending::SendActivityTask;
use activitypub_federation::config::{Data, FederationConfig};
use cairn_core::Cairn;
use cairn_storage::deliveries::{self, DueDelivery};
use cairn_storage::instances::InstanceRow;
use cairn_storage::{AnyConn, db_now};
use tokio::sync::{Notify, mpsc};
use url::Url;

use crate::error::FederationError;
use crate::signer::{LocalSigner, StoredActivity};

/// Tuning of the delivery worker.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Requests in flight to one host at most.
    pub per_host: usize,
    /// Requests in flight overall at most.
    pub total: usize,
    /// How long a leased row stays ours before another worker may take it (a crashed worker's
    /// rows come back after this).
    pub lease: Duration,
    /// The first retry delay; each later one doubles, up to `max_backoff`.
    pub retry_base: Duration,
    /// The longest retry delay, which is also how often a dead host is probed.
    pub max_backoff: Duration,
    /// Consecutive failures after which a host counts as dead.
    pub dead_after: i32,
    /// Deliveries older than this are dropped.
    pub give_up_after: Duration,
    /// Counts each recorded outcome by its `outcome` label (`delivered`, `failed`,
    /// `undeliverable`); the server registers it in its metrics. Rows are deleted once
    /// delivered, so these counts exist only here.
    pub outcomes: Outcomes,
}

/// Delivery attempts counted by outcome.
pub type Outcomes = prometheus_client::metrics::family::Family<
    Vec<(String, String)>,
    prometheus_client::metrics::counter::Counter,
>;

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            per_host: 4,
            total: 64,
            lease: Duration::from_secs(120),
            retry_base: Duration::from_secs(30),
            max_backoff: Duration::from_secs(6 * 3600),
            dead_after: 10,
            give_up_after: Duration::from_secs(7 * 24 * 3600),
            outcomes: Outcomes::default(),
        }
    }
}

/// The delay before attempt `attempts + 1`.
pub fn backoff(options: &DeliveryOptions, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.clamp(0, 30) as u32);
    options
        .retry_base
        .saturating_mul(factor)
        .min(options.max_backoff)
}

#[derive(Clone)]
enum Outcome {
    /// Delivered, or refused for good (a 4xx other than 408 and 429).
    Done,
    /// Cannot ever be sent (bad inbox URL, unknown signer).
    Undeliverable(String),
    /// Try again later.
    Failed(String),
}

#[derive(Clone)]
struct Finished {
    id: i64,
    host: String,
    attempts: i32,
    outcome: Outcome,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

async fn send(data: Data<Cairn>, d: &DueDelivery) -> Outcome {
    let (Ok(inbox), Ok(activity_id), Ok(signer_id)) = (
        Url::parse(&d.inbox_url),
        Url::parse(&d.activity_ap_id),
        Url::parse(&d.signer_ap_id),
    ) else {
        return Outcome::Undeliverable("a stored URL does not parse".into());
    };
    let signer = match LocalSigner::load(&data, &signer_id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Outcome::Undeliverable(format!("no local actor {signer_id} to sign with"));
        }
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let json: serde_json::Value = match serde_json::from_str(&d.data) {
        Ok(v) => v,
        Err(e) => return Outcome::Undeliverable(format!("stored activity is not JSON: {e}")),
    };
    let activity = StoredActivity {
        json,
        id: activity_id,
        actor: signer_id,
    };
    let tasks = match SendActivityTask::prepare(&activity, &signer, vec![inbox], &data).await {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    // `prepare` drops inboxes that fail URL checks (local, bad scheme, forbidden host).
    let Some(task) = tasks.into_iter().next() else {
        return Outcome::Undeliverable(format!("the inbox {} is not allowed", d.inbox_url));
    };
    match task.sign_and_send(&data).await {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Records the outcomes of finished sends, all in one transaction, in the order given.
async fn record(
    ctx: &Cairn,
    options: &DeliveryOptions,
    finished: Vec<Finished>,
) -> Result<(), FederationError> {
    let dead_after = options.dead_after;
    let labels: Vec<&'static str> = finished
        .iter()
        .map(|f| match f.outcome {
            Outcome::Done => "delivered",
            Outcome::Undeliverable(_) => "undeliverable",
            Outcome::Failed(_) => "failed",
        })
        .collect();
    let outcomes: Vec<_> = finished
        .into_iter()
        .map(|f| {
            (
                f.id,
                f.host,
                f.outcome,
                chrono(backoff(options, f.attempts)),
            )
        })
        .collect();
    ctx.db()
        .transaction(move |conn: &mut AnyConn<'_>| -> Result<(), cairn_storage::StorageError> {
            let now = db_now();
            // Several failures to one host in a batch see the same `now`; it is marked dead once.
            let mut marked_dead = vec![];
            for (id, host, outcome, retry_in) in outcomes {
                match outcome {
                    Outcome::Done => {
                        deliveries::complete(conn, id)?;
                        if InstanceRow::record_success(conn, &host, now)? {
                            tracing::info!(%host, "instance answers again");
                            deliveries::wake_host(conn, &host, now)?;
                        }
                    }
                    Outcome::Undeliverable(why) => {
                        tracing::warn!(%host, delivery = id, %why, "dropping undeliverable activity");
                        deliveries::complete(conn, id)?;
                    }
                    Outcome::Failed(why) => {
                        tracing::debug!(%host, delivery = id, %why, "delivery failed; will retry");
                        deliveries::reschedule(conn, id, now + retry_in, &why)?;
                        let row = InstanceRow::record_failure(conn, &host, now, dead_after)?;
                        if row.dead_since == Some(now) && !marked_dead.contains(&host) {
                            tracing::warn!(%host, failures = row.consecutive_failures, "instance marked dead");
                            marked_dead.push(host);
                        }
                    }
                }
            }
            Ok(())
        })
        .await
        .map_err(|e: cairn_storage::StorageError| FederationError::Core(e.into()))?;
    for label in labels {
        options
            .outcomes
            .get_or_create(&vec![("outcome".to_owned(), label.to_owned())])
            .inc();
    }
    Ok(())
}

/// Records a batch of finished sends in one transaction, or, should that fail, one by one, so
/// that a single outcome that cannot be written does not hold back the others.
async fn record_all(ctx: &Cairn, options: &DeliveryOptions, finished: Vec<Finished>) {
    if finished.len() > 1 {
        match record(ctx, options, finished.clone()).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(
                error = %e,
                outcomes = finished.len(),
                "cannot record delivery outcomes together; recording them one by one"
            ),
        }
    }
    for f in finished {
        if let Err(e) = record(ctx, options, vec![f]).await {
            tracing::warn!(error = %e, "cannot record a delivery outcome");
        }
    }
}

/// Runs the delivery worker until the task is aborted.
pub async fn run(config: FederationConfig<Cairn>, wake: Arc<Notify>, options: DeliveryOptions) {
    let data = config.to_request_data();
    let ctx: Cairn = (*data).clone();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Finished>();
    let mut in_flight: HashMap<String, usize> = HashMap::new();
    let mut total = 0usize;
    let mut last_expiry = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        // Drop work that has waited longer than anyone would want it, once an hour.
        if last_expiry.elapsed() > Duration::from_secs(3600) {
            last_expiry = std::time::Instant::now();
            let before = db_now() - chrono(options.give_up_after);
            match ctx
                .db()
                .run(move |conn| deliveries::expire(conn, before))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    dropped = n,
                    "dropped deliveries older than the retry window"
                ),
                Err(e) => tracing::warn!(error = %e, "cannot expire old deliveries"),
            }
        }

        let room = options.total.saturating_sub(total);
        let mut started = 0usize;
        if room > 0 {
            let full: Vec<String> = in_flight
                .iter()
                .filter(|(_, n)| **n >= options.per_host)
                .map(|(h, _)| h.clone())
                .collect();
            let lease = chrono(options.lease);
            let leased = ctx
                .db()
                .transaction(move |conn: &mut AnyConn<'_>| {
                    let now = db_now();
                    deliveries::lease_due(conn, now, now + lease, room as i64, &full)
                })
                .await;
            match leased {
                Ok(rows) => {
                    let mut give_back = vec![];
                    for d in rows {
                        let n = in_flight.entry(d.host.clone()).or_default();
                        if *n >= options.per_host {
                            give_back.push(d.id);
                            continue;
                        }
                        *n += 1;
                        total += 1;
                        started += 1;
                        let data = data.reset_request_count();
                        let tx = done_tx.clone();
                        tokio::spawn(async move {
                            let outcome = send(data, &d).await;
                            let _ = tx.send(Finished {
                                id: d.id,
                                host: d.host,
                                attempts: d.attempts,
                                outcome,
                            });
                        });
                    }
                    if !give_back.is_empty()
                        && let Err(e) = ctx
                            .db()
                            .run(move |conn| deliveries::release(conn, &give_back))
                            .await
                    {
                        tracing::warn!(error = %e, "cannot release leased deliveries");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot lease deliveries");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }

        // Sleep until something finishes, new work arrives, or queued work falls due. Work that
        // is due but could not start (its host is at its limit, or another process holds it)
        // is looked at again after a finished send, or after a second at the latest.
        let sleep_for = if started > 0 {
            Duration::ZERO
        } else {
            match ctx.db().run(deliveries::next_due_at).await.ok().flatten() {
                Some(t) => (t - db_now()).to_std().unwrap_or(Duration::from_secs(1)),
                None => Duration::from_secs(3600),
            }
        };
        tokio::select! {
            Some(f) = done_rx.recv() => {
                // Every send finished so far is recorded in one transaction before leasing
                // again. Recording them one transaction each kept the worker from leasing until
                // the last of a wave was written: sends that finish together (they share the
                // CPU for signing) drained the whole batch first, one commit at a time.
                let mut finished = vec![f];
                while let Ok(f) = done_rx.try_recv() {
                    finished.push(f);
                }
                for f in &finished {
                    if let Some(n) = in_flight.get_mut(&f.host) {
                        *n = n.saturating_sub(1);
                    }
                    total = total.saturating_sub(1);
                }
                record_all(&ctx, &options, finished).await;
            }
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep_for) => {}
        }
        in_flight.retain(|_, n| *n > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let o = DeliveryOptions::default();
        assert_eq!(backoff(&o, 0), Duration::from_secs(30));
        assert_eq!(backoff(&o, 1), Duration::from_secs(60));
        assert_eq!(backoff(&o, 3), Duration::from_secs(240));
        assert_eq!(backoff(&o, 40), o.max_backoff);
        assert_eq!(backoff(&o, -1), Duration::from_secs(30));
    }
}
