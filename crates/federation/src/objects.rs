//! Actors as `activitypub_federation` objects: how a remote Group or Person document becomes a
//! stored community or person (after verification), and how a stored one is found by id.

use std::sync::{Arc, Weak};

use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use activitypub_federation::traits::{Actor, Object};
use async_trait::async_trait;
use cairn_core::model::{Community, Person};
use cairn_core::remote::{self, BoxFuture, RemoteCommunity, RemotePerson, Resolver};
use cairn_core::{Cairn, CoreError, CoreResult};
use url::Url;

use crate::convert::{self, url};
use crate::error::FederationError;
use crate::protocol::actors::{Group, Person as PersonDoc, PersonType};
use crate::rules::same_origin;

impl From<activitypub_federation::error::Error> for FederationError {
    fn from(e: activitypub_federation::error::Error) -> Self {
        use activitypub_federation::error::Error as E;
        let inbound = |status, code, message: String| FederationError::Inbound {
            status,
            code,
            message,
        };
        match e {
            E::ActivitySignatureInvalid => inbound(
                axum::http::StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "The HTTP signature is missing, stale or does not verify with the actor's key."
                    .into(),
            ),
            E::ActivityBodyDigestInvalid => inbound(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_digest",
                "The Digest header is missing or does not match the body.".into(),
            ),
            E::ParseReceivedActivity { err, id } => inbound(
                axum::http::StatusCode::BAD_REQUEST,
                "unsupported_activity",
                format!(
                    "The activity {} is malformed or of a type this server does not handle: {err}",
                    id.map(|i| i.to_string())
                        .unwrap_or_else(|| "without an id".into())
                ),
            ),
            E::UrlVerificationError(why) => inbound(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_url",
                format!("An id or URL in the activity is not acceptable: {why}."),
            ),
            other => FederationError::Remote(other.to_string()),
        }
    }
}

/// The checks of a fetched actor document, whatever its type: everything through which the
/// actor is reached or speaks (its id, inbox, shared inbox, outbox and key) is on the host and
/// port it was fetched from, and its key is its own. Another server's shared inbox in an actor
/// would make this one deliver that actor's mail elsewhere; another server's key would let that
/// server sign as the actor.
fn verify_actor(
    id: &Url,
    inbox: &Url,
    shared_inbox: Option<&Url>,
    outbox: Option<&Url>,
    key: &activitypub_federation::protocol::public_key::PublicKey,
    fetched_from: &Url,
) -> Result<(), FederationError> {
    let foreign = |what: &str| {
        FederationError::Remote(format!(
            "the actor's {what} is not on the server it was fetched from"
        ))
    };
    for (what, url) in [
        ("id", Some(id)),
        ("inbox", Some(inbox)),
        ("shared inbox", shared_inbox),
        ("outbox", outbox),
    ] {
        if let Some(url) = url
            && !same_origin(url, fetched_from)
        {
            return Err(foreign(what));
        }
    }
    let key_id = Url::parse(&key.id).map_err(|_| foreign("key id"))?;
    if !same_origin(&key_id, fetched_from) {
        return Err(foreign("key id"));
    }
    if key.owner != *id {
        return Err(FederationError::Remote(
            "the actor's key belongs to another actor".into(),
        ));
    }
    Ok(())
}

/// The most moderators read from a community's moderators collection.
const MAX_MODERATORS: usize = 100;

/// Reads and stores the moderators of a remote community from its own `moderators` collection
/// (Lemmy's `attributedTo`), which must be on the community's server. A failure is logged and
/// leaves the earlier list: the community itself is still usable.
async fn refresh_moderators(
    data: &Data<Cairn>,
    group_id: &Url,
    collection: Option<&Url>,
    community: &Community,
) {
    let Some(url) = collection else {
        return;
    };
    if !same_origin(url, group_id) {
        tracing::info!(community = %group_id, "ignored a moderators collection on another server");
        return;
    }
    let fetched = match crate::fetch::fetch_json(data, url).await {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(community = %group_id, error = %e, "cannot fetch the moderators");
            return;
        }
    };
    let items = fetched
        .get("orderedItems")
        .or_else(|| fetched.get("items"))
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let moderators: Vec<String> = items
        .iter()
        .take(MAX_MODERATORS)
        .filter_map(crate::rules::parse::id_of)
        .map(|u| u.to_string())
        .collect();
    if let Err(e) = remote::set_moderators(data, community.id, moderators).await {
        tracing::warn!(community = %group_id, error = %e, "cannot store the moderators");
    }
}

/// A community (Group actor), local or remote.
#[derive(Debug, Clone)]
pub struct ApubCommunity {
    pub community: Community,
    id: Url,
}

impl ApubCommunity {
    fn new(community: Community) -> Result<Self, FederationError> {
        let id = url(&community.ap_id)?;
        Ok(Self { community, id })
    }
}

#[async_trait]
impl Object for ApubCommunity {
    type DataType = Cairn;
    type Kind = Group;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<Cairn>,
    ) -> Result<Option<Self>, FederationError> {
        remote::community_by_ap_id(data, object_id.as_str())
            .await?
            .map(Self::new)
            .transpose()
    }

    async fn into_json(self, data: &Data<Cairn>) -> Result<Group, FederationError> {
        convert::group(&self.community, data.urls())
    }

    async fn verify(
        json: &Group,
        expected_domain: &Url,
        _data: &Data<Cairn>,
    ) -> Result<(), FederationError> {
        verify_actor(
            &json.id,
            &json.inbox,
            json.endpoints.as_ref().map(|e| &e.shared_inbox),
            Some(&json.outbox),
            &json.public_key,
            expected_domain,
        )
    }

    async fn from_json(json: Group, data: &Data<Cairn>) -> Result<Self, FederationError> {
        let (group_id, moderators) = (json.id.clone(), json.attributed_to.clone());
        let community = remote::upsert_community(
            data,
            RemoteCommunity {
                ap_id: json.id.to_string(),
                name: json.preferred_username,
                title: json.name,
                description_html: json.summary,
                description_md: json.source.map(|s| s.content),
                kind: json.community_kind,
                manually_approves_followers: json.manually_approves_followers.unwrap_or(false),
                inbox_url: json.inbox.to_string(),
                shared_inbox_url: json.endpoints.map(|e| e.shared_inbox.to_string()),
                followers_url: json.followers.map(|f| f.to_string()),
                public_key: json.public_key.public_key_pem,
            },
        )
        .await?;
        refresh_moderators(data, &group_id, moderators.as_ref(), &community).await;
        Self::new(community)
    }

    fn last_refreshed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        Some(self.community.last_refreshed_at)
    }
}

impl Actor for ApubCommunity {
    fn public_key_pem(&self) -> &str {
        &self.community.public_key
    }

    fn private_key_pem(&self) -> Option<String> {
        // Keys of local communities are loaded by the signer when needed, never kept here.
        None
    }

    fn inbox(&self) -> Url {
        Url::parse(&self.community.inbox_url).unwrap_or_else(|_| self.id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.community
            .shared_inbox_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}

/// A person, local or remote.
#[derive(Debug, Clone)]
pub struct ApubPerson {
    pub person: Person,
    id: Url,
}

impl ApubPerson {
    fn new(person: Person) -> Result<Self, FederationError> {
        let id = url(&person.ap_id)?;
        Ok(Self { person, id })
    }
}

#[async_trait]
impl Object for ApubPerson {
    type DataType = Cairn;
    type Kind = PersonDoc;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<Cairn>,
    ) -> Result<Option<Self>, FederationError> {
        remote::person_by_ap_id(data, object_id.as_str())
            .await?
            .map(Self::new)
            .transpose()
    }

    async fn into_json(self, data: &Data<Cairn>) -> Result<PersonDoc, FederationError> {
        convert::person(&self.person, data.urls())
    }

    async fn verify(
        json: &PersonDoc,
        expected_domain: &Url,
        _data: &Data<Cairn>,
    ) -> Result<(), FederationError> {
        verify_actor(
            &json.id,
            &json.inbox,
            json.endpoints.as_ref().map(|e| &e.shared_inbox),
            json.outbox.as_ref(),
            &json.public_key,
            expected_domain,
        )
    }

    async fn from_json(json: PersonDoc, data: &Data<Cairn>) -> Result<Self, FederationError> {
        let person = remote::upsert_person(
            data,
            RemotePerson {
                ap_id: json.id.to_string(),
                name: json.preferred_username,
                display_name: json.name,
                bio_html: json.summary,
                bio_md: json.source.map(|s| s.content),
                inbox_url: json.inbox.to_string(),
                shared_inbox_url: json.endpoints.map(|e| e.shared_inbox.to_string()),
                public_key: json.public_key.public_key_pem,
                bot: matches!(json.kind, PersonType::Service | PersonType::Application),
            },
        )
        .await?;
        Self::new(person)
    }

    fn last_refreshed_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        Some(self.person.last_refreshed_at)
    }
}

impl Actor for ApubPerson {
    fn public_key_pem(&self) -> &str {
        &self.person.public_key
    }

    fn private_key_pem(&self) -> Option<String> {
        None
    }

    fn inbox(&self) -> Url {
        Url::parse(&self.person.inbox_url).unwrap_or_else(|_| self.id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.person
            .shared_inbox_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}

/// Resolves remote actors for the domain layer, through WebFinger and signed-fetch-ready
/// dereferencing. It holds the federation configuration weakly: the configuration owns the
/// domain handle, which owns this resolver.
#[derive(Debug)]
pub struct FederationResolver {
    config: Weak<FederationConfig<Cairn>>,
}

impl FederationResolver {
    /// Installs a resolver for `config` into the domain handle it carries.
    pub fn install(config: &Arc<FederationConfig<Cairn>>) {
        let resolver = Arc::new(Self {
            config: Arc::downgrade(config),
        });
        config.to_request_data().install_resolver(resolver);
    }
}

impl FederationResolver {
    /// Request data for one use, while the server still runs.
    fn data(&self) -> CoreResult<Data<Cairn>> {
        self.config
            .upgrade()
            .map(|config| config.to_request_data())
            .ok_or_else(|| CoreError::Internal("the server is shutting down".into()))
    }
}

impl Resolver for FederationResolver {
    fn community<'a>(&'a self, handle: &'a str) -> BoxFuture<'a, CoreResult<Community>> {
        Box::pin(async move {
            let data = self.data()?;
            match webfinger_resolve_actor::<Cairn, ApubCommunity>(handle, &data).await {
                Ok(c) => Ok(c.community),
                Err(FederationError::Core(e)) => Err(e),
                // A handle of a person fails the same way as one that names nothing; telling
                // the two apart saves the user from guessing.
                Err(_)
                    if webfinger_resolve_actor::<Cairn, ApubPerson>(handle, &data)
                        .await
                        .is_ok() =>
                {
                    Err(CoreError::invalid(
                        "not_a_community",
                        format!(
                            "{handle} is a person, not a community; follow people with /api/v1/people/follow."
                        ),
                    ))
                }
                Err(e) => Err(CoreError::not_found(
                    "remote_community_not_found",
                    format!("Cannot find the community {handle}: {e}"),
                )),
            }
        })
    }

    fn person<'a>(&'a self, handle_or_url: &'a str) -> BoxFuture<'a, CoreResult<Person>> {
        Box::pin(async move {
            let data = self.data()?;
            let found = match Url::parse(handle_or_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    ObjectId::<ApubPerson>::from(url).dereference(&data).await
                }
                _ => webfinger_resolve_actor::<Cairn, ApubPerson>(handle_or_url, &data).await,
            };
            match found {
                Ok(p) => Ok(p.person),
                Err(FederationError::Core(e)) => Err(e),
                Err(e) => Err(CoreError::not_found(
                    "remote_person_not_found",
                    format!("Cannot find the person {handle_or_url}: {e}"),
                )),
            }
        })
    }

    fn backfill<'a>(&'a self, community: &'a Community) -> BoxFuture<'a, CoreResult<usize>> {
        Box::pin(async move {
            let data = self.data()?;
            crate::fetch::backfill(&data, community)
                .await
                .map_err(|e| match e {
                    FederationError::Core(e) => e,
                    other => CoreError::Internal(format!("backfill: {other}")),
                })
        })
    }
}
