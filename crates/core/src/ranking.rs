//! The "hot" rank: a score that decays with age, stored per post and refreshed in the
//! background so that listing by hot is an index scan, not a computation per request.

use cairn_storage::posts::PostRow;
use chrono::NaiveDateTime;

use crate::context::Cairn;
use crate::error::CoreResult;

/// Posts older than this no longer compete for "hot"; their rank is zero.
pub const HOT_WINDOW_DAYS: i64 = 7;

/// Lemmy's hot formula: log-scaled score over a power of age in hours, so a fresh post with a
/// few votes outranks an old post with many, and the rank falls smoothly as the post ages.
pub fn hot_rank(score: i64, published: NaiveDateTime, now: NaiveDateTime) -> f64 {
    let hours = ((now - published).num_seconds().max(0) as f64) / 3600.0;
    if hours > (HOT_WINDOW_DAYS * 24) as f64 {
        return 0.0;
    }
    let votes = (3 + score).max(1) as f64;
    10_000.0 * votes.log10() / (hours + 2.0).powf(1.8)
}

/// Recomputes the rank of every post in the hot window and zeroes older ones; returns the
/// number of posts touched.
pub async fn refresh(ctx: &Cairn) -> CoreResult<usize> {
    ctx.db()
        .transaction(|conn| -> CoreResult<usize> {
            let now = cairn_storage::db_now();
            let since = now - chrono::Duration::days(HOT_WINDOW_DAYS);
            let inputs = PostRow::rank_inputs_since(conn, since)?;
            for (id, score, published) in &inputs {
                PostRow::set_hot_rank(conn, *id, hot_rank(*score, *published, now))?;
            }
            let retired = PostRow::retire_hot_rank_before(conn, since)?;
            Ok(inputs.len() + retired)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_decays_and_rewards_votes() {
        let now = cairn_storage::db_now();
        let fresh = hot_rank(0, now, now);
        let older = hot_rank(0, now - chrono::Duration::hours(10), now);
        let voted = hot_rank(20, now, now);
        assert!(fresh > older);
        assert!(voted > fresh);
        assert_eq!(hot_rank(100, now - chrono::Duration::days(8), now), 0.0);
        assert_eq!(hot_rank(-5, now, now), 0.0);
    }
}
