//! Per-user write rates counted by every node together. By default each
//! node counts its own writes ([`RateLimits`](crate::RateLimits) apply per
//! node), so a user whose writes a load balancer spreads over N nodes gets
//! N times the rate; a [`SharedRates`] counts in one place (Redis:
//! `chat_bus_redis::RedisRates`) so the rate holds for the whole cluster.
//!
//! When the shared counter cannot answer, the node's own limiter decides:
//! writes stay limited (per node) and are never refused for the counter's
//! sake.

use std::time::Duration;

use crate::config::Rate;
use crate::error::BoxError;

/// A counter of write rates that every node shares.
///
/// ```
/// use std::time::Duration;
/// use chat_engine::{BoxError, Rate, SharedRates};
///
/// /// Refuses everything: a stand-in that shows the contract.
/// #[derive(Debug)]
/// struct Closed;
///
/// #[async_trait::async_trait]
/// impl SharedRates for Closed {
///     async fn take(&self, _key: &str, _rate: Rate) -> Result<Result<(), Duration>, BoxError> {
///         Ok(Err(Duration::from_secs(60)))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait SharedRates: std::fmt::Debug + Send + Sync + 'static {
    /// Takes one write of `rate` (its burst at once, then `per_minute`)
    /// from the bucket `key` (an action and a user, unambiguous as given):
    /// `Ok(Ok(()))` when allowed, `Ok(Err(retry_after))` when over the
    /// rate, `Err` when the counter cannot be reached.
    async fn take(&self, key: &str, rate: Rate) -> Result<Result<(), Duration>, BoxError>;
}
