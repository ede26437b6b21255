//! Several processes sharing one PostgreSQL database: a process that only answers HTTP records
//! an outbox event, and the publisher of the process that runs the workers hears of it through
//! LISTEN/NOTIFY at once, not at its next timed check a minute later.

use std::time::Duration;

use cairn_storage::AnyConn;
use cairn_storage::events::EventRow;
use cairn_storage::schema::outbox_events;
use cairn_tests::{Backend, TestInstance, scratch_database};
use diesel::prelude::*;

async fn pending_events(at: &TestInstance) -> usize {
    at.ctx()
        .db()
        .run(|conn: &mut AnyConn<'_>| EventRow::pending(conn, 100))
        .await
        .expect("pending events")
        .len()
}

async fn processed_events(at: &TestInstance) -> i64 {
    at.ctx()
        .db()
        .run(|conn: &mut AnyConn<'_>| {
            Ok::<i64, cairn_storage::StorageError>(cairn_storage::with_conn!(conn, |c| {
                outbox_events::table
                    .filter(outbox_events::processed_at.is_not_null())
                    .count()
                    .get_result(c)
            })?)
        })
        .await
        .expect("processed events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_only_process_wakes_the_publisher() {
    let (url, _guard) = scratch_database(Backend::Postgres);
    let workers = TestInstance::start_with(Backend::Postgres, |c| {
        c.database_url = url.clone();
        c.background_workers = true;
    })
    .await;
    let domain = workers.domain.clone();
    let web = TestInstance::start_with(Backend::Postgres, |c| {
        c.database_url = url.clone();
        c.domain = domain;
        c.background_workers = false;
    })
    .await;
    // Let the workers' listener connect and its first look find nothing to do.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let alice = web.user("alice").await;
    web.community(&alice, "gardening", "open").await;
    web.post_in(&alice, "gardening", "Compost").await;
    // The publisher's fallback check runs once a minute; ten seconds are only enough when the
    // notification woke it.
    for _ in 0..200 {
        if pending_events(&workers).await == 0 && processed_events(&workers).await > 0 {
            web.stop().await;
            workers.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the workers' publisher did not hear of the HTTP-only process's event");
}
