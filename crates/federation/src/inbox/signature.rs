//! Who sent a delivery: the `Digest` of its body and its draft-cavage HTTP signature, checked
//! with the key of the activity's actor.
//!
//! The federation library checks signatures too, but it stores an unknown actor before the
//! signature is checked, so any forged delivery could make Cairn store actors and hosts it has
//! never heard from. Here an unknown actor is fetched, its key checks the signature, and only
//! then is the actor stored. The signature format is the library's own (the same
//! `http-signature-normalization` crate and the same rules), so whatever it accepted is
//! accepted here.

use std::collections::BTreeMap;
use std::time::Duration;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::traits::Object;
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cairn_core::{Cairn, remote};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::FederationError;
use crate::objects::{ApubCommunity, ApubPerson};
use crate::protocol::actors::{Group, Person as PersonDoc};

/// How old a signed request may be, as the federation library allows.
const EXPIRES_AFTER: Duration = Duration::from_secs(60 * 60);

/// How long a stored actor's key is trusted before the actor is fetched again, so rotated keys
/// and deleted accounts are noticed.
const REFRESH_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(1);

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> FederationError {
    FederationError::Inbound {
        status,
        code,
        message: message.into(),
    }
}

fn bad_signature(message: impl Into<String>) -> FederationError {
    refused(StatusCode::UNAUTHORIZED, "invalid_signature", message)
}

/// Checks that the `Digest` header is the SHA-256 of the body.
pub fn verify_digest(parts: &Parts, body: &[u8]) -> Result<(), FederationError> {
    let invalid = || {
        refused(
            StatusCode::BAD_REQUEST,
            "invalid_digest",
            "The Digest header is missing or does not match the body.",
        )
    };
    let header = parts
        .headers
        .get("digest")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(invalid)?;
    let expected = BASE64.encode(Sha256::digest(body));
    // Several digests may be listed; the SHA-256 one must match. bovine writes the algorithm
    // in lower case.
    let matches = header.split(',').any(|part| {
        part.trim()
            .split_once('=')
            .is_some_and(|(alg, value)| alg.eq_ignore_ascii_case("sha-256") && value == expected)
    });
    if matches { Ok(()) } else { Err(invalid()) }
}

/// The parsed Signature header, not yet verified.
struct Signed {
    key_id: String,
    signature: String,
    signing_string: String,
}

fn parse_signature(parts: &Parts) -> Result<Signed, FederationError> {
    let mut headers = BTreeMap::new();
    for (name, value) in &parts.headers {
        if let Ok(v) = value.to_str() {
            headers.insert(name.to_string(), v.to_owned());
        }
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let unverified = http_signature_normalization::Config::new()
        .set_expiration(EXPIRES_AFTER)
        .require_digest()
        .begin_verify(parts.method.as_str(), path, headers)
        .map_err(|e| bad_signature(format!("The HTTP signature is not acceptable: {e}.")))?;
    Ok(Signed {
        key_id: unverified.key_id().to_owned(),
        signature: unverified.signature().to_owned(),
        signing_string: unverified.signing_string().to_owned(),
    })
}

fn verifies(signed: &Signed, public_key_pem: &str) -> bool {
    let Ok(key) = RsaPublicKey::from_public_key_pem(public_key_pem) else {
        return false;
    };
    let Ok(bytes) = BASE64.decode(&signed.signature) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key)
        .verify(signed.signing_string.as_bytes(), &signature)
        .is_ok()
}

/// Whether a key id names a key of `actor`: `ACTOR#main-key` (Mastodon, Lemmy) or
/// `ACTOR/main-key` (GoToSocial).
fn key_of(key_id: &str, actor: &Url) -> bool {
    let actor = actor.as_str();
    let owner = key_id.split('#').next().unwrap_or("");
    owner == actor
        || key_id
            .strip_prefix(actor)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('#'))
}

/// A stored actor's key and when it was last fetched.
async fn stored_key(
    data: &Data<Cairn>,
    actor: &Url,
) -> Result<Option<(String, chrono::DateTime<chrono::Utc>)>, FederationError> {
    if let Some(p) = remote::person_by_ap_id(data, actor.as_str()).await? {
        return Ok(Some((p.public_key, p.last_refreshed_at)));
    }
    if let Some(c) = remote::community_by_ap_id(data, actor.as_str()).await? {
        return Ok(Some((c.public_key, c.last_refreshed_at)));
    }
    Ok(None)
}

/// An actor fetched from its server and checked as its type is, not yet stored.
enum Fetched {
    Person(Box<PersonDoc>),
    Group(Box<Group>),
}

impl Fetched {
    fn public_key(&self) -> &str {
        match self {
            Fetched::Person(p) => &p.public_key.public_key_pem,
            Fetched::Group(g) => &g.public_key.public_key_pem,
        }
    }

    async fn store(self, data: &Data<Cairn>) -> Result<(), FederationError> {
        match self {
            Fetched::Person(p) => {
                ApubPerson::from_json(*p, data).await?;
            }
            Fetched::Group(g) => {
                ApubCommunity::from_json(*g, data).await?;
            }
        }
        Ok(())
    }
}

async fn fetch_actor(data: &Data<Cairn>, actor: &Url) -> Result<Fetched, FederationError> {
    let res = fetch_object_http::<Cairn, Value>(actor, data).await?;
    let is_group = res.object.get("type").and_then(Value::as_str) == Some("Group");
    if is_group {
        let group: Group = serde_json::from_value(res.object)
            .map_err(|e| FederationError::Remote(format!("the Group does not parse: {e}")))?;
        ApubCommunity::verify(&group, &res.url, data).await?;
        Ok(Fetched::Group(Box::new(group)))
    } else {
        let person: PersonDoc = serde_json::from_value(res.object)
            .map_err(|e| FederationError::Remote(format!("the actor does not parse: {e}")))?;
        ApubPerson::verify(&person, &res.url, data).await?;
        Ok(Fetched::Person(Box::new(person)))
    }
}

/// Checks the request's HTTP signature with the key of `actor`, the activity's actor. The
/// stored key is used while it is fresh; an unknown actor, a stale one and one whose stored key
/// fails (a rotation) are fetched from their server, and a fetched actor is stored only when its
/// key verified the signature.
pub async fn verify_signature(
    data: &Data<Cairn>,
    parts: &Parts,
    actor: &Url,
) -> Result<(), FederationError> {
    let signed = parse_signature(parts)?;
    if !key_of(&signed.key_id, actor) {
        return Err(bad_signature(
            "The request is signed with a key of another actor than the activity's.",
        ));
    }
    let stored = stored_key(data, actor).await?;
    let fresh = stored
        .as_ref()
        .is_some_and(|(_, at)| chrono::Utc::now() - *at < REFRESH_AFTER);
    if fresh
        && let Some((pem, _)) = &stored
        && verifies(&signed, pem)
    {
        return Ok(());
    }
    match fetch_actor(data, actor).await {
        Ok(fetched) => {
            if !verifies(&signed, fetched.public_key()) {
                return Err(bad_signature(
                    "The HTTP signature does not verify with the actor's key.",
                ));
            }
            fetched.store(data).await
        }
        // The actor's server cannot be reached now: a stale stored key still serves.
        Err(e) => match &stored {
            Some((pem, _)) if verifies(&signed, pem) => Ok(()),
            Some(_) => Err(bad_signature(
                "The HTTP signature does not verify with the actor's key.",
            )),
            None => Err(bad_signature(format!(
                "The actor cannot be fetched to check the signature: {e}"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_belong_to_their_actor() {
        let actor = Url::parse("https://a.example/u/x").unwrap_or_else(|e| panic!("{e}"));
        assert!(key_of("https://a.example/u/x#main-key", &actor));
        assert!(key_of("https://a.example/u/x/main-key", &actor));
        assert!(key_of("https://a.example/u/x", &actor));
        assert!(!key_of("https://a.example/u/xy#main-key", &actor));
        assert!(!key_of("https://b.example/u/x#main-key", &actor));
        assert!(!key_of("https://a.example/u#main-key", &actor));
    }
}
