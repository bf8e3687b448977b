//! Messages: send (validate → save → publish → follow up), one by id, history
//! pages by seq, read marks.

use super::{ChatService, not_a_member};
use crate::bus::{Envelope, EventKind};
use crate::config::Action;
use crate::content::Content;
use crate::error::{ChatError, Refusal, Result, StoreError};
use crate::ids::{ConversationId, MessageId, Seq, UserId};
use crate::message::{Appended, Cursor, HistoryQuery, Message, NewMessage, NewMessageRecord, Page};
use crate::protocol::{ServerEvent, encode_message_event};
use crate::time;

impl ChatService {
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
    /// [`SendHooks::before_send`](crate::SendHooks::before_send) refuses it, [`ChatError::RateLimited`] past the user's send rate
    /// ([`RateLimits::send`](crate::RateLimits::send)), [`ChatError::Unavailable`] when the store
    /// is down.
    pub async fn send(
        &self,
        me: &UserId,
        id: &ConversationId,
        new: NewMessage,
    ) -> Result<Appended> {
        let started = std::time::Instant::now();
        // Validated first: a refused body costs no token of the rate.
        self.validate(&new)?;
        let mut mentions = new.mentions.clone();
        mentions.sort();
        mentions.dedup();
        self.limit(Action::Send, me).await?;
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
        // With hooks or a notifier, the outbox row goes in the same
        // transaction: the follow-up survives this node.
        let created_at = time::now();
        let relay = self.inner.relay.as_ref();
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
                created_at,
                reply_to: new.reply_to,
                thread_root: new.thread_root,
                mentions,
                outbox_due: relay.map(|relay| relay.due(created_at)),
            })
            .await
            .map_err(|error| match error {
                StoreError::Refused(Refusal::UnknownConversation) => {
                    ChatError::not_found("conversation", id)
                }
                StoreError::Refused(Refusal::NotAMember) => not_a_member(id),
                StoreError::Refused(Refusal::UnknownMessage) => ChatError::NotFound {
                    what: "message",
                    id: format!(
                        "{id}/{} (reply_to or thread_root)",
                        new.thread_root.or(new.reply_to).unwrap_or(0)
                    ),
                },
                other => other.into(),
            })?;
        let message = &appended.message;
        let payload = encode_message_event(message);
        let envelope = Envelope::new(
            appended.members.clone(),
            id.clone(),
            Some(message.seq),
            EventKind::Message,
            payload,
        );
        self.publish(envelope).await;
        if let (Some(relay), false) = (relay, appended.duplicate) {
            relay.offer(message.clone(), appended.members.clone());
        }
        ::metrics::histogram!(crate::metrics::SEND_SECONDS).record(started.elapsed());
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
            .message(id, me)
            .await?
            .ok_or_else(|| ChatError::not_found("message", id))?;
        self.authorize(me, &message.conversation_id).await?;
        Ok(message)
    }

    /// A page of the conversation's messages (thread replies left out) in
    /// their current state, ascending `seq`. `limit` defaults to
    /// [`ChatConfig::default_page`](crate::ChatConfig::default_page) and is capped at [`ChatConfig::max_page`](crate::ChatConfig::max_page).
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
        self.messages_page(me, id, cursor, limit, None).await
    }

    /// A page of the replies in the thread of message `root`, ascending
    /// `seq`; limits as [`ChatService::history`].
    ///
    /// # Errors
    /// As [`ChatService::history`].
    pub async fn thread(
        &self,
        me: &UserId,
        id: &ConversationId,
        root: Seq,
        cursor: Cursor,
        limit: Option<u32>,
    ) -> Result<Page> {
        check_seq(root)?;
        self.messages_page(me, id, cursor, limit, Some(root)).await
    }

    async fn messages_page(
        &self,
        me: &UserId,
        id: &ConversationId,
        cursor: Cursor,
        limit: Option<u32>,
        thread: Option<Seq>,
    ) -> Result<Page> {
        let limit = self.page_limit(limit)?;
        if let Cursor::Before(seq) | Cursor::After(seq) = cursor {
            check_seq(seq)?;
        }
        let query = HistoryQuery {
            cursor,
            limit,
            thread,
        };
        self.authorize(me, id).await?;
        Ok(self.inner.store.history(id, me, query).await?)
    }

    /// Marks `id` read by `me` up to `seq` (capped at the conversation's last
    /// seq; never lowered) and, when the mark moved, tells the members.
    /// Returns the stored mark.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a seq past [`MAX_SEQ`](crate::MAX_SEQ),
    /// [`ChatError::RateLimited`] past [`RateLimits::read`](crate::RateLimits::read),
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`].
    pub async fn mark_read(&self, me: &UserId, id: &ConversationId, seq: Seq) -> Result<Seq> {
        check_seq(seq)?;
        self.limit(Action::Read, me).await?;
        let members = self.members_for(me, id).await?;
        let mark = self.inner.store.mark_read(id, me, seq).await?;
        if mark.moved {
            let event = ServerEvent::Read {
                conversation_id: id.clone(),
                user_id: me.clone(),
                seq: mark.seq,
            };
            self.publish_event(members, id, &event).await;
        }
        Ok(mark.seq)
    }

    fn validate(&self, new: &NewMessage) -> Result<()> {
        self.validate_text(&new.body, new.content.as_ref())?;
        self.validate_client_id(new.client_id.as_deref())?;
        for seq in [new.reply_to, new.thread_root].into_iter().flatten() {
            check_seq(seq)?;
        }
        if new.mentions.len() > self.inner.config.max_group_members {
            return Err(ChatError::TooLarge {
                what: "mentions",
                size: new.mentions.len(),
                limit: self.inner.config.max_group_members,
            });
        }
        Ok(())
    }

    /// A body (non-blank, within the limit) and its content.
    pub(super) fn validate_text(&self, body: &str, content: Option<&Content>) -> Result<()> {
        let config = &self.inner.config;
        if body.len() > config.max_body_bytes {
            return Err(ChatError::TooLarge {
                what: "body",
                size: body.len(),
                limit: config.max_body_bytes,
            });
        }
        if body.trim().is_empty() {
            return Err(ChatError::invalid(
                "body",
                "must contain at least one non-whitespace character",
            ));
        }
        if let Some(content) = content {
            content.check(config.max_payload_bytes)?;
        }
        Ok(())
    }

    /// An idempotency key, when given: 1 to the configured bytes.
    pub(super) fn validate_client_id(&self, client_id: Option<&str>) -> Result<()> {
        let limit = self.inner.config.max_client_id_bytes;
        match client_id {
            Some(key) if key.is_empty() || key.len() > limit => Err(ChatError::invalid(
                "client_id",
                format!("must be 1 to {limit} bytes"),
            )),
            _ => Ok(()),
        }
    }
}

/// Refuses a seq no conversation can reach.
pub(super) fn check_seq(seq: Seq) -> Result<()> {
    if seq > crate::ids::MAX_SEQ {
        return Err(ChatError::invalid(
            "seq",
            "is larger than any seq can be (2^63 - 1)",
        ));
    }
    Ok(())
}
