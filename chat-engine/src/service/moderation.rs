//! Moderation: roles and ownership, bans, mutes, deleting a group, blocks
//! between users, reports to the host.
//!
//! The service refuses here only what no race can change (a direct
//! conversation has no roles, nobody bans themselves); who may do what is
//! decided by the store in the change's own transaction (see
//! [`Store::change`](crate::Store::change)), so two admins removing each
//! other, or a ban racing a join, end in a state the rules allow.

use std::sync::Arc;

use super::{ChatService, refusal};
use crate::config::Action;
use crate::conversation::{Conversation, ConversationKind, Role};
use crate::error::{ChatError, Result};
use crate::hooks::Report;
use crate::ids::{ConversationId, MessageId, UserId};
use crate::protocol::ServerEvent;
use crate::timeline::{Change, Changed};

/// The longest report reason, in bytes.
pub const MAX_REPORT_REASON_BYTES: usize = 1024;

/// What a user reports, as handed to [`ChatService::report`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reported {
    /// A message of a conversation the reporter is a member of.
    Message(MessageId),
    /// A user.
    User(UserId),
}

impl ChatService {
    /// Makes member `user` of group `id` an admin, or an admin a plain
    /// member: the owner only. A `role_changed` event every member gets.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for [`Role::Owner`] (hand the group over with
    /// [`ChatService::transfer_ownership`]) or a direct conversation,
    /// [`ChatError::Forbidden`] for anyone but the owner,
    /// [`ChatError::NotFound`] when `user` is not a member,
    /// [`ChatError::RateLimited`] past [`RateLimits::moderate`](crate::RateLimits::moderate).
    pub async fn set_role(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
        role: Role,
    ) -> Result<Changed> {
        let change = Change::RoleChanged {
            user_id: user.clone(),
            role,
        };
        self.moderate(me, id, change).await
    }

    /// Hands group `id` over to member `user`: the owner only, who stays an
    /// admin. An `owner_changed` event every member gets.
    ///
    /// # Errors
    /// As [`ChatService::set_role`].
    pub async fn transfer_ownership(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
    ) -> Result<Changed> {
        let change = Change::OwnerChanged {
            user_id: user.clone(),
        };
        self.moderate(me, id, change).await
    }

    /// Bans `user` from group `id` (`banned: true`): removed if a member,
    /// and neither joining nor being added until unbanned; or lifts the
    /// ban. Admins only, never on the owner. Banning twice changes nothing.
    ///
    /// # Errors
    /// As [`ChatService::set_role`], with [`ChatError::Forbidden`] for
    /// non-admins and for the owner as `user`.
    pub async fn ban(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
        banned: bool,
    ) -> Result<Changed> {
        let user_id = user.clone();
        let change = if banned {
            Change::Banned { user_id }
        } else {
            Change::Unbanned { user_id }
        };
        self.moderate(me, id, change).await
    }

    /// Mutes member `user` of group `id` (`muted: true`): they read but
    /// cannot send, edit, react or pin; or lifts the mute. Admins only,
    /// never on the owner.
    ///
    /// # Errors
    /// As [`ChatService::ban`], and [`ChatError::NotFound`] when `user` is
    /// not a member.
    pub async fn mute(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
        muted: bool,
    ) -> Result<Changed> {
        let user_id = user.clone();
        let change = if muted {
            Change::Muted { user_id }
        } else {
            Change::Unmuted { user_id }
        };
        self.moderate(me, id, change).await
    }

    /// Lets plain members of group `id` add others (`allowed: true`), or
    /// only its admins: admins only. A `settings_changed` event every member
    /// gets; setting what is already set changes nothing.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation,
    /// [`ChatError::Forbidden`] for a non-admin, [`ChatError::NotFound`],
    /// [`ChatError::RateLimited`] past [`RateLimits::moderate`](crate::RateLimits::moderate).
    pub async fn set_members_can_add(
        &self,
        me: &UserId,
        id: &ConversationId,
        allowed: bool,
    ) -> Result<Changed> {
        self.limit(Action::Moderate, me).await?;
        require_group(&self.conversation(me, id).await?)?;
        let change = Change::SettingsChanged {
            members_can_add: allowed,
        };
        self.apply(id, me, None, change).await
    }

    /// The users banned from group `id`, for its admins.
    ///
    /// # Errors
    /// [`ChatError::Forbidden`] for anyone else, and the errors of
    /// [`ChatService::conversation`].
    pub async fn bans(&self, me: &UserId, id: &ConversationId) -> Result<Vec<UserId>> {
        let conversation = self.conversation(me, id).await?;
        if !conversation.role_of(me).is_some_and(Role::moderates) {
            return Err(ChatError::Forbidden(
                "only the conversation's admins see its bans".to_owned(),
            ));
        }
        Ok(self.inner.store.bans(id).await?)
    }

    /// Deletes group `id` and its whole history (messages, reactions, pins,
    /// read marks, search entries): admins only. Every member gets a
    /// `conversation_deleted` event; afterwards every call on `id` answers
    /// [`ChatError::NotFound`].
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation,
    /// [`ChatError::Forbidden`] for a non-admin, [`ChatError::NotFound`],
    /// [`ChatError::RateLimited`] past [`RateLimits::moderate`](crate::RateLimits::moderate).
    pub async fn delete_conversation(&self, me: &UserId, id: &ConversationId) -> Result<()> {
        self.limit(Action::Moderate, me).await?;
        require_group(&self.conversation(me, id).await?)?;
        let members = self
            .inner
            .store
            .delete_conversation(id, me)
            .await
            .map_err(|error| refusal(error, id))?;
        let event = ServerEvent::ConversationDeleted {
            conversation_id: id.clone(),
            by: me.clone(),
        };
        self.publish_event(members, id, &event).await;
        Ok(())
    }

    /// Makes `me` block `user` (`blocked: true`) or stops blocking them;
    /// returns whether that changed anything. While blocked, `user` cannot
    /// open a direct conversation with `me`, send in the one they have, or
    /// add `me` to groups. Nobody is told.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for oneself, [`ChatError::RateLimited`] past
    /// [`RateLimits::moderate`](crate::RateLimits::moderate).
    pub async fn block(&self, me: &UserId, user: &UserId, blocked: bool) -> Result<bool> {
        if me == user {
            return Err(ChatError::invalid("user_id", "one cannot block oneself"));
        }
        self.limit(Action::Moderate, me).await?;
        Ok(self.inner.store.set_block(me, user, blocked).await?)
    }

    /// The users `me` blocks, sorted.
    ///
    /// # Errors
    /// Store failures.
    pub async fn blocked(&self, me: &UserId) -> Result<Vec<UserId>> {
        Ok(self.inner.store.blocked_by(me).await?)
    }

    /// Hands a report to the host's [`SendHooks::reported`](crate::SendHooks::reported)
    /// (on a task of its own), with the reported message as it is now.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a blank reason or one over
    /// [`MAX_REPORT_REASON_BYTES`], or for reporting oneself;
    /// [`ChatError::NotFound`] for an unknown message or one of a
    /// conversation `me` is not in; [`ChatError::RateLimited`] past
    /// [`RateLimits::report`](crate::RateLimits::report).
    pub async fn report(&self, me: &UserId, reported: Reported, reason: &str) -> Result<()> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > MAX_REPORT_REASON_BYTES {
            return Err(ChatError::invalid(
                "reason",
                format!("must be 1 to {MAX_REPORT_REASON_BYTES} bytes, not blank"),
            ));
        }
        let report = match reported {
            Reported::User(user_id) => Report {
                by: me.clone(),
                user_id,
                conversation_id: None,
                message: None,
                reason: reason.to_owned(),
            },
            Reported::Message(message_id) => {
                // A message of a conversation `me` is not in is "not found"
                // either way: its existence is not theirs to learn.
                let unknown = || ChatError::not_found("message", &message_id);
                let message = self
                    .inner
                    .store
                    .message(&message_id, me)
                    .await?
                    .ok_or_else(unknown)?;
                if !self
                    .inner
                    .store
                    .is_member(&message.conversation_id, me)
                    .await?
                {
                    return Err(unknown());
                }
                Report {
                    by: me.clone(),
                    user_id: message.sender.clone(),
                    conversation_id: Some(message.conversation_id.clone()),
                    message: Some(message),
                    reason: reason.to_owned(),
                }
            }
        };
        if report.user_id == *me {
            return Err(ChatError::invalid("user_id", "one cannot report oneself"));
        }
        self.limit(Action::Report, me).await?;
        if let Some(hooks) = &self.inner.hooks {
            let hooks = Arc::clone(hooks);
            tokio::spawn(async move { hooks.reported(report).await });
        }
        Ok(())
    }

    /// Makes a moderation `change` in group `id`.
    async fn moderate(&self, me: &UserId, id: &ConversationId, change: Change) -> Result<Changed> {
        self.limit(Action::Moderate, me).await?;
        require_group(&self.conversation(me, id).await?)?;
        // Acting on oneself, or making a second owner, the store refuses.
        self.apply(id, me, None, change).await
    }
}

/// Refuses a direct conversation, which has no roles, bans or title.
pub(super) fn require_group(conversation: &Conversation) -> Result<()> {
    match conversation.kind {
        ConversationKind::Group => Ok(()),
        ConversationKind::Direct => Err(ChatError::invalid(
            "conversation_id",
            "a direct conversation has exactly its two users, and no moderators",
        )),
    }
}
