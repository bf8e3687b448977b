//! Several nodes starting at once on one empty database all come up.

use chat_store_mysql::MySqlStore;
use chat_store_mysql::sqlx;
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
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().expect("every node starts"));
    }
    // Each migration is recorded once, and applied once: its table exists.
    let applied: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, COUNT(*) FROM _sqlx_migrations WHERE success = 1 GROUP BY version ORDER BY version",
    )
    .fetch_all(stores[0].pool())
    .await
    .unwrap();
    let expected: Vec<(i64, i64)> = chat_store_mysql::migrations()
        .iter()
        .map(|migration| (migration.version, 1))
        .collect();
    assert_eq!(applied, expected);
    for store in stores {
        store.pool().close().await;
    }
    database.drop_database().await.unwrap();
}

/// Migrating a database made before roles: each group gets an owner (its
/// creator while still a member, else its longest-standing member), direct
/// conversations get none.
#[tokio::test]
async fn existing_groups_get_an_owner() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .connect(database.url())
        .await
        .unwrap();
    let mut before = chat_store_mysql::migrations();
    let applied_before = before
        .migrations
        .iter()
        .filter(|migration| migration.version < 5)
        .cloned()
        .collect::<Vec<_>>();
    before.migrations = std::borrow::Cow::Owned(applied_before);
    before.run(&pool).await.unwrap();
    for statement in chat_store_sql::testing::GROUPS_BEFORE_ROLES {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = database.store().await.unwrap();
    let owner = |id: &'static str| {
        let store = store.clone();
        async move {
            let id = chat_core::ConversationId::new(id).unwrap();
            chat_core::Store::conversation(&store, &id)
                .await
                .unwrap()
                .unwrap()
                .owner
                .map(|owner| owner.as_str().to_owned())
        }
    };
    assert_eq!(owner("kept").await.as_deref(), Some("alice"));
    assert_eq!(owner("left").await.as_deref(), Some("carol"));
    assert_eq!(owner("dm").await, None);
    store.pool().close().await;
    database.drop_database().await.unwrap();
}
