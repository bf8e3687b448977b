//! The durable side of chat. The store is the truth: whatever it acknowledged
//! survives restarts, and clients recover anything the bus missed by `seq`.
//!
//! # Implementing a store
//!
//! Stores receive validated input (ids, pairs, bounded limits) and never
//! re-check authorization: the [`ChatService`](crate::ChatService) does that.
//! They must pass the shared suite, `chat_core::store_conformance!` (feature
//! `testkit`), which pins down every contract below.
//!
//! ```
//! use chat_core::{
//!     Appended, Conversation, ConversationId, ConversationPage, ConversationQuery, HistoryQuery, Message,
//!     MessageId, NewDirect, NewGroup, NewMessageRecord, Page, ReadMarkUpdate, RoomPage, RoomQuery,
//!     Seq, Store, StoreResult, Timestamp, UserId,
//! };
//!
//! /// A store that has nothing and accepts nothing: the skeleton of a real one.
//! #[derive(Debug)]
//! struct EmptyStore;
//!
//! #[async_trait::async_trait]
//! impl Store for EmptyStore {
//!     async fn create_group(&self, _: NewGroup) -> StoreResult<Conversation> { unreachable!() }
//!     async fn open_direct(&self, _: NewDirect) -> StoreResult<Conversation> { unreachable!() }
//!     async fn conversation(&self, _: &ConversationId) -> StoreResult<Option<Conversation>> { Ok(None) }
//!     async fn members(&self, _: &ConversationId) -> StoreResult<Option<Vec<UserId>>> { Ok(None) }
//!     async fn is_member(&self, _: &ConversationId, _: &UserId) -> StoreResult<bool> { Ok(false) }
//!     async fn add_member(&self, _: &ConversationId, _: &UserId, _: Timestamp, _: usize) -> StoreResult<bool> { Ok(false) }
//!     async fn remove_member(&self, _: &ConversationId, _: &UserId) -> StoreResult<bool> { Ok(false) }
//!     async fn conversations_of(&self, _: ConversationQuery) -> StoreResult<ConversationPage> { Ok(ConversationPage::default()) }
//!     async fn rooms(&self, _: RoomQuery) -> StoreResult<RoomPage> { Ok(RoomPage::default()) }
//!     async fn append(&self, _: NewMessageRecord) -> StoreResult<Appended> { unreachable!() }
//!     async fn message(&self, _: &MessageId) -> StoreResult<Option<Message>> { Ok(None) }
//!     async fn history(&self, _: &ConversationId, _: HistoryQuery) -> StoreResult<Page> { Ok(Page::default()) }
//!     async fn mark_read(&self, _: &ConversationId, _: &UserId, _: Seq) -> StoreResult<ReadMarkUpdate> { Ok(ReadMarkUpdate::default()) }
//! }
//!
//! let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(EmptyStore);
//! ```

use crate::conversation::{Conversation, ConversationPage, ConversationQuery, NewDirect, NewGroup};
use crate::error::StoreError;
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::message::{Appended, HistoryQuery, Message, NewMessageRecord, Page};
use crate::room::{RoomPage, RoomQuery};
use crate::time::Timestamp;

/// Every [`Store`] call returns this.
pub type StoreResult<T> = Result<T, StoreError>;

/// Persistence for conversations, members, messages and read marks.
///
/// Absence is `Ok(None)` or `Ok(false)`, never an error. Member lists are
/// sorted by user id.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait Store: std::fmt::Debug + Send + Sync + 'static {
    /// Creates a group with its members (creator included).
    async fn create_group(&self, group: NewGroup) -> StoreResult<Conversation>;

    /// Returns the one direct conversation of `direct.pair`, creating it with
    /// `direct.id` if the pair has none. Idempotent, and creates at most one
    /// conversation per pair even under concurrent calls (from several nodes).
    async fn open_direct(&self, direct: NewDirect) -> StoreResult<Conversation>;

    /// The conversation with its members, or `None`.
    async fn conversation(&self, id: &ConversationId) -> StoreResult<Option<Conversation>>;

    /// The sorted member ids, or `None` when the conversation does not exist.
    async fn members(&self, id: &ConversationId) -> StoreResult<Option<Vec<UserId>>>;

    /// Whether `user` is a member (`false` for unknown conversations too).
    async fn is_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool>;

    /// Adds `user`; `Ok(false)` when already a member or the conversation
    /// does not exist (nothing changes). The new member's read mark starts
    /// at the conversation's `last_seq`. When the conversation already has
    /// `max_members` members it refuses with [`StoreError::Refused`] and
    /// [`Refusal::Full`](crate::Refusal::Full), checked atomically with the
    /// insert: concurrent adds, from any node, never exceed the limit.
    async fn add_member(
        &self,
        id: &ConversationId,
        user: &UserId,
        at: Timestamp,
        max_members: usize,
    ) -> StoreResult<bool>;

    /// Removes `user`; `Ok(false)` when not a member.
    async fn remove_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool>;

    /// A page of `query.user`'s conversations: newest activity (last
    /// message's `created_at`, else creation) first, ties by id descending,
    /// only those after `query.before` when set, at most `query.limit`; each
    /// with its last message and the exact count of messages after the
    /// user's read mark sent by others.
    async fn conversations_of(&self, query: ConversationQuery) -> StoreResult<ConversationPage>;

    /// A page of the public rooms directory: rooms (groups created with
    /// `public: true`) newest first by id, only those older than
    /// `query.before` when it is set, only those whose title contains
    /// `query.search` ignoring case (at least ASCII case; see
    /// [`RoomQuery::search`]) when it is set, each with its member
    /// count and whether `query.viewer` is a member.
    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage>;

    /// Appends `message` with the next `seq` of its conversation, atomically
    /// (1, 2, 3… with no gaps or repeats under any concurrency), and raises the
    /// sender's read mark to it. A repeated `(conversation, sender, client_id)`
    /// returns the stored message with `duplicate: true` and writes nothing.
    /// In the same transaction it checks that the sender is a member
    /// ([`StoreError::Refused`] with [`Refusal::NotAMember`] or
    /// [`Refusal::UnknownConversation`] otherwise, writing nothing) and
    /// returns the members, who are the message's recipients.
    ///
    /// [`Refusal::NotAMember`]: crate::Refusal::NotAMember
    /// [`Refusal::UnknownConversation`]: crate::Refusal::UnknownConversation
    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended>;

    /// One message by id, or `None`.
    async fn message(&self, id: &MessageId) -> StoreResult<Option<Message>>;

    /// A page of history in ascending `seq` (see [`HistoryQuery`]). An unknown
    /// conversation yields an empty page.
    async fn history(&self, id: &ConversationId, query: HistoryQuery) -> StoreResult<Page>;

    /// Raises `user`'s read mark to `seq` capped at the conversation's
    /// `last_seq` (never lowers it) and returns the stored mark (`0` when
    /// `user` is not a member), and whether this call raised it.
    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate>;
}

/// What [`Store::mark_read`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadMarkUpdate {
    /// The read mark stored now.
    pub seq: Seq,
    /// Whether this call raised it (a mark that did not move is not news).
    pub moved: bool,
}
