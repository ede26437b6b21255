//! Passwords, session tokens and actor key pairs.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

use crate::error::{CoreError, CoreResult};
use crate::{Cairn, SlowWork};

/// Hashes a password with argon2id and a random salt (PHC string format).
pub fn hash_password(password: &str) -> CoreResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CoreError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random bearer token (256 bits, URL-safe base64).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token derived from a secret token for one purpose (such as the CSRF token of a session):
/// 128 bits of SHA-256 over the purpose and the secret, URL-safe base64. Whoever lacks the
/// secret cannot compute it, and it reveals nothing about the secret.
pub fn derived_token(purpose: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cairn:");
    h.update(purpose.as_bytes());
    h.update(b":");
    h.update(secret.as_bytes());
    let digest = h.finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Compares two strings in time that depends only on their lengths, for secrets.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// An actor's RSA key pair in PEM form.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// SPKI PEM, published in the actor document.
    pub public_pem: String,
    /// PKCS#8 PEM, kept in the database for signing.
    pub private_pem: String,
}

/// Generates a 2048-bit RSA key pair, the size every fediverse server accepts.
pub fn generate_keypair() -> CoreResult<KeyPair> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| CoreError::Internal(format!("key generation failed: {e}")))?;
    let public = rsa::RsaPublicKey::from(&private);
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| CoreError::Internal(format!("key encoding failed: {e}")))?
        .to_string();
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| CoreError::Internal(format!("key encoding failed: {e}")))?;
    Ok(KeyPair {
        public_pem,
        private_pem,
    })
}

/// Generates a key pair in the bounded crypto pool (see [`Cairn::crypto`]), since RSA
/// generation takes a noticeable moment of a whole core.
pub async fn generate_keypair_async(ctx: &Cairn) -> CoreResult<KeyPair> {
    ctx.crypto(SlowWork::KeyGeneration, generate_keypair)
        .await?
}

/// Hashes a password in the bounded crypto pool; argon2 is deliberately slow.
pub async fn hash_password_async(ctx: &Cairn, password: String) -> CoreResult<String> {
    ctx.crypto(SlowWork::Password, move || hash_password(&password))
        .await?
}

/// Checks a password in the bounded crypto pool, which costs as much as hashing it.
pub async fn verify_password_async(
    ctx: &Cairn,
    password: String,
    hash: String,
) -> CoreResult<bool> {
    ctx.crypto(SlowWork::Password, move || {
        verify_password(&password, &hash)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
    }
}
