//! The bot on a real service (SQLite in memory, in-process bus): it answers
//! in its direct conversations, and only there.

use std::sync::Arc;

use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, Cursor, NewMessage, Outbound, UserId};
use chat_store_sqlite::SqliteStore;

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_answers_direct_messages_and_stays_out_of_groups() {
    let bot = user("echo-bot");
    let (hooks, inbox) = echo_bot::EchoBot::new(bot.clone());
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let chat = ChatService::new_with_hooks(
        store,
        Arc::new(MemoryBus::new()),
        ChatConfig::default(),
        hooks,
    )
    .await
    .unwrap();
    tokio::spawn(echo_bot::run(chat.clone(), bot.clone(), inbox));
    let alice = user("alice");
    let mut device = chat.connect(&alice).await.unwrap();
    let group = chat
        .create_group(&alice, "with a bot", vec![bot.clone(), user("bob")])
        .await
        .unwrap();
    let direct = chat.open_direct(&alice, &bot).await.unwrap();

    chat.send(&alice, &group.id, NewMessage::text("anyone?"))
        .await
        .unwrap();
    chat.send(&alice, &direct.id, NewMessage::text("/upper hi there"))
        .await
        .unwrap();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            if let Outbound::Event(envelope) = device.next().await {
                let event: serde_json::Value = serde_json::from_slice(envelope.payload()).unwrap();
                if event["type"] == "message" && event["message"]["sender"] == "echo-bot" {
                    return event["message"].clone();
                }
            }
        }
    })
    .await
    .expect("the bot answered");
    assert_eq!(reply["body"], "HI THERE");
    assert_eq!(reply["conversation_id"], direct.id.to_string());
    let page = chat
        .history(&alice, &group.id, Cursor::Latest, None)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1, "the bot said nothing in the group");
}
