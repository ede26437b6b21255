//! The local actors that sign outgoing requests, as `activitypub_federation` wants them.
//!
//! A signer is always one of ours (a person, a community or the instance), loaded with its
//! private key; remote actors are never signers, so the parts of the `Object` trait that read
//! other servers' documents refuse.

use activitypub_federation::config::Data;
use activitypub_federation::traits::{Activity, Actor, Object};
use async_trait::async_trait;
use cairn_core::site::{self, Signer};
use cairn_core::{Cairn, CoreError};
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::convert::url;
use crate::error::FederationError;

/// A local actor with its key pair.
#[derive(Debug, Clone)]
pub struct LocalSigner {
    id: Url,
    inbox: Url,
    signer: Signer,
}

impl LocalSigner {
    /// Loads the local actor with this id.
    pub async fn load(ctx: &Cairn, id: &Url) -> Result<Option<Self>, FederationError> {
        let Some(signer) = site::signer(ctx, id.as_str()).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: id.clone(),
            inbox: url(&signer.inbox_url)?,
            signer,
        }))
    }
}

impl LocalSigner {
    /// Checks that the private key parses, so handing it to the federation library is safe.
    pub fn check_private_key(&self) -> Result<(), String> {
        use rsa::pkcs8::DecodePrivateKey;
        rsa::RsaPrivateKey::from_pkcs8_pem(&self.signer.private_key)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn not_ours() -> FederationError {
    FederationError::Core(CoreError::Internal(
        "a signer is a local actor; remote documents cannot become one".into(),
    ))
}

#[async_trait]
impl Object for LocalSigner {
    type DataType = Cairn;
    type Kind = Value;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<Cairn>,
    ) -> Result<Option<Self>, FederationError> {
        Self::load(data, &object_id).await
    }

    async fn into_json(self, _data: &Data<Cairn>) -> Result<Value, FederationError> {
        // Actor documents are served by the routes from domain types; a signer never is.
        Err(not_ours())
    }

    async fn verify(
        _json: &Value,
        _expected_domain: &Url,
        _data: &Data<Cairn>,
    ) -> Result<(), FederationError> {
        Err(not_ours())
    }

    async fn from_json(_json: Value, _data: &Data<Cairn>) -> Result<Self, FederationError> {
        Err(not_ours())
    }
}

impl Actor for LocalSigner {
    fn public_key_pem(&self) -> &str {
        &self.signer.public_key
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.signer.private_key.clone())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}

/// A stored activity on its way out: sent exactly as stored.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct StoredActivity {
    pub json: Value,
    #[serde(skip)]
    pub id: Url,
    #[serde(skip)]
    pub actor: Url,
}

#[async_trait]
impl Activity for StoredActivity {
    type DataType = Cairn;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<Cairn>) -> Result<(), FederationError> {
        Err(not_ours())
    }

    async fn receive(self, _data: &Data<Cairn>) -> Result<(), FederationError> {
        Err(not_ours())
    }
}
