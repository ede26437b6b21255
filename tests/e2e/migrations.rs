//! Migrations: every migration applies on a fresh database and reverts cleanly, on both
//! backends, so an operator can roll back a release.

use cairn_storage::{Backend as DbBackend, Database, DatabaseUrl, PoolOptions};
use cairn_tests::{Backend, backend_tests, scratch_database};

async fn up_down_up(backend: Backend) {
    let (url, _guard) = scratch_database(backend);
    let url = DatabaseUrl::parse(&url).expect("url");
    assert_eq!(
        url.backend,
        match backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    );
    let db = Database::connect(&url, &PoolOptions::default()).expect("connect");
    let applied = db.migrate().await.expect("migrate up");
    assert!(!applied.is_empty());
    let reverted = db.revert_all().await.expect("migrate down");
    assert_eq!(reverted.len(), applied.len());
    let again = db.migrate().await.expect("migrate up again");
    assert_eq!(again, applied);
    assert!(db.migrate().await.expect("idempotent").is_empty());
}

backend_tests!(up_down_up);
