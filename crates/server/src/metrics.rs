//! `/metrics` in the Prometheus text format: the inbox, the delivery queue and its outcomes,
//! failing hosts, and the latency of every HTTP request by route template and status.
//!
//! The registry is a value held by the server (no globals). Figures that live in the database
//! are read when a scraper asks, so they are right however many processes share it; counts that
//! exist only in memory (delivery outcomes, request latencies) are this process's own.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_core::{Cairn, health, sessions};
use cairn_federation::deliver::Outcomes;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels as name and value pairs.
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Request latencies from 5 ms to about 10 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    http: Family<Labels, Histogram, fn() -> Histogram>,
    inbox: Family<Labels, Gauge>,
    deliveries_queued: Gauge,
    deliveries_due: Gauge,
    outbox_pending: Gauge,
    instances: Gauge,
    host_failures: Family<Labels, Gauge>,
    /// Delivery outcomes, counted by the delivery worker.
    pub deliveries: Outcomes,
    /// Scrapes take turns: each clears and refills the database figures before encoding.
    scrape: tokio::sync::Mutex<()>,
    /// Whether `/metrics` on the main address needs an administrator's token.
    admin_only: bool,
}

impl Metrics {
    /// Registers every metric; `admin_only` when served on the main address.
    pub fn new(admin_only: bool) -> Arc<Self> {
        let mut registry = Registry::with_prefix("cairn");
        let http = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests by method, route template and status, and how long they took",
            http.clone(),
        );
        let inbox = Family::<Labels, Gauge>::default();
        registry.register(
            "inbox_activities",
            "Received activities stored in the inbox, by state and verdict code",
            inbox.clone(),
        );
        let deliveries_queued = Gauge::default();
        registry.register(
            "deliveries_queued",
            "Deliveries waiting to be sent or retried",
            deliveries_queued.clone(),
        );
        let deliveries_due = Gauge::default();
        registry.register(
            "deliveries_due",
            "Queued deliveries that are due now and not being sent",
            deliveries_due.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_events_pending",
            "Outbox events not yet turned into activities",
            outbox_pending.clone(),
        );
        let instances = Gauge::default();
        registry.register(
            "instances_known",
            "Other instances this one knows",
            instances.clone(),
        );
        let host_failures = Family::<Labels, Gauge>::default();
        registry.register(
            "delivery_host_consecutive_failures",
            "Consecutive failed deliveries per host (the most failing hosts only), and whether it counts as dead",
            host_failures.clone(),
        );
        let deliveries = Outcomes::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts by outcome: delivered, failed (will retry), undeliverable",
            deliveries.clone(),
        );
        Arc::new(Self {
            registry,
            http,
            inbox,
            deliveries_queued,
            deliveries_due,
            outbox_pending,
            instances,
            host_failures,
            deliveries,
            scrape: tokio::sync::Mutex::new(()),
            admin_only,
        })
    }

    /// Reads the database figures and encodes everything.
    async fn render(&self, ctx: &Cairn) -> Result<String, String> {
        let _turn = self.scrape.lock().await;
        let f = health::figures(ctx).await.map_err(|e| e.to_string())?;
        self.inbox.clear();
        for (state, code, n) in &f.inbox {
            let code = code.as_deref().unwrap_or("");
            self.inbox
                .get_or_create(&labels(&[("state", state), ("code", code)]))
                .set(*n);
        }
        self.deliveries_queued.set(f.deliveries_queued);
        self.deliveries_due.set(f.deliveries_due);
        self.outbox_pending.set(f.outbox_pending);
        self.instances.set(f.instances);
        self.host_failures.clear();
        for (host, failures, dead) in &f.failing_hosts {
            let dead = if *dead { "true" } else { "false" };
            self.host_failures
                .get_or_create(&labels(&[("host", host), ("dead", dead)]))
                .set(i64::from(*failures));
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// The state of the `/metrics` handler.
#[derive(Clone)]
pub struct MetricsState {
    pub ctx: Cairn,
    pub metrics: Arc<Metrics>,
}

/// GET /metrics.
pub async fn get_metrics(State(s): State<MetricsState>, req: Request) -> Response {
    if s.metrics.admin_only {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        let Some(token) = token else {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need an administrator's bearer token\n",
            )
                .into_response();
        };
        match sessions::authenticate(&s.ctx, token.trim()).await {
            Ok(user) if user.is_admin => {}
            Ok(_) => {
                return (StatusCode::FORBIDDEN, "metrics are for administrators\n").into_response();
            }
            Err(_) => {
                return (StatusCode::UNAUTHORIZED, "the token is not valid\n").into_response();
            }
        }
    }
    match s.metrics.render(&s.ctx).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the figures for /metrics");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer\n",
            )
                .into_response()
        }
    }
}

/// Middleware timing every request, labelled by its route template (not its path, which would
/// make a series per post) or `unmatched`.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let resp = next.run(req).await;
    metrics
        .http
        .get_or_create(&labels(&[
            ("method", &method),
            ("route", &route),
            ("status", resp.status().as_str()),
        ]))
        .observe(start.elapsed().as_secs_f64());
    resp
}
