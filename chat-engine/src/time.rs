//! Timestamps. Stores keep milliseconds since the Unix epoch, so the library
//! truncates every timestamp it makes to whole milliseconds: what a store
//! returns then equals what the service created, bit for bit.

use chrono::{DateTime, Utc};

/// A UTC instant with millisecond precision; serialized as RFC 3339.
pub type Timestamp = DateTime<Utc>;

/// The current time, truncated to whole milliseconds.
#[must_use]
pub fn now() -> Timestamp {
    from_millis(Utc::now().timestamp_millis())
}

/// The instant `millis` milliseconds after the Unix epoch (clamped to the
/// representable range, which covers ±262,000 years).
#[must_use]
pub fn from_millis(millis: i64) -> Timestamp {
    DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Milliseconds since the Unix epoch, as stores keep it.
#[must_use]
pub fn to_millis(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_round_trips_through_millis() {
        let at = now();
        assert_eq!(from_millis(to_millis(at)), at);
    }
}
