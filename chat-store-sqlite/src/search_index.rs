//! The full-text index, built off the send path. Adding a message to FTS5
//! writes a new index segment at every commit, which made a send about
//! 1.5× slower when every group commit did it. Appends now only number each
//! message (`text_rowid`); this indexer adds what was appended since its
//! last round, in one transaction for all of them, on the append
//! connection (shared under its mutex, so the two never wait on SQLite's
//! busy handler): a round at most [`INDEX_DELAY`] after a commit, and one
//! before every search, so a search sees every message acknowledged before
//! it began.
//!
//! `chat_search_progress.indexed_upto` says how far the index reaches. An edit
//! or delete of a message beyond it leaves the index alone (the round that
//! adds the message reads its current text, and skips a deleted one); see
//! `SqliteDialect::reindex`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::mpsc;

use crate::checkpoint::Checkpointer;
use crate::error::SqliteStoreError;

/// How long after a commit the index catches up, at most: a round indexes
/// everything appended meanwhile, so under load rounds stay this far apart.
pub(crate) const INDEX_DELAY: Duration = Duration::from_millis(50);

/// The append connection and its checkpointer, shared by the appends and
/// the indexer.
pub(crate) type WriteConnection = Arc<Mutex<(Connection, Checkpointer)>>;

/// The handle the store and its writer hold on the indexer.
#[derive(Debug, Clone)]
pub(crate) struct SearchIndex {
    connection: WriteConnection,
    due: mpsc::Sender<()>,
}

impl SearchIndex {
    /// Starts the indexing task on `connection`; it ends when the last
    /// handle is dropped. Its first round indexes what an earlier process
    /// appended and did not index.
    pub(crate) fn start(connection: WriteConnection) -> Self {
        let (due, mut rounds) = mpsc::channel::<()>(1);
        let index = Self { connection, due };
        let worker = index.connection.clone();
        tokio::spawn(async move {
            while rounds.recv().await.is_some() {
                tokio::time::sleep(INDEX_DELAY).await;
                if let Err(error) = round(worker.clone()).await {
                    tracing::warn!(%error, "search indexing failed; the next round will retry");
                }
            }
        });
        index.written();
        index
    }

    /// Appends were committed: index them soon (one round for all that
    /// come meanwhile).
    pub(crate) fn written(&self) {
        let _ = self.due.try_send(());
    }

    /// Indexes everything committed so far, now.
    pub(crate) async fn catch_up(&self) -> Result<(), SqliteStoreError> {
        round(self.connection.clone()).await
    }
}

async fn round(connection: WriteConnection) -> Result<(), SqliteStoreError> {
    tokio::task::spawn_blocking(move || {
        let mut guard = connection.lock().unwrap_or_else(PoisonError::into_inner);
        let (connection, checkpointer) = &mut *guard;
        if index_pending(connection)? {
            checkpointer.committed(connection);
        }
        Ok(())
    })
    .await
    .map_err(|join| SqliteStoreError::WriterPanicked(join.to_string()))?
}

/// Adds every message past `indexed_upto` (deleted ones skipped) to the
/// index and moves the mark past them; whether there was anything to do.
fn index_pending(connection: &mut Connection) -> Result<bool, rusqlite::Error> {
    let (upto, last): (i64, i64) = connection
        .prepare_cached(
            "SELECT indexed_upto, (SELECT COALESCE(MAX(text_rowid), 0) FROM chat_messages) \
             FROM chat_search_progress",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    if last <= upto {
        return Ok(false);
    }
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut pending = tx.prepare_cached(
            "SELECT text_rowid, body FROM chat_messages \
             WHERE text_rowid > ?1 AND deleted_at IS NULL ORDER BY text_rowid",
        )?;
        let mut add =
            tx.prepare_cached("INSERT INTO chat_message_text (rowid, body) VALUES (?1, ?2)")?;
        let mut rows = pending.query(params![upto])?;
        while let Some(row) = rows.next()? {
            add.execute(params![row.get::<_, i64>(0)?, row.get::<_, String>(1)?])?;
        }
        tx.prepare_cached(
            "UPDATE chat_search_progress SET indexed_upto = \
             (SELECT COALESCE(MAX(text_rowid), 0) FROM chat_messages)",
        )?
        .execute([])?;
    }
    tx.commit()?;
    Ok(true)
}
