//! Who is online: per user, online on any node and device, or offline with
//! the time they were last seen.
//!
//! Why it is shaped this way:
//! - **Entries with a deadline, not goodbyes.** Each node keeps an entry per
//!   user connected to it, which expires unless the node refreshes it
//!   ([`ChatConfig::presence_ttl`](crate::ChatConfig::presence_ttl)). A node
//!   that dies without a word stops refreshing, and any other node's sweep
//!   turns its users offline within `presence_ttl` and a quarter: 30 s with
//!   the defaults. Every call takes the time from the caller, so the rules
//!   are the same on every backend and a test can step past a deadline
//!   without sleeping.
//! - **Transitions are the backend's answer.** Whether an arrival brings a
//!   user online, or a departure takes them offline, depends on every
//!   node's entries: the backend answers it atomically (one lock in memory,
//!   one Lua script on Redis), so two nodes never both announce it.
//! - **Debounced in the node, not here.** The node waits
//!   [`ChatConfig::presence_grace`](crate::ChatConfig::presence_grace)
//!   after a user's last connection closes before it leaves, so a page
//!   reload is no event at all.
//! - **Who may see it.** Users who share a direct conversation or a group
//!   with the subject (not a public room: anyone can join one, and a room's
//!   comings and goings would flood all its members), and neither blocks
//!   the other; the host widens or narrows this with [`PresenceRules`].

mod memory;
pub(crate) mod tracker;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use memory::MemoryPresence;

use crate::error::BusError;
use crate::ids::UserId;
use crate::time::Timestamp;

/// Most users one presence read may ask about.
pub const MAX_PRESENCE_BATCH: usize = 100;

/// One user's presence, as a read and the `presence` event report it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPresence {
    /// The user.
    pub user_id: UserId,
    /// Whether they have a live connection on any node.
    pub online: bool,
    /// When an offline user was last online; `null` while online, and for
    /// a user never seen (or whose presence the viewer may not see: the
    /// same answer, so it reveals nothing).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_seen: Option<Timestamp>,
}

impl UserPresence {
    /// `user` offline, last seen at `last_seen` (or never).
    #[must_use]
    pub fn offline(user_id: UserId, last_seen: Option<Timestamp>) -> Self {
        Self {
            user_id,
            online: false,
            last_seen,
        }
    }
}

/// One node's view of the presence backend shared by every node. Each
/// instance is one node: its entries are its own.
///
/// Every answer is atomic across nodes: of two nodes racing, one alone is
/// told that a user came online, or went offline.
#[async_trait::async_trait]
pub trait Presence: std::fmt::Debug + Send + Sync + 'static {
    /// `user` has a live connection on this node from `now` until
    /// `expires`, unless refreshed. True when this brings them online: no
    /// node had a live entry for them.
    async fn arrive(
        &self,
        user: &UserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<bool, BusError>;

    /// `user` has no live connection left on this node. True when this
    /// takes them offline (no other node has a live entry); they were last
    /// seen `now`.
    async fn leave(&self, user: &UserId, now: Timestamp) -> Result<bool, BusError>;

    /// Extends this node's entries for `users` to `expires`, putting back
    /// any that a sweep removed (this node was too slow to refresh). Returns
    /// the users this brought online again.
    async fn refresh(
        &self,
        users: &[UserId],
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<Vec<UserId>, BusError>;

    /// Removes every node's entries that expired by `now` (their node died
    /// or lost its way to the backend). Returns the users this took offline,
    /// each with when they were last seen (their entry's last refresh).
    async fn sweep(&self, now: Timestamp) -> Result<Vec<(UserId, Timestamp)>, BusError>;

    /// The presence of each of `users` at `now`, in the order asked.
    async fn read(&self, users: &[UserId], now: Timestamp) -> Result<Vec<UserPresence>, BusError>;
}

/// The host's say over who sees whose presence, for
/// [`ChatServiceBuilder::presence_rules`](crate::ChatServiceBuilder::presence_rules).
///
/// ```
/// use chat_engine::{PresenceRules, UserId};
///
/// /// Staff see everyone; everyone else sees whom they share a conversation with.
/// #[derive(Debug)]
/// struct StaffSeeAll;
///
/// impl PresenceRules for StaffSeeAll {
///     fn may_see(&self, viewer: &UserId, _subject: &UserId, shares_conversation: bool) -> bool {
///         shares_conversation || viewer.as_str().starts_with("staff-")
///     }
/// }
/// ```
pub trait PresenceRules: std::fmt::Debug + Send + Sync + 'static {
    /// Whether `viewer` may see `subject`'s presence. `shares_conversation`
    /// is the library's answer: they share a direct conversation or a group
    /// (not a public room) and neither blocks the other. The default keeps
    /// it.
    ///
    /// Reads ask it for every user asked about, so it may widen or narrow.
    /// `presence` events go to the subject's conversation partners that it
    /// lets see them: it narrows events, and a viewer it widens to reads
    /// presence instead of being sent it.
    fn may_see(&self, viewer: &UserId, subject: &UserId, shares_conversation: bool) -> bool {
        let _ = (viewer, subject);
        shares_conversation
    }
}

/// The rules when the host sets none: sharing a conversation decides.
#[derive(Debug)]
pub(crate) struct SharedConversations;

impl PresenceRules for SharedConversations {}

/// The presence backend of a node whose bus offers none: a network of one.
pub(crate) fn node_local() -> Arc<dyn Presence> {
    Arc::new(MemoryPresence::new())
}
