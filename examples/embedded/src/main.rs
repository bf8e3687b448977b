//! Embeds the chat engine in a plain Rust program: SQLite in memory, the
//! in-process bus, two users, one live connection. `cargo run -p example-embedded`.
//! The README shows the same program and runs it as a doctest.

use std::sync::Arc;

use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, Cursor, NewMessage, Outbound, UserId};
use chat_store_sqlite::SqliteStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await?);
    let chat = ChatService::new(store, Arc::new(MemoryBus::new()), ChatConfig::default()).await?;

    let (alice, bob) = (UserId::new("alice")?, UserId::new("bob")?);
    let mut alice_phone = chat.connect(&alice).await?; // a live connection (one device)

    let direct = chat.open_direct(&bob, &alice).await?;
    let sent = chat
        .send(
            &bob,
            &direct.id,
            NewMessage::text("hi alice").with_client_id("b-1"),
        )
        .await?;
    assert_eq!(sent.message.seq, 1);

    // Live delivery: the event's JSON was encoded once for all recipients.
    let Outbound::Event(event) = alice_phone.next().await else {
        panic!("expected an event")
    };
    println!(
        "alice's phone got {}",
        String::from_utf8_lossy(event.payload())
    );

    // History by seq, and read state.
    let page = chat
        .history(&alice, &direct.id, Cursor::Latest, None)
        .await?;
    assert_eq!(page.messages[0].body, "hi alice");
    let unread = chat.conversations(&alice, None, None).await?.conversations[0].unread;
    assert_eq!(unread, 1);
    chat.mark_read(&alice, &direct.id, sent.message.seq).await?;
    assert_eq!(
        chat.conversations(&alice, None, None).await?.conversations[0].unread,
        0
    );
    Ok(())
}
