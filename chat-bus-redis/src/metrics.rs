//! What the Redis bus measures, through the `metrics` facade (see
//! `chat_engine::metrics`): reconnects, failed publishes, undecodable
//! messages. Recorded where they happen.

use metrics::{counter, describe_counter};

/// Times the subscription connection was re-established (counter).
pub const RECONNECTS: &str = "chat_redis_reconnects_total";
/// Redis publishes that failed (counter).
pub const PUBLISH_FAILURES: &str = "chat_redis_publish_failures_total";
/// Messages from Redis that did not decode and were dropped (counter).
pub const DECODE_ERRORS: &str = "chat_redis_decode_errors_total";

/// Describes this module's metrics and shows them at zero; call once after
/// installing a recorder, on a node that uses Redis.
pub fn describe() {
    for (name, help) in [
        (
            RECONNECTS,
            "Times the Redis subscription connection was re-established.",
        ),
        (PUBLISH_FAILURES, "Redis publishes that failed."),
        (
            DECODE_ERRORS,
            "Messages from Redis that did not decode and were dropped.",
        ),
    ] {
        describe_counter!(name, help);
        counter!(name).increment(0);
    }
}
