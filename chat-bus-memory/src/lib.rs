//! An in-process [`Bus`]: the embedded default, for one app node.
//!
//! A [`MemoryBus`] is one node. [`MemoryBus::node`] makes another node on the
//! same in-process network, which is how tests and benchmarks run several
//! "nodes" in one process; separate processes need a networked bus.
//!
//! Delivery never blocks the publisher: each subscription is a bounded queue,
//! and when one is full the event is dropped for that subscription, counted,
//! and a [`Delivery::Gap`] is queued as soon as there is room again, so the
//! hub tells its clients to resume from the store.
//!
//! ```
//! use std::sync::Arc;
//! use chat_bus_memory::MemoryBus;
//! use chat_engine::Bus;
//!
//! let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use async_trait::async_trait;
use chat_engine::{
    Bus, BusError, Delivery, Envelope, MemoryPresence, Presence, SubscriberSet, Subscription,
    UserId,
};

/// Deliveries buffered per subscription by default.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// One node on an in-process network. Dropping it leaves the network.
#[derive(Debug)]
pub struct MemoryBus {
    network: Arc<Network>,
    node: Arc<Node>,
    presence: Arc<MemoryPresence>,
}

/// The nodes that can reach each other.
#[derive(Debug, Default)]
struct Network {
    /// Written only when a node joins or leaves; read on every publish.
    nodes: RwLock<Vec<Weak<Node>>>,
    /// The network's presence, from which each node gets its handle.
    presence: MemoryPresence,
}

#[derive(Debug)]
struct Node {
    /// Users whose events this node wants. Read on every publish.
    watched: RwLock<HashSet<UserId>>,
    subscribers: SubscriberSet,
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBus {
    /// A node on a new, private network.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// A node on a new network whose subscriptions buffer `capacity`
    /// deliveries. Defaults to [`DEFAULT_CAPACITY`].
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self::join(Arc::new(Network::default()), capacity.max(1))
    }

    /// Another node on this node's network.
    #[must_use]
    pub fn node(&self) -> Self {
        Self::join(Arc::clone(&self.network), self.node.subscribers.capacity())
    }

    /// Events dropped on this node because a subscription was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.node.subscribers.dropped()
    }

    fn join(network: Arc<Network>, capacity: usize) -> Self {
        let node = Arc::new(Node {
            watched: RwLock::default(),
            subscribers: SubscriberSet::new(capacity),
        });
        let mut nodes = network
            .nodes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        nodes.retain(|other| other.strong_count() > 0);
        nodes.push(Arc::downgrade(&node));
        drop(nodes);
        let presence = Arc::new(network.presence.node());
        Self {
            network,
            node,
            presence,
        }
    }
}

impl Node {
    fn wants(&self, envelope: &Envelope) -> bool {
        let watched = self.watched.read().unwrap_or_else(PoisonError::into_inner);
        envelope
            .recipients()
            .iter()
            .any(|user| watched.contains(user))
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, envelope: Envelope) -> Result<(), BusError> {
        let nodes = self
            .network
            .nodes
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        for node in nodes.iter().filter_map(Weak::upgrade) {
            if node.wants(&envelope) {
                node.subscribers.deliver(&Delivery::Event(envelope.clone()));
            }
        }
        Ok(())
    }

    async fn watch(&self, user: &UserId) -> Result<(), BusError> {
        self.node
            .watched
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.clone());
        Ok(())
    }

    async fn unwatch(&self, user: &UserId) -> Result<(), BusError> {
        self.node
            .watched
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(user);
        Ok(())
    }

    async fn subscribe(&self) -> Result<Subscription, BusError> {
        Ok(self.node.subscribers.subscribe())
    }

    /// This node's presence on the network's shared one.
    fn presence(&self) -> Option<Arc<dyn Presence>> {
        Some(Arc::clone(&self.presence) as Arc<dyn Presence>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(to: &str, seq: u64) -> Envelope {
        chat_engine::testkit::bus::envelope(&[to], &seq.to_string())
    }

    #[tokio::test]
    async fn a_full_subscription_drops_then_reports_a_gap() {
        let bus = MemoryBus::with_capacity(2);
        let mut subscription = bus.subscribe().await.unwrap();
        let alice = UserId::new("alice").unwrap();
        bus.watch(&alice).await.unwrap();
        for seq in 1..=3 {
            bus.publish(envelope("alice", seq)).await.unwrap();
        }
        assert_eq!(bus.dropped(), 1, "the third event did not fit");
        assert!(matches!(
            subscription.recv().await,
            Some(Delivery::Event(_))
        ));
        assert!(matches!(
            subscription.recv().await,
            Some(Delivery::Event(_))
        ));
        bus.publish(envelope("alice", 4)).await.unwrap();
        assert_eq!(subscription.recv().await, Some(Delivery::Gap));
        match subscription.recv().await {
            Some(Delivery::Event(event)) => assert_eq!(&event.payload()[..], b"4"),
            other => panic!("expected event 4, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_dropped_node_leaves_the_network() {
        let one = MemoryBus::new();
        let two = one.node();
        drop(two.subscribe().await.unwrap());
        drop(two);
        // The next node to join sweeps the one that left.
        let three = one.node();
        one.publish(envelope("alice", 1)).await.unwrap();
        let nodes = one.network.nodes.read().unwrap();
        assert_eq!(nodes.len(), 2, "one and three; two is gone");
        assert!(nodes.iter().all(|node| node.strong_count() > 0));
        drop(three);
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
