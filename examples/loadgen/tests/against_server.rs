//! The load tool against a real standalone server (in this process, on an
//! ephemeral loopback port): every expected delivery is counted, on both
//! send paths, and the tool refuses non-loopback targets.

use std::process::{Command, Output};

use clap::Parser;
use standalone::app;
use standalone::config::Cli;
use tokio::sync::oneshot;

struct Server {
    base: String,
    chat: chat_engine::ChatService,
    _stop: oneshot::Sender<()>,
}

async fn start() -> Server {
    let cli = Cli::try_parse_from(["standalone", "--database-url", "sqlite::memory:"]).unwrap();
    let server = app::build(&cli.server).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (stop, stopped) = oneshot::channel::<()>();
    let chat = server.chat.clone();
    tokio::spawn(app::serve(listener, server, async move {
        let _ = stopped.await;
    }));
    Server {
        base,
        chat,
        _stop: stop,
    }
}

async fn loadgen(args: String) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(args.split_whitespace())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Runs the tool with `args` (split on spaces); fails the test unless it
/// succeeded, and returns its report.
async fn report_of(args: String) -> String {
    let output = loadgen(args).await;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}\n{errors}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_run_counts_every_delivery() {
    let server = start().await;
    let pid = std::process::id();
    let report = report_of(format!(
        "run --url {} --pid {pid} --users 30 --group-size 3 --messages 300 --in-flight 8 --max-seconds 60",
        server.base
    ))
    .await;
    assert!(report.contains("10 conversations of 3"), "{report}");
    assert!(
        report.contains("sent 300 messages by WebSocket send"),
        "{report}"
    );
    assert!(
        report.contains("expected 900, received 900, lost 0"),
        "{report}"
    );
    assert!(
        report.contains("server RSS:") && report.contains("server CPU:"),
        "{report}"
    );
    // The server's own counters agree: 900 message deliveries (and the
    // membership events of the 10 new groups) were queued, none dropped.
    let stats = server.chat.hub().stats();
    assert!(stats.delivered >= 900, "{stats:?}");
    assert_eq!(
        stats.dropped_messages + stats.dropped_ephemeral,
        0,
        "{stats:?}"
    );
    assert_eq!(server.chat.publish_failures(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_run_over_direct_conversations_counts_every_delivery() {
    let server = start().await;
    let report = report_of(format!(
        "run --url {} --users 10 --group-size 2 --messages 100 --in-flight 4 --path post --max-seconds 60",
        server.base
    ))
    .await;
    assert!(report.contains("5 conversations of 2"), "{report}");
    assert!(report.contains("sent 100 messages by POST"), "{report}");
    assert!(
        report.contains("expected 200, received 200, lost 0"),
        "{report}"
    );
    let stats = server.chat.hub().stats();
    assert!(stats.delivered >= 200, "{stats:?}");
    assert_eq!(stats.dropped_messages, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_reports_memory_per_connection() {
    let server = start().await;
    let pid = std::process::id();
    let report = report_of(format!(
        "idle --url {} --pid {pid} --connections 50 --settle-seconds 0",
        server.base
    ))
    .await;
    assert!(report.contains("50 idle connections"), "{report}");
    assert!(report.contains("KiB per connection"), "{report}");
    // The tool closed what it opened: the hub drains to no connection.
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        server.chat.hub().drained(),
    )
    .await
    .expect("every idle connection was closed");
}

#[tokio::test]
async fn other_hosts_are_refused() {
    let output = loadgen("run --url http://192.0.2.1:8080".to_owned()).await;
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("only drives servers on loopback"), "{error}");
}
