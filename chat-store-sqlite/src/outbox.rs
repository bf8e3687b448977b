//! Finished outbox rows deleted on the append connection (see
//! `chat_engine::outbox`): one hop to a blocking thread, one transaction,
//! one cached statement per row, in turn with the group commits on that
//! connection. Through sqlx's write pool the same deletes were a hop per
//! statement and a second writer waiting on the file's lock: they cost
//! more than the inserts (BENCHMARKS.md).

use std::sync::{Arc, PoisonError};

use chat_engine::MessageId;
use rusqlite::TransactionBehavior;

use crate::error::SqliteStoreError;
use crate::search_index::WriteConnection;

/// Deletes the outbox rows of `ids`.
pub(crate) async fn finish(
    connection: &WriteConnection,
    ids: &[MessageId],
) -> Result<(), SqliteStoreError> {
    let ids: Vec<String> = ids.iter().map(|id| id.as_str().to_owned()).collect();
    let connection = Arc::clone(connection);
    tokio::task::spawn_blocking(move || {
        let mut guard = connection.lock().unwrap_or_else(PoisonError::into_inner);
        let (connection, checkpointer) = &mut *guard;
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM chat_outbox WHERE message_id = ?1")?;
            for id in &ids {
                delete.execute([id])?;
            }
        }
        tx.commit()?;
        checkpointer.committed(connection);
        Ok(())
    })
    .await
    .map_err(|join| SqliteStoreError::WriterPanicked(join.to_string()))?
}
