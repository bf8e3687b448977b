//! Appends that arrive together are committed together; one bad append in a
//! batch fails alone.

use std::sync::Arc;

use chat_engine::testkit::store::{group, record};
use chat_engine::{ConversationId, Store};
use chat_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_append_to_an_unknown_conversation_fails_alone_in_its_batch() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let conversation = group(&*store, "g", &["alice", "bob"]).await;
    let unknown = ConversationId::generate();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = Arc::clone(&store);
            let target = if i % 4 == 0 {
                unknown.clone()
            } else {
                conversation.id.clone()
            };
            tokio::spawn(
                async move { (i, store.append(record(&target, "alice", "x", None)).await) },
            )
        })
        .collect();
    let mut stored = Vec::new();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        if i % 4 == 0 {
            assert!(
                result.is_err(),
                "append {i} to an unknown conversation succeeded"
            );
        } else {
            stored.push(
                result
                    .expect("the other appends of the batch succeed")
                    .message
                    .seq,
            );
        }
    }
    stored.sort_unstable();
    assert_eq!(stored, (1..=30).collect::<Vec<_>>());
}
