//! Wiring: builds the instance from validated configuration, composes the routers, runs the
//! background tasks and serves until shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use activitypub_federation::config::FederationConfig;
use anyhow::Context;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use cairn_api::ApiState;
use cairn_core::{Cairn, ranking, sessions, site};
use cairn_federation::deliver::DeliveryOptions;
use cairn_federation::inbox::worker::InboxOptions;
use cairn_storage::notify::{self, Listener};
use cairn_storage::{Database, PoolOptions};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tower_http::trace::TraceLayer;

use crate::config::Validated;
use crate::metrics::{Metrics, MetricsState};

/// Opens the database and applies pending migrations.
pub async fn open_database(config: &Validated) -> anyhow::Result<Database> {
    let options = PoolOptions {
        max_size: config.raw.database_pool_size,
        ..PoolOptions::default()
    };
    let db = Database::connect(&config.database, &options).with_context(|| {
        format!(
            "cannot open the database named by `database_url` ({})",
            config.raw.database_url
        )
    })?;
    let applied = db.migrate().await.context("cannot migrate the database")?;
    for name in applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(db)
}

/// A ready instance: the domain handle and the composed router.
pub struct Instance {
    pub ctx: Cairn,
    pub router: Router,
    pub federation: Arc<FederationConfig<Cairn>>,
    /// The one outgoing HTTP client, which the federation configuration uses too.
    pub outbound: cairn_federation::Outbound,
    /// This process's metrics.
    pub metrics: Arc<Metrics>,
}

/// How the instance reaches other servers, from the configuration.
pub fn network(config: &Validated) -> cairn_federation::Network {
    cairn_federation::Network {
        insecure: config.raw.dev_insecure_federation,
        dev_hosts: config.raw.dev_hosts.clone(),
    }
}

/// Builds the instance: database, domain handle, instance keys and routes.
pub async fn build(config: &Validated) -> anyhow::Result<Instance> {
    let db = open_database(config).await?;
    let ctx = Cairn::with_capacity(db, config.instance.clone(), &config.capacity);
    site::ensure(&ctx)
        .await
        .context("cannot create the instance key pair")?;
    if config.raw.dev_insecure_federation {
        tracing::warn!(
            "INSECURE FEDERATION IS ON (dev_insecure_federation): plain http, explicit ports and \
             loopback addresses are accepted. This is for development and tests only; never run a \
             public instance like this."
        );
    }
    let outbound = network(config)
        .outbound()
        .map_err(|e| anyhow::anyhow!("cannot build the outgoing HTTP client: {e}"))?;
    let federation = Arc::new(
        cairn_federation::config(ctx.clone(), &outbound)
            .await
            .map_err(|e| anyhow::anyhow!("cannot configure federation: {e}"))?,
    );
    cairn_federation::objects::FederationResolver::install(&federation);

    let state = ApiState::new(ctx.clone());
    let html = cairn_api::web::routes(state.clone());
    let pages = cairn_api::web::pages(state.clone());
    let negotiated = cairn_federation::negotiated_routes()
        .layer(cairn_federation::middleware((*federation).clone()))
        .layer(middleware::from_fn_with_state(html, negotiate));
    let federation_json =
        cairn_federation::json_routes().layer(cairn_federation::middleware((*federation).clone()));
    let fallback = cairn_api::web::fallback(state.clone());
    // With a separate metrics address, /metrics is served there alone, without authentication.
    let metrics = Metrics::new(config.metrics.is_none());
    let metrics_route = if config.metrics.is_none() {
        metrics_routes(&ctx, &metrics)
    } else {
        Router::new()
    };
    let router = Router::new()
        .merge(crate::health::routes(ctx.clone()))
        .merge(metrics_route)
        .merge(cairn_api::api_routes(state))
        .merge(negotiated)
        .merge(federation_json)
        .merge(pages)
        .fallback_service(fallback)
        .layer(middleware::from_fn_with_state(
            metrics.clone(),
            crate::metrics::track,
        ))
        .layer(DefaultBodyLimit::max(config.raw.max_body_bytes))
        .layer(TraceLayer::new_for_http());
    Ok(Instance {
        ctx,
        router,
        federation,
        outbound,
        metrics,
    })
}

/// The `/metrics` route alone.
fn metrics_routes(ctx: &Cairn, metrics: &Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(crate::metrics::get_metrics))
        .with_state(MetricsState {
            ctx: ctx.clone(),
            metrics: metrics.clone(),
        })
}

/// Sends ActivityPub requests to the federation handlers and everything else to the HTML
/// pages on the same URL, and tells caches that the answer depends on `Accept`.
async fn negotiate(State(html): State<Router>, req: Request, next: Next) -> Response {
    let mut resp = if cairn_federation::negotiate::wants_activitypub(req.headers()) {
        next.run(req).await
    } else {
        // The outer router has already stored its path parameters in the request; the HTML
        // router must match afresh, so it gets the request without them.
        let (mut parts, body) = req.into_parts();
        let connect_info = parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned();
        parts.extensions = axum::http::Extensions::new();
        if let Some(ci) = connect_info {
            parts.extensions.insert(ci);
        }
        match html.oneshot(Request::from_parts(parts, body)).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    };
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    resp.into_response()
}

/// Background work of a running instance.
pub fn spawn_tasks(instance: &Instance, config: &Validated) -> Vec<JoinHandle<()>> {
    let ctx = &instance.ctx;
    let deliveries_ready = Arc::new(Notify::new());
    let publisher = tokio::spawn(cairn_federation::publish::run(
        ctx.clone(),
        deliveries_ready.clone(),
    ));
    let options = DeliveryOptions {
        per_host: config.raw.delivery_per_host,
        total: config.raw.delivery_concurrency,
        retry_base: Duration::from_secs(config.raw.delivery_retry_base_seconds),
        lease: Duration::from_secs(config.raw.delivery_lease_seconds),
        outcomes: instance.metrics.deliveries.clone(),
        ..DeliveryOptions::default()
    };
    let deliverer = tokio::spawn(cairn_federation::deliver::run(
        (*instance.federation).clone(),
        deliveries_ready,
        options,
    ));
    let ctx = ctx.clone();
    let every = Duration::from_secs(config.raw.hot_rank_refresh_seconds);
    let ranks = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match ranking::refresh(&ctx).await {
                Ok(n) => tracing::debug!(posts = n, "refreshed hot ranks"),
                Err(e) => tracing::warn!(error = %e, "hot rank refresh failed"),
            }
        }
    });
    let sessions = tokio::spawn(prune_sessions(instance.ctx.clone()));
    let software = tokio::spawn(cairn_federation::software::run(
        (*instance.federation).clone(),
        instance.outbound.clone(),
    ));
    let listener = tokio::spawn(listen_for(instance.ctx.clone(), notify::OUTBOX));
    let inbox_options = InboxOptions {
        retry_base: Duration::from_secs(config.raw.inbox_retry_base_seconds),
        lease: Duration::from_secs(config.raw.delivery_lease_seconds),
        ..InboxOptions::default()
    };
    let inbox = tokio::spawn(cairn_federation::inbox::worker::run(
        instance.federation.to_request_data(),
        inbox_options,
    ));
    let inbox_listener = tokio::spawn(listen_for(instance.ctx.clone(), notify::INBOX));
    vec![
        publisher,
        deliverer,
        ranks,
        software,
        listener,
        inbox,
        inbox_listener,
        sessions,
    ]
}

/// Deletes idle sessions once an hour. Authentication refuses them anyway; pruning keeps
/// sessions that will never be used again from piling up in the table.
async fn prune_sessions(ctx: Cairn) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sessions::prune(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "pruned idle sessions"),
            Err(e) => tracing::warn!(error = %e, "pruning idle sessions failed"),
        }
    }
}

/// Wakes this process's publisher (for `notify::OUTBOX`) or inbox worker (for `notify::INBOX`)
/// when another process sharing the PostgreSQL database records an outbox event or stores a
/// received activity (an HTTP-only process, or a sibling whose worker is busy). On SQLite there
/// is one process, which wakes itself, and this returns at once.
async fn listen_for(ctx: Cairn, channel: &'static str) {
    let wake = |ctx: &Cairn| {
        if channel == notify::INBOX {
            ctx.notify_inbox();
        } else {
            ctx.notify_outbox();
        }
    };
    loop {
        let db = ctx.db().clone();
        let connected = tokio::task::spawn_blocking(move || Listener::connect(&db, channel)).await;
        let mut listener = match connected {
            Ok(Ok(Some(listener))) => listener,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot listen for outbox events; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "the outbox listener failed; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        // What was committed while no connection listened was not announced: look once.
        wake(&ctx);
        // Reading what arrived costs no round trip, so a short tick keeps the wake-up prompt.
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            match listener.poll() {
                Ok(0) => {}
                Ok(_) => wake(&ctx),
                Err(e) => {
                    tracing::warn!(error = %e, "lost the outbox listener; reconnecting");
                    break;
                }
            }
        }
    }
}

/// A running server, as tests and `cairn serve` hold it.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The domain handle, for tests that inspect state.
    pub ctx: Cairn,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
    tasks: Vec<JoinHandle<()>>,
    /// Owns the federation configuration that the resolver refers to weakly.
    _federation: Arc<FederationConfig<Cairn>>,
}

impl Running {
    /// Stops accepting, finishes in-flight requests and stops background tasks.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for t in &self.tasks {
            t.abort();
        }
        (&mut self.server).await.context("server task failed")??;
        Ok(())
    }

    /// Waits until the server stops on its own (after a signal).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.server).await.context("server task failed")??;
        for t in &self.tasks {
            t.abort();
        }
        Ok(())
    }
}

/// Builds the instance and serves it on `listener` until [`Running::stop`] or, when
/// `until_signal` is set, Ctrl-C or SIGTERM.
pub async fn start(
    config: &Validated,
    listener: TcpListener,
    until_signal: bool,
) -> anyhow::Result<Running> {
    let instance = build(config).await?;
    let addr = listener.local_addr()?;
    let mut tasks = if config.raw.background_workers {
        spawn_tasks(&instance, config)
    } else {
        tracing::info!("background workers are off in this process (background_workers = false)");
        vec![]
    };
    if let Some(address) = config.metrics {
        let metrics_listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on `metrics_address` ({address})"))?;
        tracing::info!(%address, "serving /metrics without authentication");
        let app = metrics_routes(&instance.ctx, &instance.metrics);
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics_listener, app).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        }));
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = instance
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                if until_signal {
                    tokio::select! {
                        _ = rx => {}
                        _ = shutdown_signal() => {}
                    }
                } else {
                    let _ = rx.await;
                }
            })
            .await
    });
    Ok(Running {
        addr,
        ctx: instance.ctx,
        shutdown: Some(tx),
        server,
        tasks,
        _federation: instance.federation,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}
