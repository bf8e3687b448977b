//! Where a text is stored: the store conformance suite asks it to prove
//! that a delete leaves none of a message's text behind (its own columns
//! and its edits'). Search indexes are the backend's to check.

use sqlx::QueryBuilder;

use crate::dialect::{ConnectionOf, Dialect};
use crate::error::SqlError;

/// Every column that holds a message's text, as `table.column`.
pub const TEXT_COLUMNS: [&str; 4] = [
    "chat_messages.body",
    "chat_messages.content_payload",
    "chat_events.body",
    "chat_events.content_payload",
];

/// The [`TEXT_COLUMNS`] in which some row contains `text`.
///
/// # Errors
/// [`SqlError`].
pub async fn columns_holding<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    text: &str,
) -> Result<Vec<String>, SqlError> {
    let mut found = Vec::new();
    for place in TEXT_COLUMNS {
        let (table, column) = place.split_once('.').expect("table.column");
        let mut sql = QueryBuilder::new(format!("SELECT 1 FROM {table} WHERE INSTR({column}, "));
        D::push_text(&mut sql, text);
        sql.push(") > 0 LIMIT 1");
        if !D::fetch_all(&mut sql, connection).await?.is_empty() {
            found.push(place.to_owned());
        }
    }
    Ok(found)
}
