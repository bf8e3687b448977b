//! Carries events between app nodes. At-most-once by contract: a missed event
//! is recovered from the Store by `seq`, so a Bus may drop events but must
//! never invent, alter or reorder them, and must say when it may have dropped
//! some ([`Delivery::Gap`]).
//!
//! A node *watches* the users that have live connections on it, and receives
//! every event addressed to any of them: each watched recipient is covered
//! exactly once, by the whole envelope or by a copy narrowed to fewer
//! recipients (a per-user channel delivers one copy per user).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::BusError;
use crate::ids::{ConversationId, Seq, UserId};
use crate::presence::Presence;

/// Fan-out transport between app nodes.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait Bus: std::fmt::Debug + Send + Sync + 'static {
    /// Sends `envelope` once to every node watching any of its recipients.
    async fn publish(&self, envelope: Envelope) -> Result<(), BusError>;

    /// Starts routing events addressed to `user` to this node. Idempotent.
    async fn watch(&self, user: &UserId) -> Result<(), BusError>;

    /// Stops routing events addressed to `user` to this node. Idempotent.
    async fn unwatch(&self, user: &UserId) -> Result<(), BusError>;

    /// This node's deliveries: every event addressed to a watched user.
    async fn subscribe(&self) -> Result<Subscription, BusError>;

    /// Proves the bus can deliver to this node right now (for a networked bus:
    /// a publish that comes back through this node's own subscription within
    /// a bound). The default, for in-process buses, always succeeds.
    async fn health(&self) -> Result<(), BusError> {
        Ok(())
    }

    /// This node's handle on the presence every node of this bus shares.
    /// The default, `None`, gives the node a presence of its own: right for
    /// a bus of one node.
    fn presence(&self) -> Option<Arc<dyn Presence>> {
        None
    }
}

/// One event, encoded once, addressed to its recipients. Cloning is one
/// reference-count increment: every recipient shares the same bytes.
#[derive(Clone, Debug)]
pub struct Envelope(Arc<EnvelopeInner>);

#[derive(Debug)]
struct EnvelopeInner {
    recipients: Box<[UserId]>,
    conversation_id: ConversationId,
    seq: Option<Seq>,
    kind: EventKind,
    payload: Bytes,
}

/// What an event is, carried beside its encoded payload so that buses,
/// hubs and transports act on it without decoding JSON.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A message (it has a seq).
    Message,
    /// A member's read mark moved.
    Read,
    /// A member is typing.
    Typing,
    /// This user joined the conversation (was added, or created it).
    MemberAdded(UserId),
    /// This user left or was removed.
    MemberRemoved(UserId),
    /// Any other change of the timeline (an edit, a delete, a reaction, a
    /// rename, a pin).
    Change,
    /// A user's own preferences for a conversation changed (sent to that
    /// user only).
    Preferences,
    /// A user came online or went offline (sent to those who may see it).
    Presence,
    /// The host signed the recipients out: every node closes their live
    /// connections ([`Envelope::signed_out`]). No client sees it as an event.
    SignedOut,
}

impl Envelope {
    /// Wraps an encoded event.
    ///
    /// `seq` is the message's seq for message events (so a connection that
    /// misses it can be told where to refetch from) and `None` for ephemeral
    /// events (typing, read marks, membership).
    ///
    /// ```
    /// use chat_engine::{ConversationId, Envelope, EventKind, UserId};
    /// let env = Envelope::new(
    ///     vec![UserId::new("alice").unwrap()],
    ///     ConversationId::new("c1").unwrap(),
    ///     Some(1),
    ///     EventKind::Message,
    ///     bytes::Bytes::from_static(b"{}"),
    /// );
    /// assert_eq!(env.recipients().len(), 1);
    /// ```
    #[must_use]
    pub fn new(
        recipients: Vec<UserId>,
        conversation_id: ConversationId,
        seq: Option<Seq>,
        kind: EventKind,
        payload: Bytes,
    ) -> Self {
        Self(Arc::new(EnvelopeInner {
            recipients: recipients.into_boxed_slice(),
            conversation_id,
            seq,
            kind,
            payload,
        }))
    }

    /// Tells every node to close `user`'s live connections
    /// ([`EventKind::SignedOut`]). It concerns no conversation: its
    /// conversation id is [`Envelope::NO_CONVERSATION`], and its payload is
    /// empty.
    #[must_use]
    pub fn signed_out(user: UserId) -> Self {
        Self::new(
            vec![user],
            Self::nowhere(),
            None,
            EventKind::SignedOut,
            Bytes::new(),
        )
    }

    /// The conversation id of an envelope that concerns none.
    pub const NO_CONVERSATION: &'static str = "-";

    /// [`Envelope::NO_CONVERSATION`] as an id.
    #[must_use]
    pub fn nowhere() -> ConversationId {
        ConversationId::new(Self::NO_CONVERSATION).expect("a valid id")
    }

    /// What the event is.
    #[must_use]
    pub fn kind(&self) -> &EventKind {
        &self.0.kind
    }

    /// Who the event is for.
    #[must_use]
    pub fn recipients(&self) -> &[UserId] {
        &self.0.recipients
    }

    /// The conversation it concerns.
    #[must_use]
    pub fn conversation_id(&self) -> &ConversationId {
        &self.0.conversation_id
    }

    /// The message's seq, for message events.
    #[must_use]
    pub fn seq(&self) -> Option<Seq> {
        self.0.seq
    }

    /// The encoded event (one JSON text frame).
    #[must_use]
    pub fn payload(&self) -> &Bytes {
        &self.0.payload
    }
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || (self.0.recipients == other.0.recipients
                && self.0.conversation_id == other.0.conversation_id
                && self.0.seq == other.0.seq
                && self.0.kind == other.0.kind
                && self.0.payload == other.0.payload)
    }
}

impl Eq for Envelope {}

/// What a node receives from its bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// An event for one or more users watched by this node.
    Event(Envelope),
    /// Events may have been lost (the subscriber lagged, or the transport
    /// reconnected): every live connection must resume from the store.
    Gap,
}

/// A node's stream of deliveries: a bounded queue filled by the bus.
#[derive(Debug)]
pub struct Subscription {
    receiver: mpsc::Receiver<Delivery>,
}

impl Subscription {
    /// Wraps the receiving end of a bounded channel that a bus fills.
    #[must_use]
    pub fn new(receiver: mpsc::Receiver<Delivery>) -> Self {
        Self { receiver }
    }

    /// The next delivery; `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Delivery> {
        self.receiver.recv().await
    }
}

/// The subscriptions of one bus node: bounded queues that never block the
/// publisher. When a queue is full the event is dropped for it, counted, and
/// a [`Delivery::Gap`] goes first into the queue once there is room again.
/// Bus adapters share this instead of each writing their own.
#[derive(Debug)]
pub struct SubscriberSet {
    /// std Mutex: held only for synchronous `try_send`s, never across `.await`.
    subscribers: Mutex<Vec<Subscriber>>,
    capacity: usize,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct Subscriber {
    sender: mpsc::Sender<Delivery>,
    /// An event was dropped and the gap is not yet queued.
    lagging: bool,
}

impl SubscriberSet {
    /// An empty set whose subscriptions buffer `capacity` deliveries each.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            subscribers: Mutex::default(),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        }
    }

    /// A new subscription receiving everything delivered from now on.
    pub fn subscribe(&self) -> Subscription {
        let (sender, receiver) = mpsc::channel(self.capacity);
        self.lock().push(Subscriber {
            sender,
            lagging: false,
        });
        Subscription::new(receiver)
    }

    /// Queues `delivery` to every live subscription; drops closed ones.
    pub fn deliver(&self, delivery: &Delivery) {
        self.lock().retain_mut(|subscriber| {
            if subscriber.lagging {
                match subscriber.sender.try_send(Delivery::Gap) {
                    Ok(()) => subscriber.lagging = false,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        ::metrics::counter!(crate::metrics::BUS_DROPPED).increment(1);
                        return true;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
                if matches!(delivery, Delivery::Gap) {
                    return true; // the gap just queued says it all
                }
            }
            match subscriber.sender.try_send(delivery.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    ::metrics::counter!(crate::metrics::BUS_DROPPED).increment(1);
                    subscriber.lagging = true;
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    /// Deliveries dropped because a subscription was full, since creation.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The per-subscription capacity.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
