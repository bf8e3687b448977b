//! Size and time limits agree with the body limit: a body within it is
//! accepted over REST and over the socket however JSON escapes it, a frame
//! past the socket's limit gets close 1009 with the limit in its reason,
//! and a request trickled in slower than the request timeout gets 408.

mod common;

use std::time::Duration;

use chat_engine::ChatConfig;
use common::{TestServer, WAIT, memory_chat};
use futures::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Bodies of exactly the default limit (16 KiB) in their costliest escapes,
/// as raw JSON string literals.
fn escaped_bodies() -> Vec<(&'static str, String, String)> {
    let limit = ChatConfig::default().max_body_bytes;
    vec![
        (
            "é as \\u00e9",
            "\\u00e9".repeat(limit / 2),
            "\u{e9}".repeat(limit / 2),
        ),
        ("newlines", format!("x{}", "\\n".repeat(limit - 1)), {
            format!("x{}", "\n".repeat(limit - 1))
        }),
        (
            "control characters as \\u0001",
            "\\u0001".repeat(limit),
            "\u{1}".repeat(limit),
        ),
    ]
}

#[tokio::test]
async fn a_body_at_the_limit_is_accepted_over_rest_however_it_is_escaped() {
    let server = TestServer::start().await;
    let direct = server.direct("alice", "bob").await;
    for (name, literal, body) in escaped_bodies() {
        let request = format!(r#"{{"body":"{literal}"}}"#);
        let (status, message) = server
            .request(
                reqwest::Method::POST,
                Some("alice"),
                &format!("/conversations/{direct}/messages"),
                Some(request.into()),
            )
            .await;
        assert_eq!(status, 201, "{name}: {message}");
        assert_eq!(message["body"].as_str().unwrap(), body, "{name}");
    }
    let (status, refused) = server
        .post(
            "alice",
            &format!("/conversations/{direct}/messages"),
            json!({ "body": "x".repeat(ChatConfig::default().max_body_bytes + 1) }),
        )
        .await;
    assert_eq!(status, 413, "one byte over is still too large: {refused}");
}

#[tokio::test]
async fn a_body_at_the_limit_is_accepted_over_the_socket_however_it_is_escaped() {
    let server = TestServer::start().await;
    let direct = server.direct("alice", "bob").await;
    let mut alice = server.ws("alice").await;
    for (index, (name, literal, body)) in escaped_bodies().into_iter().enumerate() {
        let frame = format!(
            r#"{{"type":"send","conversation_id":"{direct}","client_id":"c{index}","body":"{literal}"}}"#
        );
        alice.send_raw(Message::text(frame)).await;
        let ack = alice.next_of("ack").await;
        assert_eq!(ack["message"]["body"].as_str().unwrap(), body, "{name}");
    }
}

#[tokio::test]
async fn a_frame_past_the_limit_is_closed_with_1009_and_the_limit() {
    let chat = memory_chat(ChatConfig::default()).await;
    let limit = chat_axum::max_request_bytes(chat.config());
    let server = TestServer::serve(chat, chat_axum::WsConfig::default()).await;
    let mut alice = server.ws("alice").await;
    alice.send_raw(Message::text("x".repeat(limit + 1))).await;
    let close = tokio::time::timeout(WAIT, async {
        loop {
            match alice.stream.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("no close frame")
    .expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::Size);
    assert!(
        close.reason.contains(&limit.to_string()),
        "the reason names the limit: {}",
        close.reason
    );
}

#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_408() {
    let chat = memory_chat(ChatConfig::default()).await;
    let router = TestServer::router(&chat).with_request_timeout(Duration::from_millis(300));
    let server = TestServer::serve_router(chat, router).await;
    let direct = server.direct("alice", "bob").await;
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /chat/conversations/{direct}/messages HTTP/1.1\r\nhost: {}\r\n\
         authorization: Bearer alice\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"body\":",
        server.addr
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body never comes: the answer must.
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, async {
        let mut buffer = [0; 1024];
        while !String::from_utf8_lossy(&answer).contains("\r\n\r\n{") {
            let read = socket.read(&mut buffer).await.unwrap();
            assert!(read > 0, "closed without an answer");
            answer.extend_from_slice(&buffer[..read]);
        }
    })
    .await
    .expect("no answer to a trickled request");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"timeout""#), "{answer}");
}
