//! The echo bot as its own process, over the network: it connects to a
//! chat server as its user and answers in direct conversations.
//!
//! ```sh
//! echo-bot --url http://127.0.0.1:8080 --user echo-bot --token "$BOT_TOKEN"
//! ```
//! Without `--token` the token is the user id (the standalone server's demo
//! mode).

use chat_client::{Client, ClientConfig, StaticToken};
use chat_engine::UserId;
use clap::Parser;

/// Answers direct messages on a chat server, as its own process.
#[derive(Debug, Parser)]
#[command(name = "echo-bot", version, about)]
struct Args {
    /// The chat server's base URL.
    #[arg(long, env = "CHAT_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The bot's user id.
    #[arg(long, env = "CHAT_BOT_USER", default_value = "echo-bot")]
    user: String,
    /// The bot's token (default: the user id, for demo mode).
    #[arg(long, env = "CHAT_BOT_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), chat_engine::ChatError> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let args = Args::parse();
    let bot = UserId::new(args.user.clone())?;
    let token = args.token.unwrap_or(args.user);
    let client = Client::start(ClientConfig::new(args.url), StaticToken(token));
    tracing::info!(bot = %bot, "echo bot running");
    echo_bot::answer_over(client, bot).await;
    Ok(())
}
