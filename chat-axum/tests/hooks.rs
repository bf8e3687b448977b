//! The host's send hooks through the real transports: `before_send` refuses
//! (422 `rejected`, socket `error` frame) or rewrites before anything is
//! stored; `after_send` sees each stored message once, retries included;
//! `reported` gets what users report, with the message as it is.

mod common;

use std::sync::{Arc, Mutex};

use chat_bus_memory::MemoryBus;
use chat_engine::{
    ChatConfig, ChatService, ConversationId, Message, NewMessage, Report, SendHooks, UserId,
};
use chat_store_sqlite::SqliteStore;
use common::TestServer;
use serde_json::json;
use tokio::sync::mpsc;

#[derive(Debug)]
struct Moderation {
    stored: mpsc::UnboundedSender<(Message, Vec<UserId>)>,
    seen_by_before: Mutex<u32>,
    reports: mpsc::UnboundedSender<Report>,
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

    async fn reported(&self, report: Report) {
        let _ = self.reports.send(report);
    }
}

/// A server whose service runs `Moderation`; its observers.
async fn moderated() -> (
    TestServer,
    Arc<Moderation>,
    mpsc::UnboundedReceiver<(Message, Vec<UserId>)>,
    mpsc::UnboundedReceiver<Report>,
) {
    let (stored, observed) = mpsc::unbounded_channel();
    let (reports, reported) = mpsc::unbounded_channel();
    let hooks = Arc::new(Moderation {
        stored,
        seen_by_before: Mutex::new(0),
        reports,
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
    (server, hooks, observed, reported)
}

#[tokio::test]
async fn hooks_refuse_rewrite_and_observe_sends() {
    let (server, hooks, mut observed, _) = moderated().await;
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

#[tokio::test]
async fn reports_reach_the_host_with_the_message() {
    let (server, _, _, mut reported) = moderated().await;
    let cid = server.direct("alice", "bob").await;
    let message = server.send("bob", &cid, "rude words").await;
    let mid = message["id"].as_str().unwrap();
    let body = json!({"message_id": mid, "reason": "rude"});
    assert_eq!(server.post("alice", "/reports", body).await.0, 202);
    let report = reported.recv().await.unwrap();
    assert_eq!(
        (
            report.by.as_str(),
            report.user_id.as_str(),
            report.reason.as_str()
        ),
        ("alice", "bob", "rude")
    );
    assert_eq!(report.conversation_id.unwrap().as_str(), cid);
    assert_eq!(report.message.unwrap().body, "rude words");

    // Nobody reports a message of a conversation they are not in, nor
    // learns that it exists; nor reports themselves, or with no reason.
    let outsider = json!({"message_id": mid, "reason": "nosy"});
    let (status, body) = server.post("eve", "/reports", outsider).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
    for body in [
        json!({"user_id": "alice", "reason": "me"}),
        json!({"user_id": "bob", "reason": "   "}),
        json!({"user_id": "bob", "message_id": mid, "reason": "both"}),
        json!({"reason": "neither"}),
    ] {
        let (status, answer) = server.post("alice", "/reports", body.clone()).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!("invalid")),
            "{body}"
        );
    }
    let user = json!({"user_id": "mallory", "reason": "spam"});
    assert_eq!(server.post("alice", "/reports", user).await.0, 202);
    let report = reported.recv().await.unwrap();
    assert_eq!((report.user_id.as_str(), report.message), ("mallory", None));
}
