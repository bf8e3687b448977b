//! Group commit for appends, on a connection of its own. Concurrent
//! `append` calls queue in a [`Batcher`]; its task hands everything queued
//! (up to [`MAX_BATCH`]) to one blocking-pool thread, which writes it in a
//! single `BEGIN IMMEDIATE … COMMIT` through rusqlite with cached prepared
//! statements: the members of each conversation of the batch (senders who
//! are not members are refused), retries, seq reservations, the messages
//! (with their outbox rows), the senders' read marks.
//!
//! Why not sqlx here: sqlx runs each SQLite connection on a worker thread
//! and every statement is a round trip to it (60–80 µs on a loaded 2-vCPU
//! machine), so a batch of a few statements per append spent most of its
//! time waiting for wake-ups. Here a whole batch is one hop, and each
//! statement costs what SQLite costs (a few µs).
//!
//! Every caller is answered only after the commit, so an answer still means
//! "stored"; 64 concurrent senders cost a handful of commits, not 64.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chat_engine::group_commit::{
    BatchMembers, BatchPlan, Batcher, Referenced, RetryKey, Silenced, references, retry_key,
};
use chat_engine::{
    Appended, Content, ConversationId, Message, MessageId, NewMessageRecord, UserId, time,
};
use chat_store_sql::rows;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::checkpoint::Checkpointer;
use crate::error::SqliteStoreError;
use crate::members;
use crate::search_index::{SearchIndex, WriteConnection};

/// Most appends written in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// The queue in front of the writing connection.
pub(crate) type Writer = Batcher<Appended, SqliteStoreError>;

/// Opens the append connection on the database file at `path` with the
/// given `synchronous` level (the one the store's other connections use)
/// and starts the writing task; the connection is also the indexer's and
/// the outbox's deletes'.
pub(crate) fn start(
    path: &Path,
    synchronous: &str,
) -> Result<(Writer, SearchIndex, WriteConnection), SqliteStoreError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(5))?;
    connection.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = 0;"
    ))?;
    let checkpointer = Checkpointer::start(path)?;
    let connection: WriteConnection = Arc::new(Mutex::new((connection, checkpointer)));
    let index = SearchIndex::start(Arc::clone(&connection));
    let indexer = index.clone();
    let shared = Arc::clone(&connection);
    let writer = Batcher::start(MAX_BATCH, 1, move |records| {
        let connection = Arc::clone(&connection);
        let index = indexer.clone();
        async move {
            let count = records.len();
            let written = tokio::task::spawn_blocking(move || {
                let mut guard = connection.lock().unwrap_or_else(PoisonError::into_inner);
                let (connection, checkpointer) = &mut *guard;
                let answers = write(connection, &records)?;
                checkpointer.committed(connection);
                Ok::<_, SqliteStoreError>(answers)
            })
            .await;
            match written {
                Ok(Ok(answers)) => {
                    index.written();
                    answers
                }
                Ok(Err(error)) => every(count, error),
                Err(join) => every(count, SqliteStoreError::WriterPanicked(join.to_string())),
            }
        }
    });
    Ok((writer, index, shared))
}

/// The same failure for each of `count` appends.
fn every(count: usize, error: SqliteStoreError) -> Vec<Result<Appended, SqliteStoreError>> {
    let error = Arc::new(error);
    (0..count)
        .map(|_| Err(SqliteStoreError::Batch(Arc::clone(&error))))
        .collect()
}

fn write(
    connection: &mut Connection,
    records: &[NewMessageRecord],
) -> Result<Vec<Result<Appended, SqliteStoreError>>, SqliteStoreError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Membership is read inside the write transaction: a member removed a
    // moment ago is refused, and the answer names the recipients.
    let mut members = BatchMembers::new();
    let mut silenced = Silenced::new();
    for record in records {
        let id = &record.conversation_id;
        if !members.contains_key(id.as_str())
            && let Some(found) = members::read(&tx, id)?
        {
            for (user, refusal) in found.silenced {
                silenced.insert((id.as_str().to_owned(), user), refusal);
            }
            members.insert(id.as_str().to_owned(), found.members);
        }
    }
    let referenced = referenced(&tx, records)?;
    let retries = stored_retries(&tx, records)?;
    let mut plan = BatchPlan::new(records, members, &silenced, retries, &referenced);

    // Reserve each conversation's seqs.
    let mut latest: HashMap<&str, i64> = HashMap::new();
    for record in records {
        let at = latest.entry(record.conversation_id.as_str()).or_insert(0);
        *at = (*at).max(time::to_millis(record.created_at));
    }
    let mut first_seq: HashMap<String, u64> = HashMap::new();
    {
        let mut reserve = tx.prepare_cached(
            "UPDATE chat_conversations SET last_seq = last_seq + ?1, \
             last_activity_at = MAX(last_activity_at, ?2) WHERE id = ?3 RETURNING last_seq",
        )?;
        for (id, count) in plan.wanted() {
            let at = latest.get(id).copied().unwrap_or(0);
            let last: Option<i64> = reserve
                .query_row(params![rows::to_sql(*count), at, id], |row| row.get(0))
                .optional()?;
            if let Some(last) = last {
                first_seq.insert((*id).to_owned(), rows::from_sql(last) - count + 1);
            }
        }
    }
    plan.assign(&first_seq);

    // Store the messages (each numbered for the search index); raise their
    // senders' read marks; count thread replies on their roots; note mentions.
    {
        // Each message's number in the search index, which the indexer adds
        // it under later (search_index.rs): one past the newest, and past
        // what the indexer has reached, so a number freed by deleting a
        // group is never given again (the indexer would never add it).
        let mut text_rowid: i64 = tx
            .prepare_cached(
                "SELECT MAX((SELECT COALESCE(MAX(text_rowid), 0) FROM chat_messages), \
                            (SELECT indexed_upto FROM chat_search_progress))",
            )?
            .query_row([], |row| row.get(0))?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO chat_messages (conversation_id, seq, id, sender, body, client_id, created_at, \
                content_kind, content_payload, reply_to, thread_root, mentions, text_rowid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        let mut mention = tx.prepare_cached(
            "INSERT INTO chat_mentions (conversation_id, user_id, seq) VALUES (?1, ?2, ?3)",
        )?;
        let mut outbox = tx.prepare_cached(
            "INSERT INTO chat_outbox (message_id, conversation_id, due_at) VALUES (?1, ?2, ?3)",
        )?;
        for (record, seq) in plan.new_messages() {
            if let Some(due) = record.outbox_due {
                outbox.execute(params![
                    record.id.as_str(),
                    record.conversation_id.as_str(),
                    time::to_millis(due)
                ])?;
            }
            text_rowid += 1;
            insert.execute(params![
                record.conversation_id.as_str(),
                rows::to_sql(seq),
                record.id.as_str(),
                record.sender.as_str(),
                record.body,
                record.client_id,
                time::to_millis(record.created_at),
                record.content.as_ref().map(|content| content.kind.as_str()),
                record.content.as_ref().map(Content::payload_json),
                record.reply_to.map(rows::to_sql),
                record.thread_root.map(rows::to_sql),
                mentions_json(&record.mentions),
                text_rowid,
            ])?;
            for user in &record.mentions {
                mention.execute(params![
                    record.conversation_id.as_str(),
                    user.as_str(),
                    rows::to_sql(seq)
                ])?;
            }
        }
        let mut reply = tx.prepare_cached(
            "UPDATE chat_messages SET reply_count = reply_count + ?1, \
                last_reply_seq = MAX(COALESCE(last_reply_seq, 0), ?2), \
                updated_seq = MAX(updated_seq, ?2) \
             WHERE conversation_id = ?3 AND seq = ?4",
        )?;
        for ((conversation, root), replies) in plan.thread_replies() {
            reply.execute(params![
                rows::to_sql(replies.count),
                rows::to_sql(replies.last),
                conversation,
                rows::to_sql(root)
            ])?;
        }
        let mut listed = tx.prepare_cached(
            "UPDATE chat_conversations SET last_message_seq = MAX(last_message_seq, ?1) WHERE id = ?2",
        )?;
        for (conversation, seq) in plan.last_messages() {
            listed.execute(params![rows::to_sql(seq), conversation])?;
        }
        let mut raise = tx.prepare_cached(
            "UPDATE chat_members SET read_seq = ?1 \
             WHERE conversation_id = ?2 AND user_id = ?3 AND read_seq < ?1",
        )?;
        for ((conversation, sender), seq) in plan.read_marks() {
            raise.execute(params![rows::to_sql(seq), conversation, sender])?;
        }
    }
    tx.commit()?;
    Ok(plan.answers(SqliteStoreError::Refused))
}

/// The mentions column: a JSON array, or NULL for none.
fn mentions_json(mentions: &[UserId]) -> Option<String> {
    (!mentions.is_empty())
        .then(|| serde_json::to_string(mentions).expect("user ids always serialize"))
}

/// The messages the batch refers to, with their own thread roots.
fn referenced(
    tx: &rusqlite::Transaction<'_>,
    records: &[NewMessageRecord],
) -> Result<Referenced, rusqlite::Error> {
    let mut found = Referenced::new();
    let wanted = references(records);
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut find = tx.prepare_cached(
        "SELECT thread_root FROM chat_messages WHERE conversation_id = ?1 AND seq = ?2",
    )?;
    for (conversation, seq) in wanted {
        let root: Option<Option<i64>> = find
            .query_row(params![conversation, rows::to_sql(seq)], |row| row.get(0))
            .optional()?;
        if let Some(root) = root {
            found.insert((conversation.to_owned(), seq), root.map(rows::from_sql));
        }
    }
    Ok(found)
}

/// The stored messages of the batch's retried `(conversation, sender, client_id)`s.
fn stored_retries<'a>(
    tx: &rusqlite::Transaction<'_>,
    records: &'a [NewMessageRecord],
) -> Result<HashMap<RetryKey<'a>, Message>, rusqlite::Error> {
    let mut stored = HashMap::new();
    let keys: Vec<RetryKey<'a>> = records.iter().filter_map(retry_key).collect();
    if keys.is_empty() {
        return Ok(stored);
    }
    let mut find = tx.prepare_cached(
        "SELECT id, seq, body, created_at, content_kind, content_payload, reply_to, \
            thread_root, mentions, updated_seq, edited_at, deleted_at, reply_count, \
            last_reply_seq \
         FROM chat_messages WHERE conversation_id = ?1 AND sender = ?2 AND client_id = ?3",
    )?;
    for key @ (conversation, sender, client_id) in keys {
        let found = find
            .query_row(params![conversation, sender, client_id], |row| {
                let content: (Option<String>, Option<String>) = (row.get(4)?, row.get(5)?);
                let mentions: Option<String> = row.get(8)?;
                let seq = rows::from_sql(row.get(1)?);
                Ok(Message {
                    id: MessageId::new(row.get::<_, String>(0)?).map_err(decode_error)?,
                    conversation_id: ConversationId::new(conversation).map_err(decode_error)?,
                    seq,
                    sender: UserId::new(sender).map_err(decode_error)?,
                    body: row.get(2)?,
                    content: Content::from_columns(content.0, content.1.as_deref())
                        .map_err(decode_error)?,
                    client_id: Some(client_id.to_owned()),
                    created_at: time::from_millis(row.get(3)?),
                    reply_to: row.get::<_, Option<i64>>(6)?.map(rows::from_sql),
                    thread_root: row.get::<_, Option<i64>>(7)?.map(rows::from_sql),
                    mentions: mentions
                        .map(|json| serde_json::from_str(&json))
                        .transpose()
                        .map_err(|error| {
                            rusqlite::Error::FromSqlConversionFailure(
                                8,
                                rusqlite::types::Type::Text,
                                Box::new(error),
                            )
                        })?
                        .unwrap_or_default(),
                    updated_seq: rows::from_sql(row.get(9)?).max(seq),
                    edited_at: row.get::<_, Option<i64>>(10)?.map(time::from_millis),
                    deleted: row.get::<_, Option<i64>>(11)?.is_some(),
                    reactions: Vec::new(),
                    reply_count: rows::from_sql(row.get(12)?),
                    last_reply_seq: row.get::<_, Option<i64>>(13)?.map(rows::from_sql),
                })
            })
            .optional()?;
        if let Some(message) = found {
            stored.insert(key, message);
        }
    }
    Ok(stored)
}

fn decode_error(error: chat_engine::ChatError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(error))
}
