//! Limits and tuning, owned by the core so every surface (REST, WebSocket,
//! embedding code) enforces the same numbers.

use std::time::Duration;

/// Limits and tuning for a [`ChatService`](crate::ChatService) and its hub.
///
/// ```
/// use chat_engine::ChatConfig;
/// let config = ChatConfig::default().with_max_body_bytes(4096);
/// assert_eq!(config.max_body_bytes, 4096);
/// assert_eq!(config.default_page, 15);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatConfig {
    /// Largest message body, in bytes. Defaults to 16 KiB.
    pub max_body_bytes: usize,
    /// Most members a group may have. Defaults to 1,000.
    pub max_group_members: usize,
    /// Longest group title, in bytes. Defaults to 256.
    pub max_title_bytes: usize,
    /// Longest `client_id`, in bytes. Defaults to 128.
    pub max_client_id_bytes: usize,
    /// Largest structured payload, as JSON text ([`Content`](crate::Content)).
    pub max_payload_bytes: usize,
    /// History page size when none is asked for. Defaults to 15.
    pub default_page: u32,
    /// Largest history page. Defaults to 200.
    pub max_page: u32,
    /// Conversations in one page of a user's list when none is asked for.
    /// Defaults to 100.
    pub default_conversations_listed: u32,
    /// Most conversations in one page of a user's list; older ones are on
    /// the next pages, never out of reach. Defaults to 500.
    pub max_conversations_listed: u32,
    /// Events queued per live connection before further events become a gap.
    /// Defaults to 1,024.
    pub connection_queue: usize,
    /// Most live connections (devices, tabs) one user may hold on one node;
    /// one more is refused with [`ChatError::TooManyConnections`](crate::ChatError::TooManyConnections).
    pub max_connections_per_user: usize,
    /// How long a connection's queue may stay full before the connection is
    /// closed as stuck. Defaults to 30 s.
    pub stuck_timeout: Duration,
    /// Deliveries buffered between the bus and the hub. Defaults to 8,192.
    pub bus_buffer: usize,
    /// Each user's rate per kind of write (REST and WebSocket alike); see
    /// [`RateLimits`] for the defaults.
    pub rates: RateLimits,
    /// A user's `typing` notices in one conversation reach the others at
    /// most once per this interval; the rest are absorbed (no error: a
    /// client may send one per keystroke). Defaults to 2 s.
    pub typing_interval: Duration,
    /// How long a node's word that a user is online holds unless renewed
    /// (it renews every quarter of it): a node that dies without a word
    /// has its users shown offline within this and a quarter. Defaults to
    /// 24 s, so within 30 s.
    pub presence_ttl: Duration,
    /// How long after a user's last connection on a node closes the node
    /// waits before it says they left, so that a page reload or a quick
    /// reconnect is no presence event. Defaults to 5 s.
    pub presence_grace: Duration,
    /// How long the node that stored a message has to run its follow-up
    /// work (hooks, notifications) before any node's sweep takes it over:
    /// a message whose node died is followed up within this and a quarter.
    /// Defaults to 30 s. See [`crate::outbox`].
    pub outbox_lease: Duration,
    /// How long one follow-up call (an `after_send` hook, a
    /// [`Notifier`](crate::Notifier) call) may take before it counts as
    /// failed. Keep it well under [`outbox_lease`](Self::outbox_lease).
    /// Defaults to 10 s.
    pub outbox_call_timeout: Duration,
    /// Sweeps of one message's notifications that may fail before they are
    /// dropped (logged and counted); backoff doubles from 1 s up to 10 min
    /// between them. Defaults to 12 (about an hour of retries).
    pub outbox_attempts: u32,
}

/// A token bucket: `burst` writes at once, refilled at `per_minute`.
///
/// ```
/// use chat_engine::Rate;
/// assert_eq!(Rate::per_second(20, 40), Rate::per_minute(1_200, 40));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Writes a minute, sustained (at least 1).
    pub per_minute: u32,
    /// Writes allowed at once after a quiet spell (at least 1).
    pub burst: u32,
}

impl Rate {
    /// `per_second` writes a second, `burst` at once.
    #[must_use]
    pub const fn per_second(per_second: u32, burst: u32) -> Self {
        Self {
            per_minute: per_second.saturating_mul(60),
            burst,
        }
    }

    /// `per_minute` writes a minute, `burst` at once.
    #[must_use]
    pub const fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

/// The kinds of write that are rate limited per user, each with its own
/// [`Rate`] in [`RateLimits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Sending a message.
    Send,
    /// Creating a group or a room, or opening a direct conversation.
    Create,
    /// Adding or removing a member, joining or leaving a room.
    Membership,
    /// Marking a conversation read.
    Read,
    /// Saying one is typing.
    Typing,
    /// Editing or deleting a message.
    Edit,
    /// Reacting to a message, or taking a reaction back.
    React,
    /// Pinning, unpinning, renaming.
    Manage,
    /// Moderating: roles, ownership, bans, mutes, blocks, deleting a group.
    Moderate,
    /// Reporting a message or a user to the host's moderators.
    Report,
}

impl Action {
    /// Every action, in the order of [`Action::index`].
    pub const ALL: [Self; 10] = [
        Self::Send,
        Self::Create,
        Self::Membership,
        Self::Read,
        Self::Typing,
        Self::Edit,
        Self::React,
        Self::Manage,
        Self::Moderate,
        Self::Report,
    ];

    /// Its position in [`Action::ALL`].
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name used in metrics labels and `--rate-limit`: `send`,
    /// `create`, `membership`, `read`, `typing`, `edit`, `react`, `manage`,
    /// `moderate`, `report`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Create => "create",
            Self::Membership => "membership",
            Self::Read => "read",
            Self::Typing => "typing",
            Self::Edit => "edit",
            Self::React => "react",
            Self::Manage => "manage",
            Self::Moderate => "moderate",
            Self::Report => "report",
        }
    }

    /// What is being done too often, for error messages.
    #[must_use]
    pub const fn plural(self) -> &'static str {
        match self {
            Self::Send => "messages",
            Self::Create => "new conversations",
            Self::Membership => "membership changes",
            Self::Read => "read marks",
            Self::Typing => "typing notices",
            Self::Edit => "edits and deletes",
            Self::React => "reactions",
            Self::Manage => "pins and renames",
            Self::Moderate => "moderation changes",
            Self::Report => "reports",
        }
    }
}

/// Each user's rate per [`Action`], per node; `None` turns one off.
///
/// The defaults let a person chat freely and stop a script: messages 20 a
/// second (bursts of 40); new conversations 30 a minute (10 at once);
/// membership changes 60 a minute (20); read marks 10 a second (40); typing
/// notices 5 a second (10), on top of [`ChatConfig::typing_interval`];
/// edits and deletes 60 a minute (20); reactions 2 a second (30); pins and
/// renames 30 a minute (10); moderation 60 a minute (20); reports 1 a
/// minute (5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// [`Action::Send`].
    pub send: Option<Rate>,
    /// [`Action::Create`].
    pub create: Option<Rate>,
    /// [`Action::Membership`].
    pub membership: Option<Rate>,
    /// [`Action::Read`].
    pub read: Option<Rate>,
    /// [`Action::Typing`].
    pub typing: Option<Rate>,
    /// [`Action::Edit`].
    pub edit: Option<Rate>,
    /// [`Action::React`].
    pub react: Option<Rate>,
    /// [`Action::Manage`].
    pub manage: Option<Rate>,
    /// [`Action::Moderate`].
    pub moderate: Option<Rate>,
    /// [`Action::Report`].
    pub report: Option<Rate>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            send: Some(Rate::per_second(20, 40)),
            create: Some(Rate::per_minute(30, 10)),
            membership: Some(Rate::per_minute(60, 20)),
            read: Some(Rate::per_second(10, 40)),
            typing: Some(Rate::per_second(5, 10)),
            edit: Some(Rate::per_minute(60, 20)),
            react: Some(Rate::per_second(2, 30)),
            manage: Some(Rate::per_minute(30, 10)),
            moderate: Some(Rate::per_minute(60, 20)),
            report: Some(Rate::per_minute(1, 5)),
        }
    }
}

impl RateLimits {
    /// No limit on anything (bulk imports, load tests).
    #[must_use]
    pub const fn none() -> Self {
        Self {
            send: None,
            create: None,
            membership: None,
            read: None,
            typing: None,
            edit: None,
            react: None,
            manage: None,
            moderate: None,
            report: None,
        }
    }

    /// The rate of `action`.
    #[must_use]
    pub const fn get(&self, action: Action) -> Option<Rate> {
        match action {
            Action::Send => self.send,
            Action::Create => self.create,
            Action::Membership => self.membership,
            Action::Read => self.read,
            Action::Typing => self.typing,
            Action::Edit => self.edit,
            Action::React => self.react,
            Action::Manage => self.manage,
            Action::Moderate => self.moderate,
            Action::Report => self.report,
        }
    }

    fn slot(&mut self, action: Action) -> &mut Option<Rate> {
        match action {
            Action::Send => &mut self.send,
            Action::Create => &mut self.create,
            Action::Membership => &mut self.membership,
            Action::Read => &mut self.read,
            Action::Typing => &mut self.typing,
            Action::Edit => &mut self.edit,
            Action::React => &mut self.react,
            Action::Manage => &mut self.manage,
            Action::Moderate => &mut self.moderate,
            Action::Report => &mut self.report,
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024,
            max_group_members: 1_000,
            max_title_bytes: 256,
            max_client_id_bytes: 128,
            max_payload_bytes: 8 * 1024,
            default_page: 15,
            max_page: 200,
            default_conversations_listed: 100,
            max_conversations_listed: 500,
            connection_queue: 1_024,
            max_connections_per_user: 32,
            stuck_timeout: Duration::from_secs(30),
            bus_buffer: 8_192,
            rates: RateLimits::default(),
            typing_interval: Duration::from_secs(2),
            presence_ttl: Duration::from_secs(24),
            presence_grace: Duration::from_secs(5),
            outbox_lease: Duration::from_secs(30),
            outbox_call_timeout: Duration::from_secs(10),
            outbox_attempts: 12,
        }
    }
}

impl ChatConfig {
    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`max_group_members`](Self::max_group_members).
    #[must_use]
    pub fn with_max_group_members(mut self, members: usize) -> Self {
        self.max_group_members = members;
        self
    }

    /// Sets [`default_page`](Self::default_page) and [`max_page`](Self::max_page).
    #[must_use]
    pub fn with_page_sizes(mut self, default_page: u32, max_page: u32) -> Self {
        self.default_page = default_page;
        self.max_page = max_page;
        self
    }

    /// Sets [`max_connections_per_user`](Self::max_connections_per_user).
    #[must_use]
    pub fn with_max_connections_per_user(mut self, connections: usize) -> Self {
        self.max_connections_per_user = connections.max(1);
        self
    }

    /// Sets [`connection_queue`](Self::connection_queue).
    #[must_use]
    pub fn with_connection_queue(mut self, events: usize) -> Self {
        self.connection_queue = events;
        self
    }

    /// Sets [`stuck_timeout`](Self::stuck_timeout).
    #[must_use]
    pub fn with_stuck_timeout(mut self, timeout: Duration) -> Self {
        self.stuck_timeout = timeout;
        self
    }

    /// Sets the rate of `action`; `None` turns its limit off.
    ///
    /// ```
    /// use chat_engine::{Action, ChatConfig, Rate};
    /// let strict = ChatConfig::default().with_rate(Action::Send, Some(Rate::per_second(5, 10)));
    /// let bulk_import = ChatConfig::default().with_rate(Action::Send, None);
    /// assert_eq!(strict.rates.send, Some(Rate::per_minute(300, 10)));
    /// assert_eq!(bulk_import.rates.send, None);
    /// ```
    #[must_use]
    pub fn with_rate(mut self, action: Action, rate: Option<Rate>) -> Self {
        *self.rates.slot(action) = rate;
        self
    }

    /// Sets every rate at once ([`RateLimits::none`] turns them all off).
    #[must_use]
    pub fn with_rates(mut self, rates: RateLimits) -> Self {
        self.rates = rates;
        self
    }

    /// Sets [`typing_interval`](Self::typing_interval).
    #[must_use]
    pub fn with_typing_interval(mut self, interval: Duration) -> Self {
        self.typing_interval = interval;
        self
    }

    /// Sets [`presence_ttl`](Self::presence_ttl) and
    /// [`presence_grace`](Self::presence_grace).
    #[must_use]
    pub fn with_presence(mut self, ttl: Duration, grace: Duration) -> Self {
        self.presence_ttl = ttl;
        self.presence_grace = grace;
        self
    }

    /// Sets [`outbox_lease`](Self::outbox_lease) and
    /// [`outbox_call_timeout`](Self::outbox_call_timeout).
    #[must_use]
    pub fn with_outbox(mut self, lease: Duration, call_timeout: Duration) -> Self {
        self.outbox_lease = lease;
        self.outbox_call_timeout = call_timeout;
        self
    }
}
