//! The handle every use case takes: database, settings, URL builder, rate limits and the
//! bounded pool for slow cryptography.

use std::sync::{Arc, OnceLock};

use cairn_storage::Database;
use tokio::sync::{Notify, Semaphore};

use crate::clients::ClientAddresses;
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
    clients: ClientAddresses,
    /// Permits to compute: every piece of slow cryptography holds one while it runs.
    crypto: Arc<Semaphore>,
    /// Permits to queue for `crypto` at all, which key generations need first: so at most
    /// `crypto_concurrency` of them wait there, and a sign-in waits behind that few.
    key_queue: Arc<Semaphore>,
}

/// What a piece of slow cryptography is, which decides how it queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowWork {
    /// RSA key generation (sign-ups, new communities): bursts of these wait in a queue of their
    /// own before they compete for a permit.
    KeyGeneration,
    /// Hashing or checking a password: someone is waiting to sign in, so it never queues
    /// behind more than a few key generations.
    Password,
}

/// How much an instance lets clients and slow work take: the rate limits, and how many RSA
/// key generations and password hashes run at once.
#[derive(Debug, Clone)]
pub struct Capacity {
    /// The rate limits.
    pub limits: LimitSettings,
    /// Key generations and password hashes running at once, at least 1.
    pub crypto_concurrency: usize,
    /// Who a request's client is, behind the trusted proxies.
    pub clients: ClientAddresses,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            limits: LimitSettings::default(),
            crypto_concurrency: default_crypto_concurrency(),
            clients: ClientAddresses::default(),
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
                clients: capacity.clients.clone(),
                crypto: Arc::new(Semaphore::new(capacity.crypto_concurrency.max(1))),
                key_queue: Arc::new(Semaphore::new(capacity.crypto_concurrency.max(1))),
            }),
        }
    }

    /// The rate limiters.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How a request's client address is found (`trusted_proxies`).
    pub fn clients(&self) -> &ClientAddresses {
        &self.inner.clients
    }

    /// Runs slow cryptography (RSA key generation, password hashing) on the blocking pool, at
    /// most `crypto_concurrency` at once.
    ///
    /// Database calls run on the same blocking pool; without the bound, a burst of sign-ups or
    /// new communities would start a CPU-bound thread for each and starve them. Key generations
    /// first take a place in a queue of their own, as many places as permits, so that a burst
    /// of 500 new communities does not put a sign-in behind all 500. The permits move into the
    /// task, so a request that is abandoned while its task runs still holds its place until
    /// the task ends.
    pub async fn crypto<T, F>(&self, kind: SlowWork, work: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let closed = |e: tokio::sync::AcquireError| {
            CoreError::Internal(format!("the crypto pool is closed: {e}"))
        };
        let queued = match kind {
            SlowWork::KeyGeneration => Some(
                self.inner
                    .key_queue
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(closed)?,
            ),
            SlowWork::Password => None,
        };
        let permit = self
            .inner
            .crypto
            .clone()
            .acquire_owned()
            .await
            .map_err(closed)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            drop(queued);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cairn_storage::{DatabaseUrl, PoolOptions};

    use super::*;
    use crate::settings::RegistrationMode;

    fn ctx(dir: &std::path::Path) -> Cairn {
        let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.join("c.sqlite3").display()))
            .expect("url");
        let db = Database::connect(&url, &PoolOptions::default()).expect("db");
        let settings = InstanceSettings {
            domain: "cairn.example".into(),
            https: true,
            registration_mode: RegistrationMode::Open,
            site_name: "Cairn".into(),
            site_description: None,
            federation_insecure: false,
            session_idle_days: 30,
        };
        let capacity = Capacity {
            crypto_concurrency: 1,
            ..Capacity::default()
        };
        Cairn::with_capacity(db, settings, &capacity)
    }

    /// A password check that arrives during a burst of key generations waits behind the few
    /// that hold a place in their queue, not behind the whole burst. The semaphores are fair
    /// (first come, first served), so the order is certain; the count of finished keys says
    /// where the password went.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn passwords_do_not_queue_behind_a_burst_of_keys() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let dir = tempfile::tempdir().expect("dir");
        let ctx = ctx(dir.path());
        let done = Arc::new(AtomicUsize::new(0));
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let (ctx, done) = (ctx.clone(), done.clone());
            burst.spawn(async move {
                ctx.crypto(SlowWork::KeyGeneration, move || {
                    std::thread::sleep(Duration::from_millis(50));
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .await
            });
        }
        // Let the whole burst line up before the sign-in arrives.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = ctx
            .crypto(SlowWork::Password, {
                let done = done.clone();
                move || done.load(Ordering::SeqCst)
            })
            .await
            .expect("password work");
        // The key in progress and the one queued for the permit, at most.
        assert!(seen <= 2, "the password waited for {seen} key generations");
        while let Some(finished) = burst.join_next().await {
            finished.expect("task").expect("key work");
        }
        assert_eq!(done.load(Ordering::SeqCst), 10);
    }
}
