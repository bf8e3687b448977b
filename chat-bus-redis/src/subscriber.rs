//! The node's subscription connection: one task owns it, applies watch and
//! unwatch commands in order, pings it, and when it dies reconnects with
//! backoff, re-subscribes every watched user, then reports a gap. A second
//! task reads the message stream, so a slow subscribe never blocks reading.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use chat_engine::{Delivery, SubscriberSet, UserId};
use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::timeout;

use crate::RedisBusStats;
use crate::codec;
use crate::error::RedisBusError;
use crate::options::RedisBusOptions;

/// Requests to the subscription task; answered once applied.
#[derive(Debug)]
pub(crate) enum Command {
    Watch(UserId, oneshot::Sender<()>),
    Unwatch(UserId, oneshot::Sender<()>),
}

/// State shared by the bus handle, the subscription task and the reader.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) prefix: String,
    pub(crate) node_channel: String,
    /// This node's id: unique per connection of a bus.
    pub(crate) node: String,
    pub(crate) timeout: Duration,
    ping_interval: Duration,
    max_backoff: Duration,
    /// Users this node subscribes to; re-subscribed after a reconnect.
    watched: RwLock<HashSet<UserId>>,
    pub(crate) subscribers: SubscriberSet,
    /// Health probes waiting for their token to come back.
    probes: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    subscribed: AtomicBool,
    reconnects: AtomicU64,
    publish_failures: AtomicU64,
    decode_errors: AtomicU64,
    pings_answered: AtomicU64,
}

impl Shared {
    pub(crate) fn new(options: &RedisBusOptions) -> Self {
        let node = uuid::Uuid::new_v4().simple().to_string();
        Self {
            node_channel: format!("{}n:{node}", options.prefix),
            node: node.clone(),
            prefix: options.prefix.clone(),
            timeout: options.timeout,
            ping_interval: options.ping_interval,
            max_backoff: options.max_backoff,
            watched: RwLock::default(),
            subscribers: SubscriberSet::new(options.capacity),
            probes: Mutex::default(),
            subscribed: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            publish_failures: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            pings_answered: AtomicU64::new(0),
        }
    }

    pub(crate) fn user_channel(&self, user: &UserId) -> String {
        format!("{}u:{user}", self.prefix)
    }

    pub(crate) fn is_subscribed(&self) -> bool {
        self.subscribed.load(Relaxed)
    }

    pub(crate) fn publish_failed(&self) {
        self.publish_failures.fetch_add(1, Relaxed);
        ::metrics::counter!(crate::metrics::PUBLISH_FAILURES).increment(1);
    }

    pub(crate) fn stats(&self) -> RedisBusStats {
        RedisBusStats {
            reconnects: self.reconnects.load(Relaxed),
            publish_failures: self.publish_failures.load(Relaxed),
            decode_errors: self.decode_errors.load(Relaxed),
            dropped: self.subscribers.dropped(),
            pings_answered: self.pings_answered.load(Relaxed),
        }
    }

    pub(crate) fn expect_probe(&self, token: u64) -> oneshot::Receiver<()> {
        let (arrived, receiver) = oneshot::channel();
        self.probes_lock().insert(token, arrived);
        receiver
    }

    pub(crate) fn forget_probe(&self, token: u64) {
        self.probes_lock().remove(&token);
    }

    fn probes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        self.probes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn watched_channels(&self) -> Vec<String> {
        let watched = self.watched.read().unwrap_or_else(PoisonError::into_inner);
        watched.iter().map(|user| self.user_channel(user)).collect()
    }

    fn set_watched(&self, user: &UserId, watched: bool) {
        let mut set = self.watched.write().unwrap_or_else(PoisonError::into_inner);
        if watched {
            set.insert(user.clone());
        } else {
            set.remove(user);
        }
    }

    /// Routes one message from Redis.
    fn route(&self, channel: &str, payload: &[u8]) {
        if channel == self.node_channel {
            if let Ok(token) = <[u8; 8]>::try_from(payload)
                && let Some(arrived) = self.probes_lock().remove(&u64::from_be_bytes(token))
            {
                let _ = arrived.send(());
            }
            return;
        }
        let Some(user) = channel
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix("u:"))
        else {
            return;
        };
        let Ok(recipient) = UserId::new(user) else {
            return;
        };
        match codec::decode_for(payload, recipient) {
            Ok(envelope) => self.subscribers.deliver(&Delivery::Event(envelope)),
            Err(error) => {
                self.decode_errors.fetch_add(1, Relaxed);
                ::metrics::counter!(crate::metrics::DECODE_ERRORS).increment(1);
                static LOG: chat_engine::LogThrottle =
                    chat_engine::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(channel, error = %error, suppressed, "dropping an undecodable bus message");
                }
            }
        }
    }
}

/// A subscription connection, split: commands go to the sink, messages come
/// from the stream.
pub(crate) struct Connection {
    sink: PubSubSink,
    stream: PubSubStream,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

/// Opens a subscription connection and subscribes this node's channel and
/// every watched user's.
pub(crate) async fn open(
    client: &redis::Client,
    shared: &Shared,
) -> Result<Connection, RedisBusError> {
    let pubsub = timeout(shared.timeout, client.get_async_pubsub())
        .await
        .map_err(|_| RedisBusError::Timeout("a connect"))??;
    let (mut sink, stream) = pubsub.split();
    let mut channels = shared.watched_channels();
    channels.push(shared.node_channel.clone());
    timeout(shared.timeout, sink.subscribe(channels))
        .await
        .map_err(|_| RedisBusError::Timeout("a subscribe"))??;
    Ok(Connection { sink, stream })
}

/// Owns the subscription connection for the life of the bus.
pub(crate) async fn run(
    client: redis::Client,
    shared: Arc<Shared>,
    mut commands: mpsc::Receiver<Command>,
    first: Connection,
) {
    let mut connection = Some(first);
    let mut backoff = Duration::from_millis(50);
    loop {
        let Connection { mut sink, stream } = match connection.take() {
            Some(connection) => connection,
            None => match open(&client, &shared).await {
                Ok(connection) => {
                    shared.reconnects.fetch_add(1, Relaxed);
                    ::metrics::counter!(crate::metrics::RECONNECTS).increment(1);
                    tracing::info!(
                        "redis subscription re-established; clients resume from the store"
                    );
                    // Everything published while we were away is lost to us.
                    shared.subscribers.deliver(&Delivery::Gap);
                    backoff = Duration::from_millis(50);
                    connection
                }
                Err(error) => {
                    tracing::warn!(error = %error, ?backoff, "redis subscription still down");
                    if !wait_serving(&shared, &mut commands, backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(shared.max_backoff);
                    continue;
                }
            },
        };
        shared.subscribed.store(true, Relaxed);
        let (lost, mut lost_signal) = oneshot::channel::<()>();
        let reader = AbortOnDrop(tokio::spawn(read(stream, Arc::clone(&shared), lost)));
        let mut ping = tokio::time::interval(shared.ping_interval);
        ping.tick().await;
        let keep_running = loop {
            tokio::select! {
                command = commands.recv() => {
                    let Some(command) = command else { break false };
                    if apply(&shared, &mut sink, command).await.is_err() {
                        break true;
                    }
                }
                _ = &mut lost_signal => break true,
                _ = ping.tick() => {
                    // In subscribed mode PING answers an array, not PONG: accept any reply.
                    let answer = timeout(shared.timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(answer, Ok(Ok(_))) {
                        break true;
                    }
                    shared.pings_answered.fetch_add(1, Relaxed);
                }
            }
        };
        shared.subscribed.store(false, Relaxed);
        drop(reader);
        if !keep_running {
            return;
        }
        tracing::warn!("redis subscription lost; reconnecting");
    }
}

/// Applies one command on a live connection. The watched set changes first,
/// so a reconnect in the middle still subscribes the user.
async fn apply(
    shared: &Shared,
    sink: &mut PubSubSink,
    command: Command,
) -> Result<(), RedisBusError> {
    let (user, done, watch) = match command {
        Command::Watch(user, done) => (user, done, true),
        Command::Unwatch(user, done) => (user, done, false),
    };
    shared.set_watched(&user, watch);
    let channel = shared.user_channel(&user);
    let change = async {
        if watch {
            sink.subscribe(&channel).await
        } else {
            sink.unsubscribe(&channel).await
        }
    };
    let result = match timeout(shared.timeout, change).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(RedisBusError::Redis(error)),
        Err(_) => Err(RedisBusError::Timeout("a subscription change")),
    };
    // Answered either way: on failure the connection is replaced and the
    // watched set re-subscribed, followed by a gap.
    let _ = done.send(());
    result
}

/// While disconnected: waits `pause`, recording watch changes for the next
/// connection. Returns `false` when the bus is gone.
async fn wait_serving(
    shared: &Shared,
    commands: &mut mpsc::Receiver<Command>,
    pause: Duration,
) -> bool {
    let deadline = tokio::time::sleep(pause);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return true,
            command = commands.recv() => match command {
                None => return false,
                Some(Command::Watch(user, done)) => {
                    shared.set_watched(&user, true);
                    let _ = done.send(());
                }
                Some(Command::Unwatch(user, done)) => {
                    shared.set_watched(&user, false);
                    let _ = done.send(());
                }
            },
        }
    }
}

/// Aborts the reader when the subscription task ends, however it ends (also
/// when the bus is dropped and the task aborted): the reader owns the
/// connection's stream, which keeps the connection alive.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads messages until the connection ends, then says so on `lost`.
async fn read(mut stream: PubSubStream, shared: Arc<Shared>, lost: oneshot::Sender<()>) {
    while let Some(message) = stream.next().await {
        shared.route(message.get_channel_name(), message.get_payload_bytes());
    }
    let _ = lost.send(());
}
