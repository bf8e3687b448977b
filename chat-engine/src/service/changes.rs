//! Changes to a conversation's timeline besides messages: edits, deletes,
//! reactions, pins and renames. Each validates what it can here, then the
//! store checks the rest in the change's own transaction (the message
//! exists, is not deleted, was sent by the editor) and gives it the next seq.

use super::ChatService;
use crate::config::Action;
use crate::content::Content;
use crate::conversation::ConversationKind;
use crate::error::{ChatError, Result};
use crate::ids::{ConversationId, Seq, UserId};
use crate::timeline::{Change, Changed};

/// The longest reaction, in bytes.
pub const MAX_REACTION_BYTES: usize = 64;

impl ChatService {
    /// Replaces the text (and content) of `me`'s message `seq`: an `edited`
    /// event every member gets. A retry with the same `client_id` returns
    /// the stored edit.
    ///
    /// # Errors
    /// As a send for the body, content and `client_id`;
    /// [`ChatError::Forbidden`] for another user's message,
    /// [`ChatError::Conflict`] for a deleted one, [`ChatError::NotFound`]
    /// for an unknown one, [`ChatError::RateLimited`] past
    /// [`RateLimits::edit`](crate::RateLimits::edit).
    pub async fn edit(
        &self,
        me: &UserId,
        id: &ConversationId,
        seq: Seq,
        body: String,
        content: Option<Content>,
        client_id: Option<String>,
    ) -> Result<Changed> {
        self.validate_text(&body, content.as_ref())?;
        self.validate_client_id(client_id.as_deref())?;
        self.limit(Action::Edit, me).await?;
        let change = Change::Edited {
            message_seq: seq,
            body,
            content,
        };
        self.apply(id, me, client_id, change).await
    }

    /// Deletes `me`'s message `seq`: its text and content are wiped from
    /// storage, a tombstone stays, and every member gets a `deleted` event.
    ///
    /// # Errors
    /// As [`ChatService::edit`].
    pub async fn delete(
        &self,
        me: &UserId,
        id: &ConversationId,
        seq: Seq,
        client_id: Option<String>,
    ) -> Result<Changed> {
        self.validate_client_id(client_id.as_deref())?;
        self.limit(Action::Edit, me).await?;
        let change = Change::Deleted { message_seq: seq };
        self.apply(id, me, client_id, change).await
    }

    /// Adds `me`'s `reaction` to message `seq`; reacting twice with the same
    /// reaction changes nothing.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a blank reaction or one over
    /// [`MAX_REACTION_BYTES`], [`ChatError::Conflict`] for a deleted
    /// message, [`ChatError::NotFound`], [`ChatError::Forbidden`] for a
    /// non-member, [`ChatError::RateLimited`] past
    /// [`RateLimits::react`](crate::RateLimits::react).
    pub async fn react(
        &self,
        me: &UserId,
        id: &ConversationId,
        seq: Seq,
        reaction: String,
        client_id: Option<String>,
    ) -> Result<Changed> {
        self.reaction(me, id, seq, reaction, client_id, true).await
    }

    /// Takes `me`'s `reaction` to message `seq` back; taking back one that
    /// is not there changes nothing.
    ///
    /// # Errors
    /// As [`ChatService::react`].
    pub async fn unreact(
        &self,
        me: &UserId,
        id: &ConversationId,
        seq: Seq,
        reaction: String,
        client_id: Option<String>,
    ) -> Result<Changed> {
        self.reaction(me, id, seq, reaction, client_id, false).await
    }

    /// Adds (`added`) or takes back `me`'s `reaction` to message `seq`.
    async fn reaction(
        &self,
        me: &UserId,
        id: &ConversationId,
        message_seq: Seq,
        reaction: String,
        client_id: Option<String>,
        added: bool,
    ) -> Result<Changed> {
        check_reaction(&reaction)?;
        self.validate_client_id(client_id.as_deref())?;
        self.limit(Action::React, me).await?;
        let change = if added {
            Change::ReactionAdded {
                message_seq,
                reaction,
            }
        } else {
            Change::ReactionRemoved {
                message_seq,
                reaction,
            }
        };
        self.apply(id, me, client_id, change).await
    }

    /// Pins message `seq` (pinning it again changes nothing), or unpins it
    /// with `pinned: false`.
    ///
    /// # Errors
    /// [`ChatError::Conflict`] for a deleted message, [`ChatError::NotFound`],
    /// [`ChatError::Forbidden`] for a non-member or a muted one,
    /// [`ChatError::RateLimited`] past [`RateLimits::manage`](crate::RateLimits::manage).
    pub async fn pin(
        &self,
        me: &UserId,
        id: &ConversationId,
        seq: Seq,
        pinned: bool,
    ) -> Result<Changed> {
        self.limit(Action::Manage, me).await?;
        let change = if pinned {
            Change::Pinned { message_seq: seq }
        } else {
            Change::Unpinned { message_seq: seq }
        };
        self.apply(id, me, None, change).await
    }

    /// Renames group `id` (its admins only): a `renamed` event every member gets.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation or a blank or
    /// oversized title, [`ChatError::Forbidden`] for a non-admin,
    /// [`ChatError::RateLimited`] past
    /// [`RateLimits::manage`](crate::RateLimits::manage).
    pub async fn rename(&self, me: &UserId, id: &ConversationId, title: &str) -> Result<Changed> {
        let title = title.trim();
        if title.is_empty() {
            return Err(ChatError::invalid("title", "must not be empty"));
        }
        self.check_title_length("title", title)?;
        self.limit(Action::Manage, me).await?;
        let conversation = self.conversation(me, id).await?;
        if conversation.kind == ConversationKind::Direct {
            return Err(ChatError::invalid(
                "conversation_id",
                "a direct conversation has no title",
            ));
        }
        let change = Change::Renamed {
            title: title.to_owned(),
        };
        self.apply(id, me, None, change).await
    }
}

/// A reaction is 1 to [`MAX_REACTION_BYTES`] bytes of something visible.
fn check_reaction(reaction: &str) -> Result<()> {
    if reaction.trim().is_empty() || reaction.len() > MAX_REACTION_BYTES {
        return Err(ChatError::invalid(
            "reaction",
            format!("must be 1 to {MAX_REACTION_BYTES} bytes, not blank"),
        ));
    }
    Ok(())
}
