//! Several nodes starting at once on one empty database all come up.

use chat_store_mysql::MySqlStore;
use chat_store_mysql::testing::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_migrate_once_and_all_start() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url().to_owned();
            tokio::spawn(async move { MySqlStore::connect(&url).await })
        })
        .collect();
    for start in starts {
        let store = start.await.unwrap().expect("every node starts");
        store.pool().close().await;
    }
    database.drop_database().await.unwrap();
}
