//! Command line and environment. Flags win over environment variables, which
//! win over defaults; `standalone --help` lists them all.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// The chat server on the embedded default: a SQLite file and the in-process bus.
#[derive(Debug, Parser)]
#[command(name = "standalone", version, about)]
pub struct Cli {
    /// What to do; without a subcommand, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Server settings.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a signed token for a user (needs the secret: --secret or CHAT_SECRET).
    Token {
        /// The user id the token stands for.
        #[arg(long)]
        user: String,
        /// Validity in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl_secs: u64,
    },
}

/// Settings of the server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on. Without a secret, only loopback addresses are allowed.
    #[arg(long, env = "CHAT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Where messages are stored: `sqlite://FILE` (created if missing),
    /// `sqlite::memory:`, or `mysql://user:password@host:3306/database` (MySQL
    /// or MariaDB, shared by several server processes).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://chat.db")]
    pub database_url: String,
    /// Redis for live events between several server processes
    /// (`redis://127.0.0.1:6379`). Without it, events stay in this process.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of the Redis channels, so several apps can share one Redis.
    #[arg(long, env = "CHAT_REDIS_PREFIX", default_value = "chat:")]
    pub redis_prefix: String,
    /// Largest message body, in bytes.
    #[arg(long, env = "CHAT_MAX_BODY_BYTES", default_value_t = 16 * 1024)]
    pub max_body_bytes: usize,
    /// Messages a second each user may send, sustained (REST and WebSocket
    /// together); 0 turns the limit off (load tests, imports).
    #[arg(long, env = "CHAT_SEND_RATE", default_value_t = 20)]
    pub send_rate: u32,
    /// Messages each user may send at once after a quiet spell.
    #[arg(long, env = "CHAT_SEND_BURST", default_value_t = 40)]
    pub send_burst: u32,
    /// How long a WebSocket holds a message that arrived ahead of an earlier
    /// one (messages from different nodes can cross) before telling the
    /// client about the gap, in milliseconds.
    #[arg(long, env = "CHAT_REORDER_WINDOW_MS", default_value_t = 250)]
    pub reorder_window_ms: u64,
    /// Events queued per WebSocket for a client that reads slowly; beyond it
    /// messages are dropped and announced as a gap, and a queue that stays
    /// full is closed. Bounds the memory a stalled client holds.
    #[arg(long, env = "CHAT_CONNECTION_QUEUE", default_value_t = 1_024)]
    pub connection_queue: usize,
    /// Most WebSockets one user may hold open on this node (devices, tabs);
    /// one more is refused with 429 `too_many_connections`.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_USER", default_value_t = 32)]
    pub max_connections_per_user: usize,
    /// Run the example echo bot as this user: open a direct conversation
    /// with it and it answers (`/help` lists its commands).
    #[arg(long, env = "CHAT_BOT")]
    pub bot: Option<String>,
    /// Secret (at least 32 bytes) for signed tokens. Without it, the token is
    /// the user id itself (demo mode, loopback only).
    #[arg(long, env = "CHAT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Log filter, e.g. `info` or `chat_axum=debug,info`.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
}

/// A configuration the server refuses to start with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Demo auth on a reachable address.
    #[error(
        "refusing to listen on {0} without a secret: in demo mode anyone can claim any user. \
         Bind to 127.0.0.1, or set CHAT_SECRET (32+ bytes) and mint tokens with \
         `standalone token --user NAME`"
    )]
    DemoAuthNotOnLoopback(SocketAddr),
    /// The secret is too short.
    #[error(transparent)]
    WeakSecret(#[from] crate::auth::WeakSecret),
    /// The database URL names a store this build does not have.
    #[error(
        "unsupported DATABASE_URL scheme in {0:?}: use `sqlite://FILE`, `sqlite::memory:` \
         or `mysql://user:password@host:3306/database`"
    )]
    UnsupportedDatabase(String),
}

impl ServerArgs {
    /// Checks the settings that would make the server unsafe or unusable.
    ///
    /// # Errors
    /// See [`ConfigError`].
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.secret.is_none() && !self.bind.ip().is_loopback() {
            return Err(ConfigError::DemoAuthNotOnLoopback(self.bind));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("mysql:")) {
            return Err(ConfigError::UnsupportedDatabase(self.database_url.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("standalone").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_are_loopback_and_a_local_sqlite_file() {
        let cli = parse(&[]);
        assert_eq!(cli.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.server.database_url, "sqlite://chat.db");
        assert_eq!(cli.server.max_body_bytes, 16_384);
        assert!(cli.server.check().is_ok());
    }

    #[test]
    fn demo_auth_is_refused_off_loopback() {
        let cli = parse(&["--bind", "0.0.0.0:8080"]);
        let error = cli.server.check().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("refusing to listen on 0.0.0.0:8080"),
            "{error}"
        );
        let with_secret = parse(&["--bind", "0.0.0.0:8080", "--secret", &"s".repeat(32)]);
        assert!(with_secret.server.check().is_ok());
    }

    #[test]
    fn other_databases_are_refused_with_a_clear_error() {
        let cli = parse(&["--database-url", "postgres://localhost/chat"]);
        assert!(matches!(
            cli.server.check(),
            Err(ConfigError::UnsupportedDatabase(_))
        ));
    }

    #[test]
    fn the_token_subcommand_parses() {
        let cli = parse(&["token", "--user", "alice", "--ttl-secs", "60"]);
        assert!(matches!(
            cli.command,
            Some(Command::Token { ttl_secs: 60, .. })
        ));
    }
}
