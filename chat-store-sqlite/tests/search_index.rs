//! The search index is built off the send path: a message is in the index
//! shortly after its send, without any search asking for it.

use std::time::Duration;

use chat_engine::testkit::store::{append, group};
use chat_store_sqlite::SqliteStore;

/// Waits until `word` is in the full-text index.
async fn indexed(store: &SqliteStore, word: &str) {
    let found = async {
        while !store
            .where_stored(word)
            .await
            .unwrap()
            .contains(&"chat_message_text".to_owned())
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), found)
        .await
        .unwrap_or_else(|_| panic!("{word} never reached the index"));
}

#[tokio::test]
async fn messages_reach_the_index_without_a_search() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let conversation = group(&store, "g", &["alice", "bob"]).await;
    // The first may be indexed by the round every store starts with; the
    // second only by a round its own commit asked for.
    for word in ["quixotic", "numbat"] {
        append(&store, &conversation.id, "alice", word).await;
        indexed(&store, word).await;
    }
}
