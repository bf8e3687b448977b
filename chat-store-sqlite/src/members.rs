//! Membership reads on rusqlite: [`read`] runs inside the append writer's
//! transaction (every send), and [`MemberReader`] serves `Store::members`
//! (typing, read marks, membership changes) from connections of its own.
//! Through sqlx each row of the answer is a hand-off from the connection's
//! worker thread (a 64-member group cost 64 wake-ups); here the whole read
//! is one trip to a blocking-pool thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chat_engine::{ConversationId, Refusal, UserId};
use chat_store_sql::rows;
use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteStoreError;

/// Idle connections kept for reuse; more are opened under load and closed after.
const KEPT: usize = 4;

/// A small pool of read-only rusqlite connections.
#[derive(Debug, Clone)]
pub(crate) struct MemberReader {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl MemberReader {
    /// Reads the database at `path`; connections are opened on first use.
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: Arc::new(path.to_owned()),
            idle: Arc::default(),
        }
    }

    /// The sorted members of `id`; `None` when the conversation does not exist.
    pub(crate) async fn members(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Vec<UserId>>, SqliteStoreError> {
        let (reader, id) = (self.clone(), id.clone());
        tokio::task::spawn_blocking(move || reader.members_blocking(&id))
            .await
            .map_err(|join| SqliteStoreError::WriterPanicked(join.to_string()))?
    }

    fn members_blocking(
        &self,
        id: &ConversationId,
    ) -> Result<Option<Vec<UserId>>, SqliteStoreError> {
        let connection = self.take()?;
        let result = read(&connection, id).map(|found| found.map(|roll| roll.members));
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < KEPT {
            idle.push(connection);
        }
        result
    }

    fn take(&self) -> Result<Connection, rusqlite::Error> {
        if let Some(connection) = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
        {
            return Ok(connection);
        }
        let connection = Connection::open_with_flags(
            &*self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        Ok(connection)
    }
}

/// A conversation's members, and those of them who may not write.
#[derive(Debug, Default)]
pub(crate) struct Roll {
    /// Sorted.
    pub(crate) members: Vec<UserId>,
    /// Muted or blocked members, with why.
    pub(crate) silenced: Vec<(UserId, Refusal)>,
}

/// The sorted members of `id` on `connection` (a plain read, or inside the
/// append writer's transaction); `None` when the conversation does not
/// exist (or was deleted).
pub(crate) fn read(
    connection: &Connection,
    id: &ConversationId,
) -> Result<Option<Roll>, SqliteStoreError> {
    let mut query = connection.prepare_cached(
        "SELECT m.user_id, m.silenced FROM chat_conversations c \
         LEFT JOIN chat_members m ON m.conversation_id = c.id \
         WHERE c.id = ?1 AND c.deleted_at IS NULL ORDER BY m.user_id",
    )?;
    let mut rows = query.query([id.as_str()])?;
    let mut found = false;
    let mut roll = Roll::default();
    while let Some(row) = rows.next()? {
        found = true;
        if let Some(user) = row.get::<_, Option<String>>(0)? {
            let user = UserId::new(user).map_err(|source| SqliteStoreError::Decode {
                column: "user_id",
                source,
            })?;
            if let Some(refusal) = rows::silence(row.get(1)?) {
                roll.silenced.push((user.clone(), refusal));
            }
            roll.members.push(user);
        }
    }
    Ok(found.then_some(roll))
}
