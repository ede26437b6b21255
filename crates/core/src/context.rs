//! The handle every use case takes: database, settings and URL builder.

use std::sync::{Arc, OnceLock};

use cairn_storage::Database;
use tokio::sync::Notify;

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
}

impl Cairn {
    /// Builds the handle.
    pub fn new(db: Database, settings: InstanceSettings) -> Self {
        let urls = Urls::new(settings.base_url());
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                urls,
                outbox: Arc::new(Notify::new()),
                inbox: Arc::new(Notify::new()),
                resolver: OnceLock::new(),
            }),
        }
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
