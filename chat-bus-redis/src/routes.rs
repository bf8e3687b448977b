//! Which nodes watch which users, kept in Redis, so that a publisher sends
//! one copy of an event per node instead of one per recipient: a message to
//! N members on K nodes is one route read answered with K node ids, K
//! publishes and K decodes, not N. Each copy names every recipient, and a
//! node delivers to those connected to it: narrowing the copies per node
//! meant reading each recipient's set of nodes (N replies to parse, the
//! publisher's largest cost in a group of 20) to save bytes on the wire.
//!
//! Keys, all sharing the hash tag `{<prefix>routes}` (so that one pipeline
//! reads or writes any of them, on a Redis Cluster too: they live in one
//! slot; the copies themselves go to the nodes' channels, spread over the
//! cluster):
//! - `…:r:<user>`: a set of the nodes watching the user (what a publisher reads);
//! - `…:nu:<node>`: a set of the users a node watches (what a sweeper removes);
//! - `…:nodes`: a sorted set of node ids by deadline (milliseconds since the
//!   epoch), renewed by each live node every [`RedisBusOptions::route_interval`](crate::RedisBusOptions::route_interval).
//!
//! **The race a watch must win**: a watch returns only once the node's
//! route is in Redis, and a publish reads the routes after it starts, so
//! every event published after a watch returned reaches the node. An event
//! published before is in the store, committed before its publish, and the
//! connection's resume reads it there.
//!
//! **A node that dies** stops renewing its deadline; the first live node's
//! renewal to see it expired removes its routes, then its entry: none
//! outlive it by more than a deadline and an interval (until then its
//! channel still gets copies, which nobody reads).
//!
//! **A node that comes back** (Redis restarted and forgot everything, the
//! node was swept during an outage, or a watch could not be written) puts
//! every route of its users back, then reports a gap, so its clients
//! resume from the store what was published while it was not routed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chat_engine::{Delivery, Envelope, UserId, time};

use crate::error::RedisBusError;
use crate::publisher::Publisher;
use crate::shared::Shared;

/// Users written to Redis per pipeline when routes are put back or swept.
const SLICE: usize = 500;

/// One node's side of the routing table.
#[derive(Debug)]
pub(crate) struct Routes {
    /// The channels' prefix (the bus's).
    prefix: String,
    /// The start of every key: the hash tag.
    base: String,
    node: String,
    nodes_key: String,
    node_users_key: String,
    /// Renewal period; a node's deadline is three of them ahead.
    interval: Duration,
    /// Users this node watches: the routes it puts back after a loss.
    watched: RwLock<HashSet<UserId>>,
    /// A route change failed: put every route back (and report a gap) at the next renewal.
    dirty: AtomicBool,
}

impl Routes {
    pub(crate) fn new(prefix: &str, node: &str, interval: Duration) -> Self {
        let base = format!("{{{prefix}routes}}");
        Self {
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            nodes_key: format!("{base}:nodes"),
            node_users_key: format!("{base}:nu:{node}"),
            base,
            interval,
            watched: RwLock::default(),
            dirty: AtomicBool::new(false),
        }
    }

    /// The channel of `node`, where its copies and probes arrive.
    pub(crate) fn node_channel(&self, node: &str) -> String {
        format!("{}n:{node}", self.prefix)
    }

    /// Whether `node` is this node.
    pub(crate) fn is_this_node(&self, node: &str) -> bool {
        node == self.node
    }

    fn route_key(&self, user: &str) -> String {
        format!("{}:r:{user}", self.base)
    }

    fn users_of(&self, node: &str) -> String {
        format!("{}:nu:{node}", self.base)
    }

    /// The renewal period.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }

    fn deadline(&self) -> i64 {
        let ahead = i64::try_from(self.interval.as_millis() * 3).unwrap_or(i64::MAX);
        now_millis().saturating_add(ahead)
    }

    /// Routes `user`'s events to this node (or stops, with `watch` false);
    /// returns once Redis holds the change. On failure the change is kept
    /// here and written by the next renewal, followed by a gap.
    pub(crate) async fn change(&self, publisher: &Publisher, user: &UserId, watch: bool) {
        {
            let mut watched = self.watched.write().unwrap_or_else(PoisonError::into_inner);
            if watch {
                watched.insert(user.clone());
            } else {
                watched.remove(user);
            }
        }
        let mut pipe = redis::pipe();
        if watch {
            pipe.sadd(self.route_key(user.as_str()), &self.node)
                .ignore();
            pipe.sadd(&self.node_users_key, user.as_str()).ignore();
        } else {
            pipe.srem(self.route_key(user.as_str()), &self.node)
                .ignore();
            pipe.srem(&self.node_users_key, user.as_str()).ignore();
        }
        if let Err(error) = publisher.exec(&pipe, "a route change").await {
            self.dirty.store(true, Relaxed);
            tracing::warn!(user = %user, watch, error = %error, "route change failed; the next renewal writes it");
        }
    }

    /// The nodes watching any recipient of `envelope`: one `SUNION` of
    /// their routes, so Redis answers with K node ids, not N sets.
    ///
    /// A node past its deadline is not left out: it may be one that just
    /// put its routes back (it reported its gap then), and copies to a node
    /// that is gone cost a publish nobody reads until its routes are swept.
    ///
    /// # Errors
    /// When Redis does not answer.
    pub(crate) async fn nodes_of(
        &self,
        publisher: &Publisher,
        envelope: &Envelope,
    ) -> Result<Vec<String>, RedisBusError> {
        let mut lookup = redis::pipe();
        let keys: Vec<String> = envelope
            .recipients()
            .iter()
            .map(|user| self.route_key(user.as_str()))
            .collect();
        lookup.sunion(keys);
        let (nodes,): (Vec<String>,) = publisher.query(&lookup, "a route lookup").await?;
        Ok(nodes)
    }

    /// One renewal: this node's deadline moved on, the others' read, an
    /// expired one swept. Returns whether this node's routes were put back
    /// (Redis had lost them, or a change had failed): then events may have
    /// been published past this node, and its clients must resume.
    ///
    /// # Errors
    /// When Redis does not answer.
    pub(crate) async fn renew(&self, publisher: &Publisher) -> Result<bool, RedisBusError> {
        let mut pipe = redis::pipe();
        pipe.zadd(&self.nodes_key, &self.node, self.deadline());
        pipe.zrange_withscores(&self.nodes_key, 0, -1);
        // Scores are doubles (exact for milliseconds since the epoch).
        let (added, deadlines): (usize, Vec<(String, f64)>) =
            publisher.query(&pipe, "a route renewal").await?;
        // Added anew: Redis forgot this node (a restart), or a sweeper took
        // it. Its routes go back first: a sweep that fails must not leave
        // them out (the next renewal's ZADD would not say "added" again).
        let lost = added == 1 || self.dirty.swap(false, Relaxed);
        if lost {
            self.put_back(publisher).await?;
        }
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 ms
        let now = now_millis() as f64;
        for (node, deadline) in deadlines {
            if deadline <= now && node != self.node {
                self.sweep(publisher, &node).await?;
            }
        }
        Ok(lost)
    }

    /// Writes every route of this node again (after Redis lost them). On
    /// failure the next renewal tries again.
    ///
    /// # Errors
    /// When Redis does not answer.
    pub(crate) async fn put_back(&self, publisher: &Publisher) -> Result<(), RedisBusError> {
        let written = self.write_back(publisher).await;
        if written.is_err() {
            self.dirty.store(true, Relaxed);
        }
        written
    }

    async fn write_back(&self, publisher: &Publisher) -> Result<(), RedisBusError> {
        let users: Vec<UserId> = self
            .watched
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let mut pipe = redis::pipe();
        pipe.zadd(&self.nodes_key, &self.node, self.deadline())
            .ignore();
        publisher.exec(&pipe, "a route renewal").await?;
        for slice in users.chunks(SLICE) {
            let mut pipe = redis::pipe();
            for user in slice {
                pipe.sadd(self.route_key(user.as_str()), &self.node)
                    .ignore();
            }
            pipe.sadd(
                &self.node_users_key,
                slice.iter().map(UserId::as_str).collect::<Vec<_>>(),
            )
            .ignore();
            publisher.exec(&pipe, "putting routes back").await?;
        }
        Ok(())
    }

    /// Removes every route of `node`. Several nodes may sweep one node at
    /// once (each removal is idempotent); its entry goes last, so a sweep
    /// cut short is done again by the next renewal.
    async fn sweep(&self, publisher: &Publisher, node: &str) -> Result<(), RedisBusError> {
        let mut read = redis::pipe();
        read.smembers(self.users_of(node));
        let (users,): (Vec<String>,) = publisher.query(&read, "a route sweep").await?;
        for slice in users.chunks(SLICE) {
            let mut pipe = redis::pipe();
            for user in slice {
                pipe.srem(self.route_key(user), node).ignore();
            }
            publisher.exec(&pipe, "a route sweep").await?;
        }
        let mut forget = redis::pipe();
        forget.del(self.users_of(node)).ignore();
        forget.zrem(&self.nodes_key, node);
        let (removed,): (usize,) = publisher.query(&forget, "a route sweep").await?;
        if removed == 1 {
            tracing::info!(
                node,
                users = users.len(),
                "swept the routes of a node past its deadline"
            );
        }
        Ok(())
    }
}

/// Milliseconds since the epoch on this node's clock.
fn now_millis() -> i64 {
    time::to_millis(time::now())
}

/// Renews this node's routes every interval for the life of the bus. A
/// renewal that had to put them back reports a gap: events may have been
/// published past this node meanwhile.
pub(crate) async fn keep(routes: Arc<Routes>, publisher: Publisher, shared: Arc<Shared>) {
    let start = tokio::time::Instant::now() + routes.interval();
    let mut tick = tokio::time::interval_at(start, routes.interval());
    loop {
        tick.tick().await;
        match routes.renew(&publisher).await {
            Ok(true) => {
                tracing::info!("redis routes put back; clients resume from the store");
                shared.subscribers.deliver(&Delivery::Gap);
            }
            Ok(false) => {}
            Err(error) => {
                static LOG: chat_engine::LogThrottle =
                    chat_engine::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(error = %error, suppressed, "redis route renewal failed");
                }
            }
        }
    }
}

/// A subscription is back after a loss: the node's routes go back first
/// (Redis may have restarted and forgotten them), so that what its clients
/// resume after the gap is followed by what is live; then the gap.
pub(crate) async fn resubscribed(shared: &Shared, routes: &Routes, publisher: &Publisher) {
    shared.reconnected();
    if let Err(error) = routes.put_back(publisher).await {
        tracing::warn!(error = %error, "routes not put back yet; the next renewal will");
    }
    shared.subscribers.deliver(&Delivery::Gap);
    tracing::info!("redis subscription re-established; clients resume from the store");
}
