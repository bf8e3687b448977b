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
//!   Each user id is hashed once per delivery (the hash picks the shard and
//!   finds the user), and an event for many recipients takes each shard's
//!   lock once.
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

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use connection::{CloseReason, Connection, Outbound};
pub use stats::HubStats;

use crate::bus::{Bus, Delivery, Envelope, EventKind, Subscription};
use crate::config::ChatConfig;
use crate::error::{BusError, ChatError};
use crate::ids::UserId;
use connection::Shared;
use stats::Counters;
use watch::WatchRequest;

/// Shards of the user map; a power of two well above the core count.
const SHARDS: usize = 32;
/// A hash's top bits pick its shard.
const SHARD_SHIFT: u32 = 64 - SHARDS.trailing_zeros();
/// Between these recipient counts, delivery groups recipients by shard (one
/// lock per shard). Below, grouping costs more than it saves; above, visiting
/// connections in shard order instead of registration order misses the cache
/// more than the saved locks gain (measured in the fan-out bench).
const GROUPED: std::ops::RangeInclusive<usize> = 9..=2_048;

/// One user's live connections on this node.
#[derive(Debug)]
struct UserEntry {
    user: UserId,
    connections: Vec<Arc<Shared>>,
}

type Shard = RwLock<HashTable<UserEntry>>;

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
    /// foldhash with a per-hub random seed: fast on short ids, and the seed
    /// keeps colliding ids from being chosen in advance.
    hasher: DefaultHashBuilder,
    queue: usize,
    max_per_user: usize,
    stuck_timeout: Duration,
    counters: Counters,
    /// Set by [`Hub::close_all`]: registrations are refused from then on.
    closing: AtomicBool,
    /// Woken whenever a connection registers or unregisters (see [`Hub::until`]).
    changed: tokio::sync::Notify,
    /// Requests to reconcile a user's bus watch with their connections here.
    /// Unbounded, but each entry is owed to one connect or disconnect.
    watch_requests: mpsc::UnboundedSender<WatchRequest>,
    /// Told each user whose connections here changed, once the watcher has
    /// handled it: the presence tracker's input.
    presence_changes: OnceLock<mpsc::UnboundedSender<UserId>>,
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
            hasher: DefaultHashBuilder::default(),
            queue: config.connection_queue.max(1),
            max_per_user: config.max_connections_per_user.max(1),
            stuck_timeout: config.stuck_timeout,
            counters: Counters::default(),
            closing: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            watch_requests,
            presence_changes: OnceLock::new(),
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
    /// [`ChatError::TooManyConnections`] when `user` already holds
    /// [`ChatConfig::max_connections_per_user`] here; [`ChatError::Unavailable`]
    /// when the bus cannot watch the user. The connection is then not registered.
    pub async fn connect(&self, user: UserId) -> Result<Connection, ChatError> {
        let connection = self.inner.register(user.clone())?;
        let (done, answer) = oneshot::channel();
        let request = WatchRequest {
            user,
            done: Some(done),
        };
        if self.inner.watch_requests.send(request).is_err() {
            return Err(BusError::Closed.into());
        }
        match answer.await {
            Ok(Ok(())) => Ok(connection),
            Ok(Err(error)) => Err(error.into()),
            Err(_) => Err(BusError::Closed.into()),
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

    /// Closes every live connection with [`CloseReason::Shutdown`] and
    /// refuses new ones with [`ChatError::Unavailable`], for a graceful
    /// shutdown: transports close their sockets with "going away", and a
    /// socket upgraded a moment too late is told to retry elsewhere.
    pub fn close_all(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.close_all(CloseReason::Shutdown);
    }

    /// Whether `user` has at least one live connection on this node.
    #[must_use]
    pub fn is_connected(&self, user: &UserId) -> bool {
        self.inner.is_connected(user)
    }

    /// The users whose connections here change, from now on (for the one
    /// presence tracker of this node).
    pub(crate) fn presence_changes(&self) -> mpsc::UnboundedReceiver<UserId> {
        let (sender, receiver) = mpsc::unbounded_channel();
        assert!(
            self.inner.presence_changes.set(sender).is_ok(),
            "one presence tracker per hub"
        );
        receiver
    }

    /// How many live connections `user` has on this node.
    #[must_use]
    pub fn connections_of(&self, user: &UserId) -> usize {
        self.inner.connections_of(user)
    }

    /// Resolves once no connection is registered: after [`Hub::close_all`],
    /// when every transport has finished what it was doing (a send in
    /// flight is answered) and dropped its connection. A graceful shutdown
    /// awaits it before the runtime, and the store's writers, go away.
    pub async fn drained(&self) {
        self.until(|hub| hub.stats().connections == 0).await;
    }

    /// Resolves once `condition` holds, checked now and again each time a
    /// connection registers or unregisters: how a test, or a host's
    /// shutdown, waits for the hub's state without polling.
    ///
    /// ```
    /// # async fn example(hub: chat_engine::Hub, alice: chat_engine::UserId) {
    /// hub.until(|hub| !hub.is_connected(&alice)).await;
    /// # }
    /// ```
    pub async fn until(&self, condition: impl Fn(&Hub) -> bool) {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if condition(self) {
                return;
            }
            notified.await;
        }
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
    /// One hash per user id: it picks the shard (top bits) and finds the
    /// user in the shard's table, so a lookup hashes once.
    fn hash(&self, user: &str) -> u64 {
        self.hasher.hash_one(user)
    }

    fn shard(&self, hash: u64) -> &Shard {
        &self.shards[usize::try_from(hash >> SHARD_SHIFT).unwrap_or(0)]
    }

    fn register(self: &Arc<Self>, user: UserId) -> Result<Connection, ChatError> {
        let (shared, receiver) = Shared::new(user.clone(), self.queue);
        let hash = self.hash(user.as_str());
        let mut shard = self
            .shard(hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Checked under the shard's lock: `close_all` either sees this
        // connection when it walks the shards, or this sees its flag.
        if self.closing.load(Ordering::SeqCst) {
            return Err(ChatError::Unavailable("the server is shutting down".into()));
        }
        let rehash = |entry: &UserEntry| self.hash(entry.user.as_str());
        let first = match shard.entry(hash, |entry| entry.user == user, rehash) {
            Entry::Occupied(mut occupied) => {
                let connections = &mut occupied.get_mut().connections;
                if connections.len() >= self.max_per_user {
                    return Err(ChatError::TooManyConnections {
                        limit: self.max_per_user,
                    });
                }
                connections.push(Arc::clone(&shared));
                false
            }
            Entry::Vacant(vacant) => {
                vacant.insert(UserEntry {
                    user,
                    connections: vec![Arc::clone(&shared)],
                });
                true
            }
        };
        drop(shard);
        self.counters.connected();
        if first {
            self.counters.user_added();
        }
        self.changed.notify_waiters();
        Ok(Connection::new(Arc::clone(self), shared, receiver))
    }

    /// Removes a connection; when it was the user's last one here, asks the
    /// watcher to stop routing the user's events to this node.
    fn unregister(&self, shared: &Arc<Shared>) {
        let user = shared.user();
        let hash = self.hash(user.as_str());
        let mut shard = self
            .shard(hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Ok(mut entry) = shard.find_entry(hash, |entry| entry.user == *user) else {
            return;
        };
        let list = &mut entry.get_mut().connections;
        let before = list.len();
        list.retain(|other| !Arc::ptr_eq(other, shared));
        if list.len() == before {
            return;
        }
        let last = list.is_empty();
        if last {
            entry.remove();
        }
        drop(shard);
        self.counters.disconnected();
        if last {
            self.counters.user_removed();
            // The watcher may be gone at shutdown; nothing is left to unwatch then.
            let _ = self.watch_requests.send(WatchRequest {
                user: user.clone(),
                done: None,
            });
        }
        self.changed.notify_waiters();
    }

    fn is_connected(&self, user: &UserId) -> bool {
        self.connections_of(user) > 0
    }

    fn connections_of(&self, user: &UserId) -> usize {
        let hash = self.hash(user.as_str());
        self.shard(hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .find(hash, |entry| entry.user == *user)
            .map_or(0, |entry| entry.connections.len())
    }

    fn deliver(&self, envelope: &Envelope) {
        let recipients = envelope.recipients();
        if *envelope.kind() == EventKind::SignedOut {
            for user in recipients {
                self.close_user(user, CloseReason::SignedOut);
            }
            return;
        }
        let started = std::time::Instant::now();
        let delivered = if !GROUPED.contains(&recipients.len()) {
            recipients
                .iter()
                .map(|user| {
                    let hash = self.hash(user.as_str());
                    let shard = self
                        .shard(hash)
                        .read()
                        .unwrap_or_else(PoisonError::into_inner);
                    self.offer(&shard, hash, user, envelope)
                })
                .sum()
        } else {
            self.deliver_grouped(recipients, envelope)
        };
        ::metrics::histogram!(crate::metrics::FANOUT_SECONDS).record(started.elapsed());
        self.counters.delivered(delivered);
    }

    /// Many recipients: sort them by shard (counting sort), then take each
    /// shard's lock once for all of its recipients.
    fn deliver_grouped(&self, recipients: &[UserId], envelope: &Envelope) -> u64 {
        let hashes: Vec<u64> = recipients
            .iter()
            .map(|user| self.hash(user.as_str()))
            .collect();
        let mut starts = [0_usize; SHARDS + 1];
        for hash in &hashes {
            starts[usize::try_from(hash >> SHARD_SHIFT).unwrap_or(0) + 1] += 1;
        }
        for shard in 0..SHARDS {
            starts[shard + 1] += starts[shard];
        }
        let mut next = starts;
        let mut order = vec![0_usize; recipients.len()];
        for (index, hash) in hashes.iter().enumerate() {
            let shard = usize::try_from(hash >> SHARD_SHIFT).unwrap_or(0);
            order[next[shard]] = index;
            next[shard] += 1;
        }
        let mut delivered = 0;
        for shard in 0..SHARDS {
            let members = &order[starts[shard]..starts[shard + 1]];
            if members.is_empty() {
                continue;
            }
            let table = self.shards[shard]
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            for &index in members {
                delivered += self.offer(&table, hashes[index], &recipients[index], envelope);
            }
        }
        delivered
    }

    /// Offers `envelope` to every connection of `user` in `table`; returns
    /// how many queued it.
    fn offer(
        &self,
        table: &HashTable<UserEntry>,
        hash: u64,
        user: &UserId,
        envelope: &Envelope,
    ) -> u64 {
        table
            .find(hash, |entry| entry.user == *user)
            .map_or(0, |entry| {
                entry
                    .connections
                    .iter()
                    .filter(|connection| {
                        connection.offer(envelope, self.stuck_timeout, &self.counters)
                    })
                    .count() as u64
            })
    }

    fn close_user(&self, user: &UserId, reason: CloseReason) {
        let hash = self.hash(user.as_str());
        let shard = self
            .shard(hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = shard.find(hash, |entry| entry.user == *user) {
            entry
                .connections
                .iter()
                .for_each(|connection| connection.close(reason));
        }
    }

    fn for_each_connection(&self, mut action: impl FnMut(&Arc<Shared>)) {
        for shard in &self.shards {
            let shard = shard.read().unwrap_or_else(PoisonError::into_inner);
            shard
                .iter()
                .flat_map(|entry| &entry.connections)
                .for_each(&mut action);
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
