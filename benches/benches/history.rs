//! History paging in a 1,000,000-message conversation (SQLite file): the
//! latest 15, and 15 before a seq half a million deep. Both must be index
//! range scans on (conversation_id, seq): the same order of time.

use std::sync::Arc;
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_core::{ChatConfig, ChatService, Cursor, UserId};
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
    let (chat, alice, conversation) = rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("history.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let pool = store.pool().clone();
        let chat = ChatService::new(Arc::new(store), Arc::new(MemoryBus::new()), ChatConfig::default())
            .await
            .unwrap();
        let alice = UserId::new("alice").unwrap();
        let bob = UserId::new("bob").unwrap();
        let conversation = chat.open_direct(&alice, &bob).await.unwrap().id;
        // Bulk-load a million messages in one statement (setup, not measured).
        chat_store_sqlite::sqlx::query(
            "WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ?) \
             INSERT INTO messages (conversation_id, seq, id, sender, body, client_id, created_at) \
             SELECT ?, seq, 'm-' || seq, 'alice', 'message number ' || seq, NULL, 1700000000000 + seq FROM n",
        )
        .bind(MESSAGES)
        .bind(conversation.as_str())
        .execute(&pool)
        .await
        .unwrap();
        chat_store_sqlite::sqlx::query("UPDATE conversations SET last_seq = ? WHERE id = ?")
            .bind(MESSAGES)
            .bind(conversation.as_str())
            .execute(&pool)
            .await
            .unwrap();
        (chat, alice, conversation)
    });
    let mut group = c.benchmark_group("history_1m");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("latest_15", |b| {
        b.iter(|| {
            let page = rt
                .block_on(chat.history(&alice, &conversation, Cursor::Latest, Some(15)))
                .unwrap();
            assert_eq!(page.messages.len(), 15);
        });
    });
    group.bench_function("15_before_seq_500000", |b| {
        b.iter(|| {
            let page = rt
                .block_on(chat.history(&alice, &conversation, Cursor::Before(500_000), Some(15)))
                .unwrap();
            assert_eq!(page.messages[0].seq, 499_985);
        });
    });
    group.finish();
}

criterion_group!(benches, history);
criterion_main!(benches);
