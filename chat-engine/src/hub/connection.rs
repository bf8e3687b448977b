//! One live connection: its bounded queue, its gap backlog, and the handle
//! the transport (a WebSocket task) reads from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::HubInner;
use super::stats::Counters;
use crate::bus::Envelope;
use crate::ids::{ConversationId, Seq, UserId};
use crate::protocol::Gap;

/// Why the hub closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// Its queue stayed full past the stuck timeout: the client stopped reading.
    Stuck,
    /// The hub (or its bus) is shutting down.
    Shutdown,
    /// The host signed the user out ([`ChatService::disconnect`](crate::ChatService::disconnect)).
    SignedOut,
}

/// What a connection's reader gets next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// An event to write as is (`envelope.payload()`).
    Event(Envelope),
    /// Events were skipped while the queue was full; announce these gaps.
    Gaps(Vec<Gap>),
    /// The hub closed the connection; the transport should close too.
    Closed(CloseReason),
}

/// What was skipped while the queue was full. Locked only on that slow path.
#[derive(Debug, Default)]
struct Backlog {
    /// First missed seq per conversation.
    gaps: HashMap<ConversationId, Seq>,
    /// The bus lost events: everything must be resumed.
    all: bool,
    /// When the queue was first found full since it last drained.
    full_since: Option<Instant>,
}

/// The state shared between the hub (writer) and the [`Connection`] (reader).
#[derive(Debug)]
pub(crate) struct Shared {
    user: UserId,
    sender: mpsc::Sender<Envelope>,
    /// Lock-free hint that `backlog` holds something; lets the fast path skip the mutex.
    backlogged: AtomicBool,
    /// std Mutex: held briefly, never across an `.await`.
    backlog: Mutex<Backlog>,
    closed: OnceLock<CloseReason>,
    /// Wakes the reader to look again (closed, or a gap while its queue is empty).
    wake: Notify,
}

impl Shared {
    pub(crate) fn new(user: UserId, queue: usize) -> (Arc<Self>, mpsc::Receiver<Envelope>) {
        let (sender, receiver) = mpsc::channel(queue);
        let shared = Arc::new(Self {
            user,
            sender,
            backlogged: AtomicBool::new(false),
            backlog: Mutex::default(),
            closed: OnceLock::new(),
            wake: Notify::new(),
        });
        (shared, receiver)
    }

    pub(crate) fn user(&self) -> &UserId {
        &self.user
    }

    fn backlog(&self) -> std::sync::MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `envelope` if there is room; otherwise records the gap.
    /// Returns whether it was queued.
    pub(crate) fn offer(
        &self,
        envelope: &Envelope,
        stuck_timeout: Duration,
        counters: &Counters,
    ) -> bool {
        if self.closed.get().is_some() {
            return false;
        }
        if self.backlogged.load(Ordering::Acquire) && self.covered_by_gap(envelope) {
            counters.skipped_in_gap();
            self.close_if_stuck(stuck_timeout, counters);
            return false;
        }
        match self.sender.try_send(envelope.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow(envelope, stuck_timeout, counters);
                false
            }
            // The reader is gone; the connection is being unregistered.
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Whether a pending gap already tells the client to refetch this event.
    fn covered_by_gap(&self, envelope: &Envelope) -> bool {
        let backlog = self.backlog();
        backlog.all
            || (envelope.seq().is_some() && backlog.gaps.contains_key(envelope.conversation_id()))
    }

    /// Closes the connection when its queue has not drained since it was
    /// first found full, `stuck_timeout` ago or longer. Returns whether it did.
    fn close_if_stuck(&self, stuck_timeout: Duration, counters: &Counters) -> bool {
        let full_since = self.backlog().full_since;
        let stuck = full_since.is_some_and(|since| since.elapsed() >= stuck_timeout);
        if stuck && self.closed.set(CloseReason::Stuck).is_ok() {
            counters.stuck_closed();
            self.wake.notify_one();
        }
        stuck
    }

    fn overflow(&self, envelope: &Envelope, stuck_timeout: Duration, counters: &Counters) {
        if self.close_if_stuck(stuck_timeout, counters) {
            return;
        }
        let mut backlog = self.backlog();
        backlog.full_since.get_or_insert_with(Instant::now);
        match envelope.seq() {
            Some(seq) => {
                backlog
                    .gaps
                    .entry(envelope.conversation_id().clone())
                    .and_modify(|first| *first = (*first).min(seq))
                    .or_insert(seq);
                counters.dropped_message();
            }
            // Typing, read marks, membership: nothing to refetch by seq.
            None => counters.dropped_ephemeral(),
        }
        self.backlogged.store(true, Ordering::Release);
        drop(backlog);
        // The reader may have drained the queue and parked between our full
        // `try_send` and now; later events of this conversation are skipped
        // as covered, so nothing else would wake it to announce the gap.
        self.wake.notify_one();
    }

    /// Marks every conversation as possibly missed (the bus lost events).
    pub(crate) fn gap_all(&self) {
        self.backlog().all = true;
        self.backlogged.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub(crate) fn close(&self, reason: CloseReason) {
        if self.closed.set(reason).is_ok() {
            self.wake.notify_one();
        }
    }

    /// Empties the backlog into the gaps to announce.
    fn take_gaps(&self) -> Vec<Gap> {
        let mut backlog = self.backlog();
        self.backlogged.store(false, Ordering::Release);
        backlog.full_since = None;
        let gaps = std::mem::take(&mut backlog.gaps);
        if std::mem::take(&mut backlog.all) {
            return vec![Gap::everything()];
        }
        let mut gaps: Vec<Gap> = gaps
            .into_iter()
            .map(|(conversation_id, from_seq)| Gap::from(conversation_id, from_seq))
            .collect();
        gaps.sort_by(|a, b| a.conversation_id.cmp(&b.conversation_id));
        gaps
    }
}

/// A live connection of one user on this node: read it with [`Connection::next`].
/// Dropping it unregisters it from the hub at once.
#[derive(Debug)]
pub struct Connection {
    hub: Arc<HubInner>,
    shared: Arc<Shared>,
    receiver: mpsc::Receiver<Envelope>,
}

impl std::fmt::Debug for HubInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubInner").finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(
        hub: Arc<HubInner>,
        shared: Arc<Shared>,
        receiver: mpsc::Receiver<Envelope>,
    ) -> Self {
        Self {
            hub,
            shared,
            receiver,
        }
    }

    /// The user this connection belongs to.
    #[must_use]
    pub fn user(&self) -> &UserId {
        self.shared.user()
    }

    /// Marks the connection closed because its client stopped reading (the
    /// transport's write timed out), counted like a stuck queue. Returns
    /// whether this call closed it (false when it was already closed).
    pub fn close_stuck(&self) -> bool {
        let closed = self.shared.closed.set(CloseReason::Stuck).is_ok();
        if closed {
            self.hub.counters.stuck_closed();
        }
        closed
    }

    /// What [`Connection::next`] would return right now without waiting, if
    /// anything: lets a transport write everything queued, then flush once.
    pub fn try_next(&mut self) -> Option<Outbound> {
        if let Some(reason) = self.shared.closed.get() {
            return Some(Outbound::Closed(*reason));
        }
        if let Ok(envelope) = self.receiver.try_recv() {
            return Some(Outbound::Event(envelope));
        }
        if self.shared.backlogged.load(Ordering::Acquire) {
            let gaps = self.shared.take_gaps();
            if !gaps.is_empty() {
                self.hub.counters.gaps_announced(gaps.len());
                return Some(Outbound::Gaps(gaps));
            }
        }
        None
    }

    /// The next thing to send to the client: queued events in order; once the
    /// queue has drained, the gaps recorded while it was full; or the reason
    /// the hub closed the connection. Cancel-safe.
    pub async fn next(&mut self) -> Outbound {
        loop {
            if let Some(outbound) = self.try_next() {
                return outbound;
            }
            tokio::select! {
                biased;
                () = self.shared.wake.notified() => {}
                received = self.receiver.recv() => {
                    if let Some(envelope) = received {
                        return Outbound::Event(envelope);
                    }
                }
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.hub.unregister(&self.shared);
    }
}
