//! Membership: joining a public room, adding and removing members. Who may
//! add and remove whom is the store's to decide, in the change's
//! transaction (see [`Store::change`](crate::Store::change)).

use super::ChatService;
use super::moderation::require_group;
use crate::config::Action;
use crate::conversation::{Conversation, ConversationKind};
use crate::error::{ChatError, Result};
use crate::ids::{ConversationId, UserId};
use crate::timeline::{Change, Outcome};

impl ChatService {
    /// Joins the public room `id`; every member (the joiner included, on all
    /// their devices) gets a `member_added` event. Returns the room with its
    /// members, and whether `me` was added: joining twice is not an error,
    /// it returns `false` and changes nothing.
    ///
    /// # Errors
    /// [`ChatError::NotFound`] for an unknown id, [`ChatError::Forbidden`]
    /// for a private group or a direct conversation, [`ChatError::TooLarge`]
    /// when the room is full, [`ChatError::RateLimited`] past
    /// [`RateLimits::membership`](crate::RateLimits::membership).
    pub async fn join_room(
        &self,
        me: &UserId,
        id: &ConversationId,
    ) -> Result<(Conversation, bool)> {
        self.limit(Action::Membership, me).await?;
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
                    "conversation {id} is a private group: members must be added by its admins"
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

    /// Adds `user` to a group `me` belongs to: `me` is an admin, or any
    /// member where the group allows it ([`Conversation::members_can_add`]).
    /// Adding a member twice is not an error; it returns `false` and
    /// changes nothing.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation,
    /// [`ChatError::NotFound`] for a `user` the host's
    /// [`Directory`](crate::Directory) does not know,
    /// [`ChatError::Forbidden`] for a member who may not add, a banned
    /// `user`, or a `user` who blocks `me`,
    /// [`ChatError::TooLarge`] when the group is full,
    /// [`ChatError::RateLimited`] past [`RateLimits::membership`](crate::RateLimits::membership),
    /// and the errors of [`ChatService::conversation`].
    pub async fn add_member(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
    ) -> Result<bool> {
        self.limit(Action::Membership, me).await?;
        let conversation = self.conversation(me, id).await?;
        require_group(&conversation)?;
        if conversation.has_member(user) {
            return Ok(false);
        }
        self.require_users(std::slice::from_ref(user)).await?;
        Ok(self.add(&conversation, user, me).await?.is_some())
    }

    /// Adds `user` to `conversation` (a group) on behalf of `by`, within the
    /// member limit (the store checks it atomically), and tells every member,
    /// `user` included, with a `member_added` timeline event. Returns the
    /// members after the add, or `None` when `user` already was one.
    async fn add(
        &self,
        conversation: &Conversation,
        user: &UserId,
        by: &UserId,
    ) -> Result<Option<Vec<UserId>>> {
        let change = Change::MemberAdded {
            user_id: user.clone(),
        };
        let changed = self.apply(&conversation.id, by, None, change).await?;
        Ok(match changed.outcome {
            Outcome::Applied(_) | Outcome::Repeated(_) => Some(changed.members),
            Outcome::Unchanged => None,
        })
    }

    /// Removes `user` from a group. Members may remove themselves (leave);
    /// admins may remove members and other admins, never the owner. When
    /// the owner leaves, the longest-standing admin (else member) owns the
    /// group. The last member of a public room may leave it (the room stays
    /// listed, and whoever joins next owns it); the last member of a
    /// private group may not, since no one could get back in.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct conversation or the last member of a private group,
    /// [`ChatError::Forbidden`] for removing another member without being an
    /// admin, or the owner, [`ChatError::NotFound`] when `user` is not a member,
    /// [`ChatError::RateLimited`] past [`RateLimits::membership`](crate::RateLimits::membership).
    pub async fn remove_member(
        &self,
        me: &UserId,
        id: &ConversationId,
        user: &UserId,
    ) -> Result<()> {
        self.limit(Action::Membership, me).await?;
        let conversation = self.conversation(me, id).await?;
        require_group(&conversation)?;
        if !conversation.has_member(user) {
            return Err(ChatError::not_found("member", user));
        }
        if conversation.members.len() == 1 && !conversation.public {
            return Err(ChatError::invalid(
                "user_id",
                "the last member of a group cannot be removed",
            ));
        }
        let change = Change::MemberRemoved {
            user_id: user.clone(),
            new_owner: None,
        };
        self.apply(id, me, None, change).await?;
        Ok(())
    }
}
