//! What is live rather than stored: typing notices, this node's
//! connections, signing a user out on every node, and the health of the
//! store and the bus.

use super::ChatService;
use crate::bus::Envelope;
use crate::config::Action;
use crate::conversation::ConversationKind;
use crate::error::{ChatError, Refusal, Result, StoreError};
use crate::hub::Connection;
use crate::ids::{ConversationId, UserId};
use crate::protocol::ServerEvent;

impl ChatService {
    /// Tells the other members that `me` is typing. Notices within
    /// [`ChatConfig::typing_interval`](crate::ChatConfig::typing_interval)
    /// of the last one passed on for the same conversation are absorbed:
    /// `Ok`, and nobody is told again.
    ///
    /// # Errors
    /// [`ChatError::RateLimited`] past [`RateLimits::typing`](crate::RateLimits::typing),
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`] for a non-member,
    /// a muted member, or the blocked user of a direct conversation (a
    /// typing notice is a write to the others' attention).
    pub async fn typing(&self, me: &UserId, id: &ConversationId) -> Result<()> {
        self.limit(Action::Typing, me).await?;
        let conversation = self.conversation(me, id).await?;
        if conversation.muted.contains(me) {
            return Err(StoreError::Refused(Refusal::Muted).into());
        }
        if conversation.kind == ConversationKind::Direct
            && let Some(other) = conversation.members.iter().find(|member| *member != me)
            && self.inner.store.blocked_by(other).await?.contains(me)
        {
            return Err(StoreError::Refused(Refusal::Blocked).into());
        }
        let mut members = conversation.members;
        let key = (me.clone(), id.clone());
        if let Some(throttle) = &self.inner.typing
            && throttle.take(&key).is_err()
        {
            return Ok(());
        }
        members.retain(|member| member != me);
        if !members.is_empty() {
            let event = ServerEvent::Typing {
                conversation_id: key.1,
                user_id: key.0,
            };
            self.publish_event(members, id, &event).await;
        }
        Ok(())
    }

    /// Registers a live connection of `me` on this node (one per device).
    ///
    /// # Errors
    /// [`ChatError::TooManyConnections`] past
    /// [`ChatConfig::max_connections_per_user`](crate::ChatConfig::max_connections_per_user); [`ChatError::Unavailable`]
    /// when the bus cannot route `me`'s events here.
    pub async fn connect(&self, me: &UserId) -> Result<Connection> {
        self.inner.hub.connect(me.clone()).await
    }

    /// Closes every live connection of `user` on every node (a logout, a
    /// ban): transports close their sockets with "signed out" (chat-axum:
    /// `CLOSE_SIGNED_OUT`). This node's close at once; other nodes' when
    /// the bus brings them the word. It does not revoke a credential: a
    /// client that still holds a valid token can connect again, so revoke
    /// it in the host's auth first.
    ///
    /// # Errors
    /// [`ChatError::Unavailable`] when the bus could not pass it on to the
    /// other nodes (this node's connections are closed all the same).
    pub async fn disconnect(&self, user: &UserId) -> Result<()> {
        let envelope = Envelope::signed_out(user.clone());
        self.inner.hub.deliver(&envelope);
        self.inner.bus.publish(envelope).await?;
        Ok(())
    }

    /// Checks the store (a read) and the bus ([`Bus::health`](crate::Bus::health): for a
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
