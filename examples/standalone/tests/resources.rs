//! Resources of the server process under hostile clients: a client that
//! stops reading holds bounded memory and is dropped while the others carry
//! on; thousands of connect/disconnect cycles leave connections, hub entries,
//! bus subscriptions, tasks and memory back at their baseline.

mod common;

use std::time::Duration;

use common::{Client, ServerProcess, call};
use futures::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

/// Sends `count` messages of `size` bytes from alice, 8 at a time over REST.
async fn flood(base: &str, cid: &str, count: usize, size: usize) {
    let body = "x".repeat(size);
    futures::stream::iter(0..count)
        .map(|_| {
            let body = body.clone();
            async move {
                let path = format!("/conversations/{cid}/messages");
                let (status, answer) = call(
                    reqwest::Method::POST,
                    base,
                    "alice",
                    &path,
                    Some(json!({ "body": body })),
                )
                .await;
                assert_eq!(status, 201, "{answer}");
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// Waits (polling `/metrics`) until `name` equals `value`.
async fn metric_reaches(server: &ServerProcess, name: &str, value: u64) {
    metric_until(server, name, value, |now| now == value).await;
}

/// Waits (polling `/metrics`) until `name` is `value` or less.
async fn metric_at_most(server: &ServerProcess, name: &str, value: u64) {
    metric_until(server, name, value, |now| now <= value).await;
}

async fn metric_until(server: &ServerProcess, name: &str, value: u64, done: impl Fn(u64) -> bool) {
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        let now = server.metric(name).await;
        if done(now) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed at {now}, expected {value}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const MESSAGE_BYTES: usize = 16 * 1024;
const QUEUE: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_reader_holds_bounded_memory_and_is_dropped_while_others_carry_on() {
    let directory = tempfile::tempdir().unwrap();
    let queue = QUEUE.to_string();
    let server = ServerProcess::start(
        &directory.path().join("chat.db"),
        &["--send-rate", "0", "--connection-queue", &queue],
    )
    .await;
    common::sign_in(&server.base, &["bob", "erin"]).await;
    let (status, group) = call(
        reqwest::Method::POST,
        &server.base,
        "alice",
        "/conversations",
        Some(json!({"title": "stall", "members": ["bob", "erin"]})),
    )
    .await;
    assert_eq!(status, 201);
    let cid = group["id"].as_str().unwrap().to_owned();
    let mut bob = Client::connect(&server.base, "bob").await;
    // bob reads as clients must: by seq, resuming on a gap (on a loaded
    // 2-core machine his queue of 64 may overflow too; he must still end
    // with everything).
    let reading = {
        let cid = cid.clone();
        tokio::spawn(async move {
            let mut seqs = std::collections::BTreeSet::new();
            while seqs.len() < 3_000 {
                let event = bob.next_event().await;
                match event["type"].as_str() {
                    Some("message") => {
                        seqs.insert(event["message"]["seq"].as_u64().unwrap());
                    }
                    Some("gap") => {
                        let from = (1..)
                            .take_while(|seq| seqs.contains(seq))
                            .last()
                            .unwrap_or(0);
                        bob.send(json!({"type": "resume", "positions": {cid.clone(): from}}))
                            .await;
                    }
                    _ => {}
                }
            }
            seqs
        })
    };

    // Warm-up: pools, buffers and the allocator reach their working size.
    flood(&server.base, &cid, 1_000, MESSAGE_BYTES).await;
    let start = server.rss_anon_kib();
    // A control phase: the same load with every reader keeping up.
    flood(&server.base, &cid, 1_000, MESSAGE_BYTES).await;
    let before = server.rss_anon_kib();

    // erin connects and never reads again.
    let (erin, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws?token=erin", server.base))
        .await
        .unwrap();
    metric_reaches(&server, "chat_connections", 2).await;
    flood(&server.base, &cid, 1_000, MESSAGE_BYTES).await;
    let after = server.rss_anon_kib();
    let owed_kib = 1_000 * MESSAGE_BYTES as u64 / 1024;
    println!(
        "anonymous RSS: {start} KiB, {before} KiB after the control phase, \
         {after} KiB after {owed_kib} KiB owed to the stalled reader"
    );
    // The database's page cache grows by the same amount in both phases;
    // what the stalled reader holds is the difference.
    let signed = |kib: u64| i64::try_from(kib).unwrap();
    let held = (signed(after) - signed(before)) - (signed(before) - signed(start));
    assert!(
        held < signed(owed_kib) / 2,
        "memory held for the stalled reader is bounded by its queue: \
         {held} KiB more than the control phase while it was owed {owed_kib} KiB"
    );

    let seqs = reading.await.unwrap();
    assert_eq!(
        seqs,
        (1..=3_000).collect(),
        "bob got everything while erin stalled"
    );
    // bob has gone (his reader is done). The stalled socket is dropped once
    // a write to it times out, and counted.
    metric_reaches(&server, "chat_connections", 0).await;
    assert_eq!(server.metric("chat_slow_consumer_closes_total").await, 1);
    drop(erin);
}

/// One connect/disconnect cycle: a close handshake, or (when `abrupt`) the
/// TCP connection shut without one.
async fn cycle(base: &str, user: &str, abrupt: bool) {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{base}/ws?token={user}"))
        .await
        .unwrap();
    if abrupt {
        let tcp = match socket.get_mut() {
            tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp,
            _ => unreachable!("loopback is plain TCP"),
        };
        tcp.shutdown().await.unwrap();
    } else {
        socket.close(None).await.unwrap();
        // Wait for the server's close reply: the handshake completes.
        while let Some(Ok(_)) = socket.next().await {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_connect_disconnect_cycles_leave_nothing_behind() {
    const CYCLES: usize = 10_000;
    let directory = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&directory.path().join("chat.db"), &[]).await;
    let base = server.base.clone();
    let run = |from: usize, to: usize| {
        let base = base.clone();
        futures::stream::iter(from..to)
            .map(move |index| {
                let base = base.clone();
                async move { cycle(&base, &format!("user-{}", index % 500), index % 2 == 1).await }
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>()
    };
    // Warm-up, so that pools and buffers exist before the baseline.
    run(0, 500).await;
    metric_reaches(&server, "chat_connections", 0).await;
    metric_reaches(&server, "chat_bus_watched_users", 0).await;
    let tasks = server.metric("chat_runtime_alive_tasks").await;
    let rss = server.rss_anon_kib();

    run(0, CYCLES).await;

    metric_reaches(&server, "chat_connections", 0).await;
    metric_reaches(&server, "chat_connected_users", 0).await;
    metric_reaches(&server, "chat_bus_watched_users", 0).await;
    metric_at_most(&server, "chat_runtime_alive_tasks", tasks).await;
    let after = server.rss_anon_kib();
    println!("anonymous RSS {rss} KiB at baseline, {after} KiB after {CYCLES} cycles");
    assert!(
        after < rss + 4 * 1024,
        "memory returns to baseline (within 4 MiB): {rss} KiB -> {after} KiB"
    );
}
