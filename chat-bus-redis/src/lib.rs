//! A [`Bus`] over Redis pub/sub, so many app nodes share live events.
//!
//! - **One publish per node**: each node subscribes to one channel of its
//!   own (`{prefix}n:{node}`) and keeps, in Redis, the set of nodes watching
//!   each user (`routes`). A publish reads the nodes watching any of the
//!   event's recipients (one `SUNION`), then publishes the event once to
//!   each of them (a second round trip): a message to N members on K
//!   nodes is K `PUBLISH`es and K decodes; each node delivers to the
//!   recipients connected to it. The publishing node's own copy skips
//!   Redis: it goes to the node's subscribers at once (on one node, a
//!   publish is one round trip). A watch returns once its route is written, so every event
//!   published after it reaches the node; a dead node's routes are swept
//!   within a deadline (three route intervals) and an interval.
//! - **Once per recipient**: each copy names each recipient once, and a
//!   node delivers it to each of their connections there once.
//! - **Restarts**: a dedicated subscription connection is watched by pings;
//!   when it drops, it reconnects with backoff, puts the node's routes back
//!   (Redis may have forgotten them), and then reports
//!   [`Delivery::Gap`] so every live client
//!   resumes from the store. A renewal that finds the node's routes gone
//!   does the same. Publishing goes through a
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

mod cluster;
mod codec;
mod error;
pub mod metrics;
mod options;
mod presence;
mod publisher;
mod rates;
mod routes;
mod shared;
mod subscriber;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use chat_engine::{Bus, BusError, Delivery, Envelope, Presence, Subscription, UserId};
use redis::aio::ConnectionManagerConfig;

pub use codec::{DecodeError, decode, encode};
pub use error::RedisBusError;
pub use options::RedisBusOptions;
pub use presence::RedisPresence;
pub use rates::RedisRates;
/// The redis crate this adapter is built on.
pub use redis;

use publisher::{Link, Publisher};
use routes::Routes;
use shared::Shared;

/// One app node's connection to the Redis bus.
#[derive(Debug)]
pub struct RedisBus {
    shared: Arc<Shared>,
    publisher: Publisher,
    routes: Arc<Routes>,
    /// The subscription's and the routes' renewal: aborted with the bus.
    tasks: [tokio::task::JoinHandle<()>; 2],
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
    /// connection for commands and a pub/sub connection for this node.
    ///
    /// # Errors
    /// When Redis cannot be reached now.
    pub async fn connect(url: &str, options: RedisBusOptions) -> Result<Self, RedisBusError> {
        let client = redis::Client::open(url)?;
        let connection = client
            .get_connection_manager_with_config(
                ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(options.timeout))
                    .set_response_timeout(Some(options.timeout))
                    .set_number_of_retries(1),
            )
            .await?;
        let (publisher, shared, routes) = Self::prepare(Link::Single(connection), &options).await?;
        let first = subscriber::open(&client, &shared).await?;
        let subscription = tokio::spawn(subscriber::run(
            client,
            Arc::clone(&shared),
            Arc::clone(&routes),
            publisher.clone(),
            first,
        ));
        Ok(Self::assemble(publisher, shared, routes, subscription))
    }

    /// Connects to the Redis Cluster that `nodes` (seed URLs, e.g.
    /// `redis://127.0.0.1:7000`) belong to, with sharded pub/sub
    /// (`SSUBSCRIBE`, `SPUBLISH`: Redis 7 or later): this node's channel is
    /// held by one shard, and a publish goes to the shards of the nodes it
    /// is for, not to every server of the cluster.
    ///
    /// # Errors
    /// When the cluster cannot be reached now.
    pub async fn connect_cluster(
        nodes: &[&str],
        options: RedisBusOptions,
    ) -> Result<Self, RedisBusError> {
        let (mut connection, pushes) = cluster::connect(nodes, &options).await?;
        let (publisher, shared, routes) =
            Self::prepare(cluster::link(&connection), &options).await?;
        cluster::subscribe(&mut connection, &shared).await?;
        let subscription = tokio::spawn(cluster::listen(
            pushes,
            connection,
            Arc::clone(&shared),
            Arc::clone(&routes),
            publisher.clone(),
        ));
        Ok(Self::assemble(publisher, shared, routes, subscription))
    }

    /// The node's state, with its entry in the routing table written
    /// before anything can be routed to it.
    async fn prepare(
        link: Link,
        options: &RedisBusOptions,
    ) -> Result<(Publisher, Arc<Shared>, Arc<Routes>), RedisBusError> {
        let publisher = Publisher::new(link, options.timeout);
        let shared = Arc::new(Shared::new(options));
        let routes = Arc::new(Routes::new(
            &shared.prefix,
            &shared.node,
            options.route_interval,
        ));
        routes.renew(&publisher).await?;
        Ok((publisher, shared, routes))
    }

    fn assemble(
        publisher: Publisher,
        shared: Arc<Shared>,
        routes: Arc<Routes>,
        subscription: tokio::task::JoinHandle<()>,
    ) -> Self {
        let renewal = tokio::spawn(routes::keep(
            Arc::clone(&routes),
            publisher.clone(),
            Arc::clone(&shared),
        ));
        let presence = Arc::new(RedisPresence::new(
            publisher.link(),
            &shared.prefix,
            &shared.node,
        ));
        Self {
            presence,
            shared,
            publisher,
            routes,
            tasks: [subscription, renewal],
        }
    }

    /// Write rates counted in this Redis for every node under the bus's
    /// prefix, on the bus's publishing connection: hand them to
    /// [`ChatServiceBuilder::shared_rates`](chat_engine::ChatServiceBuilder::shared_rates).
    #[must_use]
    pub fn rates(&self) -> RedisRates {
        RedisRates::new(self.publisher.link(), &self.shared.prefix)
    }

    /// This node's counters.
    #[must_use]
    pub fn stats(&self) -> RedisBusStats {
        self.shared.stats()
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        if envelope.recipients().is_empty() {
            return Ok(());
        }
        let failed = |error| {
            self.shared.publish_failed();
            BusError::from(error)
        };
        let nodes = self
            .routes
            .nodes_of(&self.publisher, &envelope)
            .await
            .map_err(failed)?;
        // This node's own copy is handed to its subscribers here: no
        // PUBLISH to itself, no read and decode of it from Redis.
        let (here, elsewhere): (Vec<&String>, Vec<&String>) = nodes
            .iter()
            .partition(|node| self.routes.is_this_node(node));
        let copies: Vec<_> = if elsewhere.is_empty() {
            Vec::new()
        } else {
            let encoded = codec::encode(&envelope);
            elsewhere
                .into_iter()
                .map(|node| (self.routes.node_channel(node), encoded.clone()))
                .collect()
        };
        if !here.is_empty() {
            self.shared.subscribers.deliver(&Delivery::Event(envelope));
        }
        if copies.is_empty() {
            return Ok(());
        }
        self.publisher
            .publish(&copies, "a publish")
            .await
            .map_err(failed)
    }

    /// Returns once the route is in Redis; when Redis cannot take it now,
    /// the route is written by the next renewal, followed by a gap.
    async fn watch(&self, user: &UserId) -> Result<(), BusError> {
        self.routes.change(&self.publisher, user, true).await;
        Ok(())
    }

    async fn unwatch(&self, user: &UserId) -> Result<(), BusError> {
        self.routes.change(&self.publisher, user, false).await;
        Ok(())
    }

    async fn subscribe(&self) -> Result<Subscription, BusError> {
        Ok(self.shared.subscribers.subscribe())
    }

    async fn health(&self) -> Result<(), BusError> {
        if !self.shared.is_subscribed() {
            return Err(RedisBusError::SubscriptionDown.into());
        }
        self.shared
            .probe(&self.publisher)
            .await
            .map_err(BusError::from)
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
