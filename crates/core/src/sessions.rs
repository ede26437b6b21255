//! Sessions: opening one at sign-in, turning a token back into the signed-in user, idle expiry,
//! the owner's list of their sessions, ending one or all of them, and changing the password.
//!
//! A session is both the web interface's cookie and the API's bearer token; only the SHA-256
//! of its token is stored. A session ends when it has gone unused for `session_idle_days`.
//! Each use renews it, but the stored `last_used_at` is only rewritten once it is an hour old,
//! so that reading pages does not turn every request into a write.

use cairn_storage::db_now;
use cairn_storage::persons::{LocalUserRow, PersonRow, SessionRow};
use chrono::{Duration, NaiveDateTime};

use crate::context::Cairn;
use crate::crypto;
use crate::error::{CoreError, CoreResult};
use crate::model::{AuthUser, SessionInfo, utc};
use crate::validate;

/// How stale `last_used_at` may get before a use of the session rewrites it.
pub const RENEW_AFTER: Duration = Duration::hours(1);

/// The longest user agent kept with a session, in characters.
pub const MAX_USER_AGENT_CHARS: usize = 200;

/// What a use of a session at `now` means for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// In use recently enough that nothing needs writing.
    Fresh,
    /// Still valid, but its `last_used_at` is stale and should be renewed.
    Renew,
    /// Unused for longer than the idle limit: it has ended.
    Expired,
}

/// Decides whether a session last used at `last_used` is still valid at `now`, given how long
/// sessions may go unused.
pub fn freshness(last_used: NaiveDateTime, now: NaiveDateTime, idle: Duration) -> Freshness {
    let unused = now - last_used;
    if unused >= idle {
        Freshness::Expired
    } else if unused >= RENEW_AFTER {
        Freshness::Renew
    } else {
        Freshness::Fresh
    }
}

/// The user agent to store: without control characters, trimmed, at most
/// [`MAX_USER_AGENT_CHARS`] characters, and `None` when nothing is left.
pub fn clean_user_agent(raw: Option<&str>) -> Option<String> {
    let cleaned: String = raw?
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn idle_limit(ctx: &Cairn) -> Duration {
    Duration::days(i64::from(ctx.settings().session_idle_days))
}

/// Opens a session for a person who proved who they are; returns its token.
pub(crate) async fn open(
    ctx: &Cairn,
    person_id: i64,
    user_agent: Option<&str>,
) -> CoreResult<String> {
    let token = crypto::new_token();
    let hash = crypto::token_hash(&token);
    let agent = clean_user_agent(user_agent);
    ctx.db()
        .run(move |conn| SessionRow::insert(conn, &hash, person_id, agent.as_deref(), db_now()))
        .await?;
    Ok(token)
}

/// Ends the session of a token. Unknown tokens are fine: the session is gone either way.
pub async fn logout(ctx: &Cairn, token: &str) -> CoreResult<()> {
    let hash = crypto::token_hash(token);
    ctx.db()
        .run(move |conn| SessionRow::delete_by_token_hash(conn, &hash))
        .await?;
    Ok(())
}

/// Resolves a token (a bearer token or the session cookie) to the signed-in user. A session
/// that has gone unused for too long is deleted and refused.
pub async fn authenticate(ctx: &Cairn, token: &str) -> CoreResult<AuthUser> {
    let hash = crypto::token_hash(token);
    let idle = idle_limit(ctx);
    ctx.db()
        .run(move |conn| -> CoreResult<AuthUser> {
            let invalid = || {
                CoreError::unauthenticated(
                    "invalid_token",
                    "The session token is unknown or has ended; sign in again.",
                )
            };
            let session = SessionRow::by_token_hash(conn, &hash)?.ok_or_else(invalid)?;
            let now = db_now();
            match freshness(session.last_used_at, now, idle) {
                Freshness::Expired => {
                    SessionRow::delete_by_token_hash(conn, &hash)?;
                    return Err(CoreError::unauthenticated(
                        "session_expired",
                        "The session has ended after a long time unused; sign in again.",
                    ));
                }
                Freshness::Renew => SessionRow::touch(conn, session.id, now)?,
                Freshness::Fresh => {}
            }
            let person = PersonRow::by_id(conn, session.person_id)?.ok_or_else(invalid)?;
            let user = LocalUserRow::by_person(conn, person.id)?.ok_or_else(invalid)?;
            if person.deleted || !user.approved {
                return Err(invalid());
            }
            Ok(AuthUser {
                person_id: person.id,
                name: person.name,
                is_admin: user.is_admin,
                session_id: session.id,
            })
        })
        .await
}

/// The caller's sessions, most recently used first, with the caller's own marked.
pub async fn list(ctx: &Cairn, user: &AuthUser) -> CoreResult<Vec<SessionInfo>> {
    let (person_id, current) = (user.person_id, user.session_id);
    let idle = idle_limit(ctx);
    let rows = ctx
        .db()
        .run(move |conn| SessionRow::by_person(conn, person_id))
        .await?;
    let now = db_now();
    Ok(rows
        .into_iter()
        // An expired session that has not been pruned yet no longer works, so it is not listed.
        .filter(|r| freshness(r.last_used_at, now, idle) != Freshness::Expired)
        .map(|r| SessionInfo {
            id: r.id,
            created_at: utc(r.created_at),
            last_used_at: utc(r.last_used_at),
            user_agent: r.user_agent,
            current: r.id == current,
        })
        .collect())
}

/// Ends one of the caller's sessions, which may be the current one.
pub async fn end(ctx: &Cairn, user: &AuthUser, session_id: i64) -> CoreResult<()> {
    let person_id = user.person_id;
    let ended = ctx
        .db()
        .run(move |conn| SessionRow::delete_of_person(conn, person_id, session_id))
        .await?;
    if ended == 0 {
        return Err(CoreError::not_found(
            "session_not_found",
            "You have no session with this id.",
        ));
    }
    Ok(())
}

/// Ends every session of the caller, the current one included ("sign out everywhere"), and
/// returns how many ended.
pub async fn end_all(ctx: &Cairn, user: &AuthUser) -> CoreResult<usize> {
    let person_id = user.person_id;
    ctx.db()
        .run(move |conn| SessionRow::delete_all_of_person(conn, person_id, None))
        .await
        .map_err(Into::into)
}

/// Deletes every session that has gone unused for longer than the idle limit; returns how many.
pub async fn prune(ctx: &Cairn) -> CoreResult<usize> {
    let cutoff = db_now() - idle_limit(ctx);
    ctx.db()
        .run(move |conn| SessionRow::delete_idle_before(conn, cutoff))
        .await
        .map_err(Into::into)
}

/// Changes the caller's password after checking the current one, and ends every other session
/// of the account: whoever learnt the old password must not stay signed in with it. The
/// session that made the change stays.
pub async fn change_password(
    ctx: &Cairn,
    user: &AuthUser,
    current: &str,
    new: &str,
) -> CoreResult<()> {
    validate::password(new)?;
    let person_id = user.person_id;
    let stored = ctx
        .db()
        .run(move |conn| LocalUserRow::by_person(conn, person_id))
        .await?
        .ok_or_else(|| CoreError::not_found("user_not_found", "No such user."))?;
    let (current, hash) = (current.to_owned(), stored.password_hash);
    let ok = crypto::verify_password_async(ctx, current, hash).await?;
    if !ok {
        return Err(CoreError::forbidden(
            "wrong_password",
            "The current password is wrong.",
        ));
    }
    let new_hash = crypto::hash_password_async(ctx, new.to_owned()).await?;
    let keep = user.session_id;
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            LocalUserRow::set_password_hash(conn, person_id, &new_hash)?;
            SessionRow::delete_all_of_person(conn, person_id, Some(keep))?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .expect("a valid time")
            .naive_utc()
            + Duration::hours(hours)
    }

    #[test]
    fn sessions_renew_hourly_and_expire_when_idle() {
        let idle = Duration::days(30);
        let cases = [
            (0, Freshness::Fresh),
            (1, Freshness::Renew),
            (24, Freshness::Renew),
            (30 * 24 - 1, Freshness::Renew),
            (30 * 24, Freshness::Expired),
            (365 * 24, Freshness::Expired),
        ];
        for (hours_later, expected) in cases {
            assert_eq!(
                freshness(at(0), at(hours_later), idle),
                expected,
                "{hours_later} hours after the last use"
            );
        }
        let minutes = |m| at(0) + Duration::minutes(m);
        assert_eq!(freshness(at(0), minutes(59), idle), Freshness::Fresh);
        assert_eq!(freshness(at(0), minutes(60), idle), Freshness::Renew);
        // A clock that went backwards leaves the session alone.
        assert_eq!(freshness(at(5), at(0), idle), Freshness::Fresh);
    }

    #[test]
    fn user_agents_are_cleaned() {
        let long = "x".repeat(500);
        let cases: [(Option<&str>, Option<&str>); 6] = [
            (None, None),
            (Some(""), None),
            (Some("  \t "), None),
            (Some("Firefox/140.0"), Some("Firefox/140.0")),
            (Some(" curl/8\r\n\u{7}x "), Some("curl/8x")),
            (Some(&long), Some(&long[..MAX_USER_AGENT_CHARS])),
        ];
        for (raw, expected) in cases {
            assert_eq!(clean_user_agent(raw).as_deref(), expected, "{raw:?}");
        }
    }
}
