//! The node-local hub: the live connections of the users on this node (several
//! per user, one per device) and the delivery of bus events to them.
//!
//! Why it is shaped this way:
//! - An event arrives as an [`Envelope`] whose bytes were encoded once; each
//!   connection's queue slot gets a clone of the envelope (one reference-count
//!   increment), never a copy of the bytes.
//! - Users are spread over shards, each behind its own `std::sync::RwLock`
//!   taken only for synchronous work (never across an `.await`), so delivery
//!   to one user never waits on connects and disconnects of unrelated users.
//! - Each connection has a bounded queue. When it is full the event is not
//!   queued but remembered as a gap (first missed seq per conversation) and
//!   announced in one `gap` event once the queue drains; a queue that stays
//!   full past [`ChatConfig::stuck_timeout`] closes the connection. Memory
//!   stays bounded and every drop is counted in [`HubStats`].
//! - Watching users on the bus is done by one task that reconciles "has a
//!   connection here" with "is watched", so a quick disconnect/reconnect can
//!   never leave a connected user unwatched.

mod connection;
mod stats;
mod watch;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use connection::{CloseReason, Connection, Gap, Outbound};
pub use stats::HubStats;

use crate::bus::{Bus, Delivery, Envelope, Subscription};
use crate::config::ChatConfig;
use crate::error::BusError;
use crate::ids::UserId;
use connection::Shared;
use stats::Counters;
use watch::WatchRequest;

/// Shards of the user map; a power of two well above the core count.
const SHARDS: usize = 32;

type Shard = RwLock<HashMap<UserId, Vec<Arc<Shared>>>>;

/// Live connections of this node, fed by the bus.
///
/// Cheap to clone; the background tasks stop (and every connection is closed
/// with [`CloseReason::Shutdown`]) when the last clone is dropped.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
    _tasks: Arc<Tasks>,
}

pub(crate) struct HubInner {
    shards: Box<[Shard]>,
    hasher: std::hash::RandomState,
    queue: usize,
    stuck_timeout: Duration,
    counters: Counters,
    /// Requests to reconcile a user's bus watch with their connections here.
    /// Unbounded, but each entry is owed to one connect or disconnect.
    watch_requests: mpsc::UnboundedSender<WatchRequest>,
}

/// Aborts the hub's tasks when the last [`Hub`] clone goes.
struct Tasks {
    inner: Arc<HubInner>,
    handles: Vec<JoinHandle<()>>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for handle in &self.handles {
            handle.abort();
        }
        self.inner.close_all(CloseReason::Shutdown);
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("stats", &self.stats()).finish()
    }
}

impl Hub {
    /// Subscribes to `bus` and starts delivering its events to the
    /// connections made with [`Hub::connect`]. Needs a tokio runtime.
    ///
    /// # Errors
    /// The bus's error when it cannot subscribe.
    pub async fn start(bus: Arc<dyn Bus>, config: &ChatConfig) -> Result<Self, BusError> {
        let subscription = bus.subscribe().await?;
        let (watch_requests, watch_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(HubInner {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: std::hash::RandomState::new(),
            queue: config.connection_queue.max(1),
            stuck_timeout: config.stuck_timeout,
            counters: Counters::default(),
            watch_requests,
        });
        let pump = tokio::spawn(pump(Arc::clone(&inner), subscription));
        let watcher = tokio::spawn(watch::reconcile(Arc::downgrade(&inner), bus, watch_rx));
        Ok(Self {
            _tasks: Arc::new(Tasks {
                inner: Arc::clone(&inner),
                handles: vec![pump, watcher],
            }),
            inner,
        })
    }

    /// Registers a live connection of `user` and makes sure the bus routes
    /// the user's events to this node before returning.
    ///
    /// # Errors
    /// The bus's error when it cannot watch the user; the connection is then
    /// not registered.
    pub async fn connect(&self, user: UserId) -> Result<Connection, BusError> {
        let connection = self.inner.register(user.clone());
        let (done, answer) = oneshot::channel();
        let request = WatchRequest {
            user,
            done: Some(done),
        };
        if self.inner.watch_requests.send(request).is_err() {
            return Err(BusError::Closed);
        }
        match answer.await {
            Ok(Ok(())) => Ok(connection),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(BusError::Closed),
        }
    }

    /// Delivers `envelope` to the live connections of its recipients on this
    /// node. The bus pump calls this for every event; it is public for
    /// benchmarks and for hosts that feed a hub themselves.
    pub fn deliver(&self, envelope: &Envelope) {
        self.inner.deliver(envelope);
    }

    /// Counters and gauges of this hub.
    #[must_use]
    pub fn stats(&self) -> HubStats {
        self.inner.counters.snapshot()
    }

    /// Closes every live connection with [`CloseReason::Shutdown`] (for a
    /// graceful shutdown: transports then close their sockets with "going
    /// away"). Connections made afterwards are not affected.
    pub fn close_all(&self) {
        self.inner.close_all(CloseReason::Shutdown);
    }

    /// Whether `user` has at least one live connection on this node.
    #[must_use]
    pub fn is_connected(&self, user: &UserId) -> bool {
        self.inner.is_connected(user)
    }
}

/// Moves deliveries from the bus subscription into connection queues.
async fn pump(inner: Arc<HubInner>, mut subscription: Subscription) {
    while let Some(delivery) = subscription.recv().await {
        match delivery {
            Delivery::Event(envelope) => inner.deliver(&envelope),
            Delivery::Gap => inner.gap_everywhere(),
        }
    }
    tracing::error!("bus subscription ended; closing live connections so clients reconnect");
    inner.close_all(CloseReason::Shutdown);
}

impl HubInner {
    fn shard(&self, user: &str) -> &Shard {
        let hash = self.hasher.hash_one(user);
        &self.shards[usize::from(hash.to_le_bytes()[0]) % SHARDS]
    }

    fn register(self: &Arc<Self>, user: UserId) -> Connection {
        let (shared, receiver) = Shared::new(user.clone(), self.queue);
        self.shard(user.as_str())
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(user)
            .or_default()
            .push(Arc::clone(&shared));
        self.counters.connected();
        Connection::new(Arc::clone(self), shared, receiver)
    }

    /// Removes a connection; when it was the user's last one here, asks the
    /// watcher to stop routing the user's events to this node.
    fn unregister(&self, shared: &Arc<Shared>) {
        let user = shared.user();
        let mut shard = self
            .shard(user.as_str())
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(list) = shard.get_mut(user.as_str()) else {
            return;
        };
        let before = list.len();
        list.retain(|other| !Arc::ptr_eq(other, shared));
        if list.len() == before {
            return;
        }
        let last = list.is_empty();
        if last {
            shard.remove(user.as_str());
        }
        drop(shard);
        self.counters.disconnected();
        if last {
            // The watcher may be gone at shutdown; nothing is left to unwatch then.
            let _ = self.watch_requests.send(WatchRequest {
                user: user.clone(),
                done: None,
            });
        }
    }

    fn is_connected(&self, user: &UserId) -> bool {
        self.shard(user.as_str())
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(user.as_str())
    }

    fn deliver(&self, envelope: &Envelope) {
        let mut delivered = 0;
        for user in envelope.recipients() {
            let shard = self
                .shard(user.as_str())
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(connections) = shard.get(user.as_str()) {
                for connection in connections {
                    if connection.offer(envelope, self.stuck_timeout, &self.counters) {
                        delivered += 1;
                    }
                }
            }
        }
        self.counters.delivered(delivered);
    }

    fn for_each_connection(&self, mut action: impl FnMut(&Arc<Shared>)) {
        for shard in &self.shards {
            let shard = shard.read().unwrap_or_else(PoisonError::into_inner);
            shard.values().flatten().for_each(&mut action);
        }
    }

    /// The bus lost events: every connection must resume everything.
    fn gap_everywhere(&self) {
        self.counters.bus_gap();
        self.for_each_connection(|connection| connection.gap_all());
    }

    fn close_all(&self, reason: CloseReason) {
        self.for_each_connection(|connection| connection.close(reason));
    }
}

#[cfg(test)]
mod tests;
