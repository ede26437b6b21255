//! Connection pools for both backends and the one place that tells them apart.
//!
//! Queries are written once, as generic diesel code inside [`with_conn!`], which expands the same
//! body for a PostgreSQL and a SQLite connection. The backend is picked at run time from the
//! database URL, so one binary serves both.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StorageError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A parsed database location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    /// The backend the URL names.
    pub backend: Backend,
    /// What the driver gets: a file path for SQLite, the URL itself for PostgreSQL.
    pub target: String,
}

impl DatabaseUrl {
    /// Parses `postgres://…`, `postgresql://…`, `sqlite://path`, `sqlite:path` or a bare file path.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty; give a SQLite file path or a postgres:// URL".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
            });
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() {
            return Err("names no SQLite file".into());
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!(
                "uses the unsupported scheme `{scheme}://`; use a SQLite path or postgres://"
            ));
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Largest number of open connections.
    pub max_size: u32,
    /// How long a caller waits for a free connection before failing.
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
enum Pools {
    Postgres(Pool<ConnectionManager<PgConnection>>),
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    /// What the driver was given, for the dedicated connection of a [`crate::notify::Listener`].
    target: std::sync::Arc<str>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .finish()
    }
}

/// One borrowed connection of either backend. Query functions take `&mut AnyConn` and expand
/// their body for both variants with [`with_conn!`].
pub enum AnyConn<'a> {
    /// A PostgreSQL connection.
    Postgres(&'a mut PgConnection),
    /// A SQLite connection.
    Sqlite(&'a mut SqliteConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection, once per backend.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::AnyConn::Postgres(inner) => {
                let $c: &mut diesel::PgConnection = &mut **inner;
                $body
            }
            $crate::AnyConn::Sqlite(inner) => {
                let $c: &mut diesel::SqliteConnection = &mut **inner;
                $body
            }
        }
    };
}

impl AnyConn<'_> {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            AnyConn::Postgres(_) => Backend::Postgres,
            AnyConn::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs `f` in a transaction that commits if it returns `Ok`.
    ///
    /// SQLite transactions start IMMEDIATE: a deferred transaction that later writes can fail
    /// with SQLITE_BUSY when another writer got there first, which the busy timeout cannot cure.
    pub fn transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConn<'_>) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        match self {
            AnyConn::Postgres(c) => c.transaction(|c| f(&mut AnyConn::Postgres(c))),
            AnyConn::Sqlite(c) => c.immediate_transaction(|c| f(&mut AnyConn::Sqlite(c))),
        }
    }
}

/// Sets the pragmas every SQLite connection needs: WAL so readers never block the writer,
/// a busy timeout so concurrent writers wait instead of failing, and enforced foreign keys.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Database {
    /// Opens a pool for the given URL. Nothing is migrated yet; call [`Database::migrate`].
    pub fn connect(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StorageError> {
        let pools = match url.backend {
            Backend::Postgres => {
                let manager = ConnectionManager::<PgConnection>::new(&url.target);
                let pool = Pool::builder()
                    .max_size(options.max_size)
                    .min_idle(Some(1))
                    .connection_timeout(options.connection_timeout)
                    .build(manager)
                    .map_err(|e| StorageError::Connect(e.to_string()))?;
                Pools::Postgres(pool)
            }
            Backend::Sqlite => {
                let manager = ConnectionManager::<SqliteConnection>::new(&url.target);
                let pool = Pool::builder()
                    .max_size(options.max_size)
                    .min_idle(Some(1))
                    .connection_timeout(options.connection_timeout)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)
                    .map_err(|e| StorageError::Connect(e.to_string()))?;
                Pools::Sqlite(pool)
            }
        };
        Ok(Self {
            pools,
            target: url.target.as_str().into(),
        })
    }

    /// The driver's connection target (the PostgreSQL URL or the SQLite path).
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// The backend behind this handle.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies every pending embedded migration and returns the names of those applied.
    pub async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        self.run(|conn| {
            let applied = match conn {
                AnyConn::Postgres(c) => c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.iter().map(ToString::to_string).collect()),
                AnyConn::Sqlite(c) => c
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.iter().map(ToString::to_string).collect()),
            };
            applied.map_err(|e| StorageError::Migration(e.to_string()))
        })
        .await
    }

    /// How many embedded migrations are not applied yet; zero once `migrate` has run. Readiness
    /// checks use it: a process whose schema is behind its code must not take requests.
    pub async fn pending_migrations(&self) -> Result<usize, StorageError> {
        self.run(|conn| {
            let pending = match conn {
                AnyConn::Postgres(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
                AnyConn::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            };
            pending.map_err(|e| StorageError::Migration(e.to_string()))
        })
        .await
    }

    /// Reverts every applied migration, newest first; returns their names. For testing that
    /// each `down.sql` undoes its `up.sql`, and for operators rolling back by hand.
    pub async fn revert_all(&self) -> Result<Vec<String>, StorageError> {
        self.run(|conn| {
            let reverted = match conn {
                AnyConn::Postgres(c) => c
                    .revert_all_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.iter().map(ToString::to_string).collect()),
                AnyConn::Sqlite(c) => c
                    .revert_all_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.iter().map(ToString::to_string).collect()),
            };
            reverted.map_err(|e| StorageError::Migration(e.to_string()))
        })
        .await
    }

    /// Runs `f` with a pooled connection on tokio's blocking pool, since diesel is synchronous.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let pools = self.pools.clone();
        tokio::task::spawn_blocking(move || match pools {
            Pools::Postgres(pool) => {
                let mut c: PooledConnection<_> = pool.get().map_err(StorageError::from)?;
                f(&mut AnyConn::Postgres(&mut c))
            }
            Pools::Sqlite(pool) => {
                let mut c: PooledConnection<_> = pool.get().map_err(StorageError::from)?;
                f(&mut AnyConn::Sqlite(&mut c))
            }
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Like [`Database::run`], inside a transaction.
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| conn.transaction(f)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_database_urls() {
        let pg = DatabaseUrl::parse("postgres://u@h/db").unwrap();
        assert_eq!(pg.backend, Backend::Postgres);
        let file = DatabaseUrl::parse("cairn.sqlite3").unwrap();
        assert_eq!(file.backend, Backend::Sqlite);
        assert_eq!(file.target, "cairn.sqlite3");
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap().target,
            "/tmp/x.db"
        );
        assert_eq!(DatabaseUrl::parse("sqlite:x.db").unwrap().target, "x.db");
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("  ").is_err());
    }

    #[tokio::test]
    async fn migrates_a_fresh_sqlite_file_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite3");
        let url = DatabaseUrl::parse(path.to_str().unwrap()).unwrap();
        let db = Database::connect(&url, &PoolOptions::default()).unwrap();
        assert!(!db.migrate().await.unwrap().is_empty());
        assert!(db.migrate().await.unwrap().is_empty());
    }
}
