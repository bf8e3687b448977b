//! `loadgen`: drives a running chat server over real WebSockets and reports
//! throughput, loss, latency and the server's memory and CPU. See
//! BENCHMARKS.md for the commands behind the published numbers.

mod args;
mod client;
mod connect;
mod failover;
mod idle;
mod latency;
mod process;
mod report;
mod rest;
mod run;

use clap::Parser;

use crate::args::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let outcome = match Cli::parse().command {
        Command::Run(args) => run::run(args).await,
        Command::Idle(args) => idle::idle(args).await,
        Command::Failover(args) => failover::failover(args).await,
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadgen: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
