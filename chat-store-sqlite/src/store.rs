//! [`SqliteStore`]: every `Store` operation as one short SQL transaction.
//!
//! SQLite allows one writer at a time. Appends, the hot write, are
//! group-committed on a rusqlite connection of their own (`writer.rs`), and
//! `Store::members` reads on rusqlite connections of its own
//! (`members.rs`). The other writes (conversations, members, read marks) go
//! through a sqlx pool of exactly one connection, so they queue in-process;
//! between the two writers SQLite's busy timeout decides. Write
//! transactions never upgrade a read lock (which SQLite cannot wait for).
//! Reads use their own pool and, under WAL, never block on a writer.

use std::str::FromStr;
use std::sync::Arc;
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
use chat_store_sql::writes;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqliteConnection};

use chat_store_sql::rows::{from_sql, to_sql};

use crate::dialect::SqliteDialect;
use crate::error::SqliteStoreError;
use crate::members::MemberReader;
use crate::search_index::{SearchIndex, WriteConnection};
use crate::writer::{self, Writer};

/// Read connections kept open for a file database.
const READERS: u32 = 4;

/// A [`Store`] on SQLite.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), chat_store_sqlite::SqliteStoreError> {
/// use chat_store_sqlite::SqliteStore;
/// let store = SqliteStore::connect("sqlite::memory:").await?;
/// # drop(store); Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Group commit of appends, on a connection of its own.
    appends: Writer,
    /// The full-text index, built off the send path.
    search_index: SearchIndex,
    /// The appends' connection, which also deletes finished outbox rows.
    append_connection: WriteConnection,
    /// `Store::members`, on rusqlite connections of its own.
    member_reader: MemberReader,
    /// The directory of a `sqlite::memory:` store's file, removed on drop.
    _temporary: Option<Arc<tempfile::TempDir>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` — a file
    /// (`sqlite://chat.db`, `sqlite:chat.db`) or `sqlite::memory:` — with WAL,
    /// `synchronous=NORMAL`, foreign keys and a 5 s busy timeout, and runs the
    /// migrations.
    ///
    /// # Errors
    /// When the URL is malformed, the file cannot be opened, or a migration fails.
    pub async fn connect(url: &str) -> Result<Self, SqliteStoreError> {
        let options = SqliteConnectOptions::from_str(url)?;
        Self::connect_with(options).await
    }

    /// Like [`SqliteStore::connect`] with options the host built; WAL,
    /// `synchronous=NORMAL`, foreign keys and the busy timeout are applied on
    /// top of them.
    ///
    /// `sqlite::memory:` is served by a private temporary file, deleted when
    /// the last clone of the store is dropped: appends are written on a
    /// connection of their own (see `writer.rs`), and a second connection
    /// cannot reach an in-memory database.
    ///
    /// # Errors
    /// When the database cannot be opened or a migration fails.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, SqliteStoreError> {
        let (options, temporary) = if is_in_memory(&options) {
            let dir = tempfile::tempdir().map_err(sqlx::Error::Io)?;
            let options = options
                .in_memory(false)
                .shared_cache(false)
                .filename(dir.path().join("chat.db"));
            (options, Some(Arc::new(dir)))
        } else {
            (options, None)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.clone())
            .await?;
        migrate(&writer).await?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&writer)
            .await?;
        let (appends, search_index, append_connection) =
            writer::start(options.get_filename(), &synchronous.to_string())?;
        Ok(Self {
            writer,
            reader,
            appends,
            search_index,
            append_connection,
            member_reader: MemberReader::new(options.get_filename()),
            _temporary: temporary,
        })
    }

    /// Applies the embedded migrations (idempotent; [`SqliteStore::connect`] does it).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> Result<(), SqliteStoreError> {
        migrate(&self.writer).await
    }

    /// The write pool (one connection), for the host's own queries.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// A connection of the read pool.
    async fn reader(&self) -> Result<PoolConnection<Sqlite>, SqliteStoreError> {
        Ok(self.reader.acquire().await?)
    }

    /// Raises the mark only where it moves (`RETURNING` yields a row then);
    /// otherwise reads what is stored.
    async fn mark_read_on_writer(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> Result<ReadMarkUpdate, SqliteStoreError> {
        let mut connection = self.writer.acquire().await?;
        let raised: Option<i64> = sqlx::query_scalar(
            "UPDATE chat_members SET read_seq = MIN(?, (SELECT last_seq FROM chat_conversations WHERE id = ?)) \
             WHERE conversation_id = ? AND user_id = ? \
                AND read_seq < MIN(?, (SELECT last_seq FROM chat_conversations WHERE id = ?)) \
             RETURNING read_seq",
        )
        .bind(to_sql(seq))
        .bind(id.as_str())
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(to_sql(seq))
        .bind(id.as_str())
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(raised) = raised {
            return Ok(ReadMarkUpdate {
                seq: from_sql(raised),
                moved: true,
            });
        }
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT read_seq FROM chat_members WHERE conversation_id = ? AND user_id = ?",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .fetch_optional(&mut *connection)
        .await?;
        Ok(ReadMarkUpdate {
            seq: stored.map_or(0, from_sql),
            moved: false,
        })
    }
}

/// Whether `options` name an in-memory database: `:memory:` as given, or the
/// name sqlx gives `sqlite::memory:` (`file:sqlx-in-memory-N`).
fn is_in_memory(options: &SqliteConnectOptions) -> bool {
    let name = options.get_filename().to_string_lossy();
    name == ":memory:" || name.starts_with("file:sqlx-in-memory-")
}

/// The embedded migrations of this store's schema. [`SqliteStore::migrate`]
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

/// Moves a legacy database over and applies the schema's migrations, on the
/// writer (the one connection that writes, so two runs cannot interleave).
async fn migrate(writer: &SqlitePool) -> Result<(), SqliteStoreError> {
    let mut connection = writer.acquire().await?;
    let migrations = chat_store_sql::migrate::Migrations {
        schema: migrations(),
        legacy: legacy_migrations(),
        rename: include_str!("../legacy/rename.sql"),
    };
    chat_store_sql::migrate::run::<SqliteDialect>(&mut connection, migrations).await?;
    Ok(())
}

async fn insert_member(
    connection: &mut SqliteConnection,
    id: &str,
    user: &UserId,
    read_seq: i64,
    at: Timestamp,
) -> Result<bool, SqliteStoreError> {
    let result = sqlx::query(
        "INSERT OR IGNORE INTO chat_members (conversation_id, user_id, read_seq, joined_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(user.as_str())
    .bind(read_seq)
    .bind(time::to_millis(at))
    .execute(&mut *connection)
    .await?;
    Ok(result.rows_affected() == 1)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_group(&self, group: NewGroup) -> StoreResult<Conversation> {
        let run = async {
            let mut tx = self.writer.begin().await?;
            sqlx::query(
                "INSERT INTO chat_conversations \
                 (id, kind, title, created_by, direct_key, created_at, last_seq, last_activity_at, \
                  is_public, members_can_add) \
                 VALUES (?, 'group', ?, ?, NULL, ?, 0, ?, ?, ?)",
            )
            .bind(group.id.as_str())
            .bind(&group.title)
            .bind(group.created_by.as_str())
            .bind(time::to_millis(group.created_at))
            .bind(time::to_millis(group.created_at))
            .bind(group.public)
            .bind(group.members_can_add)
            .execute(&mut *tx)
            .await?;
            // The insert comes first: a transaction that reads before its first
            // write cannot take the write lock once another connection (the
            // append writer, the search indexer) has written meanwhile.
            if let Some(refusal) =
                writes::refuse_creation::<SqliteDialect>(&mut tx, &group.created_by, &group.members)
                    .await?
            {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
            for member in &group.members {
                insert_member(&mut tx, group.id.as_str(), member, 0, group.created_at).await?;
            }
            writes::crown::<SqliteDialect>(&mut tx, &group.id, &group.created_by).await?;
            let conversation = reads::conversation::<SqliteDialect>(&mut tx, &group.id).await?;
            tx.commit().await?;
            conversation
                .map(Ok)
                .ok_or(SqliteStoreError::Sqlx(sqlx::Error::RowNotFound))
        };
        let answer: Result<Result<Conversation, Refusal>, SqliteStoreError> = run.await;
        answer?.map_err(StoreError::Refused)
    }

    async fn open_direct(&self, direct: NewDirect) -> StoreResult<Conversation> {
        let run = async {
            let key = direct.pair.key();
            let mut tx = self.writer.begin().await?;
            let [low, high] = direct.pair.users();
            let other = if *low == direct.created_by { high } else { low };
            let created = sqlx::query(
                "INSERT INTO chat_conversations \
                 (id, kind, title, created_by, direct_key, created_at, last_seq, last_activity_at) \
                 VALUES (?, 'direct', NULL, ?, ?, ?, 0, ?) ON CONFLICT (direct_key) DO NOTHING",
            )
            .bind(direct.id.as_str())
            .bind(direct.created_by.as_str())
            .bind(&key)
            .bind(time::to_millis(direct.created_at))
            .bind(time::to_millis(direct.created_at))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            // After the insert, for the reason given in `create_group`.
            if let Some(refusal) =
                writes::refuse_direct::<SqliteDialect>(&mut tx, &direct.created_by, other).await?
            {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
            if created {
                for member in direct.pair.users() {
                    insert_member(&mut tx, direct.id.as_str(), member, 0, direct.created_at)
                        .await?;
                }
                writes::silence_blocked::<SqliteDialect>(&mut tx, &direct.id, &direct.pair).await?;
            }
            let id: String =
                sqlx::query_scalar("SELECT id FROM chat_conversations WHERE direct_key = ?")
                    .bind(&key)
                    .fetch_one(&mut *tx)
                    .await?;
            let id = ConversationId::new(id).map_err(|source| SqliteStoreError::Decode {
                column: "id",
                source,
            })?;
            let conversation = reads::conversation::<SqliteDialect>(&mut tx, &id).await?;
            tx.commit().await?;
            conversation
                .map(Ok)
                .ok_or(SqliteStoreError::Sqlx(sqlx::Error::RowNotFound))
        };
        let answer: Result<Result<Conversation, Refusal>, SqliteStoreError> = run.await;
        answer?.map_err(StoreError::Refused)
    }

    async fn conversation(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        let mut reader = self.reader().await?;
        Ok(reads::conversation::<SqliteDialect>(&mut reader, id)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn members(&self, id: &ConversationId) -> StoreResult<Option<Vec<UserId>>> {
        Ok(self.member_reader.members(id).await?)
    }

    async fn is_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool> {
        let mut reader = self.reader().await?;
        Ok(reads::is_member::<SqliteDialect>(&mut reader, id, user)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn conversations_of(&self, query: ConversationQuery) -> StoreResult<ConversationPage> {
        let mut reader = self.reader().await?;
        Ok(reads::conversations::<SqliteDialect>(&mut reader, query)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage> {
        let mut reader = self.reader().await?;
        Ok(reads::rooms::<SqliteDialect>(&mut reader, query)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
        let closed = || SqliteStoreError::Sqlx(sqlx::Error::PoolClosed);
        Ok(self.appends.submit(message).await.ok_or_else(closed)??)
    }

    async fn message(&self, id: &MessageId, viewer: &UserId) -> StoreResult<Option<Message>> {
        let mut reader = self.reader().await?;
        Ok(reads::message::<SqliteDialect>(&mut reader, id, viewer)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn history(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        query: HistoryQuery,
    ) -> StoreResult<Page> {
        let mut reader = self.reader().await?;
        Ok(
            reads::history::<SqliteDialect>(&mut reader, id, viewer, query)
                .await
                .map_err(SqliteStoreError::from)?,
        )
    }

    async fn timeline(
        &self,
        id: &ConversationId,
        viewer: &UserId,
        after: Seq,
        limit: u32,
    ) -> StoreResult<TimelinePage> {
        let mut reader = self.reader().await?;
        Ok(
            reads::timeline::<SqliteDialect>(&mut reader, id, viewer, after, limit)
                .await
                .map_err(SqliteStoreError::from)?,
        )
    }

    async fn change(&self, change: NewChange) -> StoreResult<Changed> {
        let run = async {
            let mut tx = self.writer.begin().await?;
            let written = writes::change::<SqliteDialect>(&mut tx, &change).await?;
            Ok::<_, SqliteStoreError>(writes::finish(tx, written).await?)
        };
        run.await?.map_err(StoreError::Refused)
    }

    async fn delete_conversation(
        &self,
        id: &ConversationId,
        by: &UserId,
    ) -> StoreResult<Vec<UserId>> {
        let run = async {
            let mut tx = self.writer.begin().await?;
            let at = time::to_millis(time::now());
            let written = writes::delete_conversation::<SqliteDialect>(&mut tx, id, by, at).await?;
            Ok::<_, SqliteStoreError>(writes::finish(tx, written).await?)
        };
        run.await?.map_err(StoreError::Refused)
    }

    async fn bans(&self, id: &ConversationId) -> StoreResult<Vec<UserId>> {
        let mut reader = self.reader().await?;
        Ok(reads::bans::<SqliteDialect>(&mut reader, id)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn set_block(&self, by: &UserId, user: &UserId, blocked: bool) -> StoreResult<bool> {
        let run = async {
            let mut tx = self.writer.begin().await?;
            let at = time::to_millis(time::now());
            let changed =
                writes::set_block::<SqliteDialect>(&mut tx, by, user, blocked, at).await?;
            tx.commit().await?;
            Ok::<_, SqliteStoreError>(changed)
        };
        Ok(run.await?)
    }

    async fn blocked_by(&self, by: &UserId) -> StoreResult<Vec<UserId>> {
        let mut reader = self.reader().await?;
        Ok(reads::blocked_by::<SqliteDialect>(&mut reader, by)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn record_user(&self, profile: &Profile, at: Timestamp) -> StoreResult<()> {
        let run = async {
            let mut tx = self.writer.begin().await?;
            writes::record_user::<SqliteDialect>(&mut tx, profile, at).await?;
            tx.commit().await?;
            Ok::<_, SqliteStoreError>(())
        };
        Ok(run.await?)
    }

    async fn users(&self, query: &UserQuery) -> StoreResult<UserPage> {
        let mut reader = self.reader().await?;
        Ok(reads::users::<SqliteDialect>(&mut reader, query)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn profiles(&self, ids: &[UserId]) -> StoreResult<Vec<Profile>> {
        let mut reader = self.reader().await?;
        Ok(reads::profiles::<SqliteDialect>(&mut reader, ids)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn contacts(&self, user: &UserId) -> StoreResult<Vec<UserId>> {
        let mut reader = self.reader().await?;
        Ok(reads::contacts::<SqliteDialect>(&mut reader, user)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn set_preferences(
        &self,
        id: &ConversationId,
        user: &UserId,
        change: PreferencesChange,
    ) -> StoreResult<Option<Preferences>> {
        let run = async {
            let mut tx = self.writer.begin().await?;
            let written =
                writes::set_preferences::<SqliteDialect>(&mut tx, id, user, change).await?;
            Ok::<_, SqliteStoreError>(writes::finish(tx, written).await?)
        };
        Ok(run.await?.map_err(StoreError::Refused)?)
    }

    async fn read_marks(&self, id: &ConversationId) -> StoreResult<Vec<ReadMark>> {
        let mut reader = self.reader().await?;
        Ok(reads::read_marks::<SqliteDialect>(&mut reader, id)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn pins(&self, id: &ConversationId, viewer: &UserId) -> StoreResult<Vec<Message>> {
        let mut reader = self.reader().await?;
        Ok(reads::pins::<SqliteDialect>(&mut reader, id, viewer)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn search(&self, query: SearchQuery) -> StoreResult<SearchPage> {
        // Everything acknowledged before the search is found.
        self.search_index.catch_up().await?;
        let mut reader = self.reader().await?;
        Ok(reads::search::<SqliteDialect>(&mut reader, query)
            .await
            .map_err(SqliteStoreError::from)?)
    }

    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate> {
        Ok(self.mark_read_on_writer(id, user, seq).await?)
    }

    async fn preferences_of(
        &self,
        id: &ConversationId,
        users: &[UserId],
    ) -> StoreResult<Vec<(UserId, Preferences)>> {
        let mut connection = self.reader().await?;
        Ok(
            reads::preferences_of::<SqliteDialect>(&mut connection, id, users)
                .await
                .map_err(SqliteStoreError::from)?,
        )
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxEntry>> {
        let mut connection = self
            .writer
            .acquire()
            .await
            .map_err(SqliteStoreError::from)?;
        Ok(
            writes::claim_outbox::<SqliteDialect>(&mut connection, now, until, limit)
                .await
                .map_err(SqliteStoreError::from)?,
        )
    }

    async fn finish_outbox(&self, ids: &[MessageId]) -> StoreResult<()> {
        Ok(crate::outbox::finish(&self.append_connection, ids).await?)
    }

    async fn defer_outbox(
        &self,
        id: &MessageId,
        stage: OutboxStage,
        due: Timestamp,
    ) -> StoreResult<()> {
        let mut connection = self
            .writer
            .acquire()
            .await
            .map_err(SqliteStoreError::from)?;
        Ok(
            writes::defer_outbox::<SqliteDialect>(&mut connection, id, stage, due)
                .await
                .map_err(SqliteStoreError::from)?,
        )
    }
}
