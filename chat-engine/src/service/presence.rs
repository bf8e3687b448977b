//! Presence as the service offers it (see `crate::presence`): a batch read
//! that shows each viewer only whom they may see, and the `presence` events
//! this node's tracker announces.

use std::collections::{HashMap, HashSet};

use super::ChatService;
use crate::bus::Envelope;
use crate::error::{ChatError, Result};
use crate::ids::UserId;
use crate::presence::{MAX_PRESENCE_BATCH, UserPresence};
use crate::protocol::ServerEvent;
use crate::time;

impl ChatService {
    /// The presence of each of `users` as `viewer` may see it, in the order
    /// asked. A user `viewer` may not see (see
    /// [`PresenceRules`](crate::PresenceRules)) reads as offline and never
    /// seen: the answer a stranger gets for a user who does not exist.
    /// `viewer` always sees themselves.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for more than [`MAX_PRESENCE_BATCH`] users;
    /// [`ChatError::Unavailable`] when the store or the presence backend
    /// cannot answer.
    pub async fn presence(&self, viewer: &UserId, users: &[UserId]) -> Result<Vec<UserPresence>> {
        if users.len() > MAX_PRESENCE_BATCH {
            return Err(ChatError::invalid(
                "users",
                format!(
                    "asks for {} users, the limit is {MAX_PRESENCE_BATCH}",
                    users.len()
                ),
            ));
        }
        let contacts: HashSet<UserId> = self
            .inner
            .store
            .contacts(viewer)
            .await?
            .into_iter()
            .collect();
        let rules = &self.inner.presence_rules;
        let visible: Vec<UserId> = users
            .iter()
            .filter(|user| *user == viewer || rules.may_see(viewer, user, contacts.contains(*user)))
            .cloned()
            .collect();
        let seen: HashMap<UserId, UserPresence> = self
            .inner
            .presence
            .read(&visible, time::now())
            .await?
            .into_iter()
            .map(|presence| (presence.user_id.clone(), presence))
            .collect();
        Ok(users
            .iter()
            .map(|user| {
                seen.get(user)
                    .cloned()
                    .unwrap_or_else(|| UserPresence::offline(user.clone(), None))
            })
            .collect())
    }

    /// Tells those who may see `presence.user_id` that they came online or
    /// went offline. A failure is logged, never returned: presence is live
    /// state, and the next read is right.
    pub(crate) async fn announce_presence(&self, presence: UserPresence) {
        let subject = presence.user_id.clone();
        let contacts = match self.inner.store.contacts(&subject).await {
            Ok(contacts) => contacts,
            Err(error) => {
                static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(user = %subject, error = %error, suppressed, "presence not announced: contacts unreadable");
                }
                return;
            }
        };
        let rules = &self.inner.presence_rules;
        let audience: Vec<UserId> = contacts
            .into_iter()
            .filter(|viewer| rules.may_see(viewer, &subject, true))
            .collect();
        if audience.is_empty() {
            return;
        }
        let event = ServerEvent::Presence(presence);
        self.publish_event(audience, &Envelope::nowhere(), &event)
            .await;
    }
}
