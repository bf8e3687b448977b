//! Entry point: parse settings, then mint a token or serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use standalone::auth::TokenSigner;
use standalone::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Token { user, ttl_secs }) = cli.command {
        return mint(cli.server.secret.as_deref(), &user, ttl_secs);
    }
    let args = cli.server;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_new(&args.log_filter).unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let server = match standalone::app::build(&args).await {
        Ok(server) => server,
        Err(error) => return fail(&error),
    };
    let listener = match tokio::net::TcpListener::bind(args.bind).await {
        Ok(listener) => listener,
        Err(error) => return fail(&error),
    };
    let address = listener
        .local_addr()
        .map_or_else(|_| args.bind.to_string(), |a| a.to_string());
    let mode = if args.secret.is_some() {
        "signed tokens"
    } else {
        "demo tokens (token = user id)"
    };
    tracing::info!(database = %args.database_url, auth = mode, "listening on http://{address}");
    match standalone::app::serve(listener, server, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn mint(secret: Option<&str>, user: &str, ttl_secs: u64) -> ExitCode {
    let Some(secret) = secret else {
        eprintln!("error: minting needs the secret: --secret or CHAT_SECRET");
        return ExitCode::FAILURE;
    };
    let signer = match TokenSigner::new(secret) {
        Ok(signer) => signer,
        Err(error) => return fail(&error),
    };
    match chat_core::UserId::new(user) {
        Ok(user) => {
            println!(
                "{}",
                signer.mint(&user, Duration::from_secs(ttl_secs), SystemTime::now())
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error),
    }
}

/// Prints the error and its causes.
fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
