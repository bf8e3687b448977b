//! `ChatService`: the one entry point of the library. It authorizes and
//! validates every call, then runs the flow send → save (Store) → notify
//! (Bus, one event per message, encoded once) → fetch (history by seq).
//!
//! The store is the truth. A failed save publishes nothing; a failed publish
//! after a save is logged and counted but the send still succeeds, because
//! every recipient can recover the message from the store by `seq`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use self::rate::SendLimiter;
use crate::bus::{Bus, Envelope};
use crate::config::ChatConfig;
use crate::conversation::{
    Conversation, ConversationKind, ConversationSummary, DirectPair, NewDirect, NewGroup,
};
use crate::error::{ChatError, Refusal, Result, StoreError};
use crate::hooks::SendHooks;
use crate::hub::{Connection, Hub};
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::message::{Appended, Cursor, HistoryQuery, Message, NewMessage, NewMessageRecord, Page};
use crate::protocol::{ServerEvent, encode_message_event};
use crate::room::{RoomPage, RoomQuery};
use crate::store::Store;
use crate::time;

mod rate;
#[cfg(test)]
mod tests;

/// The chat engine of one node: a store, a bus, and the hub of this node's
/// live connections. Cheap to clone (one `Arc`).
///
/// ```
/// # async fn example(store: std::sync::Arc<dyn chat_core::Store>, bus: std::sync::Arc<dyn chat_core::Bus>) -> chat_core::Result<()> {
/// use chat_core::{ChatConfig, ChatService, NewMessage, UserId};
///
/// let chat = ChatService::new(store, bus, ChatConfig::default()).await?;
/// let (alice, bob) = (UserId::new("alice")?, UserId::new("bob")?);
/// let direct = chat.open_direct(&alice, &bob).await?;
/// let sent = chat.send(&alice, &direct.id, NewMessage::text("hi bob")).await?;
/// assert_eq!(sent.message.seq, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ChatService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    hub: Hub,
    config: ChatConfig,
    publish_failures: AtomicU64,
    send_limiter: Option<SendLimiter>,
    hooks: Option<Arc<dyn SendHooks>>,
}

impl ChatService {
    /// Builds the service and starts this node's hub on `bus`. Needs a tokio runtime.
    ///
    /// # Errors
    /// [`ChatError::Unavailable`] when the bus cannot be subscribed to.
    pub async fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, config: ChatConfig) -> Result<Self> {
        Self::start(store, bus, config, None).await
    }

    /// Like [`ChatService::new`], with the host's [`SendHooks`] in the send
    /// flow (moderation before the save; notifications, webhooks and bots
    /// after it).
    ///
    /// # Errors
    /// [`ChatError::Unavailable`] when the bus cannot be subscribed to.
    pub async fn new_with_hooks(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        config: ChatConfig,
        hooks: Arc<dyn SendHooks>,
    ) -> Result<Self> {
        Self::start(store, bus, config, Some(hooks)).await
    }

    async fn start(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        config: ChatConfig,
        hooks: Option<Arc<dyn SendHooks>>,
    ) -> Result<Self> {
        let hub = Hub::start(Arc::clone(&bus), &config).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                bus,
                hub,
                send_limiter: config.send_rate.map(SendLimiter::new),
                config,
                publish_failures: AtomicU64::new(0),
                hooks,
            }),
        })
    }

    /// The limits in force.
    #[must_use]
    pub fn config(&self) -> &ChatConfig {
        &self.inner.config
    }

    /// The store (for health checks and hosts' own queries).
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// This node's hub of live connections.
    #[must_use]
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Sends refused by the send rate limit, since start.
    #[must_use]
    pub fn rate_limited(&self) -> u64 {
        self.inner
            .send_limiter
            .as_ref()
            .map_or(0, SendLimiter::refused)
    }

    /// Publishes that failed after their message was saved, since start.
    #[must_use]
    pub fn publish_failures(&self) -> u64 {
        self.inner.publish_failures.load(Ordering::Relaxed)
    }

    /// Creates a group titled `title` with `creator` and `members`
    /// (duplicates ignored). Each member other than the creator receives a
    /// `member_added` event naming themselves, so their clients learn of the
    /// new conversation (one small event per member, not one per pair).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for an empty or oversized title,
    /// [`ChatError::TooLarge`] over the member limit.
    pub async fn create_group(
        &self,
        creator: &UserId,
        title: &str,
        members: Vec<UserId>,
    ) -> Result<Conversation> {
        self.create(creator, title, members, false).await
    }

    /// Creates a public room titled `title` with `creator` as its first
    /// member: it is listed by [`ChatService::rooms`] and anyone may
    /// [`join_room`](ChatService::join_room) it. Invited `members` are added
    /// as in [`ChatService::create_group`].
    ///
    /// # Errors
    /// As [`ChatService::create_group`].
    pub async fn create_room(
        &self,
        creator: &UserId,
        title: &str,
        members: Vec<UserId>,
    ) -> Result<Conversation> {
        self.create(creator, title, members, true).await
    }

    async fn create(
        &self,
        creator: &UserId,
        title: &str,
        members: Vec<UserId>,
        public: bool,
    ) -> Result<Conversation> {
        let config = &self.inner.config;
        let title = title.trim();
        if title.is_empty() {
            return Err(ChatError::invalid("title", "must not be empty"));
        }
        self.check_title_length("title", title)?;
        let mut members = members;
        members.push(creator.clone());
        members.sort();
        members.dedup();
        if members.len() > config.max_group_members {
            return Err(ChatError::TooLarge {
                what: "members",
                size: members.len(),
                limit: config.max_group_members,
            });
        }
        let conversation = self
            .inner
            .store
            .create_group(NewGroup {
                id: ConversationId::generate(),
                title: title.to_owned(),
                public,
                created_by: creator.clone(),
                members,
                created_at: time::now(),
            })
            .await?;
        for member in conversation.members.iter().filter(|m| *m != creator) {
            let event = ServerEvent::MemberAdded {
                conversation_id: conversation.id.clone(),
                user_id: member.clone(),
                by: creator.clone(),
            };
            self.publish(vec![member.clone()], &conversation.id, None, event.encode())
                .await;
        }
        Ok(conversation)
    }

    /// Opens (or returns) the direct conversation between `me` and `other`.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] when `other` is `me`.
    pub async fn open_direct(&self, me: &UserId, other: &UserId) -> Result<Conversation> {
        let pair = DirectPair::new(me.clone(), other.clone())?;
        Ok(self
            .inner
            .store
            .open_direct(NewDirect {
                id: ConversationId::generate(),
                pair,
                created_by: me.clone(),
                created_at: time::now(),
            })
            .await?)
    }

    /// One conversation with its members, for a member.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], or [`ChatError::Forbidden`] for a non-member.
    pub async fn conversation(&self, me: &UserId, id: &ConversationId) -> Result<Conversation> {
        let conversation = self
            .inner
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| ChatError::not_found("conversation", id))?;
        if !conversation.has_member(me) {
            return Err(not_a_member(id));
        }
        Ok(conversation)
    }

    /// `me`'s conversations, newest activity first, with last message and
    /// unread count (at most [`ChatConfig::max_conversations_listed`]).
    ///
    /// # Errors
    /// Store failures only.
    pub async fn conversations(&self, me: &UserId) -> Result<Vec<ConversationSummary>> {
        let limit = self.inner.config.max_conversations_listed;
        Ok(self.inner.store.conversations_of(me, limit).await?)
    }

    /// A page of the public rooms directory, newest first: only rooms older
    /// than `before` (the last id of the previous page) when given, only
    /// titles containing `search` (ignoring case as [`RoomQuery::search`]
    /// says; blank means all) when
    /// given. `limit` defaults to [`ChatConfig::default_page`] and is capped
    /// at [`ChatConfig::max_page`].
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a zero limit or a search longer than
    /// [`ChatConfig::max_title_bytes`].
    pub async fn rooms(
        &self,
        me: &UserId,
        search: Option<&str>,
        before: Option<ConversationId>,
        limit: Option<u32>,
    ) -> Result<RoomPage> {
        let limit = self.page_limit(limit)?;
        let search = search.map(str::trim).filter(|text| !text.is_empty());
        if let Some(text) = search {
            self.check_title_length("q", text)?;
        }
        Ok(self
            .inner
            .store
            .rooms(RoomQuery {
                viewer: me.clone(),
                search: search.map(str::to_owned),
                before,
                limit,
            })
            .await?)
    }

    /// Joins the public room `id`; every member (the joiner included, on all
    /// their devices) gets a `member_added` event. Returns the room with its
    /// members, and whether `me` was added: joining twice is not an error,
    /// it returns `false` and changes nothing.
    ///
    /// # Errors
    /// [`ChatError::NotFound`] for an unknown id, [`ChatError::Forbidden`]
    /// for a private group or a direct conversation, [`ChatError::TooLarge`]
    /// when the room is full.
    pub async fn join_room(
        &self,
        me: &UserId,
        id: &ConversationId,
    ) -> Result<(Conversation, bool)> {
        let mut room = self
            .inner
            .store
            .conversation(id)
            .await?
            .ok_or_else(|| ChatError::not_found("conversation", id))?;
        match (room.kind, room.public) {
            (_, true) => {}
            (ConversationKind::Direct, false) => {
                return Err(ChatError::Forbidden(format!(
                    "conversation {id} is a direct conversation: it has exactly its two users"
                )));
            }
            (ConversationKind::Group, false) => {
                return Err(ChatError::Forbidden(format!(
                    "conversation {id} is a private group: members must be added by a member"
                )));
            }
        }
        if room.has_member(me) {
            return Ok((room, false));
        }
        match self.add(&room, me, me).await? {
            Some(members) => {
                room.members = members;
                Ok((room, true))
            }
            // Joined a moment ago from another device.
            None => {
                if let Err(at) = room.members.binary_search(me) {
                    room.members.insert(at, me.clone());
                }
                Ok((room, false))
            }
        }
    }

    /// Adds `user` to a group `me` belongs to. Adding a member twice is not an
    /// error; it returns `false` and changes nothing.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation,
    /// [`ChatError::TooLarge`] when the group is full, and the errors of
    /// [`ChatService::conversation`].
    pub async fn add_member(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
    ) -> Result<bool> {
        let conversation = self.conversation(me, id).await?;
        require_group(&conversation)?;
        if conversation.has_member(user) {
            return Ok(false);
        }
        Ok(self.add(&conversation, user, me).await?.is_some())
    }

    /// Adds `user` to `conversation` (a group) on behalf of `by`, within the
    /// member limit (the store checks it atomically), and tells every member,
    /// `user` included. Returns the members after the add, or `None` when
    /// `user` already was one.
    async fn add(
        &self,
        conversation: &Conversation,
        user: &UserId,
        by: &UserId,
    ) -> Result<Option<Vec<UserId>>> {
        let (id, limit) = (&conversation.id, self.inner.config.max_group_members);
        let added = self
            .inner
            .store
            .add_member(id, user, time::now(), limit)
            .await
            .map_err(|error| match error {
                StoreError::Refused(Refusal::Full) => ChatError::TooLarge {
                    what: "members",
                    size: limit + 1,
                    limit,
                },
                other => other.into(),
            })?;
        if !added {
            return Ok(None);
        }
        // Read again: members who joined meanwhile hear of this one too.
        let members = match self.inner.store.members(id).await {
            Ok(Some(members)) => members,
            _ => {
                let mut members = conversation.members.clone();
                members.push(user.clone());
                members.sort();
                members
            }
        };
        let event = ServerEvent::MemberAdded {
            conversation_id: id.clone(),
            user_id: user.clone(),
            by: by.clone(),
        };
        self.publish(members.clone(), id, None, event.encode())
            .await;
        Ok(Some(members))
    }

    /// Removes `user` from a group. Members may remove themselves (leave);
    /// only the group's creator may remove others. The last member of a
    /// public room may leave it (the room stays listed and joinable); the
    /// last member of a private group may not, since no one could get back in.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation or the last member of a private group,
    /// [`ChatError::Forbidden`] for removing another member without being the
    /// creator, [`ChatError::NotFound`] when `user` is not a member.
    pub async fn remove_member(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
    ) -> Result<()> {
        let conversation = self.conversation(me, id).await?;
        require_group(&conversation)?;
        if user != me && *me != conversation.created_by {
            return Err(ChatError::Forbidden(
                "only the group's creator may remove other members".to_owned(),
            ));
        }
        if !conversation.has_member(user) {
            return Err(ChatError::not_found("member", user));
        }
        if conversation.members.len() == 1 && !conversation.public {
            return Err(ChatError::invalid(
                "user_id",
                "the last member of a group cannot be removed",
            ));
        }
        if self.inner.store.remove_member(id, user).await? {
            let event = ServerEvent::MemberRemoved {
                conversation_id: id.clone(),
                user_id: user.clone(),
                by: me.clone(),
            };
            self.publish(conversation.members, id, None, event.encode())
                .await;
        }
        Ok(())
    }

    /// Sends a message: validates, saves (assigning the next `seq`), then
    /// publishes one event to every member's live connections. A retry with
    /// the same `client_id` returns the stored message (`duplicate: true`)
    /// and publishes it again, so recipients that missed it get it (clients
    /// deduplicate by `seq`).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] / [`ChatError::TooLarge`] for a bad body or
    /// `client_id`, [`ChatError::NotFound`], [`ChatError::Forbidden`] for a
    /// non-member, [`ChatError::Rejected`] when a
    /// [`SendHooks::before_send`] refuses it, [`ChatError::RateLimited`] past the user's send rate
    /// ([`ChatConfig::send_rate`]), [`ChatError::Unavailable`] when the store
    /// is down.
    pub async fn send(
        &self,
        me: &UserId,
        id: &ConversationId,
        new: NewMessage,
    ) -> Result<Appended> {
        // Validated first: a refused body costs no token of the rate.
        self.validate(&new)?;
        if let Some(limiter) = &self.inner.send_limiter {
            limiter
                .take(me)
                .map_err(|retry_after| ChatError::RateLimited { retry_after })?;
        }
        let new = match &self.inner.hooks {
            Some(hooks) => {
                let rewritten = hooks
                    .before_send(me, id, new)
                    .await
                    .map_err(ChatError::Rejected)?;
                self.validate(&rewritten)?;
                rewritten
            }
            None => new,
        };
        // The store checks membership in the append's own transaction and
        // returns the members: no window between "is a member" and "stored".
        let appended = self
            .inner
            .store
            .append(NewMessageRecord {
                id: MessageId::generate(),
                conversation_id: id.clone(),
                sender: me.clone(),
                body: new.body,
                content: new.content,
                client_id: new.client_id,
                created_at: time::now(),
            })
            .await
            .map_err(|error| match error {
                StoreError::Refused(Refusal::UnknownConversation) => {
                    ChatError::not_found("conversation", id)
                }
                StoreError::Refused(Refusal::NotAMember) => not_a_member(id),
                other => other.into(),
            })?;
        let message = &appended.message;
        let payload = encode_message_event(message);
        self.publish(appended.members.clone(), id, Some(message.seq), payload)
            .await;
        if let (Some(hooks), false) = (&self.inner.hooks, appended.duplicate) {
            let (hooks, message, members) =
                (Arc::clone(hooks), message.clone(), appended.members.clone());
            tokio::spawn(async move { hooks.after_send(message, members).await });
        }
        Ok(appended)
    }

    /// One message by id, for a member of its conversation.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`].
    pub async fn message(&self, me: &UserId, id: &MessageId) -> Result<Message> {
        let message = self
            .inner
            .store
            .message(id)
            .await?
            .ok_or_else(|| ChatError::not_found("message", id))?;
        self.authorize(me, &message.conversation_id).await?;
        Ok(message)
    }

    /// A page of history in ascending `seq`. `limit` defaults to
    /// [`ChatConfig::default_page`] and is capped at [`ChatConfig::max_page`].
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a zero limit or a seq past [`MAX_SEQ`](crate::MAX_SEQ), [`ChatError::NotFound`],
    /// [`ChatError::Forbidden`].
    pub async fn history(
        &self,
        me: &UserId,
        id: &ConversationId,
        cursor: Cursor,
        limit: Option<u32>,
    ) -> Result<Page> {
        let limit = self.page_limit(limit)?;
        if let Cursor::Before(seq) | Cursor::After(seq) = cursor {
            check_seq(seq)?;
        }
        let query = HistoryQuery { cursor, limit };
        self.authorize(me, id).await?;
        Ok(self.inner.store.history(id, query).await?)
    }

    /// Marks `id` read by `me` up to `seq` (capped at the conversation's last
    /// seq; never lowered) and tells the members. Returns the stored mark.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a seq past [`MAX_SEQ`](crate::MAX_SEQ),
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`].
    pub async fn mark_read(&self, me: &UserId, id: &ConversationId, seq: Seq) -> Result<Seq> {
        check_seq(seq)?;
        let members = self.members_for(me, id).await?;
        let stored = self.inner.store.mark_read(id, me, seq).await?;
        let event = ServerEvent::Read {
            conversation_id: id.clone(),
            user_id: me.clone(),
            seq: stored,
        };
        self.publish(members, id, None, event.encode()).await;
        Ok(stored)
    }

    /// Tells the other members that `me` is typing.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`].
    pub async fn typing(&self, me: &UserId, id: &ConversationId) -> Result<()> {
        let mut members = self.members_for(me, id).await?;
        members.retain(|member| member != me);
        if !members.is_empty() {
            let event = ServerEvent::Typing {
                conversation_id: id.clone(),
                user_id: me.clone(),
            };
            self.publish(members, id, None, event.encode()).await;
        }
        Ok(())
    }

    /// Registers a live connection of `me` on this node (one per device).
    ///
    /// # Errors
    /// [`ChatError::TooManyConnections`] past
    /// [`ChatConfig::max_connections_per_user`]; [`ChatError::Unavailable`]
    /// when the bus cannot route `me`'s events here.
    pub async fn connect(&self, me: &UserId) -> Result<Connection> {
        self.inner.hub.connect(me.clone()).await
    }

    /// Checks the store (a read) and the bus ([`Bus::health`]: for a
    /// networked bus, a round trip through this node's own subscription).
    pub async fn health(&self) -> Health {
        let probe = ConversationId::generate();
        let user = UserId::new("health-probe").expect("a valid id");
        Health {
            store: self
                .inner
                .store
                .is_member(&probe, &user)
                .await
                .err()
                .map(ChatError::from),
            bus: self.inner.bus.health().await.err().map(ChatError::from),
        }
    }

    /// A requested page size: the default when absent, capped at the maximum.
    fn page_limit(&self, limit: Option<u32>) -> Result<u32> {
        let config = &self.inner.config;
        match limit.unwrap_or(config.default_page) {
            0 => Err(ChatError::invalid("limit", "must be at least 1")),
            limit => Ok(limit.min(config.max_page)),
        }
    }

    /// Refuses `text` (a title, or a search for one) longer than a title may be.
    fn check_title_length(&self, field: &'static str, text: &str) -> Result<()> {
        let limit = self.inner.config.max_title_bytes;
        if text.len() > limit {
            return Err(ChatError::invalid(
                field,
                format!("is {} bytes, the limit is {limit}", text.len()),
            ));
        }
        Ok(())
    }

    fn validate(&self, new: &NewMessage) -> Result<()> {
        let config = &self.inner.config;
        if new.body.len() > config.max_body_bytes {
            return Err(ChatError::TooLarge {
                what: "body",
                size: new.body.len(),
                limit: config.max_body_bytes,
            });
        }
        if new.body.trim().is_empty() {
            return Err(ChatError::invalid(
                "body",
                "must contain at least one non-whitespace character",
            ));
        }
        if let Some(content) = &new.content {
            content.check(config.max_payload_bytes)?;
        }
        if let Some(client_id) = &new.client_id {
            if client_id.is_empty() || client_id.len() > config.max_client_id_bytes {
                return Err(ChatError::invalid(
                    "client_id",
                    format!("must be 1 to {} bytes", config.max_client_id_bytes),
                ));
            }
        }
        Ok(())
    }

    /// The members of `id`, provided `me` is one of them.
    async fn members_for(&self, me: &UserId, id: &ConversationId) -> Result<Vec<UserId>> {
        let members = self
            .inner
            .store
            .members(id)
            .await?
            .ok_or_else(|| ChatError::not_found("conversation", id))?;
        if members.binary_search(me).is_err() {
            return Err(not_a_member(id));
        }
        Ok(members)
    }

    /// Succeeds when `me` is a member of `id`; tells "unknown" from "not yours".
    async fn authorize(&self, me: &UserId, id: &ConversationId) -> Result<()> {
        if self.inner.store.is_member(id, me).await? {
            return Ok(());
        }
        match self.inner.store.members(id).await? {
            None => Err(ChatError::not_found("conversation", id)),
            Some(_) => Err(not_a_member(id)),
        }
    }

    async fn publish(
        &self,
        recipients: Vec<UserId>,
        id: &ConversationId,
        seq: Option<Seq>,
        payload: Bytes,
    ) {
        let envelope = Envelope::new(recipients, id.clone(), seq, payload);
        if let Err(error) = self.inner.bus.publish(envelope).await {
            // Counted, not lost: recipients recover the message from the store by seq.
            self.inner.publish_failures.fetch_add(1, Ordering::Relaxed);
            static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
            if let Some(suppressed) = LOG.admit() {
                tracing::warn!(conversation = %id, ?seq, error = %error, suppressed, "publish failed after save");
            }
        }
    }
}

/// Refuses a seq no conversation can reach.
fn check_seq(seq: Seq) -> Result<()> {
    if seq > crate::ids::MAX_SEQ {
        return Err(ChatError::invalid(
            "seq",
            "is larger than any seq can be (2^63 - 1)",
        ));
    }
    Ok(())
}

/// What [`ChatService::health`] found: `None` where all is well.
#[derive(Debug)]
#[non_exhaustive]
pub struct Health {
    /// The store's failure, if it failed.
    pub store: Option<ChatError>,
    /// The bus's failure, if it failed.
    pub bus: Option<ChatError>,
}

impl Health {
    /// Whether both the store and the bus answered.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.store.is_none() && self.bus.is_none()
    }
}

fn not_a_member(id: &ConversationId) -> ChatError {
    ChatError::Forbidden(format!("not a member of conversation {id}"))
}

fn require_group(conversation: &Conversation) -> Result<()> {
    match conversation.kind {
        ConversationKind::Group => Ok(()),
        ConversationKind::Direct => Err(ChatError::invalid(
            "conversation_id",
            "members of a direct conversation cannot change",
        )),
    }
}
