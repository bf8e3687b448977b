//! The standalone server as a whole: its page, health, both auth modes,
//! graceful shutdown, and the binary's refusal to run unsafely.

mod common;

use std::process::Command;
use std::time::{Duration, SystemTime};

use chat_axum::JwtMinter;
use clap::Parser;
use common::call;
use futures::StreamExt;
use standalone::app;
use standalone::config::Cli;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "test-secret-test-secret-test-secret";

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(extra: &[&str]) -> Running {
    let mut args = vec!["standalone", "--database-url", "sqlite::memory:"];
    args.extend_from_slice(extra);
    let cli = Cli::try_parse_from(args).unwrap();
    let server = app::build(&cli.server).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(app::serve(listener, server, async move {
        let _ = stopped.await;
    }));
    Running {
        base,
        stop: Some(stop),
        done,
    }
}

async fn get(url: String, token: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn serves_the_page_its_assets_and_health() {
    let server = start(&[]).await;
    let (status, page) = get(format!("http://{}/", server.base), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        page,
        include_str!("../static/index.html"),
        "the page, as built in"
    );
    for (path, file) in [
        ("app.js", include_str!("../static/app.js")),
        ("main.js", include_str!("../static/main.js")),
        ("messages.js", include_str!("../static/messages.js")),
        ("timeline.js", include_str!("../static/timeline.js")),
        ("moderation.js", include_str!("../static/moderation.js")),
        ("client/index.js", include_str!("../static/client/index.js")),
        (
            "client/client.js",
            include_str!("../static/client/client.js"),
        ),
        ("style.css", include_str!("../static/style.css")),
    ] {
        let (status, served) = get(format!("http://{}/{path}", server.base), None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(served, file, "{path}, as built in");
    }
    let (status, health) = get(format!("http://{}/health", server.base), None).await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "store": "ok", "bus": "ok"})
    );
    let (_, mode) = get(format!("http://{}/auth-mode", server.base), None).await;
    assert_eq!(mode, r#"{"bot":null,"mode":"demo"}"#);
    let (status, _) = get(
        format!("http://{}/conversations", server.base),
        Some("alice"),
    )
    .await;
    assert_eq!(status, 200, "demo mode: the token is the user id");
}

#[tokio::test]
async fn with_a_secret_only_signed_unexpired_tokens_pass() {
    let server = start(&["--secret", SECRET]).await;
    let url = format!("http://{}/conversations", server.base);
    let signer = JwtMinter::hs256(SECRET.as_bytes()).unwrap();
    let alice = chat_engine::UserId::new("alice").unwrap();
    let token = signer.mint(&alice, Duration::from_secs(60), SystemTime::now());
    assert_eq!(get(url.clone(), Some(&token)).await.0, 200);
    let (status, body) = get(url.clone(), Some("alice")).await;
    assert_eq!(status, 401, "a bare user id is refused: {body}");
    let expired = signer.mint(
        &alice,
        Duration::ZERO,
        SystemTime::now() - Duration::from_secs(10),
    );
    let (status, body) = get(url.clone(), Some(&expired)).await;
    assert_eq!(status, 401);
    assert!(body.contains("token expired"), "{body}");
    let ws = tokio_tungstenite::connect_async(format!("ws://{}/ws?token=alice", server.base)).await;
    assert!(ws.is_err(), "the socket refuses unsigned tokens too");
    let ws =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={token}", server.base)).await;
    assert!(ws.is_ok(), "and accepts a signed one");
}

#[tokio::test]
async fn with_a_public_key_only_its_tokens_for_the_audience_pass() {
    let key_file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../chat-axum/src/jwt/keys/rsa-public.pem"
    );
    let server = start(&["--jwt-public-key-file", key_file, "--jwt-audience", "chat"]).await;
    let url = format!("http://{}/conversations", server.base);
    let private = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
        "../../../chat-axum/src/jwt/keys/rsa-private.pem"
    ))
    .unwrap();
    let exp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let token = |audience: &str| {
        let claims = serde_json::json!({"sub": "alice", "exp": exp, "aud": audience});
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jsonwebtoken::encode(&header, &claims, &private).unwrap()
    };
    assert_eq!(get(url.clone(), Some(&token("chat"))).await.0, 200);
    let (status, body) = get(url.clone(), Some(&token("billing"))).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("another audience"), "{body}");
    let shared = JwtMinter::hs256(SECRET.as_bytes())
        .unwrap()
        .with_audience("chat");
    let alice = chat_engine::UserId::new("alice").unwrap();
    let hs256 = shared.mint(&alice, Duration::from_secs(60), SystemTime::now());
    let (status, body) = get(url, Some(&hs256)).await;
    assert_eq!(status, 401, "an HS256 token is refused: {body}");
}

#[tokio::test]
async fn graceful_shutdown_closes_sockets_with_going_away() {
    let mut server = start(&[]).await;
    // Registered (`ready`) before the stop: a live socket, not a late upgrade.
    let mut socket = common::Client::connect(&server.base, "bob").await.socket;
    server.stop.take().unwrap().send(()).unwrap();
    let close = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("close frame in time");
    assert_eq!(u16::from(close.unwrap().code), chat_axum::CLOSE_GOING_AWAY);
    drop(socket);
    let finished = tokio::time::timeout(Duration::from_secs(10), &mut server.done).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "serve returned cleanly: {finished:?}"
    );
}

#[test]
fn the_binary_refuses_demo_auth_off_loopback() {
    let output = Command::new(env!("CARGO_BIN_EXE_standalone"))
        .args(["--bind", "0.0.0.0:0", "--database-url", "sqlite::memory:"])
        .env_remove("CHAT_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without a secret"),
        "{stderr}"
    );
}

#[test]
fn the_binary_mints_tokens_the_server_accepts() {
    let output = Command::new(env!("CARGO_BIN_EXE_standalone"))
        .args(["token", "--user", "alice", "--ttl-secs", "60"])
        .env("CHAT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    let verifier = chat_axum::JwtAuth::hs256(SECRET.as_bytes()).unwrap();
    assert_eq!(
        verifier.verify(token.trim()).unwrap().user.as_str(),
        "alice"
    );
}

#[test]
fn help_lists_every_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_standalone"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    // The README's settings table and --help name the same flags.
    let readme = include_str!("../../../README.md");
    let documented: Vec<&str> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| `--")?.split('`').next())
        .collect();
    let offered: Vec<&str> = help
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("--"))
        .map(|flag| flag.split(['=', ' ', ',']).next().unwrap_or(flag))
        // Prose may name a flag before punctuation: "(… or --secret)."
        .map(|flag| flag.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|flag| !flag.is_empty() && !["help", "version"].contains(flag))
        .collect();
    assert!(
        documented.len() >= 10,
        "the README's settings table: {documented:?}"
    );
    for flag in &offered {
        assert!(
            documented.contains(flag),
            "--{flag} is missing from the README's table"
        );
    }
    for flag in &documented {
        assert!(
            offered.contains(flag),
            "the README documents --{flag}, which --help lacks:\n{help}"
        );
    }
}

#[tokio::test]
async fn metrics_count_connections_and_deliveries_and_time_sends_in_prometheus_text() {
    let server = start(&[]).await;
    let url = format!("http://{}/metrics", server.base);
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let before = response.text().await.unwrap();
    assert!(
        before.contains("# TYPE chat_connections gauge\nchat_connections 0\n"),
        "{before}"
    );
    assert!(
        before.contains("chat_events_dropped_total{reason=\"message_queue_full\"} 0"),
        "{before}"
    );
    assert!(before.contains("chat_publish_failures_total 0"), "{before}");
    assert!(
        !before.contains("chat_redis_"),
        "no Redis counters without Redis: {before}"
    );

    let mut bob = common::Client::connect(&server.base, "bob").await;
    let http = reqwest::Client::new();
    let direct: serde_json::Value = http
        .put(format!("http://{}/direct/bob", server.base))
        .bearer_auth("alice")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = http
        .post(format!(
            "http://{}/conversations/{}/messages",
            server.base,
            direct["id"].as_str().unwrap()
        ))
        .bearer_auth("alice")
        .json(&serde_json::json!({"body": "counted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    // Bob's socket has the message once it arrives: wait for that event.
    assert_eq!(bob.next_message().await["body"], "counted");
    let after = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(after.contains("chat_connections 1\n"), "{after}");
    let delivered: u64 = after
        .lines()
        .find_map(|line| line.strip_prefix("chat_events_delivered_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(delivered >= 1, "{after}");
    // The steps of the send, timed: real histograms, with the send counted once.
    for histogram in [
        "chat_send_seconds",
        "chat_commit_seconds",
        "chat_commit_batch_size",
        "chat_fanout_seconds",
    ] {
        assert!(
            after.contains(&format!("# TYPE {histogram} histogram\n")),
            "{histogram}: {after}"
        );
        let count: u64 = after
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{histogram}_count ")))
            .unwrap_or_else(|| panic!("{histogram}_count missing: {after}"))
            .parse()
            .unwrap();
        assert!(count >= 1, "{histogram}: {after}");
    }
    assert!(after.contains("chat_send_seconds_count 1\n"), "{after}");
}

#[tokio::test]
async fn the_example_bot_answers_in_a_direct_conversation() {
    let server = start(&["--bot", "echo-bot"]).await;
    let (_, mode) = get(format!("http://{}/auth-mode", server.base), None).await;
    assert_eq!(
        mode, r#"{"bot":"echo-bot","mode":"demo"}"#,
        "the page offers the bot"
    );
    let cid = common::open_direct(&server.base, "alice", "echo-bot").await;
    let mut alice = common::Client::connect(&server.base, "alice").await;
    let path = format!("/conversations/{cid}/messages");
    let body = serde_json::json!({"body": "/count three little words"});
    let (status, _) = call(
        reqwest::Method::POST,
        &server.base,
        "alice",
        &path,
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    let reply = loop {
        let message = alice.next_message().await;
        if message["sender"] == "echo-bot" {
            break message["body"].clone();
        }
    };
    assert_eq!(reply, "18 characters, 3 words");
}

#[tokio::test]
async fn refusals_by_a_rate_limit_are_counted_in_metrics_by_kind() {
    let server = start(&["--send-rate", "1", "--send-burst", "1"]).await;
    common::sign_in(&server.base, &["bob"]).await;
    let (status, direct) = call(
        reqwest::Method::PUT,
        &server.base,
        "alice",
        "/direct/bob",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let path = format!("/conversations/{}/messages", direct["id"].as_str().unwrap());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let body = Some(serde_json::json!({"body": "hi"}));
        let (status, _) = call(reqwest::Method::POST, &server.base, "alice", &path, body).await;
        statuses.push(status);
    }
    assert_eq!(statuses, [201, 429, 429]);
    let text = reqwest::get(format!("http://{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("chat_rate_limited_total{action=\"send\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("chat_rate_limited_total{action=\"create\"} 0\n"),
        "{text}"
    );
}
