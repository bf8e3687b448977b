//! The standalone server's authentication, safe by default:
//!
//! - **Demo** (no secret): the bearer token *is* the user id, so scripts and
//!   load tools need no login step. Allowed only on a loopback bind
//!   ([`crate::config::ServerArgs::check`] refuses anything else).
//! - **Signed** (a secret is set): only tokens minted by `standalone token`
//!   are accepted: `v1.<user, base64url>.<expiry, unix seconds>.<HMAC-SHA256, base64url>`,
//!   checked in constant time and refused once expired.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_axum::{AuthRejection, Authenticate, bearer_token};
use chat_core::UserId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Demo auth: the token is the user id.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenIsUserId;

#[async_trait::async_trait]
impl Authenticate for TokenIsUserId {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        let token = bearer_token(parts).ok_or_else(missing_token)?;
        UserId::new(token).map_err(|error| AuthRejection::new(error.to_string()))
    }
}

/// Mints and verifies signed, expiring tokens.
#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { key: <redacted> }")
    }
}

/// Why a secret cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the secret must be at least {MIN_SECRET_BYTES} bytes (it is {0})")]
pub struct WeakSecret(usize);

impl TokenSigner {
    /// A signer keyed by `secret`.
    ///
    /// # Errors
    /// [`WeakSecret`] when it is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &str) -> Result<Self, WeakSecret> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret(secret.len()));
        }
        Ok(Self {
            key: secret.as_bytes().to_vec(),
        })
    }

    fn mac(&self, signed_part: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key size");
        mac.update(signed_part.as_bytes());
        mac
    }

    /// A token for `user` valid for `ttl` from `now`.
    #[must_use]
    pub fn mint(&self, user: &UserId, ttl: Duration, now: SystemTime) -> String {
        let expires = unix_seconds(now).saturating_add(ttl.as_secs());
        let signed_part = format!("v1.{}.{expires}", URL_SAFE_NO_PAD.encode(user.as_str()));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signed_part).finalize().into_bytes());
        format!("{signed_part}.{signature}")
    }

    /// The user of a valid, unexpired token.
    ///
    /// # Errors
    /// An [`AuthRejection`] saying whether the token is malformed, forged or expired.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<UserId, AuthRejection> {
        let malformed = || AuthRejection::new("malformed token");
        let (signed_part, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let mut fields = signed_part.split('.');
        let (Some("v1"), Some(user), Some(expires), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed());
        };
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| malformed())?;
        self.mac(signed_part)
            .verify_slice(&signature)
            .map_err(|_| AuthRejection::new("invalid token signature"))?;
        let expires: u64 = expires.parse().map_err(|_| malformed())?;
        if expires <= unix_seconds(now) {
            return Err(AuthRejection::new("token expired"));
        }
        let user = URL_SAFE_NO_PAD.decode(user).map_err(|_| malformed())?;
        let user = String::from_utf8(user).map_err(|_| malformed())?;
        UserId::new(user).map_err(|error| AuthRejection::new(error.to_string()))
    }
}

#[async_trait::async_trait]
impl Authenticate for TokenSigner {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        let token = bearer_token(parts).ok_or_else(missing_token)?;
        self.verify(&token, SystemTime::now())
    }
}

fn missing_token() -> AuthRejection {
    AuthRejection::new("missing token: send `Authorization: Bearer <token>` or `?token=<token>`")
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn user(name: &str) -> UserId {
        UserId::new(name).unwrap()
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let signer = TokenSigner::new(SECRET).unwrap();
        let now = SystemTime::now();
        let token = signer.mint(&user("al\u{ed}ce ../x"), Duration::from_secs(60), now);
        assert_eq!(signer.verify(&token, now).unwrap(), user("al\u{ed}ce ../x"));
        let later = now + Duration::from_secs(61);
        assert_eq!(
            signer.verify(&token, later).unwrap_err().to_string(),
            "token expired"
        );
    }

    #[test]
    fn forged_and_malformed_tokens_are_refused() {
        let signer = TokenSigner::new(SECRET).unwrap();
        let now = SystemTime::now();
        let token = signer.mint(&user("alice"), Duration::from_secs(60), now);
        let other = TokenSigner::new(&SECRET.repeat(2)).unwrap();
        let forged = other.mint(&user("alice"), Duration::from_secs(60), now);
        assert_eq!(
            signer.verify(&forged, now).unwrap_err().to_string(),
            "invalid token signature"
        );
        // Changing the user keeps the old signature: refused.
        let (_, rest) = token.split_once('.').unwrap();
        let (_, tail) = rest.split_once('.').unwrap();
        let swapped = format!("v1.{}.{tail}", URL_SAFE_NO_PAD.encode("mallory"));
        assert_eq!(
            signer.verify(&swapped, now).unwrap_err().to_string(),
            "invalid token signature"
        );
        for garbage in [
            "",
            "alice",
            "v1.x.y",
            "v2.a.1.b",
            "v1.a.b.c.d",
            "v1.YQ.notanumber.AAAA",
        ] {
            assert!(signer.verify(garbage, now).is_err(), "{garbage:?} accepted");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            TokenSigner::new("short").unwrap_err().to_string(),
            "the secret must be at least 32 bytes (it is 5)"
        );
    }
}
