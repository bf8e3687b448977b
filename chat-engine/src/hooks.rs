//! Host code inside the send flow: moderation and spam filters before the
//! save, push notifications, webhooks, analytics and bots after it.
//!
//! `before_send` runs after validation and the rate limit, before the store:
//! it may return the message rewritten or refuse it
//! ([`ChatError::Rejected`], HTTP 422). Its result is validated again, so a
//! rewrite cannot break the limits. `after_send` runs at least once per
//! stored message (not again for a retried `client_id`), after the publish,
//! on the node's relay (see [`crate::outbox`]): the sender's answer never
//! waits for it, a slow webhook cannot slow the chat, and a node that dies
//! after the commit leaves it to another node's sweep (so a hook may see a
//! message twice: drop repeats by its id).
//!
//! `reported` hands the host what a user reported (a message or a user),
//! for its moderators: the library keeps no queue of reports and decides
//! nothing about them.

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, UserId};
use crate::message::{Message, NewMessage};

/// What a user reported to the host's moderators, as
/// [`SendHooks::reported`] receives it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Who reported.
    pub by: UserId,
    /// The user reported: the message's sender when a message is reported.
    pub user_id: UserId,
    /// The conversation, when a message (or a user within it) is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    /// The message reported, in its state when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// The reporter's words.
    pub reason: String,
}

/// Handlers the host registers with [`ChatService::new_with_hooks`](crate::ChatService::new_with_hooks).
/// Both have defaults that do nothing: implement the one you need.
///
/// ```
/// use chat_engine::{ConversationId, NewMessage, SendHooks, UserId};
///
/// /// Refuses messages with a banned word; masks another.
/// #[derive(Debug)]
/// struct Moderation;
///
/// #[async_trait::async_trait]
/// impl SendHooks for Moderation {
///     async fn before_send(
///         &self,
///         _sender: &UserId,
///         _conversation: &ConversationId,
///         mut message: NewMessage,
///     ) -> Result<NewMessage, String> {
///         if message.body.contains("spam") {
///             return Err("looks like spam".to_owned());
///         }
///         message.body = message.body.replace("darn", "d**n");
///         Ok(message)
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait SendHooks: std::fmt::Debug + Send + Sync + 'static {
    /// Sees a valid message before it is stored: returns it (rewritten or
    /// not), or the reason it is refused, which the sender gets as
    /// `{"code": "rejected", "message": reason}`.
    async fn before_send(
        &self,
        sender: &UserId,
        conversation: &ConversationId,
        message: NewMessage,
    ) -> Result<NewMessage, String> {
        let _ = (sender, conversation);
        Ok(message)
    }

    /// Sees each stored message and its conversation's members, after the
    /// publish, at least once (see the module docs), within
    /// [`ChatConfig::outbox_call_timeout`](crate::ChatConfig::outbox_call_timeout).
    async fn after_send(&self, message: Message, members: Vec<UserId>) {
        let _ = (message, members);
    }

    /// Sees a report (a message or a user), on a task of its own: the
    /// reporter's answer never waits for it.
    async fn reported(&self, report: Report) {
        let _ = report;
    }
}
