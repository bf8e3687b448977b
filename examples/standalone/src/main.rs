//! Entry point: parse settings, then mint a token or serve until SIGINT/SIGTERM.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use standalone::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Token { user, ttl_secs }) = cli.command {
        return mint(&cli.server, &user, ttl_secs);
    }
    let args = cli.server;
    // Logs go to stderr; stdout carries only the "listening on" line.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
    let mode = if args.is_demo() {
        "demo tokens (token = user id)"
    } else {
        "JWT"
    };
    let database = args.database_url_redacted();
    tracing::info!(%database, auth = mode, "listening on http://{address}");
    // Also on stdout, whatever the log level: with `--bind 127.0.0.1:0` this
    // is how a script or test learns the port the server picked.
    println!("listening on http://{address}");
    match standalone::app::serve(listener, server, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn mint(args: &standalone::config::ServerArgs, user: &str, ttl_secs: u64) -> ExitCode {
    let signer = match standalone::auth::minter(args) {
        Ok(signer) => signer,
        Err(error) => return fail(&error),
    };
    match chat_engine::UserId::new(user) {
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
