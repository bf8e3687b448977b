//! An [`Authenticate`] made of an async closure, for a host whose check is
//! a few lines over what its own layers left in the request (a cookie
//! session, a verified claim set, an API key lookup): no type of its own,
//! no `async_trait`, no `Debug` to write.

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::request::Parts;
use chat_engine::UserId;
use futures::future::BoxFuture;

use crate::auth::{AuthRejection, Authenticate};

/// `check` as an [`Authenticate`]: it turns a request's parts into the
/// user, or a rejection (answered `401`). Credentials never expire this way;
/// implement [`Authenticate::identify`] for ones that do.
///
/// ```
/// use chat_axum::{AuthRejection, authenticate_with, bearer_token};
/// use chat_engine::UserId;
///
/// // Accepts `Bearer <user id>` as is: fit for a loopback demo only.
/// let auth = authenticate_with(|parts| {
///     Box::pin(async move {
///         let token = bearer_token(parts).ok_or_else(|| AuthRejection::new("log in first"))?;
///         UserId::new(token).map_err(|error| AuthRejection::new(error.to_string()))
///     })
/// });
/// # drop(auth);
/// ```
pub fn authenticate_with<F>(check: F) -> Arc<dyn Authenticate>
where
    F: for<'a> Fn(&'a Parts) -> BoxFuture<'a, Result<UserId, AuthRejection>>
        + Send
        + Sync
        + 'static,
{
    Arc::new(AuthenticateWith(check))
}

/// The closure of [`authenticate_with`].
struct AuthenticateWith<F>(F);

impl<F> std::fmt::Debug for AuthenticateWith<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthenticateWith")
    }
}

#[async_trait]
impl<F> Authenticate for AuthenticateWith<F>
where
    F: for<'a> Fn(&'a Parts) -> BoxFuture<'a, Result<UserId, AuthRejection>>
        + Send
        + Sync
        + 'static,
{
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        (self.0)(parts).await
    }
}
