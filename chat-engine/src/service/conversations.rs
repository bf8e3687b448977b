//! Conversations: creating groups and rooms, opening direct ones, reading
//! one, listing a user's, and the public rooms directory.

use super::{ChatService, not_a_member, page_size};
use crate::config::Action;
use crate::conversation::{
    ActivityCursor, Conversation, ConversationPage, ConversationQuery, DirectPair, GroupSettings,
    NewDirect, NewGroup,
};
use crate::error::{ChatError, Result};
use crate::ids::{ConversationId, UserId};
use crate::protocol::ServerEvent;
use crate::room::{RoomPage, RoomQuery};
use crate::time;

impl ChatService {
    /// Creates a group titled `title` with `creator` and `members`
    /// (duplicates ignored). Each member other than the creator receives a
    /// `member_added` event naming themselves, so their clients learn of the
    /// new conversation (one small event per member, not one per pair).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for an empty or oversized title,
    /// [`ChatError::TooLarge`] over the member limit, [`ChatError::NotFound`]
    /// for a member the host's [`Directory`](crate::Directory) does not know,
    /// [`ChatError::RateLimited`] past [`RateLimits::create`](crate::RateLimits::create).
    pub async fn create_group(
        &self,
        creator: &UserId,
        title: &str,
        members: Vec<UserId>,
    ) -> Result<Conversation> {
        self.create_with(creator, title, members, GroupSettings::default())
            .await
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
        let settings = GroupSettings {
            public: true,
            ..GroupSettings::default()
        };
        self.create_with(creator, title, members, settings).await
    }

    /// Creates a group or a room as [`ChatService::create_group`] does, with
    /// `settings`. The creator owns it.
    ///
    /// # Errors
    /// As [`ChatService::create_group`], and [`ChatError::Forbidden`] when
    /// one of `members` blocks the creator.
    pub async fn create_with(
        &self,
        creator: &UserId,
        title: &str,
        members: Vec<UserId>,
        settings: GroupSettings,
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
        self.limit(Action::Create, creator).await?;
        self.require_users(&members).await?;
        let conversation = self
            .inner
            .store
            .create_group(NewGroup {
                id: ConversationId::generate(),
                title: title.to_owned(),
                public: settings.public,
                members_can_add: settings.members_can_add,
                created_by: creator.clone(),
                members,
                created_at: time::now(),
            })
            .await?;
        for member in conversation.members.iter().filter(|m| *m != creator) {
            // A creation notice (no seq): the group's timeline starts empty,
            // and one small event per invited member is O(members), not
            // O(members²) as a timeline event to all of them would be.
            let event = ServerEvent::MemberAdded {
                conversation_id: conversation.id.clone(),
                user_id: member.clone(),
                by: creator.clone(),
                seq: None,
            };
            self.publish_event(vec![member.clone()], &conversation.id, &event)
                .await;
        }
        Ok(conversation)
    }

    /// Opens (or returns) the direct conversation between `me` and `other`.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] when `other` is `me`, [`ChatError::NotFound`]
    /// when the host's [`Directory`](crate::Directory) does not know
    /// `other`, [`ChatError::Forbidden`] when `other` blocks `me`, [`ChatError::RateLimited`] past [`RateLimits::create`](crate::RateLimits::create)
    /// (opening one that exists counts too: it cannot be told apart in advance).
    pub async fn open_direct(&self, me: &UserId, other: &UserId) -> Result<Conversation> {
        let pair = DirectPair::new(me.clone(), other.clone())?;
        self.limit(Action::Create, me).await?;
        self.require_users(std::slice::from_ref(other)).await?;
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

    /// A page of `me`'s conversations, newest activity first, each with its
    /// last message, unread count and `me`'s preferences: after `before`
    /// (the previous page's [`ConversationPage::next`]) when given; the
    /// first page starts with the pinned ones. Archived conversations are
    /// left out ([`ChatService::archived_conversations`] lists them).
    /// `limit` defaults to
    /// [`ChatConfig::default_conversations_listed`](crate::ChatConfig::default_conversations_listed)
    /// and is capped at
    /// [`ChatConfig::max_conversations_listed`](crate::ChatConfig::max_conversations_listed).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a zero limit; store failures.
    pub async fn conversations(
        &self,
        me: &UserId,
        before: Option<ActivityCursor>,
        limit: Option<u32>,
    ) -> Result<ConversationPage> {
        self.list(me, before, limit, false).await
    }

    /// A page of `me`'s archived conversations, as
    /// [`ChatService::conversations`] pages the main list (no pinned top).
    /// A message does not bring a conversation back from the archive: its
    /// unread count grows here.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a zero limit; store failures.
    pub async fn archived_conversations(
        &self,
        me: &UserId,
        before: Option<ActivityCursor>,
        limit: Option<u32>,
    ) -> Result<ConversationPage> {
        self.list(me, before, limit, true).await
    }

    async fn list(
        &self,
        me: &UserId,
        before: Option<ActivityCursor>,
        limit: Option<u32>,
        archived: bool,
    ) -> Result<ConversationPage> {
        let config = &self.inner.config;
        let limit = page_size(
            limit,
            config.default_conversations_listed,
            config.max_conversations_listed,
        )?;
        let query = ConversationQuery {
            user: me.clone(),
            before,
            limit,
            archived,
        };
        Ok(self.inner.store.conversations_of(query).await?)
    }

    /// A page of the public rooms directory, newest first: only rooms older
    /// than `before` (the last id of the previous page) when given, only
    /// titles containing `search` (ignoring case as [`RoomQuery::search`]
    /// says; blank means all) when
    /// given. `limit` defaults to [`ChatConfig::default_page`](crate::ChatConfig::default_page) and is capped
    /// at [`ChatConfig::max_page`](crate::ChatConfig::max_page).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a zero limit or a search longer than
    /// [`ChatConfig::max_title_bytes`](crate::ChatConfig::max_title_bytes).
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
}
