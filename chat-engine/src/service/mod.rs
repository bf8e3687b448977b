//! `ChatService`: the one entry point of the library. It authorizes and
//! validates every call, then runs the flow send → save (Store) → notify
//! (Bus, one event per message, encoded once) → fetch (history by seq).
//!
//! One file per concern: conversations (create, open, list, the rooms
//! directory), membership (join, add, remove), messages (send, history,
//! read marks) and live (typing, connections, health); this file holds the
//! service itself and what they share.
//!
//! The store is the truth. A failed save publishes nothing; a failed publish
//! after a save is logged and counted but the send still succeeds, because
//! every recipient can recover the message from the store by `seq`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use self::rate::{Buckets, RateLimiter};
use crate::bus::{Bus, Envelope};
use crate::config::{Action, ChatConfig};
use crate::directory::Directory;
use crate::error::{ChatError, Result};
use crate::error::{Refusal, StoreError};
use crate::hooks::SendHooks;
use crate::hub::Hub;
use crate::ids::{ConversationId, UserId};
use crate::outbox::Notifier;
use crate::outbox::relay::{Relay, RelayHandle};
use crate::presence::tracker::Tracker;
use crate::presence::{Presence, PresenceRules};
use crate::protocol::ServerEvent;
use crate::shared_rates::SharedRates;
use crate::store::Store;
use crate::time;
use crate::timeline::{Change, Changed, NewChange};

mod changes;
mod conversations;
mod directory;
mod live;
mod membership;
mod messages;
mod moderation;
mod preferences;
mod presence;
mod rate;
mod reading;
#[cfg(test)]
mod shared_rates_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timeline_tests;

pub use changes::MAX_REACTION_BYTES;
pub use live::Health;
pub use moderation::{MAX_REPORT_REASON_BYTES, Reported};

/// The chat engine of one node: a store, a bus, and the hub of this node's
/// live connections. Cheap to clone (one `Arc`).
///
/// ```
/// # async fn example(store: std::sync::Arc<dyn chat_engine::Store>, bus: std::sync::Arc<dyn chat_engine::Bus>) -> chat_engine::Result<()> {
/// use chat_engine::{ChatConfig, ChatService, NewMessage, UserId};
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
    limiter: RateLimiter,
    /// One typing notice per user and conversation per
    /// [`ChatConfig::typing_interval`]; `None` when the interval is zero.
    typing: Option<Buckets<(UserId, ConversationId)>>,
    hooks: Option<Arc<dyn SendHooks>>,
    shared_rates: Option<Arc<dyn SharedRates>>,
    /// This node's handle on the presence every node shares.
    presence: Arc<dyn Presence>,
    presence_rules: Arc<dyn PresenceRules>,
    directory: Option<Arc<dyn Directory>>,
    /// Follows up stored messages (hooks, notifications) when the host
    /// has any: see [`crate::outbox`].
    relay: Option<RelayHandle>,
}

/// A [`ChatService`] that does not keep it alive: what its own tasks hold.
#[derive(Debug)]
pub(crate) struct WeakService(Weak<Inner>);

impl WeakService {
    /// The service, unless every [`ChatService`] is gone.
    pub(crate) fn upgrade(&self) -> Option<ChatService> {
        self.0.upgrade().map(|inner| ChatService { inner })
    }
}

/// A [`ChatService`] being set up: [`ChatService::builder`].
#[derive(Debug)]
#[must_use]
pub struct ChatServiceBuilder {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    config: ChatConfig,
    hooks: Option<Arc<dyn SendHooks>>,
    shared_rates: Option<Arc<dyn SharedRates>>,
    presence_rules: Option<Arc<dyn PresenceRules>>,
    directory: Option<Arc<dyn Directory>>,
    notifier: Option<Arc<dyn Notifier>>,
}

impl ChatServiceBuilder {
    /// The host's code in the send flow.
    pub fn hooks(mut self, hooks: Arc<dyn SendHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Counts the per-user rates of [`ChatConfig::rates`] for the whole
    /// cluster in `rates` instead of per node (this node's own limits
    /// decide while `rates` cannot be reached).
    pub fn shared_rates(mut self, rates: Arc<dyn SharedRates>) -> Self {
        self.shared_rates = Some(rates);
        self
    }

    /// Who sees whose presence, when sharing a conversation is not the
    /// rule the host wants.
    pub fn presence_rules(mut self, rules: Arc<dyn PresenceRules>) -> Self {
        self.presence_rules = Some(rules);
        self
    }

    /// The host's users: listed and searched by [`ChatService::users`],
    /// resolved by [`ChatService::profiles`], and checked whenever a user
    /// is brought into a conversation (an unknown one is
    /// [`ChatError::NotFound`]). Without one, any id is a user.
    pub fn directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Tells offline members of each stored message (push, email),
    /// through the outbox: at least once, even when a node dies between
    /// the commit and the call (see [`crate::outbox`]).
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Starts the service and this node's hub on the bus. Needs a tokio runtime.
    ///
    /// # Errors
    /// [`ChatError::Unavailable`] when the bus cannot be subscribed to.
    pub async fn start(self) -> Result<ChatService> {
        let config = self.config;
        let hub = Hub::start(Arc::clone(&self.bus), &config).await?;
        let presence = self
            .bus
            .presence()
            .unwrap_or_else(crate::presence::node_local);
        let changes = hub.presence_changes();
        let (ttl, grace) = (config.presence_ttl, config.presence_grace);
        let relay = (self.hooks.is_some() || self.notifier.is_some()).then(|| {
            Relay::new(
                Arc::clone(&self.store),
                Arc::clone(&presence),
                hub.clone(),
                self.hooks.clone(),
                self.notifier,
                &config,
            )
            .start()
        });
        let service = ChatService {
            inner: Arc::new(Inner {
                store: self.store,
                bus: self.bus,
                hub,
                limiter: RateLimiter::new(&config.rates),
                typing: (!config.typing_interval.is_zero())
                    .then(|| Buckets::with(1.0 / config.typing_interval.as_secs_f64(), 1.0)),
                config,
                publish_failures: AtomicU64::new(0),
                hooks: self.hooks,
                shared_rates: self.shared_rates,
                presence: Arc::clone(&presence),
                presence_rules: self
                    .presence_rules
                    .unwrap_or_else(|| Arc::new(crate::presence::SharedConversations)),
                directory: self.directory,
                relay,
            }),
        };
        let tracker = Tracker {
            service: WeakService(Arc::downgrade(&service.inner)),
            presence,
            ttl,
            grace,
        };
        tokio::spawn(tracker.run(changes));
        Ok(service)
    }
}

impl ChatService {
    /// Builds the service and starts this node's hub on `bus`. Needs a tokio runtime.
    ///
    /// # Errors
    /// [`ChatError::Unavailable`] when the bus cannot be subscribed to.
    pub async fn new(store: Arc<dyn Store>, bus: Arc<dyn Bus>, config: ChatConfig) -> Result<Self> {
        Self::builder(store, bus, config).start().await
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
        Self::builder(store, bus, config).hooks(hooks).start().await
    }

    /// A service to set up beyond the config ([`SendHooks`],
    /// [`SharedRates`]) before [`ChatServiceBuilder::start`].
    pub fn builder(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        config: ChatConfig,
    ) -> ChatServiceBuilder {
        ChatServiceBuilder {
            store,
            bus,
            config,
            hooks: None,
            shared_rates: None,
            presence_rules: None,
            directory: None,
            notifier: None,
        }
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

    /// Writes of `action` refused by its rate limit on this node, since start.
    #[must_use]
    pub fn rate_limited(&self, action: Action) -> u64 {
        self.inner.limiter.refused(action)
    }

    /// Takes one `action` from `me`'s rate (the cluster's, with
    /// [`SharedRates`], else this node's), or refuses with
    /// [`ChatError::RateLimited`] saying when to retry.
    async fn limit(&self, action: Action, me: &UserId) -> Result<()> {
        let limiter = &self.inner.limiter;
        let shared = self.inner.shared_rates.as_ref();
        let verdict = match (shared, self.inner.config.rates.get(action)) {
            (Some(shared), Some(rate)) => {
                let key = format!("{}:{me}", action.as_str());
                match shared.take(&key, rate).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(retry_after)) => {
                        limiter.refused_elsewhere(action);
                        Err(retry_after)
                    }
                    Err(error) => {
                        static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                        if let Some(suppressed) = LOG.admit() {
                            tracing::warn!(error = %error, suppressed, "shared rate limits unreachable; this node's limits apply");
                        }
                        limiter.take(action, me)
                    }
                }
            }
            _ => limiter.take(action, me),
        };
        verdict.map_err(|retry_after| {
            ::metrics::counter!(crate::metrics::RATE_LIMITED, "action" => action.as_str())
                .increment(1);
            ChatError::RateLimited {
                action,
                retry_after,
            }
        })
    }

    /// Finishes the follow-ups (hooks, notifications) of every message this
    /// node stored so far and deletes their outbox rows, so a restart runs
    /// none of them again: the last step of a graceful shutdown, after the
    /// last request (bound it with a timeout; what it does not finish is
    /// swept later, as after a crash). A notifier still failing leaves its
    /// row for a later try. Returns at once without hooks or a notifier.
    pub async fn flush_outbox(&self) {
        if let Some(relay) = &self.inner.relay {
            relay.flush().await;
        }
    }

    /// Publishes that failed after their message was saved, since start.
    #[must_use]
    pub fn publish_failures(&self) -> u64 {
        self.inner.publish_failures.load(Ordering::Relaxed)
    }

    /// A requested page size: the default when absent, capped at the maximum.
    fn page_limit(&self, limit: Option<u32>) -> Result<u32> {
        let config = &self.inner.config;
        page_size(limit, config.default_page, config.max_page)
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

    /// Publishes a live event of conversation `id` (its seq, for a timeline
    /// event, comes from the event itself).
    async fn publish_event(
        &self,
        recipients: Vec<UserId>,
        id: &ConversationId,
        event: &ServerEvent,
    ) {
        let kind = event
            .kind()
            .expect("the service publishes live events only");
        self.publish(Envelope::new(
            recipients,
            id.clone(),
            event.seq(),
            kind,
            event.encode(),
        ))
        .await;
    }

    /// Makes `change` in `id` on behalf of `by` (the store checks what only
    /// its transaction can) and publishes the event to the members it
    /// names; a retried `client_id` publishes the stored event again, so a
    /// member who missed it gets it (clients drop what they have by seq).
    async fn apply(
        &self,
        id: &ConversationId,
        by: &UserId,
        client_id: Option<String>,
        change: Change,
    ) -> Result<Changed> {
        let message_seq = change.message_seq();
        let subject = change.subject().cloned();
        let limit = self.inner.config.max_group_members;
        let changed = self
            .inner
            .store
            .change(NewChange {
                conversation_id: id.clone(),
                by: by.clone(),
                at: time::now(),
                client_id,
                change,
                max_members: limit,
            })
            .await
            .map_err(|error| match error {
                StoreError::Refused(Refusal::Full) => ChatError::TooLarge {
                    what: "members",
                    size: limit + 1,
                    limit,
                },
                StoreError::Refused(Refusal::UnknownMessage) => {
                    ChatError::not_found("message", format!("{id}/{}", message_seq.unwrap_or(0)))
                }
                StoreError::Refused(Refusal::UnknownMember) => {
                    ChatError::not_found("member", subject.as_ref().map_or("", UserId::as_str))
                }
                other => refusal(other, id),
            })?;
        if let Some(event) = changed.outcome.event() {
            self.publish_event(changed.members.clone(), id, &ServerEvent::from(event))
                .await;
        }
        Ok(changed)
    }

    /// Publishes `envelope`; a failure is counted and logged, never
    /// returned: the store is the truth, and recipients recover from it.
    async fn publish(&self, envelope: Envelope) {
        let (id, seq) = (envelope.conversation_id().clone(), envelope.seq());
        if let Err(error) = self.inner.bus.publish(envelope).await {
            // Counted, not lost: recipients recover the message from the store by seq.
            self.inner.publish_failures.fetch_add(1, Ordering::Relaxed);
            ::metrics::counter!(crate::metrics::PUBLISH_FAILURES).increment(1);
            static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
            if let Some(suppressed) = LOG.admit() {
                tracing::warn!(conversation = %id, ?seq, error = %error, suppressed, "publish failed after save");
            }
        }
    }
}

/// A requested page size: `default` when absent, capped at `max`.
fn page_size(limit: Option<u32>, default: u32, max: u32) -> Result<u32> {
    match limit.unwrap_or(default) {
        0 => Err(ChatError::invalid("limit", "must be at least 1")),
        limit => Ok(limit.min(max)),
    }
}

/// A store error of a call on conversation `id`, said with its id.
fn refusal(error: StoreError, id: &ConversationId) -> ChatError {
    match error {
        StoreError::Refused(Refusal::UnknownConversation) => {
            ChatError::not_found("conversation", id)
        }
        StoreError::Refused(Refusal::NotAMember) => not_a_member(id),
        other => other.into(),
    }
}

/// The refusal for a caller who is not a member of `id`.
fn not_a_member(id: &ConversationId) -> ChatError {
    ChatError::Forbidden(format!("not a member of conversation {id}"))
}
