//! Group commit on MySQL: two nodes' batches into the same conversations
//! interleave without gaps, duplicates or deadlock failures, and one bad
//! append in a batch fails alone.

use std::sync::Arc;

use chat_engine::testkit::store::{group, record};
use chat_engine::{ConversationId, HistoryQuery, Store};
use chat_store_mysql::MySqlStore;
use chat_store_mysql::testing::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_batch_into_the_same_conversations_without_gaps() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let nodes: Vec<Arc<dyn Store>> = vec![
        Arc::new(database.store().await.unwrap()),
        Arc::new(MySqlStore::connect(database.url()).await.unwrap()),
    ];
    let conversations = [
        group(&*nodes[0], "one", &["alice", "bob"]).await.id,
        group(&*nodes[0], "two", &["alice", "bob"]).await.id,
    ];
    let unknown = ConversationId::generate();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let node = Arc::clone(&nodes[i % 2]);
            // Every tenth append goes nowhere; the rest alternate conversations.
            let target = if i % 10 == 0 {
                unknown.clone()
            } else {
                conversations[i / 2 % 2].clone()
            };
            tokio::spawn(async move {
                let client_id = format!("c{i}");
                (
                    i,
                    node.append(record(&target, "alice", "x", Some(&client_id)))
                        .await,
                )
            })
        })
        .collect();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        assert_eq!(result.is_err(), i % 10 == 0, "append {i}: {result:?}");
    }
    let mut total = 0;
    for conversation in &conversations {
        let page = nodes[1]
            .history(
                conversation,
                &chat_engine::testkit::store::user("alice"),
                HistoryQuery::latest(1_000),
            )
            .await
            .unwrap();
        let seqs: Vec<u64> = page.messages.iter().map(|message| message.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
        total += seqs.len();
    }
    assert_eq!(total, 180);
    database.drop_database().await.unwrap();
}

/// The writers keep their connections out of the pool (no ping before a
/// batch): one the server closed while it was idle must not fail the next
/// append, which is answered on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_go_on_after_the_server_closed_the_writers_idle_connections() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let store = database.store().await.unwrap();
    let conversation = group(&store, "one", &["alice", "bob"]).await.id;
    store
        .append(record(&conversation, "alice", "before", None))
        .await
        .unwrap();
    let name = database.url().rsplit('/').next().unwrap().to_owned();
    let admin = sqlx::MySqlPool::connect(&chat_store_mysql::testing::server_url())
        .await
        .unwrap();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM information_schema.processlist WHERE db = ?")
            .bind(&name)
            .fetch_all(&admin)
            .await
            .unwrap();
    assert!(!ids.is_empty(), "the store holds connections to {name}");
    for id in ids {
        sqlx::raw_sql(&format!("KILL CONNECTION {id}"))
            .execute(&admin)
            .await
            .unwrap();
    }
    for body in ["after", "and again"] {
        let appended = store
            .append(record(&conversation, "alice", body, None))
            .await
            .expect("an append right after the kill");
        assert_eq!(appended.message.body, body);
    }
    admin.close().await;
    database.drop_database().await.unwrap();
}
