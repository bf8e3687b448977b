//! History paging in a 1,000,000-message conversation (SQLite file): the
//! latest 15, and 15 before a seq half a million deep, in a conversation of
//! plain messages and in one where every third message has two reactions
//! and every tenth is a thread root with replies counted. Every page must
//! be index range scans (messages on (conversation_id, seq), reactions on
//! their primary key): the same order of time at any depth, with or without
//! reactions.

use std::sync::Arc;
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, ConversationId, Cursor, UserId};
use chat_store_sqlite::SqliteStore;
use criterion::{Criterion, criterion_group, criterion_main};

const MESSAGES: i64 = 1_000_000;

fn history(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (chat, alice, plain, reacted) = rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("history.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let pool = store.pool().clone();
        let chat = ChatService::new(Arc::new(store), Arc::new(MemoryBus::new()), ChatConfig::default())
            .await
            .unwrap();
        let alice = UserId::new("alice").unwrap();
        let plain = chat
            .open_direct(&alice, &UserId::new("bob").unwrap())
            .await
            .unwrap()
            .id;
        let reacted = chat
            .open_direct(&alice, &UserId::new("carol").unwrap())
            .await
            .unwrap()
            .id;
        // Bulk-load a million messages in each (setup, not measured).
        for conversation in [&plain, &reacted] {
            sql(&pool, "WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ?1) \
                 INSERT INTO chat_messages (conversation_id, seq, id, sender, body, client_id, created_at, updated_seq) \
                 SELECT ?2, seq, ?2 || '-' || seq, 'alice', 'message number ' || seq, NULL, 1700000000000 + seq, seq FROM n",
                conversation).await;
            sql(&pool, "UPDATE chat_conversations SET last_seq = ?1, last_message_seq = ?1 WHERE id = ?2", conversation).await;
        }
        sql(&pool, "WITH RECURSIVE n(seq) AS (SELECT 3 UNION ALL SELECT seq + 3 FROM n WHERE seq + 3 <= ?1) \
             INSERT INTO chat_reactions (conversation_id, message_seq, reaction, user_id, seq) \
             SELECT ?2, seq, r.reaction, r.user_id, seq FROM n \
             CROSS JOIN (SELECT '👍' AS reaction, 'alice' AS user_id UNION ALL SELECT '🎉', 'carol') AS r",
            &reacted).await;
        sql(&pool, "UPDATE chat_messages SET reply_count = 4, last_reply_seq = seq + 1 \
             WHERE conversation_id = ?2 AND seq % 10 = 0 AND seq < ?1", &reacted).await;
        (chat, alice, plain, reacted)
    });
    let mut group = c.benchmark_group("history_1m");
    group.measurement_time(Duration::from_secs(4));
    for (name, conversation) in [("plain", &plain), ("reactions_and_threads", &reacted)] {
        group.bench_function(format!("{name}/latest_15"), |b| {
            b.iter(|| {
                let page = rt
                    .block_on(chat.history(&alice, conversation, Cursor::Latest, Some(15)))
                    .unwrap();
                assert_eq!(page.messages.len(), 15);
            });
        });
        group.bench_function(format!("{name}/15_before_seq_500000"), |b| {
            b.iter(|| {
                let page = rt
                    .block_on(chat.history(&alice, conversation, Cursor::Before(500_000), Some(15)))
                    .unwrap();
                assert_eq!(page.messages[0].seq, 499_985);
            });
        });
    }
    let reacted_page = rt
        .block_on(chat.history(&alice, &reacted, Cursor::Before(500_000), Some(15)))
        .unwrap();
    let with_reactions = reacted_page
        .messages
        .iter()
        .filter(|m| m.reactions.len() == 2)
        .count();
    assert_eq!(
        with_reactions, 5,
        "every third message of the page has its two reactions"
    );
    assert!(reacted_page.messages.iter().any(|m| m.reply_count == 4));
    group.finish();
}

/// Runs one setup statement with the count as `?1` and `conversation` as `?2`.
async fn sql(
    pool: &chat_store_sqlite::sqlx::SqlitePool,
    statement: &str,
    conversation: &ConversationId,
) {
    chat_store_sqlite::sqlx::query(statement)
        .bind(MESSAGES)
        .bind(conversation.as_str())
        .execute(pool)
        .await
        .unwrap();
}

criterion_group!(benches, history);
criterion_main!(benches);
