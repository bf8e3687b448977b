//! The public rooms directory over 10,000 rooms of 50 members each (SQLite
//! file, plus 10,000 private groups it must skip): the newest page, a page
//! deep in the list, a title search, and a page of 200. Each room's member
//! count and the viewer's membership are per-row lookups on the members
//! primary key; the search scans the public rooms' titles.

use std::sync::Arc;
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, ConversationId, UserId};
use chat_store_sqlite::SqliteStore;
use criterion::{Criterion, criterion_group, criterion_main};

const ROOMS: i64 = 10_000;
const MEMBERS: i64 = 50;

/// Bulk-loads `ROOMS` rooms (and as many private groups) of `MEMBERS`
/// members each in a few statements (setup, not measured).
async fn load(pool: &chat_store_sqlite::sqlx::SqlitePool) {
    for (prefix, public) in [("room", 1), ("private", 0)] {
        chat_store_sqlite::sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
             INSERT INTO chat_conversations (id, kind, title, created_by, direct_key, created_at, \
                last_seq, last_activity_at, is_public) \
             SELECT printf('%s-%06d', ?, i), 'group', ? || ' number ' || i, 'user-1', NULL, \
                1700000000000 + i, 0, 1700000000000 + i, ? FROM n",
        )
        .bind(ROOMS)
        .bind(prefix)
        .bind(prefix)
        .bind(public)
        .execute(pool)
        .await
        .unwrap();
        chat_store_sqlite::sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?), \
                m(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM m WHERE j < ?) \
             INSERT INTO chat_members (conversation_id, user_id, read_seq, joined_at) \
             SELECT printf('%s-%06d', ?, i), 'user-' || j, 0, 0 FROM n, m",
        )
        .bind(ROOMS)
        .bind(MEMBERS)
        .bind(prefix)
        .execute(pool)
        .await
        .unwrap();
    }
}

fn rooms(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chat = rt.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("rooms.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        load(store.pool()).await;
        ChatService::new(
            Arc::new(store),
            Arc::new(MemoryBus::new()),
            ChatConfig::default(),
        )
        .await
        .unwrap()
    });
    let viewer = UserId::new("user-7").unwrap();
    let middle = ConversationId::new("room-005000").unwrap();
    let mut group = c.benchmark_group("rooms_10k");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("newest_15", |b| {
        b.iter(|| {
            let page = rt
                .block_on(chat.rooms(&viewer, None, None, Some(15)))
                .unwrap();
            assert_eq!(page.rooms[0].member_count, 50);
            assert!(page.rooms[0].joined && page.has_more);
        });
    });
    group.bench_function("15_before_room_5000", |b| {
        b.iter(|| {
            let page = rt
                .block_on(chat.rooms(&viewer, None, Some(middle.clone()), Some(15)))
                .unwrap();
            assert_eq!(page.rooms[0].id.as_str(), "room-004999");
        });
    });
    group.bench_function("search_one_title", |b| {
        b.iter(|| {
            let page = rt
                .block_on(chat.rooms(&viewer, Some("NUMBER 4242"), None, Some(15)))
                .unwrap();
            assert_eq!(page.rooms.len(), 1);
        });
    });
    group.bench_function("newest_200", |b| {
        b.iter(|| {
            let page = rt
                .block_on(chat.rooms(&viewer, None, None, Some(200)))
                .unwrap();
            assert_eq!(page.rooms.len(), 200);
        });
    });
    group.finish();
}

criterion_group!(benches, rooms);
criterion_main!(benches);
