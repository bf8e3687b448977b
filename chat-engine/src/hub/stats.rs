//! Counters of the hub: no drop is silent. Updated with relaxed atomics, once
//! per event (not per recipient) on the delivery path, and recorded through
//! the `metrics` facade at the same moment (see [`crate::metrics`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use ::metrics::{counter, gauge};

use crate::metrics;

/// A snapshot of a hub's counters (totals since start) and gauges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Live connections now.
    pub connections: u64,
    /// Users with at least one live connection here (entries in the hub).
    pub users: u64,
    /// Users the bus routes events to this node for (bus subscriptions):
    /// equal to `users` once the watcher has caught up.
    pub watched_users: u64,
    /// Events queued to connections.
    pub delivered: u64,
    /// Message events not queued because a connection's queue was full
    /// (each is announced later as part of a gap).
    pub dropped_messages: u64,
    /// Ephemeral events (typing, read, membership) not queued because a queue was full.
    pub dropped_ephemeral: u64,
    /// Events not queued because a pending gap already covers them.
    pub skipped_in_gap: u64,
    /// `gap` announcements handed to connections.
    pub gaps_announced: u64,
    /// Connections closed because their queue stayed full too long.
    pub stuck_closed: u64,
    /// Times the bus reported lost events (every connection got a gap).
    pub bus_gaps: u64,
    /// Failed attempts to watch or unwatch a user on the bus.
    pub watch_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    connections: AtomicU64,
    users: AtomicU64,
    watched_users: AtomicU64,
    delivered: AtomicU64,
    dropped_messages: AtomicU64,
    dropped_ephemeral: AtomicU64,
    skipped_in_gap: AtomicU64,
    gaps_announced: AtomicU64,
    stuck_closed: AtomicU64,
    bus_gaps: AtomicU64,
    watch_failures: AtomicU64,
}

impl Counters {
    pub(crate) fn connected(&self) {
        self.connections.fetch_add(1, Relaxed);
        gauge!(metrics::CONNECTIONS).increment(1.0);
    }
    /// Counts a connection gone.
    pub(crate) fn disconnected(&self) {
        self.connections.fetch_sub(1, Relaxed);
        gauge!(metrics::CONNECTIONS).decrement(1.0);
    }

    pub(crate) fn user_added(&self) {
        self.users.fetch_add(1, Relaxed);
        gauge!(metrics::CONNECTED_USERS).increment(1.0);
    }

    pub(crate) fn user_removed(&self) {
        self.users.fetch_sub(1, Relaxed);
        gauge!(metrics::CONNECTED_USERS).decrement(1.0);
    }

    pub(crate) fn set_watched_users(&self, count: usize) {
        self.watched_users
            .store(u64::try_from(count).unwrap_or(u64::MAX), Relaxed);
        #[allow(clippy::cast_precision_loss)] // a gauge; exact below 2^53
        gauge!(metrics::WATCHED_USERS).set(count as f64);
    }
    pub(crate) fn delivered(&self, count: u64) {
        if count > 0 {
            self.delivered.fetch_add(count, Relaxed);
            counter!(metrics::EVENTS_DELIVERED).increment(count);
        }
    }
    pub(crate) fn dropped_message(&self) {
        self.dropped_messages.fetch_add(1, Relaxed);
        counter!(metrics::EVENTS_DROPPED, "reason" => metrics::DROP_REASONS[0]).increment(1);
    }
    pub(crate) fn dropped_ephemeral(&self) {
        self.dropped_ephemeral.fetch_add(1, Relaxed);
        counter!(metrics::EVENTS_DROPPED, "reason" => metrics::DROP_REASONS[1]).increment(1);
    }
    pub(crate) fn skipped_in_gap(&self) {
        self.skipped_in_gap.fetch_add(1, Relaxed);
        counter!(metrics::EVENTS_DROPPED, "reason" => metrics::DROP_REASONS[2]).increment(1);
    }
    pub(crate) fn gaps_announced(&self, count: usize) {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        self.gaps_announced.fetch_add(count, Relaxed);
        counter!(metrics::GAPS_ANNOUNCED).increment(count);
    }
    pub(crate) fn stuck_closed(&self) {
        self.stuck_closed.fetch_add(1, Relaxed);
        counter!(metrics::SLOW_CONSUMER_CLOSES).increment(1);
    }
    pub(crate) fn bus_gap(&self) {
        self.bus_gaps.fetch_add(1, Relaxed);
        counter!(metrics::BUS_GAPS).increment(1);
    }
    pub(crate) fn watch_failure(&self) {
        self.watch_failures.fetch_add(1, Relaxed);
        counter!(metrics::BUS_WATCH_FAILURES).increment(1);
    }

    pub(crate) fn snapshot(&self) -> HubStats {
        HubStats {
            connections: self.connections.load(Relaxed),
            users: self.users.load(Relaxed),
            watched_users: self.watched_users.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            dropped_messages: self.dropped_messages.load(Relaxed),
            dropped_ephemeral: self.dropped_ephemeral.load(Relaxed),
            skipped_in_gap: self.skipped_in_gap.load(Relaxed),
            gaps_announced: self.gaps_announced.load(Relaxed),
            stuck_closed: self.stuck_closed.load(Relaxed),
            bus_gaps: self.bus_gaps.load(Relaxed),
            watch_failures: self.watch_failures.load(Relaxed),
        }
    }
}
