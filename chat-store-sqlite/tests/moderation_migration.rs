//! Migrating a database made before roles: each group gets an owner (its
//! creator while still a member, else its longest-standing member), direct
//! conversations get none, and nothing else changes.

use std::borrow::Cow;

use chat_core::{ConversationId, Store, UserId};
use chat_store_sqlite::sqlx::sqlite::SqlitePoolOptions;
use chat_store_sqlite::{SqliteStore, migrations};

#[tokio::test]
async fn existing_groups_get_an_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    {
        let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
        let mut before = migrations();
        let applied_before = before
            .migrations
            .iter()
            .filter(|migration| migration.version < 6)
            .cloned()
            .collect::<Vec<_>>();
        before.migrations = Cow::Owned(applied_before);
        before.run(&pool).await.unwrap();
        for statement in chat_store_sql::testing::GROUPS_BEFORE_ROLES {
            chat_store_sqlite::sqlx::query(statement)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
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
