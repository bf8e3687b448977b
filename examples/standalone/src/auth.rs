//! The standalone server's authentication, safe by default:
//!
//! - **Demo** (no key): the bearer token *is* the user id, so scripts and
//!   load tools need no login step. Allowed only on a loopback bind
//!   ([`crate::config::ServerArgs::check`] refuses anything else).
//! - **JWT with a shared secret** (`--secret`, `--secret-file`): HS256
//!   tokens, minted by `standalone token` or by any identity service that
//!   holds the secret.
//! - **JWT with a public key** (`--jwt-public-key-file`): RS256 or EdDSA
//!   tokens from an identity service that alone holds the private key.
//!
//! Either JWT mode checks `exp` (a socket closes when it passes) and, when
//! set, `--jwt-audience` and `--jwt-issuer`. See `chat_axum::JwtAuth`.

use std::sync::Arc;

use axum::http::request::Parts;
use chat_axum::{AuthRejection, Authenticate, Identity, JwtAuth, JwtMinter, bearer_token};
use chat_engine::{StoreDirectory, UserId};

use crate::config::{ConfigError, JwtAlgorithm, ServerArgs};

/// Demo auth: the token is the user id.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenIsUserId;

#[async_trait::async_trait]
impl Authenticate for TokenIsUserId {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            AuthRejection::new(
                "missing token: send `Authorization: Bearer <token>` or `?token=<token>`",
            )
        })?;
        UserId::new(token).map_err(|error| AuthRejection::new(error.to_string()))
    }
}

/// Any authentication, recording each user it lets in in the server's
/// user directory ([`StoreDirectory`]: the users who have signed in), once
/// per process.
#[derive(Debug)]
pub struct SignsIn {
    inner: Arc<dyn Authenticate>,
    directory: Arc<StoreDirectory>,
}

impl SignsIn {
    /// `inner`, recording in `directory`.
    #[must_use]
    pub fn new(inner: Arc<dyn Authenticate>, directory: Arc<StoreDirectory>) -> Self {
        Self { inner, directory }
    }
}

#[async_trait::async_trait]
impl Authenticate for SignsIn {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        Ok(self.identify(parts).await?.user)
    }

    /// The inner identity as it is, its expiry included (a socket closes
    /// with 4002 when it passes).
    async fn identify(&self, parts: &Parts) -> Result<Identity, AuthRejection> {
        let identity = self.inner.identify(parts).await?;
        if let Err(error) = self.directory.sign_in(&identity.user).await {
            // The request goes on: it fails on its own if the store is down,
            // and the next request records the user.
            tracing::warn!(user = %identity.user, error = %error, "could not record the user in the directory");
        }
        Ok(identity)
    }
}

/// The authentication the settings ask for, and whether it is demo mode.
///
/// # Errors
/// [`ConfigError`] for an unreadable or unusable secret or key.
pub fn from_args(args: &ServerArgs) -> Result<(Arc<dyn Authenticate>, bool), ConfigError> {
    let jwt = if let Some(secret) = args.secret()? {
        JwtAuth::hs256(secret.as_bytes())?
    } else if let Some(path) = &args.jwt_public_key_file {
        let pem = std::fs::read(path).map_err(|source| ConfigError::KeyFile {
            path: path.clone(),
            source,
        })?;
        match args.jwt_algorithm {
            JwtAlgorithm::Rs256 => JwtAuth::rs256_pem(&pem)?,
            JwtAlgorithm::EdDsa => JwtAuth::ed25519_pem(&pem)?,
        }
    } else {
        return Ok((Arc::new(TokenIsUserId), true));
    };
    let jwt = match &args.jwt_audience {
        Some(audience) => jwt.with_audience(audience),
        None => jwt,
    };
    let jwt = match &args.jwt_issuer {
        Some(issuer) => jwt.with_issuer(issuer),
        None => jwt,
    };
    Ok((Arc::new(jwt), false))
}

/// The minter of `standalone token`: HS256 with the secret, with the
/// audience and issuer the server checks.
///
/// # Errors
/// [`ConfigError::MintingNeedsTheSecret`] without a secret, or an unusable one.
pub fn minter(args: &ServerArgs) -> Result<JwtMinter, ConfigError> {
    let secret = args.secret()?.ok_or(ConfigError::MintingNeedsTheSecret)?;
    let minter = JwtMinter::hs256(secret.as_bytes())?;
    let minter = match &args.jwt_audience {
        Some(audience) => minter.with_audience(audience),
        None => minter,
    };
    Ok(match &args.jwt_issuer {
        Some(issuer) => minter.with_issuer(issuer),
        None => minter,
    })
}
