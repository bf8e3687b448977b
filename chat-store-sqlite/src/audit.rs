//! Where a text is stored, for checking that deletes wipe it: the message
//! and edit columns, and the words of the full-text index (contentless with
//! `secure-delete`, so a deleted message's words leave it at once).

use chat_store_sql::probe;

use crate::dialect::SqliteDialect;
use crate::{SqliteStore, SqliteStoreError};

/// The index's words, one row per distinct word (`fts5vocab` lives in the
/// connection's temp schema, so each connection creates it once).
const VOCABULARY: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS temp.message_words USING fts5vocab(main, chat_message_text, row)";

impl SqliteStore {
    /// Every place still holding `text`: the `table.column`s of
    /// [`probe::TEXT_COLUMNS`] with a row containing it, and
    /// `chat_message_text` when the search index has it as a word (`text`
    /// being one lower-case word then).
    ///
    /// # Errors
    /// When a query fails.
    pub async fn where_stored(&self, text: &str) -> Result<Vec<String>, SqliteStoreError> {
        let mut connection = self.pool().acquire().await?;
        let mut found = probe::columns_holding::<SqliteDialect>(&mut connection, text).await?;
        sqlx::query(VOCABULARY).execute(&mut *connection).await?;
        let indexed: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM temp.message_words WHERE term = ?")
                .bind(text)
                .fetch_optional(&mut *connection)
                .await?;
        if indexed.is_some() {
            found.push("chat_message_text".to_owned());
        }
        Ok(found)
    }
}
