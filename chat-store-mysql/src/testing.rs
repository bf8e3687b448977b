//! Throwaway databases for tests (feature `testing`): each test gets its own
//! `chat_test_<unix secs>_<random>` database on a real server, dropped on
//! [`TestDatabase::drop_database`]. Databases left by crashed runs are swept
//! once they are an hour old, so parallel runs never touch each other's.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Row;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

use crate::{MySqlStore, MySqlStoreError};

/// The server tests use: `CHAT_TEST_MYSQL_URL`, else
/// `mysql://root@127.0.0.1:3306/test`.
#[must_use]
pub fn server_url() -> String {
    std::env::var("CHAT_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

/// A database created for one test.
#[derive(Debug)]
pub struct TestDatabase {
    admin: MySqlPool,
    name: String,
    url: String,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl TestDatabase {
    /// Creates a fresh database on the [`server_url`] server.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub async fn create() -> Result<Self, MySqlStoreError> {
        let server = server_url();
        let admin = MySqlPoolOptions::new()
            .max_connections(2)
            .connect(&server)
            .await?;
        sweep(&admin).await?;
        let name = format!("chat_test_{}_{}", now_secs(), uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .execute(&admin)
            .await?;
        let base = server
            .rsplit_once('/')
            .map_or(server.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Ok(Self { admin, name, url })
    }

    /// The URL of the new database.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on the new database (migrated).
    ///
    /// # Errors
    /// When connecting or migrating fails.
    pub async fn store(&self) -> Result<MySqlStore, MySqlStoreError> {
        MySqlStore::connect(&self.url).await
    }

    /// Drops the database.
    ///
    /// # Errors
    /// When the server refuses.
    pub async fn drop_database(self) -> Result<(), MySqlStoreError> {
        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .execute(&self.admin)
            .await?;
        self.admin.close().await;
        Ok(())
    }
}

async fn sweep(admin: &MySqlPool) -> Result<(), MySqlStoreError> {
    let rows = sqlx::raw_sql("SHOW DATABASES LIKE 'chat\\_test\\_%'")
        .fetch_all(admin)
        .await?;
    for row in rows {
        let name: String = row.try_get(0)?;
        let created = name
            .split('_')
            .nth(2)
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|created| created + 3600 < now_secs()) {
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{name}`"))
                .execute(admin)
                .await?;
        }
    }
    Ok(())
}
