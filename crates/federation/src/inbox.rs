//! The inbox: verifies and applies activities from other servers.
//!
//! `activitypub_federation` checks the Digest, parses the activity, checks that its id is on
//! its actor's host, fetches the actor (verifying and storing it) and checks the HTTP signature
//! with the actor's key. Each activity type then checks its own rules (federation.md 1.9) and is
//! applied through the domain layer. Every rejection answers 4xx with a specific reason.
//!
//! Handled: Follow and Undo(Follow) of local communities and people, Accept or Reject of our
//! people's Follows, content activities (see `inbound`) sent to a local community or inside a remote
//! community's Announce. Other activity types are refused with `unsupported_activity`.

use activitypub_federation::axum::inbox::{ActivityData, receive_activity};
use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::verification::verify_urls_match;
use activitypub_federation::traits::{Activity, Object};
use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cairn_core::follows::{self, FollowDecision};
use cairn_core::model::Person;
use cairn_core::{Cairn, CoreError, people, remote};
use cairn_storage::activities::{ActivityRow, NewActivity};
use cairn_storage::communities::MemberRow;
use cairn_storage::db_now;
use either::Either;
use serde::Deserialize;
use url::Url;

use crate::error::FederationError;
use crate::inbound::{Announcable, InboundAnnounce};
use crate::objects::{ApubCommunity, ApubPerson};
use crate::protocol::activities::{Follow, FollowAnswer, FollowAnswerType, FollowRef, Undo};

/// Records a received activity; false when it was received before (a redelivery).
async fn first_time(
    data: &Data<Cairn>,
    id: &Url,
    kind: &str,
    actor: &Url,
) -> Result<bool, FederationError> {
    let row = NewActivity {
        ap_id: id.to_string(),
        kind: kind.to_owned(),
        actor_ap_id: actor.to_string(),
        data: String::new(),
        local: false,
        sensitive: true,
        published: db_now(),
    };
    data.db()
        .run(move |conn| ActivityRow::insert_received(conn, &row))
        .await
        .map_err(|e| FederationError::Core(e.into()))
}

fn rejected(code: &'static str, message: impl Into<String>) -> FederationError {
    FederationError::Core(CoreError::invalid(code, message))
}

/// The local community an activity addresses, or a rejection.
async fn local_community(data: &Data<Cairn>, id: &Url) -> Result<ApubCommunity, FederationError> {
    match ApubCommunity::read_from_id(id.clone(), data).await? {
        Some(c) if c.community.local => Ok(c),
        _ => Err(FederationError::Core(CoreError::not_found(
            "community_not_found",
            format!("{id} is not a community on this server"),
        ))),
    }
}

/// What a Follow received here may follow: a local community or a local person.
enum Followee {
    Community(ApubCommunity),
    Person(Person),
}

/// The local community or person a Follow names, or a rejection.
async fn local_followee(data: &Data<Cairn>, id: &Url) -> Result<Followee, FederationError> {
    if let Ok(c) = local_community(data, id).await {
        return Ok(Followee::Community(c));
    }
    match remote::person_by_ap_id(data, id.as_str()).await? {
        Some(p) if p.local && !p.deleted => Ok(Followee::Person(p)),
        _ => Err(FederationError::Core(CoreError::not_found(
            "followee_not_found",
            format!("{id} is neither a community nor a person on this server"),
        ))),
    }
}

/// An Accept or Reject of a Follow a local person sent to a person on another server.
async fn receive_person_answer(
    data: &Data<Cairn>,
    answer: &FollowAnswer,
    accepted: bool,
) -> Result<(), FederationError> {
    let Some((follower, followee)) =
        people::by_follow_id(data, answer.object.id().as_str()).await?
    else {
        return Err(FederationError::Core(CoreError::not_found(
            "unknown_follow",
            "This server sent no Follow with that id.",
        )));
    };
    if followee.ap_id != answer.actor.as_str() {
        return Err(rejected(
            "answer_not_from_followee",
            "Only the followed person may answer a Follow.",
        ));
    }
    people::receive_answer(data, follower.id, followee.id, accepted).await?;
    tracing::info!(person = %answer.actor, accepted, "received an answer to a Follow");
    Ok(())
}

#[async_trait]
impl Activity for Follow {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<Cairn>) -> Result<(), FederationError> {
        local_followee(data, &self.object).await?;
        Ok(())
    }

    async fn receive(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        if !first_time(data, &self.id, "Follow", &self.actor).await? {
            return Ok(());
        }
        let person = ObjectId::<ApubPerson>::from(self.actor.clone())
            .dereference(data)
            .await?;
        let community = match local_followee(data, &self.object).await? {
            Followee::Community(c) => c,
            Followee::Person(followee) => {
                people::receive_follow(data, followee.id, person.person.id, self.id.as_str())
                    .await?;
                tracing::info!(follower = %self.actor, person = %self.object, "received Follow");
                return Ok(());
            }
        };
        let decision = follows::receive_follow(
            data,
            community.community.id,
            person.person.id,
            self.id.as_str(),
        )
        .await?;
        tracing::info!(follower = %self.actor, community = %self.object, ?decision, "received Follow");
        if decision == FollowDecision::Pending {
            tracing::info!("the follow waits for a moderator");
        }
        Ok(())
    }
}

/// What an Undo of a Follow undoes: the followee's id. The Follow is embedded (Lemmy, Mastodon)
/// or named by id only (bovine); an id is looked up among the follows received here, since the
/// follower's server may not let anyone else fetch it.
pub(crate) async fn undone_followee(
    data: &Cairn,
    undo: &Undo<FollowRef>,
) -> Result<Url, FederationError> {
    let not_own = || rejected("undo_not_own", "Only the follower may undo a Follow.");
    let follow_id = match &undo.object {
        FollowRef::Embedded(f) => {
            verify_urls_match(&undo.actor, &f.actor).map_err(|_| not_own())?;
            return Ok(f.object.clone());
        }
        FollowRef::Id(id) => id.to_string(),
    };
    let unknown = || {
        FederationError::Core(CoreError::not_found(
            "unknown_follow",
            format!(
                "The Undo names {follow_id}, which is no Follow received here; an Undo of \
                 anything else must embed the activity it undoes."
            ),
        ))
    };
    let id = follow_id.clone();
    let member = data
        .db()
        .run(move |conn| MemberRow::by_follow_activity(conn, &id))
        .await
        .map_err(|e| FederationError::Core(e.into()))?;
    let (follower, followee) = match member {
        Some(m) => (
            cairn_core::accounts::person_by_id(data, m.person_id).await?,
            crate::convert::url(
                &cairn_core::communities::by_id(data, m.community_id)
                    .await?
                    .ap_id,
            )?,
        ),
        None => match people::by_follow_id(data, &follow_id).await? {
            Some((follower, followee)) => (follower, crate::convert::url(&followee.ap_id)?),
            None => return Err(unknown()),
        },
    };
    if follower.ap_id != undo.actor.as_str() {
        return Err(not_own());
    }
    Ok(followee)
}

#[async_trait]
impl Activity for Undo<FollowRef> {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<Cairn>) -> Result<(), FederationError> {
        let followee = undone_followee(data, self).await?;
        local_followee(data, &followee).await?;
        Ok(())
    }

    async fn receive(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        if !first_time(data, &self.id, "Undo", &self.actor).await? {
            return Ok(());
        }
        let followee = local_followee(data, &undone_followee(data, &self).await?).await?;
        let Some(person) = remote::person_by_ap_id(data, self.actor.as_str()).await? else {
            return Ok(());
        };
        match followee {
            Followee::Community(c) => {
                follows::receive_unfollow(data, c.community.id, person.id).await?
            }
            Followee::Person(p) => people::receive_unfollow(data, p.id, person.id).await?,
        }
        Ok(())
    }
}

#[async_trait]
impl Activity for FollowAnswer {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<Cairn>) -> Result<(), FederationError> {
        if let FollowRef::Embedded(f) = &self.object {
            // The answer must come from the community or person that was followed.
            verify_urls_match(&self.actor, &f.object).map_err(|_| {
                rejected(
                    "answer_not_from_followee",
                    "Only the followed community may answer a Follow.",
                )
            })?;
        }
        Ok(())
    }

    async fn receive(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        if !first_time(data, &self.id, "Accept", &self.actor).await? {
            return Ok(());
        }
        let follow_id = self.object.id().to_string();
        let member = data
            .db()
            .run(move |conn| MemberRow::by_follow_activity(conn, &follow_id))
            .await
            .map_err(|e| FederationError::Core(e.into()))?;
        let accepted = self.kind == FollowAnswerType::Accept;
        let Some(member) = member else {
            return receive_person_answer(data, &self, accepted).await;
        };
        let community = cairn_core::communities::by_id(data, member.community_id).await?;
        if community.ap_id != self.actor.as_str() {
            return Err(rejected(
                "answer_not_from_followee",
                "Only the followed community may answer a Follow.",
            ));
        }
        follows::receive_answer(data, member.community_id, member.person_id, accepted).await?;
        tracing::info!(community = %self.actor, accepted, "received an answer to a Follow");
        Ok(())
    }
}

/// Every activity type the inbox understands.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum InboxActivity {
    Follow(Follow),
    UndoFollow(Undo<FollowRef>),
    Answer(FollowAnswer),
    Announce(InboundAnnounce),
    Content(Announcable),
}

#[async_trait]
impl Activity for InboxActivity {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        match self {
            Self::Follow(a) => a.id(),
            Self::UndoFollow(a) => a.id(),
            Self::Answer(a) => a.id(),
            Self::Announce(a) => a.id(),
            Self::Content(a) => a.id(),
        }
    }

    fn actor(&self) -> &Url {
        match self {
            Self::Follow(a) => a.actor(),
            Self::UndoFollow(a) => a.actor(),
            Self::Answer(a) => a.actor(),
            Self::Announce(a) => a.actor(),
            Self::Content(a) => a.actor(),
        }
    }

    async fn verify(&self, data: &Data<Cairn>) -> Result<(), FederationError> {
        match self {
            Self::Follow(a) => a.verify(data).await,
            Self::UndoFollow(a) => a.verify(data).await,
            Self::Answer(a) => a.verify(data).await,
            Self::Announce(a) => a.verify(data).await,
            Self::Content(a) => a.verify(data).await,
        }
    }

    async fn receive(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        let id = self.id().clone();
        let result = match self {
            Self::Follow(a) => a.receive(data).await,
            Self::UndoFollow(a) => a.receive(data).await,
            Self::Answer(a) => a.receive(data).await,
            Self::Announce(a) => a.receive(data).await,
            Self::Content(a) => a.receive(data).await,
        };
        if result.is_err() {
            // The id was recorded before applying; a failure must not turn the sender's retry
            // into an ignored duplicate.
            crate::inbound::forget(data, &id).await;
        }
        result
    }
}

/// The largest activity accepted, the same as the federation library's own limit.
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

fn refuse(status: StatusCode, code: &'static str, message: &str) -> Response {
    tracing::info!(%code, %message, "refused an inbox activity");
    (
        status,
        axum::Json(serde_json::json!({"error": code, "message": message})),
    )
        .into_response()
}

/// POST /inbox, /c/{name}/inbox and /u/{name}/inbox: one handler, as the shared inbox.
///
/// The body is read here, within [`MAX_ACTIVITY_BYTES`], so an oversized one is a 413 rather
/// than the library's internal error, and an unsigned request is refused before anything is
/// parsed or fetched.
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
    let mut result = match receive(&data, parts.clone(), bytes.clone()).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    // A signature that fails against the stored key may be made with a new one: the sender
    // rotated its key since we fetched the actor. Fetch the actor again and verify once more.
    if let Err(e) = &result
        && inbox_rejection(e).1 == "invalid_signature"
        && let Some(actor) = actor_of(&bytes)
        && refetch_actor(&data, actor).await
    {
        result = match receive(&data, parts, bytes).await {
            Ok(r) => r,
            Err(resp) => return resp,
        };
    }
    match result {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => {
            let (status, code, message) = inbox_rejection(&e);
            tracing::info!(%code, %message, "refused an inbox activity");
            (
                status,
                axum::Json(serde_json::json!({"error": code, "message": message})),
            )
                .into_response()
        }
    }
}

/// Verifies and applies one delivery; the outer error is an answer for a request that is not an
/// activity at all.
async fn receive(
    data: &Data<Cairn>,
    parts: axum::http::request::Parts,
    bytes: axum::body::Bytes,
) -> Result<Result<(), FederationError>, Response> {
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let activity =
        <ActivityData as axum::extract::FromRequest<()>>::from_request(request, &()).await?;
    Ok(
        receive_activity::<InboxActivity, Either<ApubPerson, ApubCommunity>, Cairn>(activity, data)
            .await,
    )
}

/// The `actor` of a delivered activity, as a URL, when the body names one.
fn actor_of(body: &[u8]) -> Option<Url> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let actor = match v.get("actor")? {
        serde_json::Value::String(s) => s.as_str(),
        serde_json::Value::Object(o) => o.get("id")?.as_str()?,
        _ => return None,
    };
    Url::parse(actor).ok()
}

/// Fetches a remote actor again, ignoring the stored copy; true when a fresh copy was stored.
async fn refetch_actor(data: &Data<Cairn>, actor: Url) -> bool {
    match ObjectId::<Either<ApubPerson, ApubCommunity>>::from(actor)
        .dereference_forced(data)
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::info!(error = %e, "cannot refetch the actor of a badly signed activity");
            false
        }
    }
}

/// The 4xx (or, for our own failures, 5xx) answer for a refused activity.
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
