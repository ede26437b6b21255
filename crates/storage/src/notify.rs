//! Wake-ups across processes on PostgreSQL, with LISTEN and NOTIFY.
//!
//! Several Cairn processes may share one PostgreSQL database, and the one that accepts a post
//! is not always one that runs the publisher. A `NOTIFY` sent in the transaction that records
//! the change reaches every listening process when it commits, so their workers wake at once
//! instead of at their next timed check. SQLite serves a single process, which wakes its own
//! workers in memory, so there both halves do nothing.

use diesel::prelude::*;
use diesel::{PgConnection, RunQueryDsl};

use crate::{AnyConn, Database, StorageError, StorageResult};

/// The channel that announces new outbox events.
pub const OUTBOX: &str = "cairn_outbox";

/// The channel that announces activities stored in the durable inbox.
pub const INBOX: &str = "cairn_inbox";

/// Notifies `channel`; inside a transaction the notification is sent when it commits, and
/// several notifications of one transaction arrive as one.
pub(crate) fn notify(conn: &mut AnyConn<'_>, channel: &'static str) -> StorageResult<()> {
    if let AnyConn::Postgres(c) = conn {
        diesel::sql_query(format!("NOTIFY {channel}")).execute(*c)?;
    }
    Ok(())
}

/// A dedicated connection listening on one channel. It is not taken from the pool: a pooled
/// connection would carry its LISTEN to whoever borrows it next.
pub struct Listener {
    conn: PgConnection,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl Listener {
    /// Connects and listens on `channel`; `None` on SQLite, where nobody else writes. This
    /// blocks while connecting, so call it off the async runtime's threads.
    pub fn connect(db: &Database, channel: &'static str) -> StorageResult<Option<Listener>> {
        if db.backend() != crate::Backend::Postgres {
            return Ok(None);
        }
        let mut conn = PgConnection::establish(db.target())
            .map_err(|e| StorageError::Connect(e.to_string()))?;
        diesel::sql_query(format!("LISTEN {channel}")).execute(&mut conn)?;
        Ok(Some(Listener { conn }))
    }

    /// How many notifications arrived since the last call. It reads what the server already
    /// sent without waiting for more (libpq's socket is non-blocking), so it is cheap to call
    /// often; an error means the connection is lost and a new listener is needed.
    pub fn poll(&mut self) -> StorageResult<usize> {
        let mut n = 0;
        for notification in self.conn.notifications_iter() {
            notification?;
            n += 1;
        }
        Ok(n)
    }
}
