//! Command line and environment. Flags win over environment variables, which
//! win over defaults; `standalone --help` lists them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_engine::{Action, ChatConfig, Rate, RateLimits};
use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// The signature algorithm of a public key (`--jwt-algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    /// RSA with SHA-256.
    Rs256,
    /// Ed25519.
    #[value(name = "eddsa")]
    EdDsa,
}

/// What the server does for offline members (`--notifications`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Notifications {
    /// No notifications, and no outbox rows (unless the bot runs).
    Off,
    /// A log line per message and member.
    Log,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a signed token for a user (needs the secret: CHAT_SECRET,
    /// --secret-file or --secret).
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
    /// `--redis-url` names a Redis Cluster: one or more of its nodes,
    /// comma-separated (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`).
    /// Needs Redis 7 (sharded pub/sub).
    #[arg(long, env = "CHAT_REDIS_CLUSTER")]
    pub redis_cluster: bool,
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
    /// Another write's rate per user, as `WRITE=N/s`, `WRITE=N/min`, with
    /// `:BURST` after it, or `WRITE=off`; WRITE is `create` (groups, rooms,
    /// direct conversations), `membership`, `read`, `typing`, `send`,
    /// `edit` (edits and deletes), `react`, `manage` (pins and renames),
    /// `moderate` (roles, bans, mutes, blocks, deleting a group), `report`,
    /// or `all`. Repeat the flag, or separate with commas. Defaults: create
    /// 30/min:10, membership 60/min:20, read 10/s:40, typing 5/s:10, edit
    /// 60/min:20, react 2/s:30, manage 30/min:10, moderate 60/min:20,
    /// report 1/min:5.
    #[arg(long = "rate-limit", env = "CHAT_RATE_LIMITS", value_delimiter = ',', value_parser = parse_rate_limit)]
    pub rate_limits: Vec<RateLimitSetting>,
    /// Count the rate limits for the whole cluster in Redis (needs
    /// --redis-url) instead of per node: a user whose requests a load
    /// balancer spreads over many nodes still gets the rate once. While
    /// Redis cannot answer, each node's own limits apply.
    #[arg(long, env = "CHAT_SHARED_RATE_LIMITS")]
    pub shared_rate_limits: bool,
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
    /// Tell offline members of each message: `log` writes one line per
    /// message and member (ids only, never the text) at info level on the
    /// `chat::notify` target; `off` writes no outbox rows at all.
    #[arg(long, env = "CHAT_NOTIFICATIONS", value_enum, default_value_t = Notifications::Log)]
    pub notifications: Notifications,
    /// Also POST each notification (JSON: the message and its recipients)
    /// to this http:// URL, signed with --notify-webhook-secret in the
    /// `Chat-Signature` header (`t=UNIX_SECONDS,v1=HEX`, the HMAC-SHA256 of
    /// `t.BODY`). A failure or a non-2xx answer is retried with backoff.
    #[arg(long, env = "CHAT_NOTIFY_WEBHOOK")]
    pub notify_webhook: Option<String>,
    /// The webhook's signing secret (at least 32 bytes).
    #[arg(long, env = "CHAT_NOTIFY_WEBHOOK_SECRET", hide_env_values = true)]
    pub notify_webhook_secret: Option<String>,
    /// Seconds the node that stored a message has to notify before any
    /// node's sweep takes over (a node that died is covered within this and
    /// a quarter).
    #[arg(long, env = "CHAT_OUTBOX_LEASE_SECS", default_value_t = 30)]
    pub outbox_lease_secs: u64,
    /// Secret (at least 32 bytes) for signed tokens. Without it, the token is
    /// the user id itself (demo mode, loopback only). Prefer CHAT_SECRET or
    /// --secret-file: a flag's value is visible to every local user in `ps`.
    #[arg(long, env = "CHAT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// A file holding the secret (its first line), instead of --secret.
    #[arg(long, env = "CHAT_SECRET_FILE", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
    /// Verify tokens with this PEM public key (an identity service holds
    /// the private one) instead of a shared secret.
    #[arg(
        long,
        env = "CHAT_JWT_PUBLIC_KEY_FILE",
        conflicts_with_all = ["secret", "secret_file"]
    )]
    pub jwt_public_key_file: Option<PathBuf>,
    /// The algorithm of --jwt-public-key-file.
    #[arg(long, env = "CHAT_JWT_ALGORITHM", value_enum, default_value_t = JwtAlgorithm::Rs256)]
    pub jwt_algorithm: JwtAlgorithm,
    /// Accept only tokens whose `aud` is this (and mint them with it).
    #[arg(long, env = "CHAT_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Accept only tokens whose `iss` is this (and mint them with it).
    #[arg(long, env = "CHAT_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Origins (`https://app.example.com`) whose pages may use the API from
    /// a browser besides the server's own: they may open the WebSocket and
    /// get CORS headers over REST. Repeat the flag, or separate with commas.
    #[arg(
        long = "allowed-origin",
        env = "CHAT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Most TCP connections open at once on this server, WebSockets
    /// included; one more is answered 503. Keep it under the open-file
    /// limit (`ulimit -n`).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = 16_384)]
    pub max_connections: usize,
    /// Most TCP connections from one IP address; one more is answered 429.
    /// 0 turns it off (behind a proxy, where every client has its address).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_PEER", default_value_t = 1_024)]
    pub max_connections_per_peer: usize,
    /// Seconds a client may take to send a request's headers (on a new
    /// connection, or between requests on a kept-alive one) before it is
    /// closed: slow and silent clients cannot hold sockets.
    #[arg(long, env = "CHAT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a REST request may take, reading its body included (408 after).
    #[arg(long, env = "CHAT_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Seconds a graceful shutdown (SIGTERM, Ctrl-C) waits for requests and
    /// sockets to finish before cutting them.
    #[arg(long, env = "CHAT_SHUTDOWN_TIMEOUT_SECS", default_value_t = 15)]
    pub shutdown_timeout_secs: u64,
    /// Log filter, e.g. `info` or `chat_axum=debug,info`.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,
}

/// One `--rate-limit`: a write (or all of them) and its rate, `None` for off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSetting {
    /// The write, or `None` for all of them.
    pub action: Option<Action>,
    /// Its rate, or `None` for no limit.
    pub rate: Option<Rate>,
}

fn parse_rate_limit(text: &str) -> Result<RateLimitSetting, String> {
    let usage = || format!("{text:?}: expected WRITE=N/s, WRITE=N/min (then :BURST) or WRITE=off");
    let (name, value) = text.trim().split_once('=').ok_or_else(usage)?;
    let action = match name {
        "all" => None,
        name => Some(
            Action::ALL
                .into_iter()
                .find(|action| action.as_str() == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                    format!("{name:?} is not a write: use {} or all", names.join(", "))
                })?,
        ),
    };
    if value == "off" {
        return Ok(RateLimitSetting { action, rate: None });
    }
    let (rate, burst) = value
        .split_once(':')
        .map_or((value, None), |(rate, burst)| (rate, Some(burst)));
    let (count, unit) = rate.split_once('/').ok_or_else(usage)?;
    let count: u32 = count.parse().map_err(|_| usage())?;
    let burst: u32 = burst
        .map_or(Ok(count.max(1)), str::parse)
        .map_err(|_| usage())?;
    let rate = match unit {
        "s" => Rate::per_second(count, burst),
        "min" => Rate::per_minute(count, burst),
        _ => return Err(usage()),
    };
    if count == 0 || burst == 0 {
        return Err(format!(
            "{text:?}: a rate of 0 allows nothing; use {name}=off for no limit"
        ));
    }
    Ok(RateLimitSetting {
        action,
        rate: Some(rate),
    })
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
    /// The secret is too short, or the public key is not one.
    #[error(transparent)]
    Jwt(#[from] chat_axum::JwtKeyError),
    /// The public key file cannot be read.
    #[error("cannot read the public key file {path}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `--notify-webhook` without a usable secret, or with a URL that is
    /// not http://, or with notifications off.
    #[error(
        "--notify-webhook needs an http:// URL, --notify-webhook-secret of 32+ bytes and --notifications log"
    )]
    Webhook,
    /// `--shared-rate-limits` without `--redis-url`.
    #[error("--shared-rate-limits counts in Redis: set --redis-url (REDIS_URL) too")]
    SharedRatesNeedRedis,
    /// `standalone token` without a secret.
    #[error("minting needs the secret: CHAT_SECRET, --secret-file or --secret")]
    MintingNeedsTheSecret,
    /// The secret file cannot be read.
    #[error("cannot read the secret file {path}")]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
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
        if self.is_demo() && !self.bind.ip().is_loopback() {
            return Err(ConfigError::DemoAuthNotOnLoopback(self.bind));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("mysql:")) {
            return Err(ConfigError::UnsupportedDatabase(self.database_url.clone()));
        }
        if let Some(url) = &self.notify_webhook {
            let secret = self.notify_webhook_secret.as_deref().unwrap_or_default();
            if !url.starts_with("http://")
                || secret.len() < 32
                || self.notifications == Notifications::Off
            {
                return Err(ConfigError::Webhook);
            }
        }
        if self.shared_rate_limits && self.redis_url.is_none() {
            return Err(ConfigError::SharedRatesNeedRedis);
        }
        Ok(())
    }

    /// Whether no secret and no public key is set: the token is the user id.
    #[must_use]
    pub fn is_demo(&self) -> bool {
        self.secret.is_none() && self.secret_file.is_none() && self.jwt_public_key_file.is_none()
    }

    /// The secret for signed tokens, from `--secret` or the first line of
    /// `--secret-file`; `None` in demo mode.
    ///
    /// # Errors
    /// [`ConfigError::SecretFile`] when the file cannot be read.
    pub fn secret(&self) -> Result<Option<String>, ConfigError> {
        if let Some(path) = &self.secret_file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                path: path.clone(),
                source,
            })?;
            return Ok(Some(text.lines().next().unwrap_or_default().to_owned()));
        }
        Ok(self.secret.clone())
    }

    /// The rates per write: the defaults, then `--send-rate`/`--send-burst`,
    /// then each `--rate-limit` in order.
    #[must_use]
    pub fn rates(&self) -> RateLimits {
        let send =
            (self.send_rate > 0).then(|| Rate::per_second(self.send_rate, self.send_burst.max(1)));
        let mut config = ChatConfig::default().with_rate(Action::Send, send);
        for setting in &self.rate_limits {
            match setting.action {
                Some(action) => config = config.with_rate(action, setting.rate),
                None => {
                    for action in Action::ALL {
                        config = config.with_rate(action, setting.rate);
                    }
                }
            }
        }
        config.rates
    }

    /// The hardened listener's settings.
    #[must_use]
    pub fn serve_config(&self) -> chat_axum::ServeConfig {
        chat_axum::ServeConfig::default()
            .with_max_connections(self.max_connections)
            .with_max_connections_per_peer(
                (self.max_connections_per_peer > 0).then_some(self.max_connections_per_peer),
            )
            .with_header_read_timeout(Duration::from_secs(self.header_read_timeout_secs.max(1)))
            .with_shutdown_timeout(Duration::from_secs(self.shutdown_timeout_secs))
    }

    /// The database URL with any password replaced by `***`, fit for a log.
    #[must_use]
    pub fn database_url_redacted(&self) -> String {
        redact_password(&self.database_url)
    }
}

/// `scheme://user:***@host/…` for `scheme://user:password@host/…`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Some((credentials, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let Some((user, _password)) = credentials.split_once(':') else {
        return url.to_owned();
    };
    let slash = if rest.contains('/') { "/" } else { "" };
    format!("{scheme}://{user}:***@{host}{slash}{path}")
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
    fn rate_limits_parse_and_apply_in_order() {
        let cli = parse(&[
            "--send-rate",
            "0",
            "--rate-limit",
            "create=2/min:5,typing=off",
            "--rate-limit",
            "read=3/s",
        ]);
        let rates = cli.server.rates();
        assert_eq!(rates.send, None, "--send-rate 0");
        assert_eq!(rates.create, Some(Rate::per_minute(2, 5)));
        assert_eq!(rates.typing, None);
        assert_eq!(
            rates.read,
            Some(Rate::per_second(3, 3)),
            "the burst defaults to the count"
        );
        assert_eq!(
            rates.membership,
            RateLimits::default().membership,
            "untouched"
        );
        let off = parse(&["--rate-limit", "all=off"]).server.rates();
        assert_eq!(off, RateLimits::none());
        for bad in [
            "create",
            "create=fast",
            "create=1/h",
            "dance=1/s",
            "read=0/s",
            "read=1/s:x",
        ] {
            let parsed = Cli::try_parse_from(["standalone", "--rate-limit", bad]);
            assert!(parsed.is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords_never_reach_the_log_line() {
        assert_eq!(
            redact_password("mysql://chat:s3cr%40t@db.example:3306/chat"),
            "mysql://chat:***@db.example:3306/chat"
        );
        assert_eq!(
            redact_password("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(redact_password("sqlite://chat.db"), "sqlite://chat.db");
        assert_eq!(redact_password("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn the_secret_comes_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, format!("{}\n", "k".repeat(32))).unwrap();
        let cli = parse(&[
            "--bind",
            "0.0.0.0:8080",
            "--secret-file",
            path.to_str().unwrap(),
        ]);
        assert!(
            cli.server.check().is_ok(),
            "a secret file counts as a secret"
        );
        assert_eq!(cli.server.secret().unwrap(), Some("k".repeat(32)));
        let missing = parse(&["--secret-file", "/nonexistent/secret"]);
        assert!(matches!(
            missing.server.secret(),
            Err(ConfigError::SecretFile { .. })
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
