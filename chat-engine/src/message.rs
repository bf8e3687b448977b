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
    /// Its position in the conversation's timeline (1, 2, 3… with no gaps
    /// across all its changes; messages are some of them).
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
    /// The message it replies to (quotes), in the same conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Seq>,
    /// The root of the thread it is a reply in (threads are one level deep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_root: Option<Seq>,
    /// Members it mentions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    /// The seq of the last change that touched it (an edit, a delete, a
    /// reaction, a reply in its thread); its own seq when none did. Apply a
    /// change to it only when the change's seq is greater.
    #[serde(default)]
    pub updated_seq: Seq,
    /// When its sender last edited it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// Whether it was deleted: a tombstone, with no body and no content.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Reactions, by reaction, in the order first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<crate::timeline::ReactionCount>,
    /// Replies in the thread it is the root of.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reply_count: u64,
    /// The seq of the latest reply in its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reply_seq: Option<Seq>,
}

impl Message {
    /// A plain text message as just stored: no content, references, changes
    /// or reactions. Stores and tests fill in the rest with struct update.
    ///
    /// ```
    /// use chat_engine::{ConversationId, Message, MessageId, UserId, time};
    /// let message = Message::stored(
    ///     MessageId::generate(),
    ///     ConversationId::new("c").unwrap(),
    ///     1,
    ///     UserId::new("alice").unwrap(),
    ///     "hi",
    ///     time::now(),
    /// );
    /// assert_eq!(message.updated_seq, 1);
    /// ```
    #[must_use]
    pub fn stored(
        id: MessageId,
        conversation_id: ConversationId,
        seq: Seq,
        sender: UserId,
        body: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            conversation_id,
            seq,
            sender,
            body: body.into(),
            content: None,
            client_id: None,
            created_at,
            reply_to: None,
            thread_root: None,
            mentions: Vec::new(),
            updated_seq: seq,
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            reply_count: 0,
            last_reply_seq: None,
        }
    }
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// What a sender submits.
///
/// ```
/// use chat_engine::NewMessage;
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
    /// A message of the same conversation this one replies to (quotes).
    #[serde(default)]
    pub reply_to: Option<Seq>,
    /// A message of the same conversation to reply under, in its thread; it
    /// must not be a thread reply itself.
    #[serde(default)]
    pub thread_root: Option<Seq>,
    /// Members to mention (each must be a member).
    #[serde(default)]
    pub mentions: Vec<UserId>,
}

impl NewMessage {
    /// A text message without idempotency key.
    pub fn text(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            content: None,
            client_id: None,
            reply_to: None,
            thread_root: None,
            mentions: Vec::new(),
        }
    }

    /// Replies to (quotes) the message with seq `seq`.
    #[must_use]
    pub fn replying_to(mut self, seq: Seq) -> Self {
        self.reply_to = Some(seq);
        self
    }

    /// Replies in the thread of the message with seq `root`.
    #[must_use]
    pub fn in_thread(mut self, root: Seq) -> Self {
        self.thread_root = Some(root);
        self
    }

    /// Mentions `members`.
    #[must_use]
    pub fn mentioning(mut self, members: Vec<UserId>) -> Self {
        self.mentions = members;
        self
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
    /// What it replies to (checked by the store: a message of the conversation).
    pub reply_to: Option<Seq>,
    /// The thread it replies in (checked by the store: a message of the
    /// conversation that is no thread reply itself).
    pub thread_root: Option<Seq>,
    /// Mentioned users, sorted and without duplicates (checked by the
    /// store: members).
    pub mentions: Vec<UserId>,
    /// When set, the store writes the message's outbox row in the same
    /// transaction, due at this time (see [`crate::outbox`]); a retry that
    /// finds the message stored writes none.
    pub outbox_due: Option<Timestamp>,
}

impl NewMessageRecord {
    /// The message this record becomes when stored with `seq`.
    #[must_use]
    pub fn to_message(&self, seq: Seq) -> Message {
        Message {
            content: self.content.clone(),
            client_id: self.client_id.clone(),
            reply_to: self.reply_to,
            thread_root: self.thread_root,
            mentions: self.mentions.clone(),
            ..Message::stored(
                self.id.clone(),
                self.conversation_id.clone(),
                seq,
                self.sender.clone(),
                self.body.clone(),
                self.created_at,
            )
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

/// A history request: at most `limit` messages from `cursor`, of the
/// conversation itself (thread replies left out) or of one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HistoryQuery {
    /// Where to start.
    pub cursor: Cursor,
    /// The most messages to return (the service bounds it).
    pub limit: u32,
    /// `None` for the conversation's own messages; `Some(root)` for the
    /// replies in the thread of the message with seq `root`.
    pub thread: Option<Seq>,
}

impl HistoryQuery {
    /// The latest `limit` messages.
    #[must_use]
    pub fn latest(limit: u32) -> Self {
        Self {
            cursor: Cursor::Latest,
            limit,
            thread: None,
        }
    }

    /// Up to `limit` messages with `seq < before`.
    #[must_use]
    pub fn before(before: Seq, limit: u32) -> Self {
        Self {
            cursor: Cursor::Before(before),
            limit,
            thread: None,
        }
    }

    /// Up to `limit` messages with `seq > after`.
    #[must_use]
    pub fn after(after: Seq, limit: u32) -> Self {
        Self {
            cursor: Cursor::After(after),
            limit,
            thread: None,
        }
    }

    /// The same page, of the thread of the message with seq `root`.
    #[must_use]
    pub fn in_thread(mut self, root: Seq) -> Self {
        self.thread = Some(root);
        self
    }
}

/// A page of history, always in ascending `seq`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Page {
    /// The messages, ascending by `seq`. Seqs between them belong to other
    /// changes (edits, reactions, membership) or to thread replies: read
    /// them with the timeline (`events`), not as holes.
    pub messages: Vec<Message>,
    /// Whether more messages lie beyond the page in the direction read:
    /// older ones for `Latest`/`Before`, newer ones for `After`.
    pub has_more: bool,
}
