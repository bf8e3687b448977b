//! Authentication belongs to the host: it implements [`Authenticate`] to turn
//! a request's parts into a [`UserId`] (and, for expiring tokens, an
//! [`Identity`] with the expiry), and chat-axum calls it on every REST
//! request and WebSocket upgrade. [`JwtAuth`](crate::JwtAuth) is one for
//! standard tokens.

use std::time::SystemTime;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chat_engine::UserId;

use crate::error::ApiError;
use crate::state::AppState;

/// The host's authentication hook.
///
/// Browsers cannot set headers on a WebSocket upgrade, so an implementation
/// should also accept a token from the query string; [`bearer_token`] reads
/// both places.
///
/// ```
/// use chat_axum::{Authenticate, AuthRejection, bearer_token};
/// use chat_engine::UserId;
///
/// /// Accepts `Bearer <user id>` as is: fit for a loopback demo only.
/// #[derive(Debug)]
/// struct TrustTheToken;
///
/// #[async_trait::async_trait]
/// impl Authenticate for TrustTheToken {
///     async fn authenticate(&self, parts: &axum::http::request::Parts) -> Result<UserId, AuthRejection> {
///         let token = bearer_token(parts).ok_or_else(|| AuthRejection::new("missing bearer token"))?;
///         UserId::new(token).map_err(|e| AuthRejection::new(e.to_string()))
///     }
/// }
/// ```
#[async_trait]
pub trait Authenticate: std::fmt::Debug + Send + Sync + 'static {
    /// The user making the request, or why it is refused (answered with 401).
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection>;

    /// The user and when their credential stops being valid: a WebSocket
    /// opened with it is closed then ([`CLOSE_TOKEN_EXPIRED`](crate::CLOSE_TOKEN_EXPIRED)),
    /// so a revoked or expired token does not keep reading. chat-axum calls
    /// this, not [`Authenticate::authenticate`]; the default is
    /// `authenticate` with no expiry. Override it for tokens that expire
    /// (as [`JwtAuth`](crate::JwtAuth) does).
    async fn identify(&self, parts: &Parts) -> Result<Identity, AuthRejection> {
        self.authenticate(parts).await.map(Identity::new)
    }
}

/// Who a request is from, and until when their credential holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// The user.
    pub user: UserId,
    /// When the credential expires; `None`: it does not (a session the host
    /// ends itself, see [`ChatService::disconnect`](chat_engine::ChatService::disconnect)).
    pub expires_at: Option<SystemTime>,
}

impl Identity {
    /// `user`, with a credential that does not expire.
    #[must_use]
    pub fn new(user: UserId) -> Self {
        Self {
            user,
            expires_at: None,
        }
    }

    /// Sets [`expires_at`](Self::expires_at).
    #[must_use]
    pub fn expiring_at(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// Why a request was not authenticated; sent to the client as a 401 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthRejection(String);

impl AuthRejection {
    /// A rejection with a message for the client.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The token of `Authorization: Bearer <token>`, else of a `token` query
/// parameter (percent-decoded), if any.
#[must_use]
pub fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = header.to_str().ok()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        return Some(token.trim().to_owned());
    }
    let query = parts.uri.query()?;
    serde_urlencoded_token(query)
}

fn serde_urlencoded_token(query: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct TokenQuery {
        token: Option<String>,
    }
    axum::extract::Query::<TokenQuery>::try_from_uri(&format!("/?{query}").parse().ok()?)
        .ok()?
        .0
        .token
}

/// The authenticated caller of a handler.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) UserId);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Identified(identity) = Identified::from_request_parts(parts, state).await?;
        Ok(Caller(identity.user))
    }
}

/// The authenticated caller with their credential's expiry (the WebSocket
/// upgrade needs it).
#[derive(Debug, Clone)]
pub(crate) struct Identified(pub(crate) Identity);

impl FromRequestParts<AppState> for Identified {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let identity = state
            .auth
            .identify(parts)
            .await
            .map_err(ApiError::Unauthorized)?;
        if identity
            .expires_at
            .is_some_and(|at| at <= SystemTime::now())
        {
            return Err(ApiError::Unauthorized(AuthRejection::new("token expired")));
        }
        Ok(Identified(identity))
    }
}
