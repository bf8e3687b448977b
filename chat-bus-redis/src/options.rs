//! Settings of a Redis bus node.

use std::time::Duration;

/// Settings of a [`RedisBus`](crate::RedisBus) node.
///
/// ```
/// use chat_bus_redis::RedisBusOptions;
/// let options = RedisBusOptions::default().with_prefix("myapp:chat:");
/// assert_eq!(options.prefix, "myapp:chat:");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisBusOptions {
    /// Prefix of every channel, so apps and test runs can share one Redis.
    /// Defaults to `chat:`.
    pub prefix: String,
    /// Bound on connecting, subscribing, publishing and the health probe.
    /// Defaults to 2 s.
    pub timeout: Duration,
    /// How often the subscription connection is pinged to detect a dead
    /// link. Defaults to 5 s.
    pub ping_interval: Duration,
    /// Longest wait between reconnection attempts (backoff doubles from
    /// 50 ms up to this). Defaults to 2 s.
    pub max_backoff: Duration,
    /// Deliveries buffered for this node's hub. Defaults to 65,536.
    pub capacity: usize,
    /// How often a node renews its routes (and sweeps those of dead nodes).
    /// A node that stops renewing is past its deadline three intervals
    /// after its last renewal, and its routes are gone at most one interval
    /// later.
    /// Defaults to 2 s.
    pub route_interval: Duration,
}

impl Default for RedisBusOptions {
    fn default() -> Self {
        Self {
            prefix: "chat:".to_owned(),
            timeout: Duration::from_secs(2),
            ping_interval: Duration::from_secs(5),
            max_backoff: Duration::from_secs(2),
            capacity: 65_536,
            route_interval: Duration::from_secs(2),
        }
    }
}

impl RedisBusOptions {
    /// Sets [`prefix`](Self::prefix).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`ping_interval`](Self::ping_interval).
    #[must_use]
    pub fn with_ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`route_interval`](Self::route_interval).
    #[must_use]
    pub fn with_route_interval(mut self, interval: Duration) -> Self {
        self.route_interval = interval;
        self
    }

    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}
