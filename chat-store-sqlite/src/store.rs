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
use chat_core::{
    Appended, Conversation, ConversationId, ConversationSummary, Cursor, HistoryQuery, Message,
    MessageId, NewDirect, NewGroup, NewMessageRecord, Page, ReadMarkUpdate, Refusal, RoomPage,
    RoomQuery, Seq, Store, StoreError, StoreResult, Timestamp, UserId, time,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::error::SqliteStoreError;
use crate::members::MemberReader;
use crate::rows;
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
        migrations().run(&writer).await?;
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&writer)
            .await?;
        let appends = writer::start(options.get_filename(), &synchronous.to_string())?;
        Ok(Self {
            writer,
            reader,
            appends,
            member_reader: MemberReader::new(options.get_filename()),
            _temporary: temporary,
        })
    }

    /// Applies the embedded migrations (idempotent; [`SqliteStore::connect`] does it).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> Result<(), SqliteStoreError> {
        migrations().run(&self.writer).await?;
        Ok(())
    }

    /// The write pool (one connection), for the host's own queries.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }

    async fn members_of(
        connection: &mut SqliteConnection,
        id: &str,
    ) -> Result<Vec<UserId>, SqliteStoreError> {
        let rows =
            sqlx::query("SELECT user_id FROM members WHERE conversation_id = ? ORDER BY user_id")
                .bind(id)
                .fetch_all(&mut *connection)
                .await?;
        rows.iter().map(|row| rows::user(row, 0)).collect()
    }

    async fn load_conversation(
        connection: &mut SqliteConnection,
        id: &str,
    ) -> Result<Option<Conversation>, SqliteStoreError> {
        let row = sqlx::query(
            "SELECT id, kind, title, created_by, created_at, last_seq, is_public \
             FROM conversations WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *connection)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let members = Self::members_of(connection, id).await?;
        rows::conversation(&row, members).map(Some)
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
            "UPDATE members SET read_seq = MIN(?, (SELECT last_seq FROM conversations WHERE id = ?)) \
             WHERE conversation_id = ? AND user_id = ? \
                AND read_seq < MIN(?, (SELECT last_seq FROM conversations WHERE id = ?)) \
             RETURNING read_seq",
        )
        .bind(rows::to_sql(seq))
        .bind(id.as_str())
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(rows::to_sql(seq))
        .bind(id.as_str())
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(raised) = raised {
            return Ok(ReadMarkUpdate {
                seq: rows::from_sql(raised),
                moved: true,
            });
        }
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT read_seq FROM members WHERE conversation_id = ? AND user_id = ?",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .fetch_optional(&mut *connection)
        .await?;
        Ok(ReadMarkUpdate {
            seq: stored.map_or(0, rows::from_sql),
            moved: false,
        })
    }

    async fn summaries(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>, SqliteStoreError> {
        let mut connection = self.reader.acquire().await?;
        let rows = sqlx::query(
            "SELECT c.id, c.kind, c.title, c.created_by, c.created_at, c.last_seq, m.read_seq, \
                (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = c.id \
                    AND x.seq > m.read_seq AND x.sender <> m.user_id), \
                l.id, l.conversation_id, l.seq, l.sender, l.body, l.client_id, l.created_at, l.content_kind, l.content_payload, c.is_public AS is_public \
             FROM members m \
             JOIN conversations c ON c.id = m.conversation_id \
             LEFT JOIN messages l ON l.conversation_id = c.id AND l.seq = c.last_seq \
             WHERE m.user_id = ? \
             ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?",
        )
        .bind(user.as_str())
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut members = members_by_conversation(&mut connection, &rows).await?;
        rows.iter()
            .map(|row| {
                let id: &str = row.try_get(0)?;
                let conversation = rows::conversation(row, members.remove(id).unwrap_or_default())?;
                let has_last: Option<&str> = row.try_get(8)?;
                Ok(ConversationSummary {
                    conversation,
                    last_message: has_last.map(|_| rows::message(row, 8)).transpose()?,
                    read_seq: rows::from_sql(row.try_get(6)?),
                    unread: rows::from_sql(row.try_get(7)?),
                })
            })
            .collect()
    }

    async fn room_page(&self, query: RoomQuery) -> Result<RoomPage, SqliteStoreError> {
        // Built per request, so the planner sees `c.id < ?` itself and walks
        // the (is_public, id) index from `before`, however deep the page.
        let mut sql: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
            "SELECT c.id, c.title, c.created_by, c.created_at, c.last_seq, \
                (SELECT COUNT(*) FROM members n WHERE n.conversation_id = c.id), \
                EXISTS (SELECT 1 FROM members j WHERE j.conversation_id = c.id AND j.user_id = ",
        );
        sql.push_bind(query.viewer.as_str());
        sql.push(") FROM conversations c WHERE c.is_public = 1");
        if let Some(before) = &query.before {
            sql.push(" AND c.id < ").push_bind(before.as_str());
        }
        if let Some(search) = &query.search {
            sql.push(" AND instr(lower(c.title), lower(")
                .push_bind(search.as_str());
            sql.push(")) > 0");
        }
        // One row more than asked tells whether there is more.
        sql.push(" ORDER BY c.id DESC LIMIT ")
            .push_bind(i64::from(query.limit) + 1);
        let rows = sql.build().fetch_all(&self.reader).await?;
        let rooms = rows.iter().map(rows::room).collect::<Result<_, _>>()?;
        Ok(RoomPage::from_overfetch(rooms, query.limit))
    }

    async fn history_inner(
        &self,
        id: &ConversationId,
        query: HistoryQuery,
    ) -> Result<Page, SqliteStoreError> {
        let (sql, bound, ascending) = match query.cursor {
            Cursor::Latest => (HISTORY_LATEST, None, false),
            Cursor::Before(seq) => (HISTORY_BEFORE, Some(seq), false),
            Cursor::After(seq) => (HISTORY_AFTER, Some(seq), true),
        };
        let mut statement = sqlx::query(sql).bind(id.as_str());
        if let Some(seq) = bound {
            statement = statement.bind(rows::to_sql(seq));
        }
        // One row more than asked tells whether there is more.
        let rows = statement
            .bind(i64::from(query.limit) + 1)
            .fetch_all(&self.reader)
            .await?;
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let has_more = rows.len() > limit;
        let mut messages = rows
            .iter()
            .take(limit)
            .map(|row| rows::message(row, 0))
            .collect::<Result<Vec<_>, _>>()?;
        if !ascending {
            messages.reverse();
        }
        Ok(Page { messages, has_more })
    }
}

const HISTORY_LATEST: &str = "SELECT id, conversation_id, seq, sender, body, client_id, created_at, content_kind, content_payload \
     FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?";
const HISTORY_BEFORE: &str = "SELECT id, conversation_id, seq, sender, body, client_id, created_at, content_kind, content_payload \
     FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?";
const HISTORY_AFTER: &str = "SELECT id, conversation_id, seq, sender, body, client_id, created_at, content_kind, content_payload \
     FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?";

/// Whether `options` name an in-memory database: `:memory:` as given, or the
/// name sqlx gives `sqlite::memory:` (`file:sqlx-in-memory-N`).
fn is_in_memory(options: &SqliteConnectOptions) -> bool {
    let name = options.get_filename().to_string_lossy();
    name == ":memory:" || name.starts_with("file:sqlx-in-memory-")
}

/// The embedded migrations of this store, for hosts that run them themselves.
#[must_use]
pub fn migrations() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations")
}

/// The sorted members of every conversation in `rows` (column 0 is its id).
async fn members_by_conversation(
    connection: &mut SqliteConnection,
    rows: &[SqliteRow],
) -> Result<std::collections::HashMap<String, Vec<UserId>>, SqliteStoreError> {
    let mut query: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT conversation_id, user_id FROM members WHERE conversation_id IN (",
    );
    let mut ids = query.separated(", ");
    for row in rows {
        ids.push_bind(row.try_get::<String, _>(0)?);
    }
    query.push(") ORDER BY conversation_id, user_id");
    let mut members: std::collections::HashMap<String, Vec<UserId>> =
        std::collections::HashMap::new();
    for row in query.build().fetch_all(&mut *connection).await? {
        let conversation: String = row.try_get(0)?;
        members
            .entry(conversation)
            .or_default()
            .push(rows::user(&row, 1)?);
    }
    Ok(members)
}

async fn insert_member(
    connection: &mut SqliteConnection,
    id: &str,
    user: &UserId,
    read_seq: i64,
    at: Timestamp,
) -> Result<bool, SqliteStoreError> {
    let result = sqlx::query(
        "INSERT OR IGNORE INTO members (conversation_id, user_id, read_seq, joined_at) \
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
                "INSERT INTO conversations \
                 (id, kind, title, created_by, direct_key, created_at, last_seq, last_activity_at, is_public) \
                 VALUES (?, 'group', ?, ?, NULL, ?, 0, ?, ?)",
            )
            .bind(group.id.as_str())
            .bind(&group.title)
            .bind(group.created_by.as_str())
            .bind(time::to_millis(group.created_at))
            .bind(time::to_millis(group.created_at))
            .bind(group.public)
            .execute(&mut *tx)
            .await?;
            for member in &group.members {
                insert_member(&mut tx, group.id.as_str(), member, 0, group.created_at).await?;
            }
            tx.commit().await?;
            Ok::<_, SqliteStoreError>(Conversation {
                id: group.id,
                kind: chat_core::ConversationKind::Group,
                title: Some(group.title),
                public: group.public,
                created_by: group.created_by,
                members: group.members,
                created_at: group.created_at,
                last_seq: 0,
            })
        };
        Ok(run.await?)
    }

    async fn open_direct(&self, direct: NewDirect) -> StoreResult<Conversation> {
        let run = async {
            let key = direct.pair.key();
            let mut tx = self.writer.begin().await?;
            let created = sqlx::query(
                "INSERT INTO conversations \
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
            if created {
                for member in direct.pair.users() {
                    insert_member(&mut tx, direct.id.as_str(), member, 0, direct.created_at)
                        .await?;
                }
            }
            let id: String =
                sqlx::query_scalar("SELECT id FROM conversations WHERE direct_key = ?")
                    .bind(&key)
                    .fetch_one(&mut *tx)
                    .await?;
            let conversation = Self::load_conversation(&mut tx, &id).await?;
            tx.commit().await?;
            conversation.ok_or(SqliteStoreError::Sqlx(sqlx::Error::RowNotFound))
        };
        Ok(run.await?)
    }

    async fn conversation(&self, id: &ConversationId) -> StoreResult<Option<Conversation>> {
        let run = async {
            let mut tx = self.reader.begin().await?;
            let conversation = Self::load_conversation(&mut tx, id.as_str()).await?;
            tx.commit().await?;
            Ok::<_, SqliteStoreError>(conversation)
        };
        Ok(run.await?)
    }

    async fn members(&self, id: &ConversationId) -> StoreResult<Option<Vec<UserId>>> {
        Ok(self.member_reader.members(id).await?)
    }

    async fn is_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?")
                .bind(id.as_str())
                .bind(user.as_str())
                .fetch_optional(&self.reader)
                .await
                .map_err(SqliteStoreError::from)?;
        Ok(found.is_some())
    }

    async fn add_member(
        &self,
        id: &ConversationId,
        user: &UserId,
        at: Timestamp,
        max_members: usize,
    ) -> StoreResult<bool> {
        // One statement, so the count and the insert are one write
        // transaction: concurrent adds cannot both see room for one more.
        let result = sqlx::query(
            "INSERT OR IGNORE INTO members (conversation_id, user_id, read_seq, joined_at) \
             SELECT id, ?, last_seq, ? FROM conversations WHERE id = ? \
                AND (SELECT COUNT(*) FROM members WHERE conversation_id = ?) < ?",
        )
        .bind(user.as_str())
        .bind(time::to_millis(at))
        .bind(id.as_str())
        .bind(id.as_str())
        .bind(i64::try_from(max_members).unwrap_or(i64::MAX))
        .execute(&self.writer)
        .await
        .map_err(SqliteStoreError::from)?;
        if result.rows_affected() == 1 {
            return Ok(true);
        }
        // Nothing added: already a member, no such conversation, or full.
        // Asked on the writer, behind which every membership change queues.
        let (member, exists): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM members WHERE conversation_id = ? AND user_id = ?), \
                EXISTS (SELECT 1 FROM conversations WHERE id = ?)",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(id.as_str())
        .fetch_one(&self.writer)
        .await
        .map_err(SqliteStoreError::from)?;
        if member || !exists {
            return Ok(false);
        }
        Err(StoreError::Refused(Refusal::Full))
    }

    async fn remove_member(&self, id: &ConversationId, user: &UserId) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM members WHERE conversation_id = ? AND user_id = ?")
            .bind(id.as_str())
            .bind(user.as_str())
            .execute(&self.writer)
            .await
            .map_err(SqliteStoreError::from)?;
        Ok(result.rows_affected() == 1)
    }

    async fn conversations_of(
        &self,
        user: &UserId,
        limit: u32,
    ) -> StoreResult<Vec<ConversationSummary>> {
        Ok(self.summaries(user, limit).await?)
    }

    async fn rooms(&self, query: RoomQuery) -> StoreResult<RoomPage> {
        Ok(self.room_page(query).await?)
    }

    async fn append(&self, message: NewMessageRecord) -> StoreResult<Appended> {
        let closed = || SqliteStoreError::Sqlx(sqlx::Error::PoolClosed);
        Ok(self.appends.submit(message).await.ok_or_else(closed)??)
    }

    async fn message(&self, id: &MessageId) -> StoreResult<Option<Message>> {
        let row = sqlx::query(
            "SELECT id, conversation_id, seq, sender, body, client_id, created_at, content_kind, content_payload \
             FROM messages WHERE id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(SqliteStoreError::from)?;
        Ok(row.map(|row| rows::message(&row, 0)).transpose()?)
    }

    async fn history(&self, id: &ConversationId, query: HistoryQuery) -> StoreResult<Page> {
        Ok(self.history_inner(id, query).await?)
    }

    async fn mark_read(
        &self,
        id: &ConversationId,
        user: &UserId,
        seq: Seq,
    ) -> StoreResult<ReadMarkUpdate> {
        Ok(self.mark_read_on_writer(id, user, seq).await?)
    }
}
