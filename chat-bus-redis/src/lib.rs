//! A [`Bus`] over Redis pub/sub, so many app nodes share live events.
//!
//! - **Topics**: one channel per user (`{prefix}u:{user_id}`). A node
//!   subscribes to the channels of the users connected to it, so it receives
//!   only what they need. A message to a group of N is N `PUBLISH`es of
//!   one encoded copy in one pipeline: one round trip. The copy leaves out
//!   the recipient list (the channel names the recipient), so a message
//!   costs O(N) bytes, not O(N²).
//! - **Once per recipient**: a node watching several recipients of one event
//!   gets one copy per channel, and delivers each copy to that channel's
//!   user only (the envelope narrowed to them), so every connection sees the
//!   event once even while subscriptions change.
//! - **Restarts**: a dedicated subscription connection is watched by pings;
//!   when it drops, it reconnects with backoff, re-subscribes every watched
//!   user, and then reports [`Delivery::Gap`](chat_engine::Delivery::Gap) so
//!   every live client resumes from the store. Publishing goes through a
//!   self-reconnecting connection; a publish that fails is an error to the
//!   caller (the chat service logs and counts it; the message is already saved).
//! - **Health that cannot lie**: [`Bus::health`] publishes a token to this
//!   node's own channel and waits for it to come back through the subscription.
//! - **Presence** ([`RedisPresence`]): each node's entries for its users,
//!   with a deadline it renews, in keys of one hash slot that Lua scripts
//!   read and change atomically.
//! - **Isolation**: every key and channel starts with a prefix (default
//!   `chat:`), so apps and test runs can share one Redis.
//!
//! ```no_run
//! # async fn example() -> Result<(), chat_bus_redis::RedisBusError> {
//! use chat_bus_redis::{RedisBus, RedisBusOptions};
//! let bus = RedisBus::connect("redis://127.0.0.1:6379", RedisBusOptions::default()).await?;
//! # drop(bus); Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod error;
pub mod metrics;
mod options;
mod presence;
mod rates;
mod subscriber;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chat_engine::{Bus, BusError, Envelope, Presence, Subscription, UserId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

pub use codec::{DecodeError, decode, decode_for, encode, encode_copy};
pub use error::RedisBusError;
pub use options::RedisBusOptions;
pub use presence::RedisPresence;
pub use rates::RedisRates;
/// The redis crate this adapter is built on.
pub use redis;

use subscriber::{Command, Shared};

/// One app node's connection to the Redis bus.
#[derive(Debug)]
pub struct RedisBus {
    shared: Arc<Shared>,
    publisher: ConnectionManager,
    commands: mpsc::Sender<Command>,
    next_probe: AtomicU64,
    task: tokio::task::JoinHandle<()>,
    presence: Arc<RedisPresence>,
}

/// Counters of one Redis bus node, since it connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisBusStats {
    /// Times the subscription connection was re-established.
    pub reconnects: u64,
    /// Publishes that failed.
    pub publish_failures: u64,
    /// Messages from Redis that did not decode (and were dropped).
    pub decode_errors: u64,
    /// Deliveries dropped because this node's subscription queue was full.
    pub dropped: u64,
    /// Keepalive pings of the subscription connection that Redis answered.
    pub pings_answered: u64,
}

impl RedisBus {
    /// Connects to `url` (`redis://host:6379`): a self-reconnecting
    /// connection for publishing and a pub/sub connection for this node.
    ///
    /// # Errors
    /// When Redis cannot be reached now.
    pub async fn connect(url: &str, options: RedisBusOptions) -> Result<Self, RedisBusError> {
        let client = redis::Client::open(url)?;
        let publisher = client
            .get_connection_manager_with_config(
                ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(options.timeout))
                    .set_response_timeout(Some(options.timeout))
                    .set_number_of_retries(1),
            )
            .await?;
        let shared = Arc::new(Shared::new(&options));
        let first = subscriber::open(&client, &shared).await?;
        let (commands, receiver) = mpsc::channel(1024);
        let task = tokio::spawn(subscriber::run(
            client,
            Arc::clone(&shared),
            receiver,
            first,
        ));
        let presence = Arc::new(RedisPresence::new(
            publisher.clone(),
            &shared.prefix,
            &shared.node,
        ));
        Ok(Self {
            presence,
            shared,
            publisher,
            commands,
            next_probe: AtomicU64::new(0),
            task,
        })
    }

    /// Write rates counted in this Redis for every node under the bus's
    /// prefix, on the bus's publishing connection: hand them to
    /// [`ChatServiceBuilder::shared_rates`](chat_engine::ChatServiceBuilder::shared_rates).
    #[must_use]
    pub fn rates(&self) -> RedisRates {
        RedisRates::new(self.publisher.clone(), &self.shared.prefix)
    }

    /// This node's counters.
    #[must_use]
    pub fn stats(&self) -> RedisBusStats {
        self.shared.stats()
    }

    async fn command(
        &self,
        make: impl FnOnce(oneshot::Sender<()>) -> Command,
    ) -> Result<(), BusError> {
        let (done, answer) = oneshot::channel();
        self.commands
            .send(make(done))
            .await
            .map_err(|_| BusError::from(RedisBusError::Closed))?;
        answer
            .await
            .map_err(|_| BusError::from(RedisBusError::Closed))
    }
}

impl RedisBus {
    /// Runs `pipe` on the publishing connection within the timeout. A
    /// connection found dropped (Redis restarted since the last call) is
    /// replaced by the connection manager, and the pipe is sent once more.
    async fn send(&self, pipe: &redis::Pipeline, what: &'static str) -> Result<(), RedisBusError> {
        let mut connection = self.publisher.clone();
        let mut retried = false;
        loop {
            let sent =
                tokio::time::timeout(self.shared.timeout, pipe.exec_async(&mut connection)).await;
            match sent {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error))
                    if !retried && (error.is_connection_dropped() || error.is_io_error()) =>
                {
                    retried = true;
                }
                Ok(Err(error)) => return Err(RedisBusError::Redis(error)),
                Err(_) => return Err(RedisBusError::Timeout(what)),
            }
        }
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        if envelope.recipients().is_empty() {
            return Ok(());
        }
        let bytes = codec::encode_copy(&envelope);
        let mut pipe = redis::pipe();
        for user in envelope.recipients() {
            pipe.publish(self.shared.user_channel(user), &bytes[..])
                .ignore();
        }
        self.send(&pipe, "a publish").await.map_err(|error| {
            self.shared.publish_failed();
            BusError::from(error)
        })
    }

    async fn watch(&self, user: &UserId) -> Result<(), BusError> {
        let user = user.clone();
        self.command(|done| Command::Watch(user, done)).await
    }

    async fn unwatch(&self, user: &UserId) -> Result<(), BusError> {
        let user = user.clone();
        self.command(|done| Command::Unwatch(user, done)).await
    }

    async fn subscribe(&self) -> Result<Subscription, BusError> {
        Ok(self.shared.subscribers.subscribe())
    }

    async fn health(&self) -> Result<(), BusError> {
        if !self.shared.is_subscribed() {
            return Err(RedisBusError::SubscriptionDown.into());
        }
        let token = self.next_probe.fetch_add(1, Ordering::Relaxed);
        let arrived = self.shared.expect_probe(token);
        let mut publish = redis::pipe();
        publish.publish(&self.shared.node_channel, token.to_be_bytes().as_slice());
        let round_trip = async {
            self.send(&publish, "the health probe").await?;
            arrived.await.map_err(|_| RedisBusError::Closed)
        };
        let result = tokio::time::timeout(self.shared.timeout, round_trip).await;
        self.shared.forget_probe(token);
        match result {
            Ok(outcome) => outcome.map_err(BusError::from),
            Err(_) => Err(RedisBusError::Timeout("the health probe").into()),
        }
    }

    /// This node's presence, kept in this Redis for every node under the
    /// bus's prefix, on the publishing connection.
    fn presence(&self) -> Option<Arc<dyn Presence>> {
        Some(Arc::clone(&self.presence) as Arc<dyn Presence>)
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
