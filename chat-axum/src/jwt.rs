//! Standard tokens: JSON Web Tokens (RFC 7519) verified with `jsonwebtoken`,
//! so a host's existing identity service — in any language — can mint the
//! tokens chat accepts. `sub` is the user id and `exp` is required (a
//! WebSocket is closed when it passes); `aud` and `iss` are checked when
//! configured. Keys: HS256 with a shared secret of at least 32 bytes, or a
//! public key (RS256, EdDSA) when only the identity service holds the
//! private one. The algorithm is fixed by the key, never read from the
//! token, so a token cannot pick a weaker one ("alg confusion").

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::request::Parts;
use chat_engine::UserId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{AuthRejection, Authenticate, Identity, bearer_token};

/// The shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least
/// the hash's size).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtKeyError {
    /// An HS256 secret shorter than [`MIN_HS256_SECRET_BYTES`].
    #[error("the secret must be at least {MIN_HS256_SECRET_BYTES} bytes (it is {0})")]
    WeakSecret(usize),
    /// Not a PEM public key of the algorithm's kind.
    #[error("not a PEM {algorithm} public key: {source}")]
    Key {
        /// The algorithm the key was read for.
        algorithm: &'static str,
        /// What the parser said.
        source: jsonwebtoken::errors::Error,
    },
}

/// The claims chat reads (and [`JwtMinter`] writes).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    // Optional here so that a token without it is refused by the
    // validation ("without a required claim"), not as malformed JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

/// An [`Authenticate`] for JWTs from `Authorization: Bearer` or `?token=`.
///
/// ```
/// use chat_axum::JwtAuth;
/// let auth = JwtAuth::hs256(b"a shared secret of at least 32 bytes!")?
///     .with_audience("chat")
///     .with_issuer("https://id.example.com");
/// # Ok::<(), chat_axum::JwtKeyError>(())
/// ```
#[derive(Clone)]
pub struct JwtAuth {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("algorithms", &self.validation.algorithms)
            .field("audience", &self.validation.aud)
            .field("issuer", &self.validation.iss)
            .finish_non_exhaustive()
    }
}

impl JwtAuth {
    /// Verifies HS256 tokens signed with `secret`.
    ///
    /// # Errors
    /// [`JwtKeyError::WeakSecret`] below [`MIN_HS256_SECRET_BYTES`].
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtKeyError> {
        check_secret(secret)?;
        Ok(Self::new(
            DecodingKey::from_secret(secret),
            Algorithm::HS256,
        ))
    }

    /// Verifies RS256 tokens with an RSA public key in PEM.
    ///
    /// # Errors
    /// [`JwtKeyError::Key`] when `pem` is not one.
    pub fn rs256_pem(pem: &[u8]) -> Result<Self, JwtKeyError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|source| JwtKeyError::Key {
            algorithm: "RSA",
            source,
        })?;
        Ok(Self::new(key, Algorithm::RS256))
    }

    /// Verifies EdDSA (Ed25519) tokens with a public key in PEM.
    ///
    /// # Errors
    /// [`JwtKeyError::Key`] when `pem` is not one.
    pub fn ed25519_pem(pem: &[u8]) -> Result<Self, JwtKeyError> {
        let key = DecodingKey::from_ed_pem(pem).map_err(|source| JwtKeyError::Key {
            algorithm: "Ed25519",
            source,
        })?;
        Ok(Self::new(key, Algorithm::EdDSA))
    }

    fn new(key: DecodingKey, algorithm: Algorithm) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // An expired token is refused at once: sockets close on the second.
        validation.leeway = 0;
        // No audience configured: accept any (and none).
        validation.validate_aud = false;
        Self { key, validation }
    }

    /// Accepts only tokens whose `aud` is `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.validation.validate_aud = true;
        self.validation
            .set_required_spec_claims(&["exp", "sub", "aud"]);
        self
    }

    /// Accepts only tokens whose `iss` is `issuer`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        let mut required: Vec<&str> = vec!["exp", "sub", "iss"];
        if self.validation.validate_aud {
            required.push("aud");
        }
        self.validation.set_required_spec_claims(&required);
        self
    }

    /// The identity in `token`, if it is valid now.
    ///
    /// # Errors
    /// An [`AuthRejection`] saying why: expired, a bad signature, the wrong
    /// audience or issuer, a `sub` that is no user id, or malformed.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthRejection> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |error| {
                AuthRejection::new(match error.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::InvalidSignature => "invalid token signature",
                    ErrorKind::InvalidAudience => "token for another audience",
                    ErrorKind::InvalidIssuer => "token from another issuer",
                    ErrorKind::InvalidAlgorithm => "token signed with another algorithm",
                    ErrorKind::MissingRequiredClaim(_) => "token without a required claim",
                    _ => "malformed token",
                })
            },
        )?;
        let user = UserId::new(data.claims.sub)
            .map_err(|error| AuthRejection::new(format!("token subject: {error}")))?;
        // The validation requires `exp`: it is there.
        let exp = data.claims.exp.unwrap_or_default();
        Ok(Identity::new(user).expiring_at(UNIX_EPOCH + Duration::from_secs(exp)))
    }
}

#[async_trait::async_trait]
impl Authenticate for JwtAuth {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        self.identify(parts).await.map(|identity| identity.user)
    }

    async fn identify(&self, parts: &Parts) -> Result<Identity, AuthRejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            AuthRejection::new(
                "missing token: send `Authorization: Bearer <token>` or `?token=<token>`",
            )
        })?;
        self.verify(&token)
    }
}

/// Mints HS256 tokens that [`JwtAuth::hs256`] with the same secret accepts:
/// for the standalone server's `token` command, tests, and hosts without
/// an identity service of their own.
#[derive(Clone)]
pub struct JwtMinter {
    key: EncodingKey,
    audience: Option<String>,
    issuer: Option<String>,
}

impl std::fmt::Debug for JwtMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtMinter")
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl JwtMinter {
    /// A minter signing with `secret`.
    ///
    /// # Errors
    /// [`JwtKeyError::WeakSecret`] below [`MIN_HS256_SECRET_BYTES`].
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtKeyError> {
        check_secret(secret)?;
        Ok(Self {
            key: EncodingKey::from_secret(secret),
            audience: None,
            issuer: None,
        })
    }

    /// Puts `audience` in every token's `aud`.
    #[must_use]
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = Some(audience.to_owned());
        self
    }

    /// Puts `issuer` in every token's `iss`.
    #[must_use]
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// A token for `user`, valid for `ttl` from `now`.
    #[must_use]
    pub fn mint(&self, user: &UserId, ttl: Duration, now: SystemTime) -> String {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let claims = Claims {
            sub: user.as_str().to_owned(),
            exp: Some(now.saturating_add(ttl.as_secs())),
            aud: self.audience.clone(),
            iss: self.issuer.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .expect("HS256 signing of plain claims cannot fail")
    }
}

/// An HS256 secret is at least [`MIN_HS256_SECRET_BYTES`] long.
fn check_secret(secret: &[u8]) -> Result<(), JwtKeyError> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(JwtKeyError::WeakSecret(secret.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
