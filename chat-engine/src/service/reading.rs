//! Reads of the timeline beyond message pages: every event since a seq (what
//! `resume` replays), every member's read mark, the pinned messages, and
//! full-text search over the caller's own conversations.

use super::ChatService;
use super::messages::check_seq;
use crate::error::Result;
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::message::Message;
use crate::search::{SearchPage, SearchQuery};
use crate::timeline::{ReadMark, TimelinePage};

impl ChatService {
    /// Every entry of the timeline after `after`, ascending: messages in
    /// their current state and every other change. `limit` defaults to
    /// [`ChatConfig::max_page`](crate::ChatConfig::max_page), and is capped there.
    ///
    /// # Errors
    /// [`ChatError::Invalid`](crate::ChatError::Invalid) for a zero limit or a seq past
    /// [`MAX_SEQ`](crate::MAX_SEQ), [`ChatError::NotFound`](crate::ChatError::NotFound),
    /// [`ChatError::Forbidden`](crate::ChatError::Forbidden).
    pub async fn events(
        &self,
        me: &UserId,
        id: &ConversationId,
        after: Seq,
        limit: Option<u32>,
    ) -> Result<TimelinePage> {
        check_seq(after)?;
        let max = self.inner.config.max_page;
        let limit = super::page_size(limit, max, max)?;
        self.authorize(me, id).await?;
        Ok(self.inner.store.timeline(id, me, after, limit).await?)
    }

    /// Every member's read mark ("Seen by" after a reload).
    ///
    /// # Errors
    /// [`ChatError::NotFound`](crate::ChatError::NotFound), [`ChatError::Forbidden`](crate::ChatError::Forbidden).
    pub async fn read_marks(&self, me: &UserId, id: &ConversationId) -> Result<Vec<ReadMark>> {
        self.authorize(me, id).await?;
        Ok(self.inner.store.read_marks(id).await?)
    }

    /// The pinned messages, most recently pinned first.
    ///
    /// # Errors
    /// [`ChatError::NotFound`](crate::ChatError::NotFound), [`ChatError::Forbidden`](crate::ChatError::Forbidden).
    pub async fn pins(&self, me: &UserId, id: &ConversationId) -> Result<Vec<Message>> {
        self.authorize(me, id).await?;
        Ok(self.inner.store.pins(id, me).await?)
    }

    /// Messages of `me`'s conversations holding every word of `text` (see
    /// [`crate::search`]), newest first, older than `before` when given.
    /// `limit` as for history pages.
    ///
    /// # Errors
    /// [`ChatError::Invalid`](crate::ChatError::Invalid) for a search with no word to look for, or
    /// one longer than a title may be.
    pub async fn search(
        &self,
        me: &UserId,
        text: &str,
        before: Option<MessageId>,
        limit: Option<u32>,
    ) -> Result<SearchPage> {
        self.check_title_length("q", text)?;
        let words = SearchQuery::words_of(text)?;
        let limit = self.page_limit(limit)?;
        let query = SearchQuery {
            user: me.clone(),
            words,
            before,
            limit,
        };
        Ok(self.inner.store.search(query).await?)
    }
}
