//! The adapter's own error, converted into the core's [`BusError`] by
//! classifying, never by stringifying.

use chat_engine::BusError;

/// What the Redis bus can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisBusError {
    /// A Redis client or connection failure.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer within the configured bound.
    #[error("redis did not answer {0} in time")]
    Timeout(&'static str),
    /// The subscription connection is down (reconnecting).
    #[error("the redis subscription is down; reconnecting")]
    SubscriptionDown,
    /// Redis held presence data this adapter did not write.
    #[error("redis held a presence entry that is not a user id: {0}")]
    Corrupt(String),
    /// The bus's background task has stopped.
    #[error("the redis bus is shut down")]
    Closed,
}

impl From<RedisBusError> for BusError {
    fn from(error: RedisBusError) -> Self {
        match error {
            RedisBusError::Closed => Self::Closed,
            RedisBusError::Redis(ref redis)
                if !(redis.is_io_error()
                    || redis.is_connection_dropped()
                    || redis.is_connection_refusal()
                    || redis.is_timeout()) =>
            {
                Self::Backend(Box::new(error))
            }
            other => Self::Unavailable(Box::new(other)),
        }
    }
}
