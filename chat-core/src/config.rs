//! Limits and tuning, owned by the core so every surface (REST, WebSocket,
//! embedding code) enforces the same numbers.

use std::time::Duration;

/// Limits and tuning for a [`ChatService`](crate::ChatService) and its hub.
///
/// ```
/// use chat_core::ChatConfig;
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
    /// Most conversations returned by one listing. Defaults to 500.
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
    /// Each user's send rate (REST and WebSocket alike), or `None` for no
    /// limit. Defaults to 20 messages a second with bursts of 40.
    pub send_rate: Option<SendRate>,
}

/// A token bucket: `burst` sends at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendRate {
    /// Sends a second, sustained (at least 1).
    pub per_second: u32,
    /// Sends allowed at once after a quiet spell (at least 1).
    pub burst: u32,
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
            max_conversations_listed: 500,
            connection_queue: 1_024,
            max_connections_per_user: 32,
            stuck_timeout: Duration::from_secs(30),
            bus_buffer: 8_192,
            send_rate: Some(SendRate {
                per_second: 20,
                burst: 40,
            }),
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

    /// Sets [`send_rate`](Self::send_rate); `None` turns the limit off.
    ///
    /// ```
    /// use chat_core::{ChatConfig, SendRate};
    /// let strict = ChatConfig::default().with_send_rate(Some(SendRate { per_second: 5, burst: 10 }));
    /// let bulk_import = ChatConfig::default().with_send_rate(None);
    /// # assert_ne!(strict, bulk_import);
    /// ```
    #[must_use]
    pub fn with_send_rate(mut self, rate: Option<SendRate>) -> Self {
        self.send_rate = rate;
        self
    }
}
