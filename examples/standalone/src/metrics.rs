//! `GET /metrics`: the node's counters in Prometheus text format (0.0.4), so
//! that no dropped event, gap, failed publish, slow-consumer close or Redis
//! reconnect goes unseen. Values are read from the counters the hub, the
//! service and the Redis bus keep anyway; rendering costs nothing until
//! scraped.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chat_bus_redis::RedisBus;
use chat_core::ChatService;

/// What `/metrics` reads.
#[derive(Clone, Debug)]
pub struct MetricsSource {
    /// The service (hub counters, publish failures).
    pub chat: ChatService,
    /// The Redis bus, when the node uses one.
    pub redis: Option<Arc<RedisBus>>,
    /// The listener's connection counters.
    pub http: chat_axum::Server,
}

/// The handler.
pub(crate) async fn metrics(State(source): State<MetricsSource>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&source),
    )
}

/// The exposition text.
#[must_use]
pub fn render(source: &MetricsSource) -> String {
    let hub = source.chat.hub().stats();
    let mut text = Text::default();
    text.one(
        "chat_connections",
        "gauge",
        "Live WebSocket connections on this node.",
        hub.connections,
    );
    text.one(
        "chat_connected_users",
        "gauge",
        "Users with at least one live connection on this node.",
        hub.users,
    );
    text.one(
        "chat_bus_watched_users",
        "gauge",
        "Users the bus routes events to this node for.",
        hub.watched_users,
    );
    text.one(
        "chat_runtime_alive_tasks",
        "gauge",
        "Tasks alive in the server's async runtime.",
        u64::try_from(
            tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
        )
        .unwrap_or(u64::MAX),
    );
    text.one(
        "chat_events_delivered_total",
        "counter",
        "Events queued to live connections.",
        hub.delivered,
    );
    text.labelled(
        "chat_events_dropped_total",
        "Events not queued to a connection, by reason.",
        "reason",
        &[
            ("message_queue_full", hub.dropped_messages),
            ("ephemeral_queue_full", hub.dropped_ephemeral),
            ("covered_by_gap", hub.skipped_in_gap),
        ],
    );
    text.one(
        "chat_gaps_announced_total",
        "counter",
        "Gap events handed to connections (clients refetch from them).",
        hub.gaps_announced,
    );
    text.one(
        "chat_slow_consumer_closes_total",
        "counter",
        "Connections closed because their queue stayed full too long.",
        hub.stuck_closed,
    );
    text.one(
        "chat_bus_gaps_total",
        "counter",
        "Times the bus reported lost events (every connection got a gap).",
        hub.bus_gaps,
    );
    text.one(
        "chat_bus_watch_failures_total",
        "counter",
        "Failed attempts to watch or unwatch a user on the bus.",
        hub.watch_failures,
    );
    let refused: Vec<(&str, u64)> = chat_core::Action::ALL
        .into_iter()
        .map(|action| (action.as_str(), source.chat.rate_limited(action)))
        .collect();
    text.labelled(
        "chat_rate_limited_total",
        "Writes refused by a per-user rate limit, by kind of write.",
        "action",
        &refused,
    );
    text.one(
        "chat_publish_failures_total",
        "counter",
        "Publishes that failed after their message was saved.",
        source.chat.publish_failures(),
    );
    let http = source.http.stats();
    text.one(
        "chat_http_connections",
        "gauge",
        "TCP connections open on this node (WebSockets included).",
        http.open,
    );
    text.labelled(
        "chat_http_connections_refused_total",
        "TCP connections refused because a connection limit was reached, by limit.",
        "limit",
        &[("node", http.refused_node), ("peer", http.refused_peer)],
    );
    text.one(
        "chat_http_header_timeouts_total",
        "counter",
        "Connections closed for not sending complete request headers in time.",
        http.header_timeouts,
    );
    if let Some(redis) = &source.redis {
        let stats = redis.stats();
        text.one(
            "chat_redis_reconnects_total",
            "counter",
            "Times the Redis subscription connection was re-established.",
            stats.reconnects,
        );
        text.one(
            "chat_redis_publish_failures_total",
            "counter",
            "Redis publishes that failed.",
            stats.publish_failures,
        );
        text.one(
            "chat_redis_decode_errors_total",
            "counter",
            "Messages from Redis that did not decode and were dropped.",
            stats.decode_errors,
        );
        text.one(
            "chat_redis_dropped_total",
            "counter",
            "Deliveries dropped because this node's subscription queue was full.",
            stats.dropped,
        );
    }
    text.0
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        self.header(name, kind, help);
        let _ = writeln!(self.0, "{name} {value}");
    }

    fn labelled(&mut self, name: &str, help: &str, label: &str, values: &[(&str, u64)]) {
        self.header(name, "counter", help);
        for (key, value) in values {
            let _ = writeln!(self.0, "{name}{{{label}=\"{key}\"}} {value}");
        }
    }
}
