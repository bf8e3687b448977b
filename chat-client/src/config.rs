//! What a [`Client`](crate::Client) is told: where the server is, how to
//! get a token, how long to wait between reconnects.

use std::time::Duration;

/// Where and how to connect.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The chat API's base URL: `http://host:port` (and the prefix the host
    /// mounts chat under, if any). The socket is its `/ws` over `ws://`,
    /// opened with `?resume=first`.
    pub base_url: String,
    /// The first wait before reconnecting; doubled after each failed try.
    pub backoff_initial: Duration,
    /// The longest wait before reconnecting.
    pub backoff_max: Duration,
    /// How long events may wait for a hole before the client fetches it
    /// itself (the server's replay fills most holes first).
    pub hole_timeout: Duration,
}

impl ClientConfig {
    /// Defaults for a server at `base_url`: backoff from 100 ms to 10 s,
    /// holes fetched after 1 s.
    #[must_use]
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            hole_timeout: Duration::from_secs(1),
        }
    }

    /// Sets the reconnect backoff's first and longest waits.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// The WebSocket's URL.
    pub(crate) fn socket_url(&self) -> String {
        let rest = self
            .base_url
            .strip_prefix("https://")
            .map(|rest| format!("wss://{rest}"))
            .or_else(|| {
                self.base_url
                    .strip_prefix("http://")
                    .map(|rest| format!("ws://{rest}"))
            })
            .unwrap_or_else(|| self.base_url.clone());
        // Live events wait for the client's first frame, its resume.
        format!("{rest}/ws?resume=first")
    }

    /// The wait before reconnect try `attempt` (0 for the first):
    /// exponential backoff with full jitter, so clients that lost the same
    /// server do not all come back at the same instant.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .backoff_initial
            .saturating_mul(1 << attempt.min(20))
            .min(self.backoff_max);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Gives the client a token for each connection: called again on every
/// reconnect, so an expired token is replaced by a fresh one.
#[async_trait::async_trait]
pub trait TokenProvider: std::fmt::Debug + Send + Sync + 'static {
    /// A token for the next connection, or why there is none (the client
    /// waits its backoff and asks again).
    async fn token(&self) -> Result<String, String>;
}

/// One token that never changes (demo mode's user id, or a long-lived
/// service token).
#[derive(Clone, Debug)]
pub struct StaticToken(pub String);

#[async_trait::async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self) -> Result<String, String> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_backoff() {
        let config = ClientConfig::new("http://127.0.0.1:8080/");
        assert_eq!(config.socket_url(), "ws://127.0.0.1:8080/ws?resume=first");
        assert_eq!(
            ClientConfig::new("https://chat.example/api").socket_url(),
            "wss://chat.example/api/ws?resume=first"
        );
        for attempt in 0..30 {
            let wait = config.backoff(attempt);
            let ceiling = (Duration::from_millis(100) * 2_u32.pow(attempt.min(20)))
                .min(Duration::from_secs(10));
            assert!(wait <= ceiling, "{wait:?} over {ceiling:?} at {attempt}");
        }
        let waits: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| config.backoff(8)).collect();
        assert!(waits.len() > 15, "jitter spreads the waits: {waits:?}");
    }
}
