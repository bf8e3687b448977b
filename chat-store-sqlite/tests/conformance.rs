//! The shared Store suite against SQLite: each test gets its own database
//! file in a temporary directory (removed on teardown).

use std::sync::Arc;

use chat_engine::Store;
use chat_engine::testkit::StoreFixture;
use chat_store_sqlite::SqliteStore;

struct TempDatabase {
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl StoreFixture for TempDatabase {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn teardown(self) {
        self.store.pool().close().await;
    }

    async fn where_stored(&self, text: &str) -> Vec<String> {
        self.store
            .where_stored(text)
            .await
            .expect("probe the store")
    }
}

async fn sqlite_file() -> TempDatabase {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store = SqliteStore::connect(&url).await.expect("open sqlite");
    TempDatabase {
        store: Arc::new(store),
        _dir: dir,
    }
}

chat_engine::store_conformance!(sqlite_file);

/// The same suite on `sqlite::memory:`, which the docs promise works too.
mod in_memory {
    use super::*;

    struct Memory(Arc<SqliteStore>);

    impl StoreFixture for Memory {
        fn store(&self) -> Arc<dyn Store> {
            self.0.clone()
        }

        async fn teardown(self) {}

        async fn where_stored(&self, text: &str) -> Vec<String> {
            self.0.where_stored(text).await.expect("probe the store")
        }
    }

    async fn sqlite_memory() -> Memory {
        Memory(Arc::new(
            SqliteStore::connect("sqlite::memory:")
                .await
                .expect("memory db"),
        ))
    }

    chat_engine::store_conformance!(sqlite_memory);
}
