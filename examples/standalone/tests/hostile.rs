//! The server against hostile clients, as a real process on loopback: no
//! token reaches its log, slow and silent connections are closed, shutdown
//! is bounded whatever a client does, connection limits answer and close,
//! demo mode serves loopback host names only, and the page carries its
//! security headers.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use chat_axum::JwtMinter;
use common::{ServerProcess, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const SECRET: &str = "hostile-test-secret-hostile-test-secret";

/// A TCP connection to `base` from the loopback address `from`.
async fn connect_from(from: [u8; 4], base: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    socket.connect(base.parse().unwrap()).await.unwrap()
}

/// Reads until the server closes the connection (or resets it); what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buffer)).await {
            Err(_) => panic!("the server kept the connection open"),
            Ok(Ok(0) | Err(_)) => return String::from_utf8_lossy(&answer).into_owned(),
            Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
        }
    }
}

/// One request on a fresh connection from `from`, closed after the answer.
async fn raw_request(from: [u8; 4], base: &str, head: &str) -> String {
    let mut stream = connect_from(from, base).await;
    stream
        .write_all(format!("{head}connection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    read_to_close(&mut stream).await
}

/// The server's count of open connections, not counting the one asking;
/// `None` when the server was too full to answer.
async fn open_connections(base: &str) -> Option<u64> {
    let answer = raw_request(
        [127, 0, 0, 1],
        base,
        &format!("GET /metrics HTTP/1.1\r\nhost: {base}\r\n"),
    )
    .await;
    if answer.starts_with("HTTP/1.1 503") {
        return None;
    }
    let open = answer
        .lines()
        .find_map(|line| line.strip_prefix("chat_http_connections "))
        .unwrap_or_else(|| panic!("no connection gauge in {answer}"))
        .parse::<u64>()
        .unwrap();
    Some(open - 1)
}

/// Waits until the server counts `expected` open connections (it learns
/// of a client's close when it next reads, so the count trails a little).
async fn until_open(base: &str, expected: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let open = open_connections(base).await;
        if open == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open:?} connections open, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn no_token_reaches_the_log_even_at_debug() {
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("server.log");
    let server = ServerProcess::start_logging(
        &directory.path().join("chat.db"),
        &["--secret", SECRET],
        "debug",
        &log,
    )
    .await;
    let signer = JwtMinter::hs256(SECRET.as_bytes()).unwrap();
    let alice = chat_engine::UserId::new("alice").unwrap();
    let good = signer.mint(&alice, Duration::from_secs(600), SystemTime::now());
    let forged = JwtMinter::hs256(SECRET.repeat(2).as_bytes()).unwrap().mint(
        &alice,
        Duration::from_secs(600),
        SystemTime::now(),
    );

    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={good}", server.base))
            .await
            .unwrap();
    socket.close(None).await.unwrap();
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token={forged}", server.base)).await;
    assert!(refused.is_err(), "a forged token is refused");
    for token in [&good, &forged] {
        let response = reqwest::get(format!(
            "http://{}/conversations?token={token}",
            server.base
        ))
        .await
        .unwrap();
        assert!(response.status().is_success() || response.status() == 401);
    }
    assert!(
        server.terminate().await,
        "the log is complete after a clean exit"
    );

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/ws") && text.contains("/conversations"),
        "the requests were logged (with their paths): {text}"
    );
    for token in [&good, &forged] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !text.contains(token.as_str()) && !text.contains(signature),
            "a token is in the log:\n{text}"
        );
    }
}

#[tokio::test]
async fn slow_and_silent_connections_are_closed_while_the_server_stays_up() {
    let directory = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        &directory.path().join("chat.db"),
        &["--header-read-timeout-secs", "1"],
    )
    .await;
    let base = server.base.clone();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let silent_base = base.clone();
        clients.spawn(async move {
            let mut silent = TcpStream::connect(&silent_base).await.unwrap();
            read_to_close(&mut silent).await;
        });
        let base = base.clone();
        clients.spawn(async move {
            // Slowloris: headers one byte at a time, never finished.
            let mut slow = TcpStream::connect(&base).await.unwrap();
            let head = format!("GET /health HTTP/1.1\r\nhost: {base}\r\nx-padding: ");
            for byte in head.bytes().chain(std::iter::repeat(b'a')) {
                if slow.write_all(&[byte]).await.is_err() {
                    return; // closed by the server
                }
                let mut buffer = [0; 64];
                let probe =
                    tokio::time::timeout(Duration::from_millis(100), slow.read(&mut buffer));
                if let Ok(Ok(0) | Err(_)) = probe.await {
                    return;
                }
            }
        });
    }
    // While they are all open, the server answers others.
    let health = reqwest::get(format!("http://{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(client) = clients.join_next().await {
            client.unwrap();
        }
    })
    .await
    .expect("every slow and silent connection is closed");
    let timeouts = server.metric("chat_http_header_timeouts_total").await;
    assert!(
        timeouts >= 100,
        "each of the 100 was closed by the header timeout ({timeouts})"
    );
}

#[tokio::test]
async fn a_half_sent_request_does_not_hold_up_a_graceful_shutdown() {
    let directory = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        &directory.path().join("chat.db"),
        &[
            "--header-read-timeout-secs",
            "600",
            "--shutdown-timeout-secs",
            "2",
        ],
    )
    .await;
    let mut half_sent = TcpStream::connect(&server.base).await.unwrap();
    half_sent
        .write_all(b"POST /conversations HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-le")
        .await
        .unwrap();
    let (_socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws?token=alice", server.base))
            .await
            .unwrap();
    until_open(&server.base, 2).await;
    server.signal_terminate();
    let status = server
        .exited_within(Duration::from_secs(60))
        .await
        .expect("the server exits although a client never finished its request");
    assert!(status.success(), "{status}");
    assert_eq!(
        read_to_close(&mut half_sent).await,
        "",
        "cut without an answer"
    );
}

#[tokio::test]
async fn connections_over_a_limit_are_answered_and_closed() {
    let directory = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        &directory.path().join("chat.db"),
        &[
            "--max-connections",
            "7",
            "--max-connections-per-peer",
            "3",
            "--header-read-timeout-secs",
            "600",
        ],
    )
    .await;
    let base = server.base.as_str();
    until_open(base, 0).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 2], base).await);
    }
    until_open(base, 3).await;
    let refused = raw_request(
        [127, 0, 0, 2],
        base,
        &format!("GET /health HTTP/1.1\r\nhost: {base}\r\n"),
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.contains("too_many_connections"), "{refused}");

    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 3], base).await);
    }
    until_open(base, 6).await;
    // The seventh place goes to a WebSocket, which holds it while open. The
    // server may not have seen the gauge's own request close yet: until it
    // has, the place is taken and the upgrade is refused with 503.
    let deadline = tokio::time::Instant::now() + WAIT;
    let socket = loop {
        let tcp = connect_from([127, 0, 0, 4], base).await;
        match tokio_tungstenite::client_async(format!("ws://{base}/ws?token=alice"), tcp).await {
            Ok((socket, _)) => break socket,
            Err(tokio_tungstenite::tungstenite::Error::Http(refused))
                if refused.status() == 503 && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("the seventh connection was refused: {error}"),
        }
    };
    let full = raw_request(
        [127, 0, 0, 5],
        base,
        &format!("GET /health HTTP/1.1\r\nhost: {base}\r\n"),
    )
    .await;
    assert!(full.starts_with("HTTP/1.1 503"), "{full}");
    assert!(
        full.to_ascii_lowercase().contains("retry-after: 1"),
        "{full}"
    );

    drop(socket);
    // The socket's place comes free once the server sees it closed.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = raw_request(
            [127, 0, 0, 5],
            base,
            &format!("GET /health HTTP/1.1\r\nhost: {base}\r\n"),
        )
        .await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place never came free"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);
    until_open(base, 0).await;
    assert_eq!(
        server
            .metric("chat_http_connections_refused_total{limit=\"peer\"}")
            .await,
        1
    );
}

#[tokio::test]
async fn demo_mode_serves_loopback_host_names_only() {
    let directory = tempfile::tempdir().unwrap();
    let demo = ServerProcess::start(&directory.path().join("demo.db"), &[]).await;
    let base = demo.base.as_str();
    let request = |host: &str| {
        format!("GET /conversations HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer alice\r\n")
    };
    let rebound = raw_request([127, 0, 0, 1], base, &request("evil.example:8080")).await;
    assert!(rebound.starts_with("HTTP/1.1 421"), "{rebound}");
    assert!(rebound.contains("misdirected"), "{rebound}");
    for host in [base, "localhost", "[::1]:8080"] {
        let answer = raw_request([127, 0, 0, 1], base, &request(host)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }

    let signed =
        ServerProcess::start(&directory.path().join("signed.db"), &["--secret", SECRET]).await;
    let answer = raw_request([127, 0, 0, 1], &signed.base, &request("chat.example")).await;
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "with a secret any host is served (the token decides): {answer}"
    );
}

#[tokio::test]
async fn the_page_carries_its_security_headers() {
    let directory = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&directory.path().join("chat.db"), &[]).await;
    let page = reqwest::get(format!("http://{}/", server.base))
        .await
        .unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}
