//! What a node's bus handle and its subscription share: the node's id and
//! channel, its subscribers, its counters, and the health probes sent to
//! its own channel and waiting to come back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chat_engine::{Delivery, SubscriberSet};
use tokio::sync::oneshot;

use crate::RedisBusStats;
use crate::codec;
use crate::error::RedisBusError;
use crate::options::RedisBusOptions;
use crate::publisher::Publisher;

/// The first byte of a health probe on a node's channel (an envelope starts
/// with its version, never this).
pub(crate) const PROBE: u8 = b'P';

/// State shared by the bus handle, the subscription task and the reader.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) prefix: String,
    pub(crate) node_channel: String,
    /// This node's id: unique per connection of a bus.
    pub(crate) node: String,
    pub(crate) timeout: Duration,
    pub(crate) ping_interval: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) subscribers: SubscriberSet,
    /// Health probes waiting for their token to come back.
    probes: Mutex<HashMap<u64, oneshot::Sender<()>>>,
    subscribed: AtomicBool,
    /// The next health probe's token.
    next_probe: AtomicU64,
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
            subscribers: SubscriberSet::new(options.capacity),
            probes: Mutex::default(),
            subscribed: AtomicBool::new(false),
            next_probe: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            publish_failures: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            pings_answered: AtomicU64::new(0),
        }
    }

    pub(crate) fn is_subscribed(&self) -> bool {
        self.subscribed.load(Relaxed)
    }

    pub(crate) fn set_subscribed(&self, subscribed: bool) {
        self.subscribed.store(subscribed, Relaxed);
    }

    /// The subscription came back after a loss.
    pub(crate) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Relaxed);
        ::metrics::counter!(crate::metrics::RECONNECTS).increment(1);
    }

    pub(crate) fn ping_answered(&self) {
        self.pings_answered.fetch_add(1, Relaxed);
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

    fn expect_probe(&self, token: u64) -> oneshot::Receiver<()> {
        let (arrived, receiver) = oneshot::channel();
        self.probes_lock().insert(token, arrived);
        receiver
    }

    fn forget_probe(&self, token: u64) {
        self.probes_lock().remove(&token);
    }

    fn probes_lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        self.probes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one message from this node's channel: a probe coming back,
    /// or a copy of an event for some of this node's users.
    pub(crate) fn route(&self, channel: &str, payload: &[u8]) {
        if let Some((&PROBE, token)) = payload.split_first() {
            if let Ok(token) = <[u8; 8]>::try_from(token)
                && let Some(arrived) = self.probes_lock().remove(&u64::from_be_bytes(token))
            {
                let _ = arrived.send(());
            }
            return;
        }
        match codec::decode(payload) {
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

    /// Publishes a probe to this node's channel and waits, within the
    /// timeout, for it to come back through the subscription.
    pub(crate) async fn probe(&self, publisher: &Publisher) -> Result<(), RedisBusError> {
        let token = self.next_probe.fetch_add(1, Relaxed);
        let arrived = self.expect_probe(token);
        let mut probe = vec![PROBE];
        probe.extend_from_slice(&token.to_be_bytes());
        let copies = [(self.node_channel.clone(), probe.into())];
        let round_trip = async {
            publisher.publish(&copies, "the health probe").await?;
            arrived.await.map_err(|_| RedisBusError::Closed)
        };
        let result = tokio::time::timeout(self.timeout, round_trip).await;
        self.forget_probe(token);
        result.unwrap_or(Err(RedisBusError::Timeout("the health probe")))
    }
}

/// A task aborted when this is dropped: a subscription's helper (its
/// reader, its prober) dies with it, however the subscription task ends
/// (also when the bus is dropped and the task aborted).
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
