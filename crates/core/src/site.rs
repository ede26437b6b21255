//! The instance itself: its actor key pair and public statistics.

use cairn_storage::comments::CommentRow;
use cairn_storage::communities::CommunityRow;
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
        let keys = crypto::generate_keypair_async(ctx).await?;
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

/// A local actor able to sign requests: a person, a community or the instance.
#[derive(Debug, Clone)]
pub struct Signer {
    pub ap_id: String,
    pub inbox_url: String,
    pub public_key: String,
    pub private_key: String,
}

/// The local actor with this ActivityPub id and its keys, if it is ours and can sign.
pub async fn signer(ctx: &Cairn, ap_id: &str) -> CoreResult<Option<Signer>> {
    let ap_id = ap_id.to_owned();
    let urls = ctx.urls().clone();
    ctx.db()
        .run(move |conn| -> CoreResult<Option<Signer>> {
            if ap_id == urls.instance() {
                return Ok(SiteRow::get(conn)?.map(|s| Signer {
                    ap_id: ap_id.clone(),
                    inbox_url: urls.shared_inbox(),
                    public_key: s.public_key,
                    private_key: s.private_key,
                }));
            }
            if let Some(p) = PersonRow::by_ap_id(conn, &ap_id)?
                && p.local
                && let Some(private_key) = p.private_key
            {
                return Ok(Some(Signer {
                    ap_id: p.ap_id,
                    inbox_url: p.inbox_url,
                    public_key: p.public_key,
                    private_key,
                }));
            }
            if let Some(c) = CommunityRow::by_ap_id(conn, &ap_id)?
                && c.local
                && let Some(private_key) = c.private_key
            {
                return Ok(Some(Signer {
                    ap_id: c.ap_id,
                    inbox_url: c.inbox_url,
                    public_key: c.public_key,
                    private_key,
                }));
            }
            Ok(None)
        })
        .await
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
