//! The store's schema on databases it shares or inherits: several nodes
//! starting at once on one empty database all come up; a database made
//! before the `chat_` names is moved over (and then has exactly the schema
//! of a fresh one); groups made before roles get an owner; a host's own
//! sqlx migrations and `conversations` table live beside the store's, in
//! either order, on the host's pool.

use std::borrow::Cow;

use chat_store_mysql::MySqlStore;
use chat_store_mysql::testing::TestDatabase;
use chat_store_sql::testing::round_trip;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

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
        "SELECT version, COUNT(*) FROM chat_migrations GROUP BY version ORDER BY version",
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
    let pool = legacy_database(database.url(), 5).await;
    for statement in chat_store_sql::testing::GROUPS_BEFORE_ROLES {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = database.store().await.unwrap();
    let owner = |id: &'static str| {
        let store = store.clone();
        async move {
            let id = chat_engine::ConversationId::new(id).unwrap();
            chat_engine::Store::conversation(&store, &id)
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

/// What a release before the `chat_` names left: its migrations up to
/// `before` (exclusive), recorded by sqlx in `_sqlx_migrations`.
async fn legacy_database(url: &str, before: i64) -> MySqlPool {
    let pool = MySqlPoolOptions::new().connect(url).await.unwrap();
    let mut legacy = chat_store_mysql::legacy_migrations();
    let applied = legacy
        .migrations
        .iter()
        .filter(|migration| migration.version < before)
        .cloned()
        .collect::<Vec<_>>();
    legacy.migrations = Cow::Owned(applied);
    legacy.run(&pool).await.unwrap();
    pool
}

/// Every table's columns, indexes and foreign keys, as text.
async fn schema(pool: &MySqlPool) -> Vec<String> {
    let mut described = Vec::new();
    for query in [
        "SELECT CONCAT_WS(' ', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, \
         IFNULL(COLUMN_DEFAULT, '-'), IFNULL(COLLATION_NAME, '-')) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
        "SELECT CONCAT_WS(' ', TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, \
         INDEX_TYPE) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        "SELECT CONCAT_WS(' ', CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME) \
         FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() \
         ORDER BY CONSTRAINT_NAME",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap();
        described.extend(rows);
    }
    described
}

#[tokio::test]
async fn a_legacy_database_is_renamed_keeps_its_messages_and_matches_a_fresh_schema() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let pool = legacy_database(database.url(), i64::MAX).await;
    sqlx::raw_sql(
        "INSERT INTO conversations (id, kind, title, created_by, created_at, last_seq, \
         last_activity_at, last_message_seq) VALUES ('old', 'group', 'old', 'alice', 1, 1, 1, 1); \
         INSERT INTO members (conversation_id, user_id, joined_at, role) \
         VALUES ('old', 'alice', 1, 'owner'), ('old', 'bob', 1, 'member'); \
         INSERT INTO messages (conversation_id, seq, id, sender, body, created_at, updated_seq) \
         VALUES ('old', 1, 'm-old', 'alice', 'from before', 1, 1);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = database.store().await.unwrap();
    assert_eq!(
        round_trip(&store, "old", "after the move").await,
        ["from before", "after the move"]
    );
    let legacy_history: Option<String> = sqlx::query_scalar(
        "SELECT TABLE_NAME FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_sqlx_migrations'",
    )
    .fetch_optional(store.pool())
    .await
    .unwrap();
    assert_eq!(legacy_history, None, "nothing but the store's was in it");

    let fresh = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let fresh_store = fresh.store().await.unwrap();
    assert_eq!(schema(store.pool()).await, schema(fresh_store.pool()).await);
    store.migrate().await.unwrap();
    assert_eq!(schema(store.pool()).await, schema(fresh_store.pool()).await);
    store.pool().close().await;
    fresh_store.pool().close().await;
    database.drop_database().await.unwrap();
    fresh.drop_database().await.unwrap();
}

/// The host's migrator, as a host runs it on its own pool.
async fn host_migrates(pool: &MySqlPool) {
    sqlx::migrate!("tests/host_migrations")
        .run(pool)
        .await
        .expect("the host's migrations run beside the store's");
}

async fn host_topic(pool: &MySqlPool) -> String {
    sqlx::query_scalar("SELECT topic FROM conversations WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_host_migrating_first_and_the_store_share_a_database_and_a_pool() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let host = MySqlPoolOptions::new()
        .connect(database.url())
        .await
        .unwrap();
    host_migrates(&host).await;
    let store = MySqlStore::from_pool(host.clone()).await.unwrap();
    assert_eq!(round_trip(&store, "g", "hello").await, ["hello"]);
    host_migrates(&host).await;
    assert_eq!(host_topic(&host).await, "the host's own");
    let store = MySqlStore::from_pool(host.clone()).await.unwrap();
    assert_eq!(round_trip(&store, "g", "again").await, ["hello", "again"]);
    host.close().await;
    database.drop_database().await.unwrap();
}

#[tokio::test]
async fn the_store_migrating_first_and_a_host_share_a_database_and_a_pool() {
    let database = TestDatabase::create()
        .await
        .expect("MariaDB/MySQL reachable");
    let host = MySqlPoolOptions::new()
        .connect(database.url())
        .await
        .unwrap();
    let store = MySqlStore::from_pool(host.clone()).await.unwrap();
    assert_eq!(round_trip(&store, "g", "hello").await, ["hello"]);
    host_migrates(&host).await;
    assert_eq!(host_topic(&host).await, "the host's own");
    store.migrate().await.unwrap();
    assert_eq!(round_trip(&store, "g", "again").await, ["hello", "again"]);
    host_migrates(&host).await;
    host.close().await;
    database.drop_database().await.unwrap();
}
