//! Rate-limited logging: a fault that repeats per event (a publish failing
//! while Redis is down, requests failing while the database is away) writes
//! one line per interval carrying how many were left out, never one line per
//! event. Keep exact totals in counters where they matter (the standalone
//! server's `/metrics` counts publish failures, watch failures and drops).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lets one log line through per interval and counts the rest.
///
/// ```
/// use std::time::Duration;
/// use chat_engine::LogThrottle;
///
/// static PUBLISH_FAILED: LogThrottle = LogThrottle::new(Duration::from_secs(10));
///
/// if let Some(suppressed) = PUBLISH_FAILED.admit() {
///     tracing::warn!(suppressed, "publish failed after save");
/// }
/// assert_eq!(PUBLISH_FAILED.admit(), None, "the next one within 10 s is counted");
/// ```
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogThrottle {
    /// At most one line per `interval`.
    #[must_use]
    pub const fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new(State {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// At most one line every ten seconds: what the library's own repeated
    /// warnings use.
    #[must_use]
    pub const fn every_ten_seconds() -> Self {
        Self::new(Duration::from_secs(10))
    }

    /// `Some(n)` when a line may be written now, `n` being how many were
    /// held back since the last one; `None` (and counted) otherwise.
    pub fn admit(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if state
            .last
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            state.suppressed += 1;
            return None;
        }
        state.last = Some(now);
        Some(std::mem::take(&mut state.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_carries_the_count_left_out() {
        let throttle = LogThrottle::new(Duration::from_secs(3_600));
        assert_eq!(throttle.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(throttle.admit(), None);
        }
        throttle.state.lock().unwrap().last = Some(Instant::now() - Duration::from_secs(3_601));
        assert_eq!(
            throttle.admit(),
            Some(5),
            "the next line says 5 were left out"
        );
        assert_eq!(throttle.admit(), None);
    }
}
