//! Decoding rows into domain values. Ids live in VARBINARY columns and come
//! back as bytes; `Seq` (`u64`) maps to `BIGINT` (`i64`).

use chat_core::{
    Content, Conversation, ConversationId, ConversationKind, Message, MessageId, Room, Seq, UserId,
    time,
};
use sqlx::Row;
use sqlx::mysql::MySqlRow;

use crate::error::MySqlStoreError;

/// A seq for a query. Seqs above `i64::MAX` cannot exist in the store, so
/// clamping keeps every comparison's meaning.
pub(crate) fn to_sql(seq: Seq) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// A seq (or count) read from the store, never negative there.
pub(crate) fn from_sql(seq: i64) -> Seq {
    Seq::try_from(seq).unwrap_or(0)
}

/// A UTF-8 string from a binary column.
pub(crate) fn text(
    row: &MySqlRow,
    index: usize,
    column: &'static str,
) -> Result<String, MySqlStoreError> {
    let bytes: Vec<u8> = row.try_get(index)?;
    String::from_utf8(bytes).map_err(|error| MySqlStoreError::Decode {
        column,
        reason: error.to_string(),
    })
}

fn id<T>(
    row: &MySqlRow,
    index: usize,
    column: &'static str,
    parse: fn(String) -> Result<T, chat_core::ChatError>,
) -> Result<T, MySqlStoreError> {
    parse(text(row, index, column)?).map_err(|error| MySqlStoreError::Decode {
        column,
        reason: error.to_string(),
    })
}

pub(crate) fn user(row: &MySqlRow, index: usize) -> Result<UserId, MySqlStoreError> {
    id(row, index, "user_id", UserId::new)
}

/// Decodes `id, conversation_id, seq, sender, body, client_id, created_at,
/// content_kind, content_payload`
/// starting at column `at`.
pub(crate) fn message(row: &MySqlRow, at: usize) -> Result<Message, MySqlStoreError> {
    let client_id: Option<Vec<u8>> = row.try_get(at + 5)?;
    let client_id = client_id
        .map(String::from_utf8)
        .transpose()
        .map_err(|error| MySqlStoreError::Decode {
            column: "client_id",
            reason: error.to_string(),
        })?;
    Ok(Message {
        id: id(row, at, "id", MessageId::new)?,
        conversation_id: id(row, at + 1, "conversation_id", ConversationId::new)?,
        seq: from_sql(row.try_get(at + 2)?),
        sender: id(row, at + 3, "sender", UserId::new)?,
        body: row.try_get(at + 4)?,
        client_id,
        created_at: time::from_millis(row.try_get(at + 6)?),
        content: Content::from_columns(row.try_get(at + 7)?, row.try_get(at + 8)?).map_err(
            |error| MySqlStoreError::Decode {
                column: "content_payload",
                reason: error.to_string(),
            },
        )?,
    })
}

/// Decodes `id, kind, title, created_by, created_at, last_seq` (from column
/// 0) and the column named `is_public`, with the given members.
pub(crate) fn conversation(
    row: &MySqlRow,
    members: Vec<UserId>,
) -> Result<Conversation, MySqlStoreError> {
    let kind = match row.try_get::<&str, _>(1)? {
        "direct" => ConversationKind::Direct,
        _ => ConversationKind::Group,
    };
    Ok(Conversation {
        id: id(row, 0, "id", ConversationId::new)?,
        kind,
        title: row.try_get(2)?,
        public: row.try_get("is_public")?,
        created_by: id(row, 3, "created_by", UserId::new)?,
        members,
        created_at: time::from_millis(row.try_get(4)?),
        last_seq: from_sql(row.try_get(5)?),
    })
}

/// Decodes `id, title, created_by, created_at, last_seq, member count,
/// joined` (from column 0) into a directory entry.
pub(crate) fn room(row: &MySqlRow) -> Result<Room, MySqlStoreError> {
    Ok(Room {
        id: id(row, 0, "id", ConversationId::new)?,
        title: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        created_by: id(row, 2, "created_by", UserId::new)?,
        created_at: time::from_millis(row.try_get(3)?),
        last_seq: from_sql(row.try_get(4)?),
        member_count: from_sql(row.try_get(5)?),
        joined: row.try_get::<i64, _>(6)? != 0,
    })
}
