//! Readers of an instance's database, for what its API does not show: the outgoing work still
//! to do, and which in-flight deliveries the followers had already received.

use cairn_storage::schema::{activities, deliveries, outbox_events};
use cairn_storage::{Database, DatabaseUrl, PoolOptions, StorageError};
use diesel::prelude::*;
use serde_json::Value;

use crate::instance::Instance;

/// The outgoing work of an instance, read from its database: outbox events not yet turned
/// into deliveries, deliveries waiting, and those of them leased by a worker (in flight, or
/// held by a worker that died).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outgoing {
    pub(crate) unpublished: i64,
    pub(crate) waiting: i64,
    pub(crate) leased: i64,
}

impl Outgoing {
    pub(crate) fn is_empty(&self) -> bool {
        self.unpublished == 0 && self.waiting == 0
    }
}

/// Reads the outgoing work. The observer opens its own pool, which works whether or not the
/// instance is running: SQLite in WAL mode lets readers in beside the writer.
pub(crate) async fn outgoing(db: &Database) -> Outgoing {
    db.run(|conn| -> Result<Outgoing, StorageError> {
        Ok(cairn_storage::with_conn!(conn, |c| {
            let unpublished: i64 = outbox_events::table
                .filter(outbox_events::processed_at.is_null())
                .count()
                .get_result(c)?;
            let waiting: i64 = deliveries::table.count().get_result(c)?;
            let leased: i64 = deliveries::table
                .filter(deliveries::leased_until.is_not_null())
                .count()
                .get_result(c)?;
            Outgoing {
                unpublished,
                waiting,
                leased,
            }
        }))
    })
    .await
    .expect("read the outgoing work")
}

/// A pool of one connection on an instance's database, for reading what the API does not show.
pub(crate) fn observer(instance: &Instance) -> Database {
    let url = DatabaseUrl::parse(&instance.database_url).expect("database URL");
    let options = PoolOptions {
        max_size: 1,
        ..PoolOptions::default()
    };
    Database::connect(&url, &options).expect("open the instance's database")
}

/// How many of the deliveries alpha had leased (in flight) carry an activity that its follower
/// had already recorded as received. The restart sends each of them again, and the follower
/// must drop it as a duplicate. Followers record the activity inside a community's Announce,
/// so that is the id looked up.
pub(crate) async fn already_received(
    alpha_db: &Database,
    followers: &[(String, Database)],
) -> usize {
    let leased: Vec<(String, String)> = alpha_db
        .run(|conn| -> Result<_, StorageError> {
            Ok(cairn_storage::with_conn!(conn, |c| deliveries::table
                .inner_join(activities::table)
                .filter(deliveries::leased_until.is_not_null())
                .select((deliveries::host, activities::data))
                .load(c))?)
        })
        .await
        .expect("read alpha's leased deliveries");
    let mut count = 0;
    for (host, data) in leased {
        let announce: Value = serde_json::from_str(&data).expect("stored activity JSON");
        let Some(inner) = announce["object"]["id"].as_str().map(str::to_owned) else {
            continue;
        };
        let (_, db) = followers
            .iter()
            .find(|(domain, _)| *domain == host)
            .expect("a delivery to a follower");
        let seen: i64 = db
            .run(move |conn| -> Result<i64, StorageError> {
                Ok(cairn_storage::with_conn!(conn, |c| activities::table
                    .filter(activities::ap_id.eq(&inner))
                    .count()
                    .get_result(c))?)
            })
            .await
            .expect("read a follower's received activities");
        count += usize::from(seen > 0);
    }
    count
}
