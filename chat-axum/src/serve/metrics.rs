//! What the listener measures, through the `metrics` facade (see
//! `chat_engine::metrics`): open connections, refusals by limit, header
//! timeouts. Recorded where they happen.

use metrics::{counter, describe_counter, describe_gauge, gauge};

/// TCP connections open on this node, WebSockets included (gauge).
pub const HTTP_CONNECTIONS: &str = "chat_http_connections";
/// Connections refused because a limit was reached, by `limit` (`node`, `peer`) (counter).
pub const HTTP_CONNECTIONS_REFUSED: &str = "chat_http_connections_refused_total";
/// Connections closed for not sending complete request headers in time (counter).
pub const HTTP_HEADER_TIMEOUTS: &str = "chat_http_header_timeouts_total";

/// Describes this module's metrics and shows the counters at zero; call
/// once after installing a recorder (with `chat_engine::metrics::describe`).
pub fn describe() {
    describe_gauge!(
        HTTP_CONNECTIONS,
        "TCP connections open on this node (WebSockets included)."
    );
    gauge!(HTTP_CONNECTIONS).increment(0.0);
    describe_counter!(
        HTTP_CONNECTIONS_REFUSED,
        "TCP connections refused because a connection limit was reached, by limit."
    );
    for limit in ["node", "peer"] {
        counter!(HTTP_CONNECTIONS_REFUSED, "limit" => limit).increment(0);
    }
    describe_counter!(
        HTTP_HEADER_TIMEOUTS,
        "Connections closed for not sending complete request headers in time."
    );
    counter!(HTTP_HEADER_TIMEOUTS).increment(0);
}
