//! `chat_engine::Session` is the protocol without a transport: a bot or a test
//! in the same process drives it directly, frames in and events out, with
//! the same order, resume and answers a WebSocket client gets.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_engine::protocol::ClientFrame;
use chat_engine::{
    ChatConfig, ChatService, NewMessage, Output, RateLimits, Session, SessionConfig, UserId,
};
use chat_store_sqlite::SqliteStore;
use serde_json::Value;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

async fn next_event(session: &mut Session) -> Value {
    match tokio::time::timeout(Duration::from_secs(10), session.next()).await {
        Ok(Output::Event(bytes)) => serde_json::from_slice(&bytes).unwrap(),
        Ok(Output::Close(reason)) => panic!("closed: {reason:?}"),
        Err(_) => panic!("no event"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_pages_through_history_and_meets_live_events_without_a_seam() {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let config = ChatConfig::default()
        .with_rates(RateLimits::none())
        .with_page_sizes(15, 50);
    let chat = ChatService::new(store, Arc::new(MemoryBus::new()), config)
        .await
        .unwrap();
    let (alice, bob) = (user("alice"), user("bob"));
    let direct = chat.open_direct(&alice, &bob).await.unwrap();
    for i in 1..=120 {
        let text = format!("before {i}");
        chat.send(&alice, &direct.id, NewMessage::text(text))
            .await
            .unwrap();
    }

    let mut session = Session::open(chat.clone(), bob.clone(), SessionConfig::default())
        .await
        .unwrap();
    assert_eq!(next_event(&mut session).await["type"], "ready");
    // Live messages keep coming while the replay pages (50 at a time).
    let sender = {
        let (chat, alice, id) = (chat.clone(), alice.clone(), direct.id.clone());
        tokio::spawn(async move {
            for i in 1..=80 {
                let text = format!("during {i}");
                chat.send(&alice, &id, NewMessage::text(text))
                    .await
                    .unwrap();
            }
        })
    };
    session
        .handle(ClientFrame::Resume {
            positions: BTreeMap::from([(direct.id.clone(), 0)]),
        })
        .await;
    let mut seqs = Vec::new();
    while seqs.len() < 200 {
        let event = next_event(&mut session).await;
        assert_eq!(event["type"], "message", "{event}");
        seqs.push(event["message"]["seq"].as_u64().unwrap());
    }
    sender.await.unwrap();
    assert_eq!(
        seqs,
        (1..=200).collect::<Vec<_>>(),
        "every seq once, in order"
    );

    // A send through the session is answered with its ack.
    session
        .receive(
            r#"{"type":"send","conversation_id":"DIRECT","body":"hi","client_id":"c1"}"#
                .replace("DIRECT", direct.id.as_str())
                .as_str(),
        )
        .await;
    // The answer is owed before anything live: the ack, then bob's own
    // message as every member gets it.
    let answer = next_event(&mut session).await;
    assert_eq!(answer["type"], "ack", "{answer}");
    assert_eq!(answer["client_id"], "c1");
    assert_eq!(answer["message"]["seq"], 201);
    let echo = next_event(&mut session).await;
    assert_eq!(echo["message"]["seq"], 201, "{echo}");
    session.receive("not json").await;
    let error = next_event(&mut session).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["code"], "invalid");
}

/// A chat on SQLite and the in-process bus with alice and bob's direct
/// conversation holding `messages` messages.
async fn chat_with_history(messages: u64) -> (ChatService, chat_engine::ConversationId) {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let config = ChatConfig::default().with_rates(RateLimits::none());
    let chat = ChatService::new(store, Arc::new(MemoryBus::new()), config)
        .await
        .unwrap();
    let direct = chat
        .open_direct(&user("alice"), &user("bob"))
        .await
        .unwrap();
    for i in 1..=messages {
        chat.send(
            &user("alice"),
            &direct.id,
            NewMessage::text(format!("m{i}")),
        )
        .await
        .unwrap();
    }
    (chat, direct.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_resume_first_no_live_event_comes_before_the_first_frame() {
    let (chat, direct) = chat_with_history(3).await;
    let settings = SessionConfig::default().with_resume_first(Duration::from_secs(30));
    let mut session = Session::open(chat.clone(), user("bob"), settings)
        .await
        .unwrap();
    assert_eq!(next_event(&mut session).await["type"], "ready");
    // A message arrives before bob's resume: his other device has it, so
    // the hub has queued it to the session's connection too.
    let mut other_device = chat.hub().connect(user("bob")).await.unwrap();
    chat.send(&user("alice"), &direct, NewMessage::text("live"))
        .await
        .unwrap();
    assert!(matches!(
        other_device.next().await,
        chat_engine::Outbound::Event(_)
    ));
    assert!(
        session.try_next().is_none(),
        "a live event before the first frame"
    );

    session
        .handle(ClientFrame::Resume {
            positions: BTreeMap::from([(direct.clone(), 1)]),
        })
        .await;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        seqs.push(
            next_event(&mut session).await["message"]["seq"]
                .as_u64()
                .unwrap(),
        );
    }
    assert_eq!(seqs, [2, 3, 4], "the replay, then the held live event once");
    assert!(session.try_next().is_none(), "nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_without_a_first_frame_ends_at_its_bound() {
    let (chat, direct) = chat_with_history(0).await;
    let settings = SessionConfig::default().with_resume_first(Duration::from_millis(200));
    let mut session = Session::open(chat.clone(), user("bob"), settings)
        .await
        .unwrap();
    assert_eq!(next_event(&mut session).await["type"], "ready");
    chat.send(&user("alice"), &direct, NewMessage::text("live"))
        .await
        .unwrap();
    // No frame comes: the live event is written once the bound passes.
    let event = next_event(&mut session).await;
    assert_eq!(event["message"]["seq"], 1, "{event}");
}
