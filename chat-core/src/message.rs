//! Messages, what a sender submits, and history pages by `seq`.

use serde::{Deserialize, Serialize};

use crate::content::Content;
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::time::Timestamp;

/// A stored message.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id (made by the library).
    pub id: MessageId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// Its position in the conversation: 1, 2, 3… with no gaps.
    pub seq: Seq,
    /// Who sent it.
    pub sender: UserId,
    /// Its text.
    pub body: String,
    /// A typed JSON object besides the text, if the sender attached one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// The sender's idempotency key, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// When it was stored.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// What a sender submits.
///
/// ```
/// use chat_core::NewMessage;
/// let msg = NewMessage::text("hello").with_client_id("c-1");
/// assert_eq!(msg.client_id.as_deref(), Some("c-1"));
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The text: non-empty, within the configured size limit (with a
    /// payload, the fallback every client can show).
    pub body: String,
    /// A typed JSON object besides the text: `{"kind": …, "payload": {…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// An idempotency key chosen by the sender: a retry with the same key in
    /// the same conversation returns the stored message instead of a duplicate.
    #[serde(default)]
    pub client_id: Option<String>,
}

impl NewMessage {
    /// A text message without idempotency key.
    pub fn text(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            content: None,
            client_id: None,
        }
    }

    /// Attaches `content` (a card, buttons, an attachment's metadata…).
    #[must_use]
    pub fn with_content(mut self, content: Content) -> Self {
        self.content = Some(content);
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }
}

/// A validated message ready to store, as handed to [`Store::append`](crate::Store::append).
/// Everything but `seq` is decided by the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessageRecord {
    /// The message id to store.
    pub id: MessageId,
    /// The conversation to append to.
    pub conversation_id: ConversationId,
    /// The sender (a member).
    pub sender: UserId,
    /// The validated body.
    pub body: String,
    /// The validated content, if any.
    pub content: Option<Content>,
    /// The sender's idempotency key.
    pub client_id: Option<String>,
    /// The time to record.
    pub created_at: Timestamp,
}

impl NewMessageRecord {
    /// The message this record becomes when stored with `seq`.
    #[must_use]
    pub fn to_message(&self, seq: Seq) -> Message {
        Message {
            id: self.id.clone(),
            conversation_id: self.conversation_id.clone(),
            seq,
            sender: self.sender.clone(),
            body: self.body.clone(),
            content: self.content.clone(),
            client_id: self.client_id.clone(),
            created_at: self.created_at,
        }
    }
}

/// What [`Store::append`](crate::Store::append) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The stored message (with its `seq`).
    pub message: Message,
    /// `true` when `(conversation, sender, client_id)` was already stored and
    /// `message` is that earlier message: nothing new was written.
    pub duplicate: bool,
    /// The conversation's members (sorted) as of the append, read in the
    /// same transaction: the recipients of the message's event.
    pub members: Vec<UserId>,
}

/// Where a history page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Cursor {
    /// The newest messages.
    #[default]
    Latest,
    /// The messages just before this seq (older history, for scrolling up).
    Before(Seq),
    /// The messages just after this seq (catching up, for `resume`).
    After(Seq),
}

/// A history request: at most `limit` messages from `cursor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HistoryQuery {
    /// Where to start.
    pub cursor: Cursor,
    /// The most messages to return (the service bounds it).
    pub limit: u32,
}

impl HistoryQuery {
    /// The latest `limit` messages.
    #[must_use]
    pub fn latest(limit: u32) -> Self {
        Self {
            cursor: Cursor::Latest,
            limit,
        }
    }

    /// Up to `limit` messages with `seq < before`.
    #[must_use]
    pub fn before(before: Seq, limit: u32) -> Self {
        Self {
            cursor: Cursor::Before(before),
            limit,
        }
    }

    /// Up to `limit` messages with `seq > after`.
    #[must_use]
    pub fn after(after: Seq, limit: u32) -> Self {
        Self {
            cursor: Cursor::After(after),
            limit,
        }
    }
}

/// A page of history, always in ascending `seq`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Page {
    /// The messages, ascending by `seq`, with no holes.
    pub messages: Vec<Message>,
    /// Whether more messages lie beyond the page in the direction read:
    /// older ones for `Latest`/`Before`, newer ones for `After`.
    pub has_more: bool,
}
