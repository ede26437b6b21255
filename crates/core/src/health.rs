//! What load balancers and monitoring ask of an instance: whether it can serve, and the figures
//! behind its metrics, read from the database when asked.

use std::time::Duration;

use cairn_storage::deliveries;
use cairn_storage::events::EventRow;
use cairn_storage::inbound::InboundRow;
use cairn_storage::instances::InstanceRow;
use cairn_storage::{StorageError, db_now};

use crate::context::Cairn;
use crate::error::CoreResult;

/// How long the readiness check waits for the database; a load balancer asks often and must
/// hear "not ready" rather than time out itself.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many failing hosts the metrics list, so that a wave of dead instances cannot blow up
/// the number of time series.
pub const FAILING_HOSTS: i64 = 50;

/// Whether the instance can serve: the database answers within [`READY_TIMEOUT`] and every
/// migration this build knows is applied. The error is a short reason for the operator.
pub async fn ready(ctx: &Cairn) -> Result<(), String> {
    match tokio::time::timeout(READY_TIMEOUT, ctx.db().pending_migrations()).await {
        Err(_) => Err("the database does not answer".to_owned()),
        Ok(Err(e)) => Err(format!("the database is unreachable: {e}")),
        Ok(Ok(0)) => Ok(()),
        Ok(Ok(n)) => Err(format!("{n} database migrations are not applied")),
    }
}

/// The figures the metrics show, as the database holds them now.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Received activities by state and code (a verdict's code, or the last retry's reason).
    pub inbox: Vec<(String, Option<String>, i64)>,
    /// Deliveries queued, and how many of them are due and waiting for the worker.
    pub deliveries_queued: i64,
    pub deliveries_due: i64,
    /// Outbox events not yet published.
    pub outbox_pending: i64,
    /// Known other instances.
    pub instances: i64,
    /// Hosts whose last deliveries failed: host, consecutive failures, dead.
    pub failing_hosts: Vec<(String, i32, bool)>,
}

/// Reads the [`Figures`] in one round on one connection.
pub async fn figures(ctx: &Cairn) -> CoreResult<Figures> {
    Ok(ctx
        .db()
        .run(|conn| -> Result<Figures, StorageError> {
            Ok(Figures {
                inbox: InboundRow::counts(conn)?,
                deliveries_queued: deliveries::count(conn)?,
                deliveries_due: deliveries::due_count(conn, db_now())?,
                outbox_pending: EventRow::pending_count(conn)?,
                instances: InstanceRow::count(conn)?,
                failing_hosts: InstanceRow::failing(conn, FAILING_HOSTS)?,
            })
        })
        .await?)
}
