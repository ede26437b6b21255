//! The handle every use case takes: database, settings, URL builder, rate limits and the
//! bounded pool for slow cryptography.

use std::sync::{Arc, OnceLock};

use cairn_storage::Database;
use tokio::sync::{Notify, Semaphore};

use crate::error::{CoreError, CoreResult};
use crate::limits::{LimitSettings, Limits};
use crate::remote::Resolver;
use crate::settings::InstanceSettings;
use crate::urls::Urls;

/// Shared state of one Cairn instance; cheap to clone. There are no globals: the server builds
/// one and hands it to the HTTP layers and background tasks.
#[derive(Clone, Debug)]
pub struct Cairn {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    settings: InstanceSettings,
    urls: Urls,
    outbox: Arc<Notify>,
    inbox: Arc<Notify>,
    resolver: OnceLock<Arc<dyn Resolver>>,
    limits: Limits,
    crypto: Arc<Semaphore>,
}

/// How much an instance lets clients and slow work take: the rate limits, and how many RSA
/// key generations and password hashes run at once.
#[derive(Debug, Clone)]
pub struct Capacity {
    /// The rate limits.
    pub limits: LimitSettings,
    /// Key generations and password hashes running at once, at least 1.
    pub crypto_concurrency: usize,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            limits: LimitSettings::default(),
            crypto_concurrency: default_crypto_concurrency(),
        }
    }
}

/// One fewer than the processor cores, and at least 1, so that a burst of key generations
/// always leaves a core for everything else.
pub fn default_crypto_concurrency() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1)
}

impl Cairn {
    /// Builds the handle with the default capacity.
    pub fn new(db: Database, settings: InstanceSettings) -> Self {
        Self::with_capacity(db, settings, &Capacity::default())
    }

    /// Builds the handle with the given rate limits and crypto concurrency.
    pub fn with_capacity(db: Database, settings: InstanceSettings, capacity: &Capacity) -> Self {
        let urls = Urls::new(settings.base_url());
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                urls,
                outbox: Arc::new(Notify::new()),
                inbox: Arc::new(Notify::new()),
                resolver: OnceLock::new(),
                limits: Limits::new(&capacity.limits),
                crypto: Arc::new(Semaphore::new(capacity.crypto_concurrency.max(1))),
            }),
        }
    }

    /// The rate limiters.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Runs slow cryptography (RSA key generation, password hashing) on the blocking pool, at
    /// most `crypto_concurrency` at once.
    ///
    /// Database calls run on the same blocking pool; without the bound, a burst of sign-ups or
    /// new communities would start a CPU-bound thread for each and starve them. The permit
    /// moves into the task, so a request that is abandoned while its task runs still holds its
    /// place until the task ends.
    pub async fn crypto<T, F>(&self, work: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self
            .inner
            .crypto
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| CoreError::Internal(format!("the crypto pool is closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| CoreError::Internal(format!("a crypto task failed: {e}")))
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The instance settings.
    pub fn settings(&self) -> &InstanceSettings {
        &self.inner.settings
    }

    /// Wakes the federation publisher: an outbox event was committed.
    pub fn notify_outbox(&self) {
        self.inner.outbox.notify_one();
    }

    /// What the federation publisher waits on.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        self.inner.outbox.clone()
    }

    /// Wakes the inbox worker: a received activity was stored.
    pub fn notify_inbox(&self) {
        self.inner.inbox.notify_one();
    }

    /// What the inbox worker waits on.
    pub fn inbox_signal(&self) -> Arc<Notify> {
        self.inner.inbox.clone()
    }

    /// Installs the resolver of remote actors; the first installed one stays.
    pub fn install_resolver(&self, resolver: Arc<dyn Resolver>) {
        let _ = self.inner.resolver.set(resolver);
    }

    /// The resolver of remote actors, once installed.
    pub fn resolver(&self) -> Option<&Arc<dyn Resolver>> {
        self.inner.resolver.get()
    }

    /// The URL builder.
    pub fn urls(&self) -> &Urls {
        &self.inner.urls
    }
}
