//! Command-line arguments. Every run is bounded in count and time, and only
//! loopback servers are accepted: this is a benchmark driver, not a
//! traffic generator to point at other people's machines.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Drives a running chat server (the standalone example in demo-auth mode,
/// where a token is the user id) and reports what it measured.
#[derive(Debug, Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to measure.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Users in groups send messages; reports sends/s, deliveries/s, loss and
    /// send→receipt latency.
    Run(RunArgs),
    /// Opens idle WebSocket connections and reports the server's RSS per connection.
    Idle(IdleArgs),
    /// Users in groups send messages through clients that reconnect, resume
    /// and retry (the chat-client crate), so a node may die mid-run behind a
    /// load balancer; reports progress, then loss, duplicates and order.
    Failover(FailoverArgs),
}

/// Options every scenario shares.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Server base URL; repeat to spread clients over several nodes.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub(crate) urls: Vec<String>,
    /// The server's pid: its RSS and CPU time are reported.
    #[arg(long)]
    pub(crate) pid: Option<u32>,
    /// Prefix of the user ids this run creates (a fresh one per run by default).
    #[arg(long)]
    pub(crate) user_prefix: Option<String>,
    /// Upper bound on the whole run, in seconds.
    #[arg(long, default_value_t = 120)]
    pub(crate) max_seconds: u64,
}

/// `loadgen run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Connected users (one WebSocket each).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) users: usize,
    /// Members per conversation; 2 opens direct conversations.
    #[arg(long, default_value_t = 20)]
    pub(crate) group_size: usize,
    /// Messages to send in all.
    #[arg(long, default_value_t = 20_000)]
    pub(crate) messages: usize,
    /// Sends in flight at once.
    #[arg(long, default_value_t = 64)]
    pub(crate) in_flight: usize,
    /// Body size in bytes (at least 24: the send time is written into it).
    #[arg(long, default_value_t = 150)]
    pub(crate) body_bytes: usize,
    /// How messages are sent.
    #[arg(long, value_enum, default_value_t = SendPath::Ws)]
    pub(crate) path: SendPath,
}

/// `loadgen failover`.
#[derive(Debug, Args)]
pub(crate) struct FailoverArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Users (one client each, all through the first --url).
    #[arg(long, default_value_t = 100)]
    pub(crate) users: usize,
    /// Members per conversation; 2 opens direct conversations.
    #[arg(long, default_value_t = 2)]
    pub(crate) group_size: usize,
    /// Messages to send in all.
    #[arg(long, default_value_t = 20_000)]
    pub(crate) messages: usize,
    /// Sends in flight at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) in_flight: usize,
}

/// `loadgen idle`.
#[derive(Debug, Args)]
pub(crate) struct IdleArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Idle connections to open (one user each).
    #[arg(long, default_value_t = 10_000)]
    pub(crate) connections: usize,
    /// Connections opened at once.
    #[arg(long, default_value_t = 256)]
    pub(crate) in_flight: usize,
    /// Seconds to hold the connections before measuring (lets the server settle).
    #[arg(long, default_value_t = 2)]
    pub(crate) settle_seconds: u64,
}

/// How a message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SendPath {
    /// A `send` frame on the sender's WebSocket, answered by `ack`.
    Ws,
    /// `POST /conversations/{cid}/messages`.
    Post,
}

/// A URL that is not a loopback `http://` base.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0}: loadgen only drives servers on loopback (http://127.0.0.1:PORT, http://[::1]:PORT or http://localhost:PORT)"
)]
pub(crate) struct NotLoopback(pub(crate) String);

impl Common {
    /// Checks that every URL is a loopback `http://` base; returns them without a trailing `/`.
    pub(crate) fn loopback_urls(&self) -> Result<Vec<String>, NotLoopback> {
        self.urls
            .iter()
            .map(|url| {
                let trimmed = url.trim_end_matches('/');
                let host = trimmed
                    .strip_prefix("http://")
                    .map(|rest| rest.split('/').next().unwrap_or(rest))
                    .map(|authority| match authority.rsplit_once(':') {
                        Some((host, _port)) => host,
                        None => authority,
                    })
                    .map(|host| host.trim_start_matches('[').trim_end_matches(']'));
                let loopback = match host {
                    Some("localhost") => true,
                    Some(host) => host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
                    None => false,
                };
                if loopback {
                    Ok(trimmed.to_owned())
                } else {
                    Err(NotLoopback(url.clone()))
                }
            })
            .collect()
    }

    /// The run's time bound.
    pub(crate) fn deadline(&self) -> Duration {
        Duration::from_secs(self.max_seconds)
    }

    /// The prefix of this run's user ids.
    pub(crate) fn prefix(&self) -> String {
        self.user_prefix.clone().unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos());
            format!("lg{:x}", nanos % 0xffff_ffff)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(url: &str) -> Common {
        Common {
            urls: vec![url.to_owned()],
            pid: None,
            user_prefix: None,
            max_seconds: 1,
        }
    }

    #[test]
    fn loopback_urls_are_accepted() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://localhost:9",
            "http://[::1]:8080",
        ] {
            assert!(common(url).loopback_urls().is_ok(), "{url}");
        }
    }

    #[test]
    fn other_hosts_are_refused() {
        for url in [
            "http://10.0.0.1:8080",
            "https://127.0.0.1:8080",
            "http://example.com",
            "ws://127.0.0.1:1",
        ] {
            assert!(common(url).loopback_urls().is_err(), "{url}");
        }
    }
}
