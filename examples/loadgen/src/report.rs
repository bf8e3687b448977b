//! The printed report of a run.

use std::time::Duration;

use crate::args::SendPath;
use crate::latency::Summary;
use crate::process::Usage;

/// What one `run` measured.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) path: SendPath,
    /// Messages acknowledged.
    pub(crate) sent: usize,
    /// Sends refused or failed.
    pub(crate) failed: usize,
    /// From the first send to the last acknowledgement.
    pub(crate) send_time: Duration,
    /// Message events that should arrive: every member of every acknowledged message.
    pub(crate) expected: u64,
    /// Message events that arrived.
    pub(crate) received: u64,
    pub(crate) gaps: u64,
    pub(crate) closed: u64,
    /// From the first send to the last receipt.
    pub(crate) delivery_time: Duration,
    /// Send → receipt, per delivery.
    pub(crate) deliveries: Option<Summary>,
    /// Send → acknowledgement, per message.
    pub(crate) acks: Option<Summary>,
}

impl Report {
    /// Prints the report.
    pub(crate) fn print(&self) {
        let path = match self.path {
            SendPath::Ws => "WebSocket send",
            SendPath::Post => "POST",
        };
        println!(
            "sent {} messages by {path} in {:.3} s: {:.0} sends/s ({} failed)",
            self.sent,
            self.send_time.as_secs_f64(),
            per_second(self.sent as u64, self.send_time),
            self.failed
        );
        println!(
            "deliveries: expected {}, received {}, lost {} ({} gap events, {} sockets closed)",
            self.expected,
            self.received,
            self.expected.saturating_sub(self.received),
            self.gaps,
            self.closed
        );
        println!(
            "delivered in {:.3} s: {:.0} deliveries/s",
            self.delivery_time.as_secs_f64(),
            per_second(self.received, self.delivery_time)
        );
        if let Some(summary) = self.deliveries {
            println!("send -> receipt: {summary}");
        }
        if let Some(summary) = self.acks {
            println!("send -> ack:     {summary}");
        }
    }
}

fn per_second(count: u64, time: Duration) -> f64 {
    if time.is_zero() {
        0.0
    } else {
        count as f64 / time.as_secs_f64()
    }
}

/// CPU time a process spent between two readings, also per million deliveries.
pub(crate) fn cpu_line(who: &str, start: Usage, end: Usage, deliveries: u64) -> String {
    let cpu = end.cpu.saturating_sub(start.cpu);
    let per_million = if deliveries == 0 {
        0.0
    } else {
        cpu.as_secs_f64() * 1e6 / deliveries as f64
    };
    format!(
        "{who} CPU: {:.2} s ({per_million:.2} CPU-seconds per million deliveries)",
        cpu.as_secs_f64()
    )
}

/// The server's memory before and after, and per connection.
pub(crate) fn memory_line(before: Usage, after: Usage, connections: usize) -> String {
    let grown = after.rss_kib.saturating_sub(before.rss_kib);
    format!(
        "server RSS: {} KiB before, {} KiB after, peak {} KiB; {:.1} KiB per connection",
        before.rss_kib,
        after.rss_kib,
        after.peak_rss_kib,
        grown as f64 / connections.max(1) as f64
    )
}
