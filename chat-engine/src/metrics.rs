//! What the library measures, through the [`metrics`] facade: the host
//! installs any recorder (Prometheus, StatsD, OpenTelemetry…) and gets every
//! counter, gauge and histogram below; without one, recording costs a load
//! of the facade's global and nothing else.
//!
//! Counters and gauges are recorded where the event happens, once per event
//! or per batch (never per recipient on the delivery path); histograms time
//! the steps of a send. [`describe`] gives each its help text and unit and
//! makes every counter visible at zero, so a drop is never silent for lack
//! of a first one.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

/// Live WebSocket connections on this node (gauge).
pub const CONNECTIONS: &str = "chat_connections";
/// Users with at least one live connection on this node (gauge).
pub const CONNECTED_USERS: &str = "chat_connected_users";
/// Users the bus routes events to this node for (gauge).
pub const WATCHED_USERS: &str = "chat_bus_watched_users";
/// Events queued to live connections (counter).
pub const EVENTS_DELIVERED: &str = "chat_events_delivered_total";
/// Events not queued to a connection, by `reason` (counter).
pub const EVENTS_DROPPED: &str = "chat_events_dropped_total";
/// Gap events handed to connections (counter).
pub const GAPS_ANNOUNCED: &str = "chat_gaps_announced_total";
/// Connections closed because their queue stayed full (counter).
pub const SLOW_CONSUMER_CLOSES: &str = "chat_slow_consumer_closes_total";
/// Times the bus reported lost events (counter).
pub const BUS_GAPS: &str = "chat_bus_gaps_total";
/// Failed watches or unwatches of a user on the bus (counter).
pub const BUS_WATCH_FAILURES: &str = "chat_bus_watch_failures_total";
/// Deliveries a bus dropped because this node's subscription queue was full (counter).
pub const BUS_DROPPED: &str = "chat_bus_dropped_total";
/// Writes refused by a per-user rate limit, by `action` (counter).
pub const RATE_LIMITED: &str = "chat_rate_limited_total";
/// Publishes that failed after their message was saved (counter).
pub const PUBLISH_FAILURES: &str = "chat_publish_failures_total";
/// A send's time from the call to the stored answer, publish included (histogram, seconds).
pub const SEND_SECONDS: &str = "chat_send_seconds";
/// Messages written by one group commit (histogram).
pub const COMMIT_BATCH_SIZE: &str = "chat_commit_batch_size";
/// One group commit's write, from its first statement to the commit (histogram, seconds).
pub const COMMIT_SECONDS: &str = "chat_commit_seconds";
/// Messages still waiting for a writer when a group commit starts (histogram).
pub const COMMIT_QUEUE_DEPTH: &str = "chat_commit_queue_depth";
/// Queuing one event to every live connection of its recipients on this node (histogram, seconds).
pub const FANOUT_SECONDS: &str = "chat_fanout_seconds";

/// Presence backend calls that failed, by `call` (counter).
pub const PRESENCE_FAILURES: &str = "chat_presence_failures_total";

/// Members handed to the host's notifier (counter).
pub const NOTIFICATIONS: &str = "chat_notifications_total";
/// Outbox rows a sweep took over: their node died, was behind, or their
/// notifier failed before (counter).
pub const OUTBOX_SWEPT: &str = "chat_outbox_swept_total";
/// Fresh messages left in the outbox for a sweep because the relay was
/// behind (counter).
pub const OUTBOX_LEFT_FOR_SWEEP: &str = "chat_outbox_left_for_sweep_total";
/// Follow-up calls that failed or timed out, by `call` (counter).
pub const OUTBOX_FAILURES: &str = "chat_outbox_failures_total";
/// Messages whose notifications were dropped after their last try (counter).
pub const OUTBOX_DROPPED: &str = "chat_outbox_dropped_total";

/// The calls of [`OUTBOX_FAILURES`].
pub const OUTBOX_CALLS: [&str; 2] = ["after_send", "notify"];

/// The calls of [`PRESENCE_FAILURES`].
pub const PRESENCE_CALLS: [&str; 4] = ["arrive", "leave", "refresh", "sweep"];

/// The reasons of [`EVENTS_DROPPED`].
pub const DROP_REASONS: [&str; 3] = [
    "message_queue_full",
    "ephemeral_queue_full",
    "covered_by_gap",
];

/// Gives every metric of this module its description and unit, and sets
/// the counters to zero where a recorder has none yet: call once, after
/// installing the recorder.
pub fn describe() {
    for (name, help) in [
        (CONNECTIONS, "Live WebSocket connections on this node."),
        (
            CONNECTED_USERS,
            "Users with at least one live connection on this node.",
        ),
        (
            WATCHED_USERS,
            "Users the bus routes events to this node for.",
        ),
    ] {
        describe_gauge!(name, help);
        gauge!(name).increment(0.0);
    }
    for (name, help) in [
        (EVENTS_DELIVERED, "Events queued to live connections."),
        (
            GAPS_ANNOUNCED,
            "Gap events handed to connections (clients refetch from them).",
        ),
        (
            SLOW_CONSUMER_CLOSES,
            "Connections closed because their queue stayed full too long.",
        ),
        (
            BUS_GAPS,
            "Times the bus reported lost events (every connection got a gap).",
        ),
        (
            BUS_WATCH_FAILURES,
            "Failed attempts to watch or unwatch a user on the bus.",
        ),
        (
            PUBLISH_FAILURES,
            "Publishes that failed after their message was saved.",
        ),
        (
            BUS_DROPPED,
            "Deliveries the bus dropped because this node's subscription queue was full.",
        ),
        (NOTIFICATIONS, "Members handed to the host's notifier."),
        (
            OUTBOX_SWEPT,
            "Outbox rows a sweep took over (their node died or was behind, or a notifier failed).",
        ),
        (
            OUTBOX_LEFT_FOR_SWEEP,
            "Fresh messages left in the outbox for a sweep because the relay was behind.",
        ),
        (
            OUTBOX_DROPPED,
            "Messages whose notifications were dropped after their last try.",
        ),
    ] {
        describe_counter!(name, help);
        counter!(name).increment(0);
    }
    describe_counter!(
        EVENTS_DROPPED,
        "Events not queued to a connection, by reason."
    );
    for reason in DROP_REASONS {
        counter!(EVENTS_DROPPED, "reason" => reason).increment(0);
    }
    describe_counter!(
        RATE_LIMITED,
        "Writes refused by a per-user rate limit, by kind of write."
    );
    for action in crate::Action::ALL {
        counter!(RATE_LIMITED, "action" => action.as_str()).increment(0);
    }
    describe_counter!(
        PRESENCE_FAILURES,
        "Presence backend calls that failed, by call (the next renewal or sweep repairs them)."
    );
    for call in PRESENCE_CALLS {
        counter!(PRESENCE_FAILURES, "call" => call).increment(0);
    }
    describe_counter!(
        OUTBOX_FAILURES,
        "Follow-up calls (after_send hooks, the notifier) that failed or timed out, by call."
    );
    for call in OUTBOX_CALLS {
        counter!(OUTBOX_FAILURES, "call" => call).increment(0);
    }
    describe_histogram!(
        SEND_SECONDS,
        Unit::Seconds,
        "A send from the call to the stored answer, the publish included."
    );
    describe_histogram!(
        COMMIT_BATCH_SIZE,
        Unit::Count,
        "Messages written by one group commit."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "One group commit's write, from its first statement to the commit."
    );
    describe_histogram!(
        COMMIT_QUEUE_DEPTH,
        Unit::Count,
        "Messages still waiting for a writer when a group commit starts."
    );
    describe_histogram!(
        FANOUT_SECONDS,
        Unit::Seconds,
        "Queuing one event to the live connections of its recipients on this node."
    );
}
