//! `loadgen idle`: what an idle WebSocket connection costs the server.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::args::IdleArgs;
use crate::client::Tally;
use crate::connect::connect_all;
use crate::process;
use crate::report::memory_line;
use crate::run::RunError;

/// Opens the connections, waits, reads the server's RSS, closes them.
pub(crate) async fn idle(args: IdleArgs) -> Result<(), RunError> {
    let urls = args.common.loopback_urls()?;
    let Some(pid) = args.common.pid else {
        return Err(RunError::Shape(
            "idle needs --pid: the server's RSS is what it measures".to_owned(),
        ));
    };
    let prefix = args.common.prefix();
    let users: Vec<String> = (0..args.connections)
        .map(|i| format!("{prefix}-{i}"))
        .collect();
    let tally = Tally::new();
    let (stop, stopped) = watch::channel(false);
    let before = process::usage(pid).ok_or_else(|| RunError::Shape(format!("no process {pid}")))?;
    let clients = tokio::time::timeout(
        args.common.deadline(),
        connect_all(&urls, &users, args.in_flight, &Arc::clone(&tally), &stopped),
    )
    .await
    .map_err(|_| RunError::TimedOut)??;
    tokio::time::sleep(Duration::from_secs(args.settle_seconds)).await;
    let after = process::usage(pid).ok_or_else(|| RunError::Shape(format!("no process {pid}")))?;
    println!("{} idle connections", clients.len());
    println!("{}", memory_line(before, after, clients.len()));
    let _ = stop.send(true);
    for client in clients {
        client.finish().await;
    }
    Ok(())
}
