//! The store's schema on databases it shares or inherits: a database made
//! before the `chat_` names is moved over (and then has exactly the schema
//! of a fresh one), groups made before roles get an owner, and a host's own
//! sqlx migrations and `conversations` table live beside the store's, in
//! either order.

use std::borrow::Cow;

use chat_engine::{ConversationId, Store, UserId};
use chat_store_sql::testing::round_trip;
use chat_store_sqlite::sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use chat_store_sqlite::{SqliteStore, legacy_migrations, sqlx};

/// A database file in a fresh directory, and its URL.
fn database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("chat.db").display());
    (dir, url)
}

/// What a release before the `chat_` names left: its migrations up to
/// `before` (exclusive), recorded by sqlx in `_sqlx_migrations`.
async fn legacy_database(url: &str, before: i64) -> SqlitePool {
    let pool = SqlitePoolOptions::new().connect(url).await.unwrap();
    let mut legacy = legacy_migrations();
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

/// Every table's columns and foreign keys, and every index, as text.
async fn schema(pool: &SqlitePool) -> Vec<String> {
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT t.name || ' ' || c.cid || ' ' || c.name || ' ' || c.type || ' ' || c.\"notnull\" \
         || ' ' || IFNULL(c.dflt_value, '-') || ' ' || c.pk \
         FROM sqlite_master t, pragma_table_info(t.name) c WHERE t.type = 'table' \
         ORDER BY t.name, c.cid",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT t.name || ' ' || k.\"from\" || ' -> ' || k.\"table\" || '.' || k.\"to\" \
         FROM sqlite_master t, pragma_foreign_key_list(t.name) k WHERE t.type = 'table' \
         ORDER BY t.name, k.\"from\"",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name || ' on ' || tbl_name || ': ' || IFNULL(sql, 'automatic') \
         FROM sqlite_master WHERE type = 'index' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    [columns, keys, indexes].concat()
}

#[tokio::test]
async fn a_legacy_database_is_renamed_keeps_its_messages_and_matches_a_fresh_schema() {
    let (_dir, url) = database();
    let pool = legacy_database(&url, i64::MAX).await;
    sqlx::raw_sql(
        "INSERT INTO conversations (id, kind, title, created_by, created_at, last_seq, \
         last_activity_at, last_message_seq) VALUES ('old', 'group', 'old', 'alice', 1, 1, 1, 1); \
         INSERT INTO members (conversation_id, user_id, joined_at, role) \
         VALUES ('old', 'alice', 1, 'owner'), ('old', 'bob', 1, 'member'); \
         INSERT INTO messages (conversation_id, seq, id, sender, body, created_at, updated_seq, \
         text_rowid) VALUES ('old', 1, 'm-old', 'alice', 'from before', 1, 1, 1);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(
        round_trip(&store, "old", "after the move").await,
        ["from before", "after the move"]
    );
    let legacy_history: Option<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name = '_sqlx_migrations'")
            .fetch_optional(store.pool())
            .await
            .unwrap();
    assert_eq!(legacy_history, None, "nothing but the store's was in it");
    let recorded: Vec<i64> = sqlx::query_scalar("SELECT version FROM chat_migrations")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let ours: Vec<i64> = chat_store_sqlite::migrations()
        .iter()
        .map(|migration| migration.version)
        .collect();
    assert_eq!(recorded, ours);

    let (_fresh_dir, fresh_url) = database();
    let fresh = SqliteStore::connect(&fresh_url).await.unwrap();
    assert_eq!(schema(store.pool()).await, schema(fresh.pool()).await);
    // Started again, both stay as they are.
    drop(store);
    let again = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(schema(again.pool()).await, schema(fresh.pool()).await);
}

#[tokio::test]
async fn existing_groups_get_an_owner() {
    let (_dir, url) = database();
    let pool = legacy_database(&url, 6).await;
    for statement in chat_store_sql::testing::GROUPS_BEFORE_ROLES {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    let store = SqliteStore::connect(&url).await.unwrap();
    let owner = |id: &str| {
        let store = store.clone();
        let id = ConversationId::new(id).unwrap();
        async move { store.conversation(&id).await.unwrap().unwrap().owner }
    };
    let user = |name: &str| Some(UserId::new(name).unwrap());
    assert_eq!(owner("kept").await, user("alice"));
    assert_eq!(owner("left").await, user("carol"));
    assert_eq!(owner("dm").await, None);
    let left = store
        .conversation(&ConversationId::new("left").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.members.len(), 2);
    assert!(left.admins.is_empty() && left.muted.is_empty() && !left.members_can_add);
}

/// The host's migrator, as a host runs it on its own pool.
async fn host_migrates(pool: &SqlitePool) {
    sqlx::migrate!("tests/host_migrations")
        .run(pool)
        .await
        .expect("the host's migrations run beside the store's");
}

async fn host_topic(pool: &SqlitePool) -> String {
    sqlx::query_scalar("SELECT topic FROM conversations WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_host_migrating_first_and_the_store_share_a_database() {
    let (_dir, url) = database();
    let host = SqlitePoolOptions::new().connect(&url).await.unwrap();
    host_migrates(&host).await;
    let store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(round_trip(&store, "g", "hello").await, ["hello"]);
    host_migrates(&host).await;
    assert_eq!(host_topic(&host).await, "the host's own");
    drop(store);
    let store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(round_trip(&store, "g", "again").await, ["hello", "again"]);
}

#[tokio::test]
async fn the_store_migrating_first_and_a_host_share_a_database() {
    let (_dir, url) = database();
    let store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(round_trip(&store, "g", "hello").await, ["hello"]);
    let host = SqlitePoolOptions::new().connect(&url).await.unwrap();
    host_migrates(&host).await;
    assert_eq!(host_topic(&host).await, "the host's own");
    store.migrate().await.unwrap();
    assert_eq!(round_trip(&store, "g", "again").await, ["hello", "again"]);
    host_migrates(&host).await;
}
