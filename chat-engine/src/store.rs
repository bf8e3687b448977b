//! The durable side of chat. The store is the truth: whatever it acknowledged
//! survives restarts, and clients recover anything the bus missed by `seq`.
//!
//! # Implementing a store
//!
//! Stores receive validated input (ids, pairs, bounded limits) and never
//! re-check authorization: the [`ChatService`](crate::ChatService) does that.
//! They must pass the shared suite, `chat_engine::store_conformance!` (feature
//! `testkit`), which pins down every contract below.
//!
//! ```
//! use chat_engine::{
//!     Appended, Changed, Conversation, ConversationId, ConversationPage, ConversationQuery,
//!     HistoryQuery, Message, MessageId, NewChange, NewDirect, NewGroup, NewMessageRecord, Page,
//!     OutboxEntry, OutboxStage, Preferences, PreferencesChange, Profile, ReadMark, ReadMarkUpdate, RoomPage, RoomQuery, SearchPage, SearchQuery, Seq, Store,
//!     StoreResult, TimelinePage, Timestamp, UserId, UserPage, UserQuery,
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
//!     async fn conversations_of(&self, _: ConversationQuery) -> StoreResult<ConversationPage> { Ok(ConversationPage::default()) }
//!     async fn rooms(&self, _: RoomQuery) -> StoreResult<RoomPage> { Ok(RoomPage::default()) }
//!     async fn append(&self, _: NewMessageRecord) -> StoreResult<Appended> { unreachable!() }
//!     async fn message(&self, _: &MessageId, _: &UserId) -> StoreResult<Option<Message>> { Ok(None) }
//!     async fn history(&self, _: &ConversationId, _: &UserId, _: HistoryQuery) -> StoreResult<Page> { Ok(Page::default()) }
//!     async fn timeline(&self, _: &ConversationId, _: &UserId, _: Seq, _: u32) -> StoreResult<TimelinePage> { Ok(TimelinePage::default()) }
//!     async fn change(&self, _: NewChange) -> StoreResult<Changed> { unreachable!() }
//!     async fn read_marks(&self, _: &ConversationId) -> StoreResult<Vec<ReadMark>> { Ok(vec![]) }
//!     async fn pins(&self, _: &ConversationId, _: &UserId) -> StoreResult<Vec<Message>> { Ok(vec![]) }
//!     async fn search(&self, _: SearchQuery) -> StoreResult<SearchPage> { Ok(SearchPage::default()) }
//!     async fn mark_read(&self, _: &ConversationId, _: &UserId, _: Seq) -> StoreResult<ReadMarkUpdate> { Ok(ReadMarkUpdate::default()) }
//!     async fn delete_conversation(&self, _: &ConversationId, _: &UserId) -> StoreResult<Vec<UserId>> { unreachable!() }
//!     async fn bans(&self, _: &ConversationId) -> StoreResult<Vec<UserId>> { Ok(vec![]) }
//!     async fn set_block(&self, _: &UserId, _: &UserId, _: bool) -> StoreResult<bool> { unreachable!() }
//!     async fn blocked_by(&self, _: &UserId) -> StoreResult<Vec<UserId>> { Ok(vec![]) }
//!     async fn contacts(&self, _: &UserId) -> StoreResult<Vec<UserId>> { Ok(vec![]) }
//!     async fn record_user(&self, _: &Profile, _: Timestamp) -> StoreResult<()> { Ok(()) }
//!     async fn users(&self, _: &UserQuery) -> StoreResult<UserPage> { Ok(UserPage::default()) }
//!     async fn profiles(&self, _: &[UserId]) -> StoreResult<Vec<Profile>> { Ok(vec![]) }
//!     async fn set_preferences(&self, _: &ConversationId, _: &UserId, _: PreferencesChange) -> StoreResult<Option<Preferences>> { Ok(None) }
//!     async fn preferences_of(&self, _: &ConversationId, _: &[UserId]) -> StoreResult<Vec<(UserId, Preferences)>> { Ok(vec![]) }
//!     async fn claim_outbox(&self, _: Timestamp, _: Timestamp, _: u32) -> StoreResult<Vec<OutboxEntry>> { Ok(vec![]) }
//!     async fn finish_outbox(&self, _: &[MessageId]) -> StoreResult<()> { Ok(()) }
//!     async fn defer_outbox(&self, _: &MessageId, _: OutboxStage, _: Timestamp) -> StoreResult<()> { Ok(()) }
//! }
//!
//! let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(EmptyStore);
//! ```

use crate::conversation::{Conversation, ConversationPage, ConversationQuery, NewDirect, NewGroup};
use crate::directory::{Profile, UserPage, UserQuery};
use crate::error::StoreError;
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::message::{Appended, HistoryQuery, Message, NewMessageRecord, Page};
use crate::outbox::{OutboxEntry, OutboxStage};
use crate::preferences::{Preferences, PreferencesChange};
use crate::room::{RoomPage, RoomQuery};
use crate::search::{SearchPage, SearchQuery};
use crate::time::Timestamp;
use crate::timeline::{Changed, NewChange, ReadMark, TimelinePage};

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

    /// A page of `query.user`'s conversations: newest activity (last
    /// message's `created_at`, else creation) first, ties by id descending,
    /// only those after `query.before` when set, at most `query.limit`; each
    /// with its last message and the exact counts of messages after the
    /// user's read mark sent by others (deleted ones and thread replies left
    /// out) and of those among them that mention the user.
    async fn conversations_of(&self, query: ConversationQuery) -> StoreResult<ConversationPage>;

    /// A page of the public rooms directory: rooms (groups created with
    /// `public: true`) newest first by id, only those older than
    /// `query.before` when it is set, only those whose title contains
    /// `query.search` ignoring case (at least ASCII case; see
    /// [`RoomQuery::search`]) when it is set, each with its member
    /// count and whether `query.viewer` is a member.
    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage>;

    /// Appends `message` with the next `seq` of its conversation, atomically
    /// (1, 2, 3… with no gaps or repeats under any concurrency, shared with
    /// every other change), and raises the sender's read mark to it. Its
    /// `reply_to` and `thread_root` must be messages of the conversation (a
    /// thread root no thread reply itself), its mentions members; a thread
    /// reply bumps its root's reply count and `updated_seq`. A repeated `(conversation, sender, client_id)`
    /// returns the stored message with `duplicate: true` and writes nothing.
    /// In the same transaction it checks that the sender is a member
    /// ([`StoreError::Refused`] with [`Refusal::NotAMember`] or
    /// [`Refusal::UnknownConversation`] otherwise, writing nothing), checks
    /// the references above ([`Refusal::UnknownMessage`],
    /// [`Refusal::NotARoot`], [`Refusal::MentionNotAMember`]) and returns
    /// the members, who are the message's recipients. A record with
    /// [`outbox_due`](NewMessageRecord::outbox_due) gets its outbox row in
    /// the same transaction (a repeat writes none).
    ///
    /// [`Refusal::NotAMember`]: crate::Refusal::NotAMember
    /// [`Refusal::UnknownConversation`]: crate::Refusal::UnknownConversation
    /// [`Refusal::UnknownMessage`]: crate::Refusal::UnknownMessage
    /// [`Refusal::NotARoot`]: crate::Refusal::NotARoot
    /// [`Refusal::MentionNotAMember`]: crate::Refusal::MentionNotAMember
    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended>;

    /// One message by id in its current state, with reactions as `viewer`
    /// sees them, or `None`.
    async fn message(&self, id: &MessageId, viewer: &UserId) -> StoreResult<Option<Message>>;

    /// A page of messages in their current state, ascending `seq` (see
    /// [`HistoryQuery`]): the conversation's own messages (thread replies
    /// left out) or one thread's replies. Reactions say whether `viewer`
    /// made them. An unknown conversation yields an empty page.
    async fn history(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        query: HistoryQuery,
    ) -> StoreResult<Page>;

    /// Every entry of the timeline after `after`, ascending, at most
    /// `limit`: messages (thread replies included) in their current state,
    /// with reactions as `viewer` sees them, and every other change.
    async fn timeline(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<TimelinePage>;

    /// Makes `change` with the next seq, atomically with its checks, which
    /// refuse with [`StoreError::Refused`] and write nothing: the
    /// conversation exists; `change.by` is a member (except when joining:
    /// [`Change::MemberAdded`](crate::Change::MemberAdded) of `by`
    /// themselves, which the service allows for public rooms only) and is
    /// not muted or blocked for writes (edits, reactions, pins); the
    /// message exists and is not deleted for changes about one; `by` sent
    /// it, for edits and deletes; the member limit, bans and blocks, for
    /// additions; and the roles (see [`Role`](crate::Role)): admins add
    /// (members too where the group allows it), remove, ban, unban, mute,
    /// unmute and rename, never acting on the owner; the owner changes
    /// roles and hands over ownership. When the owner leaves, the
    /// longest-standing admin, else member, becomes owner (the
    /// `member_removed` event names them); the first to join a group
    /// without an owner owns it. A delete wipes the text and content from
    /// storage (the message's and its edits'), its reactions and its pin.
    /// A repeated `(conversation, by, client_id)` returns the stored event
    /// as [`Outcome::Repeated`](crate::Outcome::Repeated); a change with
    /// nothing to do (a reaction already there, a member already in) is
    /// [`Outcome::Unchanged`](crate::Outcome::Unchanged) and takes no seq.
    async fn change(&self, change: NewChange) -> StoreResult<Changed>;

    /// Every member's read mark, by user id.
    async fn read_marks(&self, id: &ConversationId) -> StoreResult<Vec<ReadMark>>;

    /// The pinned messages, most recently pinned first, as `viewer` sees them.
    async fn pins(&self, id: &ConversationId, viewer: &UserId) -> StoreResult<Vec<Message>>;

    /// Messages of `query.user`'s conversations whose text holds every word
    /// of `query.words` (each word a prefix of a word in the text, case and
    /// accents ignored), newest first, only those older than `query.before`
    /// when set.
    async fn search(&self, query: SearchQuery) -> StoreResult<SearchPage>;

    /// Raises `user`'s read mark to `seq` capped at the conversation's
    /// `last_seq` (never lowers it) and returns the stored mark (`0` when
    /// `user` is not a member), and whether this call raised it.
    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate>;

    /// Deletes group `id` on behalf of `by`, an admin or its owner (checked
    /// in the same transaction: [`Refusal::NotAMember`],
    /// [`Refusal::NotAnAdmin`], [`Refusal::UnknownConversation`]): its
    /// messages, events, reactions, pins, mentions, members, bans and search
    /// entries go; the conversation's row stays as a tombstone, so its id
    /// is never used again and every read of it finds nothing. Returns the
    /// members it had.
    ///
    /// [`Refusal::NotAMember`]: crate::Refusal::NotAMember
    /// [`Refusal::NotAnAdmin`]: crate::Refusal::NotAnAdmin
    /// [`Refusal::UnknownConversation`]: crate::Refusal::UnknownConversation
    async fn delete_conversation(
        &self,
        id: &ConversationId,
        by: &UserId,
    ) -> StoreResult<Vec<UserId>>;

    /// The users banned from `id`, sorted.
    async fn bans(&self, id: &ConversationId) -> StoreResult<Vec<UserId>>;

    /// Makes `by` block `user` (`blocked: true`) or stops it, and returns
    /// whether that changed anything. In the same transaction, `user` is
    /// muted in (or, when no longer blocked, given back) their direct
    /// conversation with `by`, so a send racing the block is refused
    /// ([`Refusal::Blocked`](crate::Refusal::Blocked)) once the block is in.
    /// While blocked, `user` cannot open a direct conversation with `by`
    /// nor add `by` to a group.
    async fn set_block(&self, by: &UserId, user: &UserId, blocked: bool) -> StoreResult<bool>;

    /// The users `by` blocks, sorted.
    async fn blocked_by(&self, by: &UserId) -> StoreResult<Vec<UserId>>;

    /// Records a user a [`StoreDirectory`](crate::StoreDirectory) knows
    /// (first seen `at`), or updates their display name and avatar.
    async fn record_user(&self, profile: &Profile, at: Timestamp) -> StoreResult<()>;

    /// A page of the users recorded, in id order.
    async fn users(&self, query: &UserQuery) -> StoreResult<UserPage>;

    /// The profiles of those of `ids` recorded, in id order.
    async fn profiles(&self, ids: &[UserId]) -> StoreResult<Vec<Profile>>;

    /// The users who share a direct conversation or a group (not a public
    /// room, nor a deleted conversation) with `user`, where neither blocks
    /// the other: who may see `user`'s presence. Sorted, without `user`.
    async fn contacts(&self, user: &UserId) -> StoreResult<Vec<UserId>>;

    /// Changes the fields `change` names of `user`'s preferences for `id`,
    /// each on its own (a concurrent change of another field stays), and
    /// returns them all; `None` when `user` is not a member. Pinning past
    /// [`MAX_PINNED`](crate::MAX_PINNED) pinned conversations is
    /// [`Refusal::TooManyPinned`](crate::Refusal::TooManyPinned).
    async fn set_preferences(
        &self,
        id: &ConversationId,
        user: &UserId,
        change: PreferencesChange,
    ) -> StoreResult<Option<Preferences>>;

    /// The preferences for `id` of those of `users` who are its members,
    /// in user id order.
    async fn preferences_of(
        &self,
        id: &ConversationId,
        users: &[UserId],
    ) -> StoreResult<Vec<(UserId, Preferences)>>;

    /// Claims up to `limit` outbox rows (written by [`Store::append`] for a
    /// record with [`outbox_due`](NewMessageRecord::outbox_due)) that fell
    /// due by `now`, earliest first: each becomes due again at `until` and
    /// counts one more attempt. Of concurrent claims (from any node), one
    /// alone gets a row. See [`crate::outbox`].
    async fn claim_outbox(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>>;

    /// Deletes the outbox rows of `ids`: their work is done.
    async fn finish_outbox(&self, ids: &[MessageId]) -> StoreResult<()>;

    /// Puts the outbox row of `id` back with `stage` left to do, due at `due`.
    async fn defer_outbox(
        &self,
        id: &MessageId,
        stage: OutboxStage,
        due: Timestamp,
    ) -> StoreResult<()>;
}

/// What [`Store::mark_read`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadMarkUpdate {
    /// The read mark stored now.
    pub seq: Seq,
    /// Whether this call raised it (a mark that did not move is not news).
    pub moved: bool,
}
