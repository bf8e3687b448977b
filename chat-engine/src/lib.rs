//! The core of the chat library: domain types, the [`Store`] and [`Bus`]
//! traits, the [`ChatService`] that runs the flow, and the node-local [`Hub`]
//! of live connections.
//!
//! # The flow: send → save → notify → fetch
//!
//! 1. **send**: [`ChatService::send`] checks that the sender is a member and
//!    that the body is valid;
//! 2. **save**: [`Store::append`] assigns the next per-conversation `seq`
//!    atomically and persists the message (a repeated `client_id` returns the
//!    stored message instead of a duplicate);
//! 3. **notify**: one [`Envelope`] is published on the [`Bus`], encoded once;
//!    every node's [`Hub`] queues the same bytes to each recipient's live
//!    connections;
//! 4. **fetch**: [`ChatService::history`] pages by `seq`, so a client that
//!    missed events (reconnect, slow consumer, bus outage) recovers them;
//! 5. **follow up**: the host's `after_send` hooks and its [`Notifier`] for
//!    offline members run from the [`outbox`] the append wrote in its own
//!    transaction, at least once even when the node dies.
//!
//! The Bus may lose events; the Store never loses an acknowledged message.
//! Losses the server knows of are announced in band as `gap` events.
//!
//! # Crates
//!
//! | crate | what |
//! |---|---|
//! | `chat-engine` | this crate |
//! | `chat-store-sqlite` | [`Store`] on SQLite (the embedded default) |
//! | `chat-store-mysql` | [`Store`] on MySQL / MariaDB, shared by many nodes |
//! | `chat-bus-memory` | [`Bus`] inside one process |
//! | `chat-bus-redis` | [`Bus`] over Redis pub/sub, between many nodes |
//! | `chat-axum` | the REST + WebSocket router |
//!
//! # Features
//!
//! - `mock`: `MockStore` and `MockBus` (mockall) for host apps' unit tests.
//! - `testkit`: the conformance suites every adapter runs:
//!   [`store_conformance!`] and [`bus_conformance!`].

#![cfg_attr(docsrs, feature(doc_cfg))]

mod bus;
mod config;
mod content;
mod conversation;
mod directory;
mod error;
pub mod group_commit;
mod hooks;
mod hub;
mod ids;
mod log_throttle;
mod message;
pub mod metrics;
pub mod outbox;
pub mod paging;
mod preferences;
mod presence;
pub mod protocol;
mod room;
pub mod search;
mod service;
pub mod session;
mod shared_rates;
mod store;
pub mod time;
mod timeline;

#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;

pub use bus::{Bus, Delivery, Envelope, EventKind, SubscriberSet, Subscription};
pub use config::{Action, ChatConfig, Rate, RateLimits};
pub use content::{Content, MAX_KIND_BYTES};
pub use conversation::{
    ActivityCursor, Conversation, ConversationKind, ConversationPage, ConversationQuery,
    ConversationSummary, DirectPair, GroupSettings, NewDirect, NewGroup, Role,
};
pub use directory::{
    Directory, MAX_AVATAR_URL_BYTES, MAX_DISPLAY_NAME_BYTES, MAX_USERS_LISTED, Profile,
    StoreDirectory, UserPage, UserQuery,
};
pub use error::{BoxError, BusError, ChatError, Refusal, Result, StoreError};
pub use hooks::{Report, SendHooks};
pub use hub::{CloseReason, Connection, Hub, HubStats, Outbound};
pub use ids::{ConversationId, MAX_ID_BYTES, MAX_SEQ, MessageId, Seq, UserId};
pub use log_throttle::LogThrottle;
pub use message::{Appended, Cursor, HistoryQuery, Message, NewMessage, NewMessageRecord, Page};
pub use outbox::{Notification, Notifier, OutboxEntry, OutboxStage, Recipient};
pub use preferences::{MAX_PINNED, MuteChange, NotificationLevel, Preferences, PreferencesChange};
pub use presence::{MAX_PRESENCE_BATCH, MemoryPresence, Presence, PresenceRules, UserPresence};
pub use protocol::Gap;
pub use room::{Room, RoomPage, RoomQuery};
pub use search::{SearchPage, SearchQuery};
pub use service::{
    ChatService, ChatServiceBuilder, Health, MAX_REACTION_BYTES, MAX_REPORT_REASON_BYTES, Reported,
};
pub use session::{Output, Session, SessionConfig};
pub use shared_rates::SharedRates;
pub use store::{ReadMarkUpdate, Store, StoreResult};
pub use time::Timestamp;
pub use timeline::{
    Change, Changed, Entry, NewChange, Outcome, ReactionCount, ReadMark, TimelineEvent,
    TimelinePage,
};

#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use bus::MockBus;
#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub use store::MockStore;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
