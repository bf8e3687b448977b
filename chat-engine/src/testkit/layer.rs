//! A store wrapped by another: [`StoreLayer`] forwards every [`Store`]
//! method to the wrapped store, so a test double or a fault injector writes
//! only the methods it changes (a wrong store for `suite_bites`, a store that
//! fails after commit), and a method added to `Store` needs no change in
//! any of them.
//!
//! ```
//! use std::sync::Arc;
//! use chat_engine::testkit::layer::StoreLayer;
//! use chat_engine::{NewMessageRecord, Appended, Store, StoreResult};
//!
//! /// Lets every call through, and counts the appends.
//! #[derive(Debug)]
//! struct Counting {
//!     inner: Arc<dyn Store>,
//!     appends: std::sync::atomic::AtomicU64,
//! }
//!
//! #[async_trait::async_trait]
//! impl StoreLayer for Counting {
//!     fn inner(&self) -> &dyn Store {
//!         &*self.inner
//!     }
//!     async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
//!         self.appends.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         self.inner.append(message).await
//!     }
//! }
//! ```

use crate::conversation::{Conversation, ConversationPage, ConversationQuery, NewDirect, NewGroup};
use crate::directory::{Profile, UserPage, UserQuery};
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::message::{Appended, HistoryQuery, Message, NewMessageRecord, Page};
use crate::outbox::{OutboxEntry, OutboxStage};
use crate::preferences::{Preferences, PreferencesChange};
use crate::room::{RoomPage, RoomQuery};
use crate::search::{SearchPage, SearchQuery};
use crate::store::{ReadMarkUpdate, Store, StoreResult};
use crate::time::Timestamp;
use crate::timeline::{Changed, NewChange, ReadMark, TimelinePage};

/// A store that wraps [`StoreLayer::inner`]: every method forwards to it
/// unless the layer overrides it. Every `StoreLayer` is a [`Store`].
#[async_trait::async_trait]
pub trait StoreLayer: std::fmt::Debug + Send + Sync + 'static {
    /// The wrapped store.
    fn inner(&self) -> &dyn Store;

    /// [`Store::create_group`].
    async fn create_group(&self, group: NewGroup) -> StoreResult<Conversation> {
        self.inner().create_group(group).await
    }
    /// [`Store::open_direct`].
    async fn open_direct(&self, direct: NewDirect) -> StoreResult<Conversation> {
        self.inner().open_direct(direct).await
    }
    /// [`Store::conversation`].
    async fn conversation(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        self.inner().conversation(id).await
    }
    /// [`Store::members`].
    async fn members(&self, id: &ConversationId) -> StoreResult<Option<Vec<UserId>>> {
        self.inner().members(id).await
    }
    /// [`Store::is_member`].
    async fn is_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool> {
        self.inner().is_member(id, user).await
    }
    /// [`Store::conversations_of`].
    async fn conversations_of(&self, query: ConversationQuery) -> StoreResult<ConversationPage> {
        self.inner().conversations_of(query).await
    }
    /// [`Store::rooms`].
    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage> {
        self.inner().rooms(query).await
    }
    /// [`Store::append`].
    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
        self.inner().append(message).await
    }
    /// [`Store::message`].
    async fn message(&self, id: &MessageId, viewer: &UserId) -> StoreResult<Option<Message>> {
        self.inner().message(id, viewer).await
    }
    /// [`Store::history`].
    async fn history(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        query: HistoryQuery,
    ) -> StoreResult<Page> {
        self.inner().history(id, viewer, query).await
    }
    /// [`Store::timeline`].
    async fn timeline(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<TimelinePage> {
        self.inner().timeline(id, viewer, after, limit).await
    }
    /// [`Store::change`].
    async fn change(&self, change: NewChange) -> StoreResult<Changed> {
        self.inner().change(change).await
    }
    /// [`Store::read_marks`].
    async fn read_marks(&self, id: &ConversationId) -> StoreResult<Vec<ReadMark>> {
        self.inner().read_marks(id).await
    }
    /// [`Store::pins`].
    async fn pins(&self, id: &ConversationId, viewer: &UserId) -> StoreResult<Vec<Message>> {
        self.inner().pins(id, viewer).await
    }
    /// [`Store::search`].
    async fn search(&self, query: SearchQuery) -> StoreResult<SearchPage> {
        self.inner().search(query).await
    }
    /// [`Store::mark_read`].
    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate> {
        self.inner().mark_read(id, user, seq).await
    }
    /// [`Store::delete_conversation`].
    async fn delete_conversation(
        &self,
        id: &ConversationId,
        by: &UserId,
    ) -> StoreResult<Vec<UserId>> {
        self.inner().delete_conversation(id, by).await
    }
    /// [`Store::bans`].
    async fn bans(&self, id: &ConversationId) -> StoreResult<Vec<UserId>> {
        self.inner().bans(id).await
    }
    /// [`Store::set_block`].
    async fn set_block(&self, by: &UserId, user: &UserId, blocked: bool) -> StoreResult<bool> {
        self.inner().set_block(by, user, blocked).await
    }
    /// [`Store::blocked_by`].
    async fn blocked_by(&self, by: &UserId) -> StoreResult<Vec<UserId>> {
        self.inner().blocked_by(by).await
    }
    /// [`Store::contacts`].
    async fn contacts(&self, user: &UserId) -> StoreResult<Vec<UserId>> {
        self.inner().contacts(user).await
    }
    /// [`Store::record_user`].
    async fn record_user(&self, profile: &Profile, at: Timestamp) -> StoreResult<()> {
        self.inner().record_user(profile, at).await
    }
    /// [`Store::users`].
    async fn users(&self, query: &UserQuery) -> StoreResult<UserPage> {
        self.inner().users(query).await
    }
    /// [`Store::profiles`].
    async fn profiles(&self, ids: &[UserId]) -> StoreResult<Vec<Profile>> {
        self.inner().profiles(ids).await
    }
    /// [`Store::set_preferences`].
    async fn set_preferences(
        &self,
        id: &ConversationId,
        user: &UserId,
        change: PreferencesChange,
    ) -> StoreResult<Option<Preferences>> {
        self.inner().set_preferences(id, user, change).await
    }
    /// [`Store::preferences_of`].
    async fn preferences_of(
        &self,
        id: &ConversationId,
        users: &[UserId],
    ) -> StoreResult<Vec<(UserId, Preferences)>> {
        self.inner().preferences_of(id, users).await
    }
    /// [`Store::claim_outbox`].
    async fn claim_outbox(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        self.inner().claim_outbox(now, until, limit).await
    }
    /// [`Store::finish_outbox`].
    async fn finish_outbox(&self, ids: &[MessageId]) -> StoreResult<()> {
        self.inner().finish_outbox(ids).await
    }
    /// [`Store::defer_outbox`].
    async fn defer_outbox(
        &self,
        id: &MessageId,
        stage: OutboxStage,
        due: Timestamp,
    ) -> StoreResult<()> {
        self.inner().defer_outbox(id, stage, due).await
    }
}

#[async_trait::async_trait]
impl<T: StoreLayer> Store for T {
    async fn create_group(&self, group: NewGroup) -> StoreResult<Conversation> {
        StoreLayer::create_group(self, group).await
    }
    async fn open_direct(&self, direct: NewDirect) -> StoreResult<Conversation> {
        StoreLayer::open_direct(self, direct).await
    }
    async fn conversation(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        StoreLayer::conversation(self, id).await
    }
    async fn members(&self, id: &ConversationId) -> StoreResult<Option<Vec<UserId>>> {
        StoreLayer::members(self, id).await
    }
    async fn is_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool> {
        StoreLayer::is_member(self, id, user).await
    }
    async fn conversations_of(&self, query: ConversationQuery) -> StoreResult<ConversationPage> {
        StoreLayer::conversations_of(self, query).await
    }
    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage> {
        StoreLayer::rooms(self, query).await
    }
    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
        StoreLayer::append(self, message).await
    }
    async fn message(&self, id: &MessageId, viewer: &UserId) -> StoreResult<Option<Message>> {
        StoreLayer::message(self, id, viewer).await
    }
    async fn history(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        query: HistoryQuery,
    ) -> StoreResult<Page> {
        StoreLayer::history(self, id, viewer, query).await
    }
    async fn timeline(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<TimelinePage> {
        StoreLayer::timeline(self, id, viewer, after, limit).await
    }
    async fn change(&self, change: NewChange) -> StoreResult<Changed> {
        StoreLayer::change(self, change).await
    }
    async fn read_marks(&self, id: &ConversationId) -> StoreResult<Vec<ReadMark>> {
        StoreLayer::read_marks(self, id).await
    }
    async fn pins(&self, id: &ConversationId, viewer: &UserId) -> StoreResult<Vec<Message>> {
        StoreLayer::pins(self, id, viewer).await
    }
    async fn search(&self, query: SearchQuery) -> StoreResult<SearchPage> {
        StoreLayer::search(self, query).await
    }
    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate> {
        StoreLayer::mark_read(self, id, user, seq).await
    }
    async fn delete_conversation(
        &self,
        id: &ConversationId,
        by: &UserId,
    ) -> StoreResult<Vec<UserId>> {
        StoreLayer::delete_conversation(self, id, by).await
    }
    async fn bans(&self, id: &ConversationId) -> StoreResult<Vec<UserId>> {
        StoreLayer::bans(self, id).await
    }
    async fn set_block(&self, by: &UserId, user: &UserId, blocked: bool) -> StoreResult<bool> {
        StoreLayer::set_block(self, by, user, blocked).await
    }
    async fn blocked_by(&self, by: &UserId) -> StoreResult<Vec<UserId>> {
        StoreLayer::blocked_by(self, by).await
    }
    async fn contacts(&self, user: &UserId) -> StoreResult<Vec<UserId>> {
        StoreLayer::contacts(self, user).await
    }
    async fn record_user(&self, profile: &Profile, at: Timestamp) -> StoreResult<()> {
        StoreLayer::record_user(self, profile, at).await
    }
    async fn users(&self, query: &UserQuery) -> StoreResult<UserPage> {
        StoreLayer::users(self, query).await
    }
    async fn profiles(&self, ids: &[UserId]) -> StoreResult<Vec<Profile>> {
        StoreLayer::profiles(self, ids).await
    }
    async fn set_preferences(
        &self,
        id: &ConversationId,
        user: &UserId,
        change: PreferencesChange,
    ) -> StoreResult<Option<Preferences>> {
        StoreLayer::set_preferences(self, id, user, change).await
    }
    async fn preferences_of(
        &self,
        id: &ConversationId,
        users: &[UserId],
    ) -> StoreResult<Vec<(UserId, Preferences)>> {
        StoreLayer::preferences_of(self, id, users).await
    }
    async fn claim_outbox(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        StoreLayer::claim_outbox(self, now, until, limit).await
    }
    async fn finish_outbox(&self, ids: &[MessageId]) -> StoreResult<()> {
        StoreLayer::finish_outbox(self, ids).await
    }
    async fn defer_outbox(
        &self,
        id: &MessageId,
        stage: OutboxStage,
        due: Timestamp,
    ) -> StoreResult<()> {
        StoreLayer::defer_outbox(self, id, stage, due).await
    }
}
