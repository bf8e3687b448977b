//! Where a text is stored, for checking that deletes wipe it: the message
//! and edit columns. InnoDB's FULLTEXT index drops a deleted row's words
//! from search at once but keeps them on disk until `OPTIMIZE TABLE
//! chat_messages` runs with `innodb_optimize_fulltext_only=ON` (see
//! docs/timeline.md), so it is not probed here.

use chat_store_sql::probe;

use crate::dialect::MySqlDialect;
use crate::{MySqlStore, MySqlStoreError};

impl MySqlStore {
    /// Every `table.column` of [`probe::TEXT_COLUMNS`] with a row still
    /// containing `text`.
    ///
    /// # Errors
    /// When a query fails.
    pub async fn where_stored(&self, text: &str) -> Result<Vec<String>, MySqlStoreError> {
        let mut connection = self.pool().acquire().await?;
        Ok(probe::columns_holding::<MySqlDialect>(&mut connection, text).await?)
    }
}
