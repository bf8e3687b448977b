//! WebSocket over a real socket: live delivery, the `send` fast path,
//! several devices, `resume`, authorization and garbage frames.

mod common;

use std::time::Duration;

use chat_axum::WsConfig;
use common::TestServer;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_ws_send_is_acked_and_delivered_live_to_every_device() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let mut alice = server.ws("alice").await;
    let mut bob_phone = server.ws("bob").await;
    let mut bob_laptop = server.ws("bob").await;
    alice
        .send(
            json!({"type": "send", "conversation_id": cid, "body": "over ws", "client_id": "a-1"}),
        )
        .await;
    let ack = alice.next_of("ack").await;
    assert_eq!(ack["client_id"], "a-1");
    assert_eq!(ack["message"]["seq"], 1);
    for device in [&mut bob_phone, &mut bob_laptop] {
        let event = device.next_of("message").await;
        assert_eq!(event["message"], ack["message"]);
    }
    // The sender's own devices get the message event too (clients dedupe by seq).
    assert_eq!(alice.next_of("message").await["message"]["seq"], 1);
    // A REST send reaches the socket too.
    server.send("bob", &cid, "over rest").await;
    let event = alice.next_of("message").await;
    assert_eq!(event["message"]["body"], "over rest");
    assert_eq!(event["message"]["seq"], 2);
}

#[tokio::test]
async fn resume_replays_exactly_the_missed_messages_then_continues_live() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    for i in 1..=2 {
        server.send("alice", &cid, &format!("seen {i}")).await;
    }
    // bob was offline for 3..=40 (more than one history page).
    for i in 3..=40 {
        server.send("alice", &cid, &format!("missed {i}")).await;
    }
    let mut bob = server.ws("bob").await;
    bob.send(json!({"type": "resume", "positions": {cid.clone(): 2}}))
        .await;
    for expected in 3..=40 {
        let event = bob.next_of("message").await;
        assert_eq!(event["message"]["seq"], expected);
    }
    server.send("alice", &cid, "live").await;
    let live = bob.next_of("message").await;
    assert_eq!(
        live["message"]["seq"], 41,
        "no duplicate, no gap at the seam"
    );
}

#[tokio::test]
async fn non_members_receive_nothing_and_cannot_send() {
    let server = TestServer::start().await;
    let private = server.direct("alice", "bob").await;
    let shared = server.direct("alice", "eve").await;
    let mut eve = server.ws("eve").await;
    server.send("alice", &private, "secret").await;
    eve.send(json!({"type": "typing", "conversation_id": private}))
        .await;
    let refused = eve.next_event().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["error"]["code"], "forbidden");
    eve.send(json!({"type": "send", "conversation_id": private, "body": "let me in", "client_id": "e-1"}))
        .await;
    let refused = eve.next_event().await;
    assert_eq!(
        (refused["type"].as_str(), refused["client_id"].as_str()),
        (Some("error"), Some("e-1"))
    );
    eve.send(json!({"type": "resume", "positions": {private.clone(): 0}}))
        .await;
    assert_eq!(eve.next_event().await["error"]["code"], "forbidden");
    // The next thing eve gets is from her own conversation: the secret never came.
    server.send("alice", &shared, "for eve").await;
    let event = eve.next_event().await;
    assert_eq!(event["message"]["body"], "for eve");
}

#[tokio::test]
async fn garbage_frames_get_error_frames_and_the_socket_lives_on() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let mut alice = server.ws("alice").await;
    let mut bob = server.ws("bob").await;
    alice.send_raw(Message::text("not json")).await;
    assert_eq!(alice.next_event().await["error"]["code"], "invalid");
    alice
        .send_raw(Message::binary(vec![0, 159, 146, 150]))
        .await;
    assert_eq!(alice.next_event().await["error"]["code"], "invalid");
    alice.send(json!({"type": "dance"})).await;
    assert_eq!(alice.next_event().await["error"]["code"], "invalid");
    alice
        .send(json!({"type": "send", "conversation_id": cid}))
        .await;
    assert_eq!(alice.next_event().await["error"]["code"], "invalid");
    alice
        .send(json!({"type": "send", "conversation_id": cid, "body": "x".repeat(17 * 1024), "client_id": "big"}))
        .await;
    let too_large = alice.next_event().await;
    assert_eq!(
        (
            too_large["error"]["code"].as_str(),
            too_large["client_id"].as_str()
        ),
        (Some("too_large"), Some("big"))
    );
    alice
        .send(json!({"type": "send", "conversation_id": cid, "body": "still here"}))
        .await;
    assert_eq!(alice.next_of("ack").await["message"]["seq"], 1);
    assert_eq!(
        bob.next_of("message").await["message"]["body"],
        "still here"
    );
}

#[tokio::test]
async fn an_oversized_frame_closes_only_that_socket() {
    let server = TestServer::start_with(WsConfig::default().with_max_frame_bytes(1024)).await;
    let cid = server.direct("alice", "bob").await;
    let mut alice = server.ws("alice").await;
    let mut bob = server.ws("bob").await;
    alice.send_raw(Message::text("x".repeat(4096))).await;
    let end = tokio::time::timeout(common::WAIT, async {
        loop {
            match alice.stream.next().await {
                None | Some(Err(_) | Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the oversized socket is closed");
    server.send("alice", &cid, "bob is fine").await;
    assert_eq!(
        bob.next_of("message").await["message"]["body"],
        "bob is fine"
    );
}

#[tokio::test]
async fn a_silent_peer_is_dropped_and_unregistered() {
    let keepalive =
        WsConfig::default().with_keepalive(Duration::from_millis(50), Duration::from_millis(150));
    let server = TestServer::start_with(keepalive).await;
    let bob = chat_engine::UserId::new("bob").unwrap();
    let silent = server.ws("bob").await;
    assert!(server.chat.hub().is_connected(&bob));
    // A client that never reads never answers pings: the server must drop it.
    let hub = server.chat.hub();
    let dropped =
        tokio::time::timeout(common::WAIT, hub.until(|hub| !hub.is_connected(&bob))).await;
    assert!(dropped.is_ok(), "the silent peer was dropped");
    drop(silent);
}

/// Sends `count` messages of `size` bytes from alice in-process (no socket).
async fn flood(server: &TestServer, cid: &str, count: u64, size: usize) {
    let alice = chat_engine::UserId::new("alice").unwrap();
    let cid = chat_engine::ConversationId::new(cid).unwrap();
    for i in 1..=count {
        let body = format!("{i:06} {}", "x".repeat(size));
        server
            .chat
            .send(&alice, &cid, chat_engine::NewMessage::text(body))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_slow_reader_gets_a_gap_and_recovers_everything_by_resume() {
    // A tiny hub queue, and more bytes than the loopback socket buffers hold,
    // so the session blocks on the socket and the hub records a gap.
    // The flood is one sender far above a person's send rate.
    let config = chat_engine::ChatConfig::default()
        .with_connection_queue(4)
        .with_rates(chat_engine::RateLimits::none());
    let server = TestServer::start_configured(config, WsConfig::default()).await;
    let cid = server.direct("alice", "bob").await;
    let mut bob = server.ws("bob").await;
    let total = 1_500;
    flood(&server, &cid, total, 15 * 1024).await;
    assert!(
        server.chat.hub().stats().dropped_messages > 0,
        "the flood overflowed bob's queue"
    );

    let mut seen = std::collections::BTreeSet::new();
    let mut gap_from = None;
    while gap_from.is_none() {
        let event = bob.next_event().await;
        match event["type"].as_str() {
            Some("message") => {
                seen.insert(event["message"]["seq"].as_u64().unwrap());
            }
            Some("gap") => gap_from = event["from_seq"].as_u64(),
            other => panic!("unexpected {other:?}"),
        }
    }
    let from = gap_from.unwrap();
    assert_eq!(
        seen.iter().copied().collect::<Vec<_>>(),
        (1..from).collect::<Vec<_>>(),
        "in order up to the gap"
    );
    bob.send(json!({"type": "resume", "positions": {cid.clone(): from - 1}}))
        .await;
    while seen.len() < usize::try_from(total).unwrap() {
        let event = bob.next_of("message").await;
        let seq = event["message"]["seq"].as_u64().unwrap();
        assert!(seen.insert(seq), "seq {seq} delivered twice");
    }
    assert_eq!(
        seen.iter().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_reader_stuck_past_the_timeout_is_closed_and_unregistered() {
    let config = chat_engine::ChatConfig::default()
        .with_connection_queue(4)
        .with_stuck_timeout(Duration::from_millis(100))
        .with_rates(chat_engine::RateLimits::none());
    let ws = WsConfig::default().with_write_timeout(Duration::from_secs(1));
    let server = TestServer::start_configured(config, ws).await;
    let cid = server.direct("alice", "bob").await;
    let bob_id = chat_engine::UserId::new("bob").unwrap();
    let stuck = server.ws("bob").await; // never reads
    flood(&server, &cid, 1_000, 15 * 1024).await;
    assert!(
        server.chat.hub().stats().dropped_messages > 0,
        "the queue filled"
    );
    // The queue has been full since the flood: once the stuck timeout has
    // passed (this wait is the behaviour under test, not a guess at
    // scheduling), the next delivery closes the connection.
    tokio::time::sleep(Duration::from_millis(150)).await;
    flood(&server, &cid, 1, 10).await;
    assert_eq!(
        server.chat.hub().stats().stuck_closed,
        1,
        "the stuck reader was closed"
    );
    // The session drops the socket when its close frame cannot be written in time.
    let hub = server.chat.hub();
    let freed = tokio::time::timeout(
        Duration::from_secs(30),
        hub.until(|hub| !hub.is_connected(&bob_id)),
    )
    .await;
    assert!(freed.is_ok(), "its hub entry was freed");
    drop(stuck);
}

#[tokio::test]
async fn connections_past_the_per_user_limit_are_refused_with_429() {
    let config = chat_engine::ChatConfig::default().with_max_connections_per_user(2);
    let server = TestServer::start_configured(config, WsConfig::default()).await;
    let phone = server.ws("alice").await;
    let _laptop = server.ws("alice").await;
    let url = format!("ws://{}/chat/ws?token=alice", server.addr);
    match tokio_tungstenite::connect_async(url.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            let body: serde_json::Value =
                serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "too_many_connections");
        }
        other => panic!("a third socket must be refused, got {other:?}"),
    }
    let _other_user = server.ws("bob").await; // the limit is per user
    drop(phone);
    let alice = chat_engine::UserId::new("alice").unwrap();
    let hub = server.chat.hub();
    tokio::time::timeout(
        common::WAIT,
        hub.until(|hub| hub.connections_of(&alice) == 1),
    )
    .await
    .expect("the closed socket is unregistered");
    let _again = server.ws("alice").await;
}

#[tokio::test]
async fn an_unknown_resume_mode_is_refused_before_the_upgrade() {
    let server = TestServer::start().await;
    let (status, body) = server.get("alice", "/ws?resume=later").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("resume"), "{body}");
}
