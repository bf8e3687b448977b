//! The reads of a batch, inside its transaction: the locking read that
//! starts it (conversations, last seqs, members), and, when the batch
//! needs them, the messages it refers to and its stored retries.

use std::collections::{BTreeSet, HashMap};

use chat_engine::group_commit::{
    BatchMembers, Referenced, RetryKey, Silenced, references, retry_key,
};
use chat_engine::{Message, NewMessageRecord};
use chat_store_sql::rows;
use sqlx::mysql::MySqlRow;
use sqlx::{MySql, MySqlConnection, QueryBuilder, Row};

use crate::dialect::MySqlDialect;
use crate::error::MySqlStoreError;

/// What the batch's locking read found.
pub(crate) struct Locked {
    /// The first new seq of each conversation that exists.
    pub(crate) first_seq: HashMap<String, u64>,
    pub(crate) members: BatchMembers,
    pub(crate) silenced: Silenced,
}

/// Step 1 of a batch (`writer.rs`): locks the batch's conversations and their members' rows (a
/// removal waits for this batch, and a member removed before it is
/// refused) and reads both, in one statement. The first statement of the
/// transaction (the writers' connections do not autocommit).
pub(crate) async fn lock(
    tx: &mut MySqlConnection,
    records: &[NewMessageRecord],
) -> Result<Locked, MySqlStoreError> {
    let ids: BTreeSet<&str> = records
        .iter()
        .map(|record| record.conversation_id.as_str())
        .collect();
    let mut lock: QueryBuilder<'_, MySql> = QueryBuilder::new(
        "SELECT c.id, c.last_seq, m.user_id, m.silenced FROM chat_conversations c \
         LEFT JOIN chat_members m ON m.conversation_id = c.id \
         WHERE c.deleted_at IS NULL AND c.id IN (",
    );
    let mut separated = lock.separated(", ");
    for id in &ids {
        separated.push_bind(*id);
    }
    lock.push(") ORDER BY c.id, m.user_id FOR UPDATE");
    let mut locked = Locked {
        first_seq: HashMap::new(),
        members: BatchMembers::new(),
        silenced: Silenced::new(),
    };
    for row in lock.build().fetch_all(&mut *tx).await? {
        let id = rows::conversation_id::<MySqlDialect>(&row, 0)?;
        // Rows come by conversation: its first one gives its last seq.
        if !locked.members.contains_key(id.as_str()) {
            let last: i64 = row.try_get(1)?;
            locked
                .first_seq
                .insert(id.as_str().to_owned(), rows::from_sql(last) + 1);
            locked.members.insert(id.as_str().to_owned(), Vec::new());
        }
        if let Some(user) = rows::optional_user::<MySqlDialect>(&row, 2)? {
            let code: Option<i8> = row.try_get(3)?;
            if let Some(refusal) = rows::silence(code.unwrap_or_default().into()) {
                locked
                    .silenced
                    .insert((id.as_str().to_owned(), user.clone()), refusal);
            }
            if let Some(list) = locked.members.get_mut(id.as_str()) {
                list.push(user);
            }
        }
    }
    Ok(locked)
}

/// The messages the batch refers to, with their own thread roots.
pub(crate) async fn referenced(
    tx: &mut MySqlConnection,
    records: &[NewMessageRecord],
) -> Result<Referenced, MySqlStoreError> {
    let mut found = Referenced::new();
    let wanted = references(records);
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut query: QueryBuilder<'_, MySql> =
        QueryBuilder::new("SELECT conversation_id, seq, thread_root FROM chat_messages WHERE ");
    for (index, (conversation, seq)) in wanted.iter().enumerate() {
        if index > 0 {
            query.push(" OR ");
        }
        query
            .push("(conversation_id = ")
            .push_bind(*conversation)
            .push(" AND seq = ")
            .push_bind(rows::to_sql(*seq))
            .push(")");
    }
    for row in query.build().fetch_all(&mut *tx).await? {
        let conversation = rows::conversation_id::<MySqlDialect>(&row, 0)?;
        let root: Option<i64> = row.try_get(2)?;
        found.insert(
            (
                conversation.as_str().to_owned(),
                rows::from_sql(row.try_get(1)?),
            ),
            root.map(rows::from_sql),
        );
    }
    Ok(found)
}

/// The stored messages of the batch's retried `(conversation, sender, client_id)`s.
pub(crate) async fn stored_retries<'a>(
    tx: &mut MySqlConnection,
    records: &'a [NewMessageRecord],
) -> Result<HashMap<RetryKey<'a>, Message>, MySqlStoreError> {
    let keys: Vec<RetryKey<'a>> = records.iter().filter_map(retry_key).collect();
    let mut stored = HashMap::new();
    if keys.is_empty() {
        return Ok(stored);
    }
    let mut query: QueryBuilder<'_, MySql> = QueryBuilder::new(format!(
        "SELECT {} FROM chat_messages m WHERE ",
        rows::message_columns("m")
    ));
    for (index, (conversation, sender, client_id)) in keys.iter().enumerate() {
        if index > 0 {
            query.push(" OR ");
        }
        query
            .push("(conversation_id = ")
            .push_bind(*conversation)
            .push(" AND sender = ")
            .push_bind(*sender)
            .push(" AND client_id = ")
            .push_bind(*client_id)
            .push(")");
    }
    let rows: Vec<MySqlRow> = query.build().fetch_all(&mut *tx).await?;
    for row in &rows {
        let message = rows::message::<MySqlDialect>(row, 0)?;
        if let Some(key) = keys.iter().find(|(conversation, sender, client_id)| {
            *conversation == message.conversation_id.as_str()
                && *sender == message.sender.as_str()
                && Some(*client_id) == message.client_id.as_deref()
        }) {
            stored.insert(*key, message);
        }
    }
    Ok(stored)
}
