//! The handle every use case takes: database, settings and URL builder.

use std::sync::Arc;

use cairn_storage::Database;
use tokio::sync::Notify;

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

    /// The URL builder.
    pub fn urls(&self) -> &Urls {
        &self.inner.urls
    }
}
