//! [`MySqlStore`]: every `Store` operation as one short InnoDB transaction.
//!
//! Appends are group-committed per node (`writer.rs`): each batch locks its
//! conversation rows (`SELECT … FOR UPDATE`) before reading `last_seq`, so
//! appends to one conversation from any number of nodes are serialized by
//! the database and seqs stay gap-free. Deadlocks and lock-wait timeouts
//! roll the transaction back and it is run again (a few times, with a short
//! backoff).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chat_engine::{
    Appended, Changed, Conversation, ConversationId, ConversationPage, ConversationQuery,
    HistoryQuery, Message, MessageId, NewChange, NewDirect, NewGroup, NewMessageRecord,
    OutboxEntry, OutboxStage, Page, Preferences, PreferencesChange, Profile, ReadMark,
    ReadMarkUpdate, Refusal, RoomPage, RoomQuery, SearchPage, SearchQuery, Seq, Store, StoreError,
    StoreResult, TimelinePage, Timestamp, UserId, UserPage, UserQuery, time,
};
use chat_store_sql::reads;
use chat_store_sql::rows::{self, from_sql, to_sql};
use chat_store_sql::writes;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{MySql, QueryBuilder};

use crate::dialect::MySqlDialect;
use crate::error::MySqlStoreError;
use crate::writer::{self, Writer};

/// Connections in the pool by default.
const DEFAULT_CONNECTIONS: u32 = 16;

/// Runs of one transaction at most, when it deadlocks or times out on a lock.
const ATTEMPTS: u32 = 5;

/// A [`Store`] on MySQL 8 or MariaDB 10.11.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    /// Group commit of appends (see `writer.rs`).
    appends: Writer,
}

impl MySqlStore {
    /// Connects to `url` (`mysql://user:password@host:3306/database`) with a
    /// pool of 16 connections, and runs the migrations.
    ///
    /// # Errors
    /// When the URL is malformed, the server cannot be reached, or a migration fails.
    pub async fn connect(url: &str) -> Result<Self, MySqlStoreError> {
        let options = MySqlConnectOptions::from_str(url)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(DEFAULT_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// Uses the host's pool (sqlx pools are cheap handles) and runs the
    /// migrations. Appends are written on two connections of their own,
    /// made with the pool's connect options.
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn from_pool(pool: MySqlPool) -> Result<Self, MySqlStoreError> {
        let appends = writer::start(&pool);
        let store = Self { pool, appends };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations (idempotent).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> Result<(), MySqlStoreError> {
        // Several nodes may start at once. sqlx's own migration lock uses
        // GET_LOCK with a negative timeout, which MariaDB does not treat as
        // "wait forever", so take a named lock with a real timeout instead,
        // on the connection that runs the migrations.
        let mut connection = self.pool.acquire().await?;
        let locked: Option<i64> =
            sqlx::query_scalar("SELECT GET_LOCK(CONCAT('chat_migrations:', DATABASE()), 60)")
                .fetch_one(&mut *connection)
                .await?;
        if locked != Some(1) {
            return Err(MySqlStoreError::MigrationLock);
        }
        let migrations = chat_store_sql::migrate::Migrations {
            schema: migrations(),
            legacy: legacy_migrations(),
            rename: include_str!("../legacy/rename.sql"),
        };
        let migrated =
            chat_store_sql::migrate::run::<MySqlDialect>(&mut connection, migrations).await;
        sqlx::query("SELECT RELEASE_LOCK(CONCAT('chat_migrations:', DATABASE()))")
            .execute(&mut *connection)
            .await?;
        migrated?;
        Ok(())
    }

    /// A connection of the pool.
    async fn connection(&self) -> Result<PoolConnection<MySql>, MySqlStoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// The pool, for the host's own queries.
    #[must_use]
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    async fn open_direct_once(
        &self,
        direct: &NewDirect,
    ) -> Result<Result<Conversation, Refusal>, MySqlStoreError> {
        let key = direct.pair.key();
        let at = time::to_millis(direct.created_at);
        let mut tx = self.pool.begin().await?;
        let [low, high] = direct.pair.users();
        let other = if *low == direct.created_by { high } else { low };
        // INSERT IGNORE waits for a concurrent creator of the same pair to
        // commit, then ignores the duplicate: every caller sees one conversation.
        let created = sqlx::query(
            "INSERT IGNORE INTO chat_conversations \
             (id, kind, title, created_by, direct_key, created_at, last_seq, last_activity_at) \
             VALUES (?, 'direct', NULL, ?, ?, ?, 0, ?)",
        )
        .bind(direct.id.as_str())
        .bind(direct.created_by.as_str())
        .bind(&key)
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if let Some(refusal) =
            writes::refuse_direct::<MySqlDialect>(&mut tx, &direct.created_by, other).await?
        {
            tx.rollback().await?;
            return Ok(Err(refusal));
        }
        if created {
            for member in direct.pair.users() {
                insert_member(&mut tx, direct.id.as_str(), member, 0, at).await?;
            }
            writes::silence_blocked::<MySqlDialect>(&mut tx, &direct.id, &direct.pair).await?;
        }
        let row = sqlx::query("SELECT id FROM chat_conversations WHERE direct_key = ?")
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
        let id = rows::conversation_id::<MySqlDialect>(&row, 0)?;
        let conversation = reads::conversation::<MySqlDialect>(&mut tx, &id).await?;
        tx.commit().await?;
        conversation
            .map(Ok)
            .ok_or(MySqlStoreError::Sqlx(sqlx::Error::RowNotFound))
    }

    async fn create_group_once(
        &self,
        group: &NewGroup,
    ) -> Result<Result<Conversation, Refusal>, MySqlStoreError> {
        let at = time::to_millis(group.created_at);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO chat_conversations \
             (id, kind, title, created_by, direct_key, created_at, last_seq, last_activity_at, \
              is_public, members_can_add) \
             VALUES (?, 'group', ?, ?, NULL, ?, 0, ?, ?, ?)",
        )
        .bind(group.id.as_str())
        .bind(&group.title)
        .bind(group.created_by.as_str())
        .bind(at)
        .bind(at)
        .bind(group.public)
        .bind(group.members_can_add)
        .execute(&mut *tx)
        .await?;
        if let Some(refusal) =
            writes::refuse_creation::<MySqlDialect>(&mut tx, &group.created_by, &group.members)
                .await?
        {
            tx.rollback().await?;
            return Ok(Err(refusal));
        }
        if !group.members.is_empty() {
            let mut insert: QueryBuilder<'_, MySql> = QueryBuilder::new(
                "INSERT INTO chat_members (conversation_id, user_id, read_seq, joined_at) ",
            );
            insert.push_values(&group.members, |mut row, member| {
                row.push_bind(group.id.as_str())
                    .push_bind(member.as_str())
                    .push_bind(0_i64)
                    .push_bind(at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        writes::crown::<MySqlDialect>(&mut tx, &group.id, &group.created_by).await?;
        let conversation = reads::conversation::<MySqlDialect>(&mut tx, &group.id).await?;
        tx.commit().await?;
        conversation
            .map(Ok)
            .ok_or(MySqlStoreError::Sqlx(sqlx::Error::RowNotFound))
    }

    /// One run of a change's transaction (deadlocks are run again).
    async fn change_once(
        &self,
        change: &NewChange,
    ) -> Result<Result<Changed, Refusal>, MySqlStoreError> {
        let mut tx = self.pool.begin().await?;
        let written = writes::change::<MySqlDialect>(&mut tx, change).await?;
        Ok(writes::finish(tx, written).await?)
    }

    async fn delete_conversation_once(
        &self,
        id: &ConversationId,
        by: &UserId,
    ) -> Result<Result<Vec<UserId>, Refusal>, MySqlStoreError> {
        let mut tx = self.pool.begin().await?;
        let at = time::to_millis(time::now());
        let written = writes::delete_conversation::<MySqlDialect>(&mut tx, id, by, at).await?;
        Ok(writes::finish(tx, written).await?)
    }

    async fn set_block_once(
        &self,
        by: &UserId,
        user: &UserId,
        blocked: bool,
    ) -> Result<bool, MySqlStoreError> {
        let mut tx = self.pool.begin().await?;
        let at = time::to_millis(time::now());
        let changed = writes::set_block::<MySqlDialect>(&mut tx, by, user, blocked, at).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Raises the mark only where it moves (the update then changes one
    /// row), then reads what is stored, in one transaction.
    async fn mark_read_once(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> Result<ReadMarkUpdate, MySqlStoreError> {
        let mut tx = self.pool.begin().await?;
        let raised = sqlx::query(
            "UPDATE chat_members m JOIN chat_conversations c ON c.id = m.conversation_id \
             SET m.read_seq = LEAST(?, c.last_seq) \
             WHERE m.conversation_id = ? AND m.user_id = ? AND m.read_seq < LEAST(?, c.last_seq)",
        )
        .bind(to_sql(seq))
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(to_sql(seq))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT read_seq FROM chat_members WHERE conversation_id = ? AND user_id = ?",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ReadMarkUpdate {
            seq: stored.map_or(0, from_sql),
            moved: raised > 0,
        })
    }
}

/// The embedded migrations of this store's schema. [`MySqlStore::migrate`]
/// applies them and records them in `chat_migrations` (not sqlx's
/// `_sqlx_migrations`, which stays the host's): do not run them with
/// sqlx's `Migrator::run`.
#[must_use]
pub fn migrations() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations")
}

/// The migrations of releases before the `chat_` table names, recorded by
/// sqlx in `_sqlx_migrations`: what a database made by such a release has
/// (for tests that build one; the store moves such a database over by
/// itself).
#[must_use]
pub fn legacy_migrations() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./legacy-migrations")
}

/// Runs `attempt` again while it fails with a deadlock or lock-wait timeout.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, MySqlStoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, MySqlStoreError>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if error.is_transient() && tries < ATTEMPTS => {
                tracing::debug!(tries, error = %error, "transaction conflict; running it again");
                tokio::time::sleep(Duration::from_millis(5 << tries)).await;
                tries += 1;
            }
            result => return result,
        }
    }
}

async fn insert_member(
    connection: &mut MySqlConnection,
    id: &str,
    user: &UserId,
    read_seq: i64,
    at: i64,
) -> Result<bool, MySqlStoreError> {
    let result = sqlx::query(
        "INSERT IGNORE INTO chat_members (conversation_id, user_id, read_seq, joined_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(user.as_str())
    .bind(read_seq)
    .bind(at)
    .execute(&mut *connection)
    .await?;
    Ok(result.rows_affected() == 1)
}

#[async_trait]
impl Store for MySqlStore {
    async fn create_group(&self, group: NewGroup) -> StoreResult<Conversation> {
        let answer = retrying(|| self.create_group_once(&group)).await?;
        answer.map_err(StoreError::Refused)
    }

    async fn open_direct(&self, direct: NewDirect) -> StoreResult<Conversation> {
        let answer = retrying(|| self.open_direct_once(&direct)).await?;
        answer.map_err(StoreError::Refused)
    }

    async fn conversation(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        let mut connection = self.connection().await?;
        Ok(reads::conversation::<MySqlDialect>(&mut connection, id)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn members(&self, id: &ConversationId) -> StoreResult<Option<Vec<UserId>>> {
        let mut connection = self.connection().await?;
        Ok(reads::members::<MySqlDialect>(&mut connection, id)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn is_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool> {
        let mut connection = self.connection().await?;
        Ok(reads::is_member::<MySqlDialect>(&mut connection, id, user)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn conversations_of(&self, query: ConversationQuery) -> StoreResult<ConversationPage> {
        let mut connection = self.connection().await?;
        Ok(reads::conversations::<MySqlDialect>(&mut connection, query)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage> {
        let mut connection = self.connection().await?;
        Ok(reads::rooms::<MySqlDialect>(&mut connection, query)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
        let closed = || MySqlStoreError::Sqlx(sqlx::Error::PoolClosed);
        Ok(self.appends.submit(message).await.ok_or_else(closed)??)
    }

    async fn message(&self, id: &MessageId, viewer: &UserId) -> StoreResult<Option<Message>> {
        let mut connection = self.connection().await?;
        Ok(reads::message::<MySqlDialect>(&mut connection, id, viewer)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn history(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        query: HistoryQuery,
    ) -> StoreResult<Page> {
        let mut connection = self.connection().await?;
        Ok(
            reads::history::<MySqlDialect>(&mut connection, id, viewer, query)
                .await
                .map_err(MySqlStoreError::from)?,
        )
    }

    async fn timeline(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<TimelinePage> {
        let mut connection = self.connection().await?;
        Ok(
            reads::timeline::<MySqlDialect>(&mut connection, id, viewer, after, limit)
                .await
                .map_err(MySqlStoreError::from)?,
        )
    }

    async fn change(&self, change: NewChange) -> StoreResult<Changed> {
        let answer = retrying(|| self.change_once(&change)).await?;
        answer.map_err(StoreError::Refused)
    }

    async fn delete_conversation(
        &self,
        id: &ConversationId,
        by: &UserId,
    ) -> StoreResult<Vec<UserId>> {
        let answer = retrying(|| self.delete_conversation_once(id, by)).await?;
        answer.map_err(StoreError::Refused)
    }

    async fn bans(&self, id: &ConversationId) -> StoreResult<Vec<UserId>> {
        let mut connection = self.connection().await?;
        Ok(reads::bans::<MySqlDialect>(&mut connection, id)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn set_block(&self, by: &UserId, user: &UserId, blocked: bool) -> StoreResult<bool> {
        Ok(retrying(|| self.set_block_once(by, user, blocked)).await?)
    }

    async fn set_preferences(
        &self,
        id: &ConversationId,
        user: &UserId,
        change: PreferencesChange,
    ) -> StoreResult<Option<Preferences>> {
        let run = || async {
            let mut tx = self.pool.begin().await?;
            let written =
                writes::set_preferences::<MySqlDialect>(&mut tx, id, user, change).await?;
            Ok::<_, MySqlStoreError>(writes::finish(tx, written).await?)
        };
        Ok(retrying(run).await?.map_err(StoreError::Refused)?)
    }

    async fn blocked_by(&self, by: &UserId) -> StoreResult<Vec<UserId>> {
        let mut connection = self.connection().await?;
        Ok(reads::blocked_by::<MySqlDialect>(&mut connection, by)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn record_user(&self, profile: &Profile, at: Timestamp) -> StoreResult<()> {
        let run = || async {
            let mut tx = self.pool.begin().await?;
            writes::record_user::<MySqlDialect>(&mut tx, profile, at).await?;
            tx.commit().await?;
            Ok::<_, MySqlStoreError>(())
        };
        Ok(retrying(run).await?)
    }

    async fn users(&self, query: &UserQuery) -> StoreResult<UserPage> {
        let mut connection = self.connection().await?;
        Ok(reads::users::<MySqlDialect>(&mut connection, query)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn profiles(&self, ids: &[UserId]) -> StoreResult<Vec<Profile>> {
        let mut connection = self.connection().await?;
        Ok(reads::profiles::<MySqlDialect>(&mut connection, ids)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn contacts(&self, user: &UserId) -> StoreResult<Vec<UserId>> {
        let mut connection = self.connection().await?;
        Ok(reads::contacts::<MySqlDialect>(&mut connection, user)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn read_marks(&self, id: &ConversationId) -> StoreResult<Vec<ReadMark>> {
        let mut connection = self.connection().await?;
        Ok(reads::read_marks::<MySqlDialect>(&mut connection, id)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn pins(&self, id: &ConversationId, viewer: &UserId) -> StoreResult<Vec<Message>> {
        let mut connection = self.connection().await?;
        Ok(reads::pins::<MySqlDialect>(&mut connection, id, viewer)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn search(&self, query: SearchQuery) -> StoreResult<SearchPage> {
        let mut connection = self.connection().await?;
        Ok(reads::search::<MySqlDialect>(&mut connection, query)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate> {
        Ok(retrying(|| self.mark_read_once(id, user, seq)).await?)
    }

    async fn preferences_of(
        &self,
        id: &ConversationId,
        users: &[UserId],
    ) -> StoreResult<Vec<(UserId, Preferences)>> {
        let mut connection = self.connection().await?;
        Ok(
            reads::preferences_of::<MySqlDialect>(&mut connection, id, users)
                .await
                .map_err(MySqlStoreError::from)?,
        )
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let mut connection = self.connection().await?;
        Ok(
            writes::claim_outbox::<MySqlDialect>(&mut connection, now, until, limit)
                .await
                .map_err(MySqlStoreError::from)?,
        )
    }

    async fn finish_outbox(&self, ids: &[MessageId]) -> StoreResult<()> {
        let mut connection = self.connection().await?;
        Ok(writes::finish_outbox::<MySqlDialect>(&mut connection, ids)
            .await
            .map_err(MySqlStoreError::from)?)
    }

    async fn defer_outbox(
        &self,
        id: &MessageId,
        stage: OutboxStage,
        due: Timestamp,
    ) -> StoreResult<()> {
        let mut connection = self.connection().await?;
        Ok(
            writes::defer_outbox::<MySqlDialect>(&mut connection, id, stage, due)
                .await
                .map_err(MySqlStoreError::from)?,
        )
    }
}
