//! The host's send hooks through the real transports: `before_send` refuses
//! (422 `rejected`, socket `error` frame) or rewrites before anything is
//! stored; `after_send` sees each stored message once, retries included.

mod common;

use std::sync::{Arc, Mutex};

use chat_bus_memory::MemoryBus;
use chat_core::{ChatConfig, ChatService, ConversationId, Message, NewMessage, SendHooks, UserId};
use chat_store_sqlite::SqliteStore;
use common::TestServer;
use serde_json::json;
use tokio::sync::mpsc;

#[derive(Debug)]
struct Moderation {
    stored: mpsc::UnboundedSender<(Message, Vec<UserId>)>,
    seen_by_before: Mutex<u32>,
}

#[async_trait::async_trait]
impl SendHooks for Moderation {
    async fn before_send(
        &self,
        _sender: &UserId,
        _conversation: &ConversationId,
        mut message: NewMessage,
    ) -> Result<NewMessage, String> {
        *self.seen_by_before.lock().unwrap() += 1;
        if message.body.contains("buy now") {
            return Err("looks like spam".to_owned());
        }
        if message.body == "erase me" {
            message.body = "   ".to_owned(); // a rewrite must still be valid
        }
        message.body = message.body.replace("darn", "d**n");
        Ok(message)
    }

    async fn after_send(&self, message: Message, members: Vec<UserId>) {
        let _ = self.stored.send((message, members));
    }
}

#[tokio::test]
async fn hooks_refuse_rewrite_and_observe_sends() {
    let (stored, mut observed) = mpsc::unbounded_channel();
    let hooks = Arc::new(Moderation {
        stored,
        seen_by_before: Mutex::new(0),
    });
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let chat = ChatService::new_with_hooks(
        store,
        Arc::new(MemoryBus::new()),
        ChatConfig::default(),
        hooks.clone(),
    )
    .await
    .unwrap();
    let server = TestServer::serve(chat, chat_axum::WsConfig::default()).await;
    let cid = server.direct("alice", "bob").await;
    let path = format!("/conversations/{cid}/messages");

    let (status, body) = server
        .post("alice", &path, json!({"body": "buy now!!!"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "rejected");
    assert_eq!(
        body["error"]["message"],
        "message rejected: looks like spam"
    );
    let (status, body) = server
        .post("alice", &path, json!({"body": "erase me"}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("invalid")),
        "a rewrite is validated"
    );

    let mut alice = server.ws("alice").await;
    alice
        .send(
            json!({"type": "send", "conversation_id": cid, "body": "buy now", "client_id": "s-1"}),
        )
        .await;
    let refused = alice.next_of("error").await;
    assert_eq!(
        (
            refused["client_id"].as_str(),
            refused["error"]["code"].as_str()
        ),
        (Some("s-1"), Some("rejected"))
    );

    let (status, sent) = server
        .post(
            "alice",
            &path,
            json!({"body": "darn it", "client_id": "c-1"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(sent["body"], "d**n it", "stored as rewritten");
    assert_eq!(sent["seq"], 1, "nothing refused was stored");
    let (message, members) = observed.recv().await.unwrap();
    assert_eq!(message.body, "d**n it");
    assert_eq!(members.len(), 2);

    // A retry of the same client_id is not a new message: after_send stays quiet.
    let (status, _) = server
        .post(
            "alice",
            &path,
            json!({"body": "darn it", "client_id": "c-1"}),
        )
        .await;
    assert_eq!(status, 200);
    server.send("bob", &cid, "next").await;
    let (message, _) = observed.recv().await.unwrap();
    assert_eq!(message.body, "next", "the retry was not reported");
    assert_eq!(*hooks.seen_by_before.lock().unwrap(), 6);
}
