//! A member's own settings for a conversation (see `crate::preferences`):
//! checked here (a member, a mute that ends in the future), kept by the
//! store field by field.

use super::{ChatService, not_a_member};
use crate::config::Action;
use crate::error::{ChatError, Result};
use crate::ids::{ConversationId, UserId};
use crate::preferences::{MuteChange, Preferences, PreferencesChange};
use crate::protocol::ServerEvent;

impl ChatService {
    /// Changes the fields of `me`'s preferences for `id` that `change`
    /// names, and returns them all. They are `me`'s alone: nobody else
    /// learns of them; `me`'s sockets (every device, this one included) get
    /// a `preferences_changed` event.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a mute that ends in the past or changes
    /// nothing, [`ChatError::NotFound`] / [`ChatError::Forbidden`] for an
    /// unknown conversation or a non-member, [`ChatError::Conflict`] for a
    /// pin past [`MAX_PINNED`](crate::MAX_PINNED), [`ChatError::RateLimited`]
    /// past [`RateLimits::manage`](crate::RateLimits::manage).
    pub async fn set_preferences(
        &self,
        me: &UserId,
        id: &ConversationId,
        change: PreferencesChange,
    ) -> Result<Preferences> {
        if change.is_empty() {
            return Err(ChatError::invalid(
                "preferences",
                "name at least one of notifications, muted_until, archived, pinned",
            ));
        }
        if let Some(MuteChange::Until(until)) = change.muted_until
            && until <= crate::time::now()
        {
            return Err(ChatError::invalid(
                "muted_until",
                "a mute ends in the future; send null to unmute",
            ));
        }
        self.limit(Action::Manage, me).await?;
        self.conversation(me, id).await?;
        let preferences = self
            .inner
            .store
            .set_preferences(id, me, change)
            .await?
            .ok_or_else(|| not_a_member(id))?;
        let event = ServerEvent::PreferencesChanged {
            conversation_id: id.clone(),
            preferences,
        };
        self.publish_event(vec![me.clone()], id, &event).await;
        Ok(preferences)
    }
}
