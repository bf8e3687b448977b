//! Work that must follow a stored message even when the node that stored
//! it dies: the host's [`after_send`](crate::SendHooks::after_send) hooks
//! (bots, webhooks, moderation) and notifications for offline members
//! ([`Notifier`]). At least once, never on the send's path.
//!
//! Why it is shaped this way:
//! - **An outbox row in the append's own transaction.** The store writes
//!   one row per new message beside it (one more statement per group
//!   commit, not per recipient), so a message is never stored without the
//!   promise of its follow-up work, and a retried `client_id` that finds
//!   the message stored writes none. A per-consumer cursor over a global
//!   order would write nothing, but MySQL's auto-increment values become
//!   visible out of commit order across nodes, and a cursor would step over
//!   a message still committing.
//! - **A lease, not a lock.** The row is born due one
//!   [`ChatConfig::outbox_lease`](crate::ChatConfig::outbox_lease) later.
//!   The node that stored the message does the work at once and deletes the
//!   row; if it dies first, any node's sweep (every quarter of the lease)
//!   takes the row once it is due, by a conditional `UPDATE` that only one
//!   node can win, and does the work again. A message whose node died is
//!   followed up within the lease and a quarter: 37.5 s with the defaults.
//! - **Stages, so a failing notifier does not rerun the hooks.** Hooks run
//!   first; a notifier that fails or times out is retried alone, with
//!   exponential backoff, up to
//!   [`ChatConfig::outbox_attempts`](crate::ChatConfig::outbox_attempts)
//!   times (then dropped, logged and counted).
//! - **Duplicates carry the message id.** A node that dies after the work
//!   and before deleting the row means the work runs again: hosts drop a
//!   repeat by [`Message::id`](crate::Message::id).
//! - **Bounded.** The work runs on the node's relay, at most
//!   [`RELAY_CONCURRENCY`] tasks at once, each call within
//!   [`ChatConfig::outbox_call_timeout`](crate::ChatConfig::outbox_call_timeout);
//!   when the relay is behind, new work waits in the table for a sweep
//!   instead of in memory, and a send never waits for any of it.

pub(crate) mod relay;

use crate::ids::{ConversationId, MessageId, UserId};
use crate::message::Message;

/// Most follow-up tasks a node runs at once; each takes up to 64 of the
/// node's fresh messages (with one presence read for all), or one swept row.
pub const RELAY_CONCURRENCY: usize = 32;

/// What remains to do for a stored message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStage {
    /// The hooks, then the notifications.
    Hooks,
    /// The notifications only (the hooks ran; the notifier failed).
    Notify,
}

impl OutboxStage {
    /// The stage as stored (`0` hooks, `1` notify).
    #[must_use]
    pub fn code(self) -> i64 {
        match self {
            Self::Hooks => 0,
            Self::Notify => 1,
        }
    }

    /// The stage stored as `code`; an unknown code is treated as the
    /// earliest stage (running the hooks again is a duplicate, never a loss).
    #[must_use]
    pub fn from_code(code: i64) -> Self {
        if code == 1 { Self::Notify } else { Self::Hooks }
    }
}

/// One outbox row a node claimed from
/// [`Store::claim_outbox`](crate::Store::claim_outbox).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The stored message.
    pub message_id: MessageId,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// What remains to do.
    pub stage: OutboxStage,
    /// Times a sweep took it before this one (0: the first sweep).
    pub attempts: u32,
}

/// One stored message for the host to tell offline members about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The message, as stored (its id tells a repeat).
    pub message: Message,
    /// The members to tell: offline on every node, not the sender, and
    /// whose [`Preferences`](crate::Preferences) let the message through.
    pub recipients: Vec<Recipient>,
}

/// A member to notify of a [`Notification`]'s message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The member.
    pub user_id: UserId,
    /// Whether the message mentions them.
    pub mentioned: bool,
}

/// The host's way to reach offline members (push, email, SMS), for
/// [`ChatServiceBuilder::notifier`](crate::ChatServiceBuilder::notifier).
///
/// Called once per stored message that has recipients, at least once: a
/// node that dies before it records the call as done means another call
/// for the same message later, so drop repeats by the message id. An
/// `Err` (or no answer within
/// [`ChatConfig::outbox_call_timeout`](crate::ChatConfig::outbox_call_timeout))
/// calls again later with the same notification, with backoff.
///
/// ```
/// use chat_engine::{Notification, Notifier};
///
/// /// Hands each notification to the host's push service.
/// #[derive(Debug)]
/// struct Push;
///
/// #[async_trait::async_trait]
/// impl Notifier for Push {
///     async fn notify(&self, notification: &Notification) -> Result<(), String> {
///         for recipient in &notification.recipients {
///             println!("push to {}: {}", recipient.user_id, notification.message.body);
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Notifier: std::fmt::Debug + Send + Sync + 'static {
    /// Tells `notification.recipients` about `notification.message`; the
    /// reason on failure (logged and counted).
    async fn notify(&self, notification: &Notification) -> Result<(), String>;
}
