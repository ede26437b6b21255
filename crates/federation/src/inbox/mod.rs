//! The inbox: activities from other servers are checked, stored, and applied later.
//!
//! In the request ([`post_inbox`]): the body's size, the Digest, the parse into a typed activity,
//! the structural rules that need no lookup (`rules::check_structure`: nothing may speak for a
//! local actor or under a local id) and the HTTP signature, with the key of the activity's
//! actor. A delivery that passes is stored in the durable inbox (`inbound_activities`) and
//! answered `202 Accepted` at once; one that fails is answered 4xx with a code. The stored
//! activity's id is its dedupe mark, committed with it, so a redelivery is acknowledged and not
//! stored twice.
//!
//! After the request ([`worker`]): a worker leases stored activities, gathers the facts the
//! trust rules need, decides (`rules::decide`), fetches what the decision asks for, applies the
//! effect through core ([`apply`]) and records the verdict, in the same transaction as the
//! effect where there is one, so a crash at any point loses nothing and applies nothing twice.

pub mod apply;
pub mod signature;
pub mod worker;

use activitypub_federation::config::Data;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::limits::{Action, Limited};
use cairn_core::{Cairn, CoreError};
use cairn_storage::db_now;
use cairn_storage::inbound::{InboundRow, NewInbound};
use serde_json::Value;

use crate::error::FederationError;
use crate::rules::{self, Here, Received, origin};

/// The largest activity accepted, the same as the federation library's own limit.
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

/// The instance as the trust rules see it.
pub fn here(data: &Cairn) -> Here {
    Here::new(&data.settings().domain, data.settings().federation_insecure)
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    tracing::info!(%code, %message, "refused an inbox delivery");
    (
        status,
        axum::Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}

fn refuse_error(e: &FederationError) -> Response {
    let (status, code, message) = inbox_rejection(e);
    refuse(status, code, &message)
}

/// `429` with `Retry-After`: the sender keeps the activity in its queue and sends it again.
fn too_many(limited: &Limited) -> Response {
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({"error": "rate_limited", "message": limited.message()})),
    )
        .into_response();
    resp.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(limited.retry_after_secs()),
    );
    resp
}

/// POST /inbox, /c/{name}/inbox and /u/{name}/inbox: one handler, as the shared inbox.
pub async fn post_inbox(data: Data<Cairn>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    // RFC 9421 signatures (Signature-Input, Content-Digest) are not verified yet. Fedify retries
    // a refused delivery with them, so the refusal names the cause rather than leaving the
    // sender to report a missing Digest.
    if parts.headers.contains_key("signature-input") && !parts.headers.contains_key("digest") {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unsupported_signature",
            "RFC 9421 HTTP signatures are not supported here; sign with draft-cavage HTTP \
             Signatures and a Digest header, as Mastodon and Lemmy do.",
        );
    }
    // An unsigned request is refused before anything is parsed, fetched or stored.
    if !parts.headers.contains_key("signature") {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "The request carries no HTTP signature; sign it with the actor's key.",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ACTIVITY_BYTES).await else {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "The activity is larger than this server accepts (1 MiB).",
        );
    };
    if let Err(e) = signature::verify_digest(&parts, &bytes) {
        return refuse_error(&e);
    }
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                rules::Code::MalformedActivity.as_str(),
                &format!("The body is not JSON: {e}."),
            );
        }
    };
    let activity = match Received::parse(&value) {
        Ok(a) => a,
        Err(v) => return refuse(StatusCode::BAD_REQUEST, v.code.as_str(), &v.message),
    };
    let here = here(&data);
    if let Err(v) = rules::check_structure(&activity, &here) {
        return refuse(StatusCode::BAD_REQUEST, v.code.as_str(), &v.message);
    }
    // Checking the signature may fetch the key of an actor never seen before, so deliveries
    // count against the sending address first: a flood signed for made-up actors cannot make
    // this server fetch without bound.
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let client = data.clients().client(peer, forwarded);
    if let Err(limited) = data.limits().check_address(Action::Inbox, client) {
        tracing::info!(%client, "refused an inbox delivery over the address's rate limit");
        return too_many(&limited);
    }
    if let Err(e) = signature::verify_signature(&data, &parts, &activity.actor).await {
        return refuse_error(&e);
    }
    // Deliveries count against their host only once the signature proved who sent them, so
    // that nobody can spend another server's quota by naming its actors; a sender told to wait
    // keeps the activity in its queue and sends it again later.
    if let Err(limited) = data
        .limits()
        .check_inbox(&origin(&activity.actor).unwrap_or_default())
    {
        tracing::info!(actor = %activity.actor, "refused an inbox delivery over the host's rate limit");
        return too_many(&limited);
    }
    match store(&data, &activity).await {
        Ok(true) => {
            data.notify_inbox();
            StatusCode::ACCEPTED.into_response()
        }
        Ok(false) => {
            tracing::debug!(activity = %activity.id, "acknowledged a redelivery");
            StatusCode::ACCEPTED.into_response()
        }
        Err(e) => refuse_error(&FederationError::Core(e)),
    }
}

/// Stores a verified activity in the durable inbox; false when its id was received before.
async fn store(data: &Cairn, a: &Received) -> Result<bool, CoreError> {
    let now = db_now();
    let row = NewInbound {
        ap_id: a.id.to_string(),
        actor_ap_id: a.actor.to_string(),
        host: origin(&a.actor).unwrap_or_default(),
        kind: a.type_line(),
        object_key: a.object_key(),
        data: a.raw.to_string(),
        next_attempt_at: now,
        received_at: now,
    };
    Ok(data
        .db()
        .run(move |conn| InboundRow::insert(conn, &row))
        .await?)
}

/// The 4xx (or, for our own failures, 5xx) answer for a refused delivery.
pub(crate) fn inbox_rejection(e: &FederationError) -> (StatusCode, &'static str, String) {
    match e {
        FederationError::Inbound {
            status,
            code,
            message,
        } => (*status, code, message.clone()),
        FederationError::Core(c) => {
            let status = match c {
                CoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                CoreError::Forbidden { .. } => StatusCode::FORBIDDEN,
                CoreError::Gone { .. } => StatusCode::GONE,
                CoreError::Storage(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
                tracing::error!(error = %c, "inbox failed");
                "The server failed to process the activity; send it again later.".to_owned()
            } else {
                c.to_string()
            };
            (status, c.code(), message)
        }
        FederationError::Remote(m) => (StatusCode::BAD_REQUEST, "remote_failure", m.clone()),
        FederationError::BadRequest { code, message } => {
            (StatusCode::BAD_REQUEST, code, message.clone())
        }
        FederationError::Internal(m) => {
            tracing::error!(error = %m, "inbox failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "The server failed to process the activity; send it again later.".to_owned(),
            )
        }
    }
}
