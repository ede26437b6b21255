//! The instance itself: its actor key pair and public statistics.

use cairn_storage::comments::CommentRow;
use cairn_storage::db_now;
use cairn_storage::persons::{PersonRow, SessionRow};
use cairn_storage::posts::PostRow;
use cairn_storage::site::SiteRow;

use crate::context::Cairn;
use crate::crypto;
use crate::error::{CoreError, CoreResult};

/// The instance actor as the federation layer publishes it.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub description: Option<String>,
    pub public_key: String,
    pub private_key: String,
    pub published: chrono::DateTime<chrono::Utc>,
}

/// Creates the instance key pair on first start; later starts keep the stored one.
pub async fn ensure(ctx: &Cairn) -> CoreResult<Site> {
    if ctx.db().run(SiteRow::get).await?.is_none() {
        let keys = crypto::generate_keypair_async().await?;
        let name = ctx.settings().site_name.clone();
        ctx.db()
            .run(move |conn| {
                SiteRow::insert_if_absent(
                    conn,
                    &SiteRow {
                        id: 1,
                        name,
                        public_key: keys.public_pem,
                        private_key: keys.private_pem,
                        created_at: db_now(),
                    },
                )
            })
            .await?;
    }
    get(ctx).await
}

/// The instance actor.
pub async fn get(ctx: &Cairn) -> CoreResult<Site> {
    let row = ctx.db().run(SiteRow::get).await?.ok_or_else(|| {
        CoreError::Internal(
            "the instance row is missing; run migrations and start the server".into(),
        )
    })?;
    Ok(Site {
        // The configured name wins over the stored one, so renaming needs no migration.
        name: ctx.settings().site_name.clone(),
        description: ctx.settings().site_description.clone(),
        public_key: row.public_key,
        private_key: row.private_key,
        published: crate::model::utc(row.created_at),
    })
}

/// Public counts for NodeInfo.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub users: i64,
    pub active_month: i64,
    pub active_halfyear: i64,
    pub posts: i64,
    pub comments: i64,
}

/// Counts local users, posts and comments.
pub async fn stats(ctx: &Cairn) -> CoreResult<Stats> {
    ctx.db()
        .run(|conn| -> CoreResult<Stats> {
            Ok(Stats {
                users: PersonRow::count_local(conn)?,
                active_month: SessionRow::active_people_since(
                    conn,
                    db_now() - chrono::Duration::days(30),
                )?,
                active_halfyear: SessionRow::active_people_since(
                    conn,
                    db_now() - chrono::Duration::days(180),
                )?,
                posts: PostRow::count_local(conn)?,
                comments: CommentRow::count_local(conn)?,
            })
        })
        .await
}
