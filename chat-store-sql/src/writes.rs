//! The timeline's changes besides messages (edits, deletes, reactions,
//! membership, renames, pins), written once for every SQL backend. The
//! store begins the transaction, calls [`change`], and commits only what it
//! returns as done; everything else is rolled back, the reserved seq
//! included.
//!
//! The first statement takes the next seq of the conversation with an
//! `UPDATE`: a write lock on the conversation's row from the start (on
//! SQLite the whole database's, which a transaction must take before it
//! reads, since it cannot upgrade a read lock under another writer), so
//! every check after it is true until the commit, and two changes of one
//! conversation never share a seq.

use chat_core::{
    Change, Changed, Content, ConversationId, NewChange, Outcome, Refusal, TimelineEvent, UserId,
    time,
};
use sqlx::QueryBuilder;

use crate::dialect::{ConnectionOf, Dialect};
use crate::error::SqlError;
use crate::reads;
use crate::rows::{self, event_columns};

/// What [`change`] did: commit it, or roll back (a refusal, a repeat or a
/// change with nothing to do writes nothing).
#[derive(Debug)]
pub enum Written {
    /// Commit: the change is made.
    Commit(Changed),
    /// Roll back, and answer this.
    RollBack(Result<Changed, Refusal>),
}

/// Makes `change` in the open transaction on `connection` (see the module
/// docs for what to do with the result).
///
/// # Errors
/// [`SqlError`].
pub async fn change<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
) -> Result<Written, SqlError> {
    let id = &change.conversation_id;
    let Some(seq) = reserve_seq::<D>(connection, id).await? else {
        return Ok(Written::RollBack(Err(Refusal::UnknownConversation)));
    };
    let members = reads::members::<D>(connection, id)
        .await?
        .unwrap_or_default();
    let is_member = |user: &UserId| members.binary_search(user).is_ok();
    if !matches!(change.change, Change::MemberAdded { .. }) && !is_member(&change.by) {
        return Ok(Written::RollBack(Err(Refusal::NotAMember)));
    }
    if let Some(client_id) = &change.client_id
        && let Some(stored) = stored_event::<D>(connection, id, &change.by, client_id).await?
    {
        if !change.change.may_retry(&stored.change) {
            return Ok(Written::RollBack(Err(Refusal::ClientIdReused)));
        }
        let changed = Changed {
            outcome: Outcome::Repeated(stored),
            members,
        };
        return Ok(Written::RollBack(Ok(changed)));
    }
    if let Some(message_seq) = change.change.message_seq() {
        let Some(message) = message_state::<D>(connection, id, message_seq).await? else {
            return Ok(Written::RollBack(Err(Refusal::UnknownMessage)));
        };
        if message.deleted {
            return Ok(Written::RollBack(Err(Refusal::MessageDeleted)));
        }
        let by_sender = message.sender == change.by;
        if matches!(
            change.change,
            Change::Edited { .. } | Change::Deleted { .. }
        ) && !by_sender
        {
            return Ok(Written::RollBack(Err(Refusal::NotTheSender)));
        }
    }
    match apply::<D>(connection, change, seq, &members).await? {
        Err(refusal) => return Ok(Written::RollBack(Err(refusal))),
        Ok(false) => {
            let changed = Changed {
                outcome: Outcome::Unchanged,
                members,
            };
            return Ok(Written::RollBack(Ok(changed)));
        }
        Ok(true) => {}
    }
    insert_event::<D>(connection, change, seq).await?;
    // The recipients: members after the change, a removed member still
    // among them (they hear that they left).
    let mut recipients = reads::members::<D>(connection, id)
        .await?
        .unwrap_or_default();
    if let Change::MemberRemoved { user_id } = &change.change
        && let Err(at) = recipients.binary_search(user_id)
    {
        recipients.insert(at, user_id.clone());
    }
    let event = TimelineEvent {
        conversation_id: id.clone(),
        seq: rows::from_sql(seq),
        by: change.by.clone(),
        at: change.at,
        client_id: change.client_id.clone(),
        change: change.change.clone(),
    };
    Ok(Written::Commit(Changed {
        outcome: Outcome::Applied(event),
        members: recipients,
    }))
}

/// Takes the conversation's next seq (and its row's write lock).
async fn reserve_seq<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Option<i64>, SqlError> {
    let mut sql = QueryBuilder::new("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ");
    D::push_text(&mut sql, id.as_str());
    if D::execute(&mut sql, connection).await? == 0 {
        return Ok(None);
    }
    let mut sql = QueryBuilder::new("SELECT last_seq FROM conversations WHERE id = ");
    D::push_text(&mut sql, id.as_str());
    let row = D::fetch_optional(&mut sql, connection).await?;
    row.map(|row| rows::integer::<D>(&row, 0, "last_seq"))
        .transpose()
}

async fn stored_event<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    by: &UserId,
    client_id: &str,
) -> Result<Option<TimelineEvent>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM events e WHERE e.conversation_id = ",
        event_columns("e")
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND e.actor = ");
    D::push_text(&mut sql, by.as_str());
    sql.push(" AND e.client_id = ");
    D::push_text(&mut sql, client_id);
    D::fetch_optional(&mut sql, connection)
        .await?
        .map(|row| rows::event::<D>(&row, 0))
        .transpose()
}

/// What a change needs to know of the message it is about.
struct MessageState {
    sender: UserId,
    deleted: bool,
}

async fn message_state<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    seq: u64,
) -> Result<Option<MessageState>, SqlError> {
    let mut sql =
        QueryBuilder::new("SELECT sender, deleted_at FROM messages WHERE conversation_id = ");
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND seq = ");
    D::push_integer(&mut sql, rows::to_sql(seq));
    let Some(row) = D::fetch_optional(&mut sql, connection).await? else {
        return Ok(None);
    };
    Ok(Some(MessageState {
        sender: rows::user::<D>(&row, 0)?,
        deleted: D::integer(&row, 1)?.is_some(),
    }))
}

/// Writes what the change does to the state tables: `Ok(true)` when it
/// changed something, `Ok(false)` when there was nothing to do.
async fn apply<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
    seq: i64,
    members: &[UserId],
) -> Result<Result<bool, Refusal>, SqlError> {
    let id = change.conversation_id.as_str();
    let at = time::to_millis(change.at);
    let changed = match &change.change {
        Change::Edited {
            message_seq,
            body,
            content,
        } => {
            let message_seq = rows::to_sql(*message_seq);
            let mut sql = QueryBuilder::new("UPDATE messages SET body = ");
            D::push_text(&mut sql, body);
            sql.push(", content_kind = ");
            push_optional_text::<D>(&mut sql, content.as_ref().map(|c| c.kind.as_str()));
            sql.push(", content_payload = ");
            push_optional_text::<D>(
                &mut sql,
                content.as_ref().map(Content::payload_json).as_deref(),
            );
            sql.push(", edited_at = ");
            D::push_integer(&mut sql, at);
            sql.push(", updated_seq = ");
            D::push_integer(&mut sql, seq);
            push_message_key::<D>(&mut sql, id, message_seq);
            D::execute(&mut sql, connection).await?;
            D::reindex(connection, id, message_seq, Some(body)).await?;
            true
        }
        Change::Deleted { message_seq } => {
            delete_message::<D>(connection, id, rows::to_sql(*message_seq), seq, at).await?;
            true
        }
        Change::ReactionAdded {
            message_seq,
            reaction,
        } => {
            let message_seq = rows::to_sql(*message_seq);
            let mut sql = QueryBuilder::new(format!(
                "{} INTO reactions (conversation_id, message_seq, reaction, user_id, seq) VALUES (",
                D::INSERT_IGNORE
            ));
            D::push_text(&mut sql, id);
            sql.push(", ");
            D::push_integer(&mut sql, message_seq);
            sql.push(", ");
            D::push_text(&mut sql, reaction);
            sql.push(", ");
            D::push_text(&mut sql, change.by.as_str());
            sql.push(", ");
            D::push_integer(&mut sql, seq);
            sql.push(")");
            let added = D::execute(&mut sql, connection).await? == 1;
            if added {
                touch_message::<D>(connection, id, message_seq, seq).await?;
            }
            added
        }
        Change::ReactionRemoved {
            message_seq,
            reaction,
        } => {
            let message_seq = rows::to_sql(*message_seq);
            let mut sql = QueryBuilder::new("DELETE FROM reactions WHERE conversation_id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND message_seq = ");
            D::push_integer(&mut sql, message_seq);
            sql.push(" AND reaction = ");
            D::push_text(&mut sql, reaction);
            sql.push(" AND user_id = ");
            D::push_text(&mut sql, change.by.as_str());
            let removed = D::execute(&mut sql, connection).await? == 1;
            if removed {
                touch_message::<D>(connection, id, message_seq, seq).await?;
            }
            removed
        }
        Change::MemberAdded { user_id } => {
            if members.binary_search(user_id).is_ok() {
                false
            } else if members.len() >= change.max_members {
                return Ok(Err(Refusal::Full));
            } else {
                // The new member's read mark starts at this very event.
                let mut sql = QueryBuilder::new(
                    "INSERT INTO members (conversation_id, user_id, read_seq, joined_at) VALUES (",
                );
                D::push_text(&mut sql, id);
                sql.push(", ");
                D::push_text(&mut sql, user_id.as_str());
                sql.push(", ");
                D::push_integer(&mut sql, seq);
                sql.push(", ");
                D::push_integer(&mut sql, at);
                sql.push(")");
                D::execute(&mut sql, connection).await?;
                true
            }
        }
        Change::MemberRemoved { user_id } => {
            let mut sql = QueryBuilder::new("DELETE FROM members WHERE conversation_id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND user_id = ");
            D::push_text(&mut sql, user_id.as_str());
            D::execute(&mut sql, connection).await? == 1
        }
        Change::Renamed { title } => {
            let mut sql = QueryBuilder::new("UPDATE conversations SET title = ");
            D::push_text(&mut sql, title);
            sql.push(" WHERE id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND (title IS NULL OR title <> ");
            D::push_text(&mut sql, title);
            sql.push(")");
            D::execute(&mut sql, connection).await? == 1
        }
        Change::Pinned { message_seq } => {
            let mut sql = QueryBuilder::new(format!(
                "{} INTO pins (conversation_id, message_seq, pinned_by, pinned_at) VALUES (",
                D::INSERT_IGNORE
            ));
            D::push_text(&mut sql, id);
            sql.push(", ");
            D::push_integer(&mut sql, rows::to_sql(*message_seq));
            sql.push(", ");
            D::push_text(&mut sql, change.by.as_str());
            sql.push(", ");
            D::push_integer(&mut sql, at);
            sql.push(")");
            D::execute(&mut sql, connection).await? == 1
        }
        Change::Unpinned { message_seq } => {
            let mut sql = QueryBuilder::new("DELETE FROM pins WHERE conversation_id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND message_seq = ");
            D::push_integer(&mut sql, rows::to_sql(*message_seq));
            D::execute(&mut sql, connection).await? == 1
        }
        // `Change` is non-exhaustive: a kind the core adds later is written
        // here before any store can be given it.
        _ => unreachable!("a change kind this store does not know"),
    };
    Ok(Ok(changed))
}

/// Wipes a message: its text and content (and those of its edits), its
/// mentions, reactions, pin and search entry; a tombstone stays.
async fn delete_message<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &str,
    message_seq: i64,
    seq: i64,
    at: i64,
) -> Result<(), SqlError> {
    let mut sql = QueryBuilder::new(
        "UPDATE messages SET body = '', content_kind = NULL, content_payload = NULL, \
         mentions = NULL, deleted_at = ",
    );
    D::push_integer(&mut sql, at);
    sql.push(", updated_seq = ");
    D::push_integer(&mut sql, seq);
    push_message_key::<D>(&mut sql, id, message_seq);
    D::execute(&mut sql, connection).await?;
    let mut sql = QueryBuilder::new(
        "UPDATE events SET body = NULL, content_kind = NULL, content_payload = NULL \
         WHERE kind = 'edited' AND conversation_id = ",
    );
    D::push_text(&mut sql, id);
    sql.push(" AND message_seq = ");
    D::push_integer(&mut sql, message_seq);
    D::execute(&mut sql, connection).await?;
    for table in ["reactions", "pins"] {
        let mut sql = QueryBuilder::new(format!("DELETE FROM {table} WHERE conversation_id = "));
        D::push_text(&mut sql, id);
        sql.push(" AND message_seq = ");
        D::push_integer(&mut sql, message_seq);
        D::execute(&mut sql, connection).await?;
    }
    let mut sql = QueryBuilder::new("DELETE FROM mentions WHERE conversation_id = ");
    D::push_text(&mut sql, id);
    sql.push(" AND seq = ");
    D::push_integer(&mut sql, message_seq);
    D::execute(&mut sql, connection).await?;
    D::reindex(connection, id, message_seq, None).await?;
    Ok(())
}

/// Records that event `seq` changed message `message_seq`.
async fn touch_message<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &str,
    message_seq: i64,
    seq: i64,
) -> Result<(), SqlError> {
    let mut sql = QueryBuilder::new("UPDATE messages SET updated_seq = ");
    D::push_integer(&mut sql, seq);
    push_message_key::<D>(&mut sql, id, message_seq);
    D::execute(&mut sql, connection).await?;
    Ok(())
}

fn push_message_key<D: Dialect>(sql: &mut QueryBuilder<'_, D::Db>, id: &str, seq: i64) {
    sql.push(" WHERE conversation_id = ");
    D::push_text(sql, id);
    sql.push(" AND seq = ");
    D::push_integer(sql, seq);
}

fn push_optional_text<D: Dialect>(sql: &mut QueryBuilder<'_, D::Db>, value: Option<&str>) {
    match value {
        Some(value) => D::push_text(sql, value),
        None => {
            sql.push("NULL");
        }
    }
}

async fn insert_event<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
    seq: i64,
) -> Result<(), SqlError> {
    let (message_seq, subject, label, body, content) = match &change.change {
        Change::Edited {
            message_seq,
            body,
            content,
        } => (
            Some(*message_seq),
            None,
            None,
            Some(body.as_str()),
            content.as_ref(),
        ),
        Change::ReactionAdded {
            message_seq,
            reaction,
        }
        | Change::ReactionRemoved {
            message_seq,
            reaction,
        } => (
            Some(*message_seq),
            None,
            Some(reaction.as_str()),
            None,
            None,
        ),
        Change::MemberAdded { user_id } | Change::MemberRemoved { user_id } => {
            (None, Some(user_id.as_str()), None, None, None)
        }
        Change::Renamed { title } => (None, None, Some(title.as_str()), None, None),
        other => (other.message_seq(), None, None, None, None),
    };
    let mut sql = QueryBuilder::new(
        "INSERT INTO events (conversation_id, seq, kind, actor, message_seq, subject, label, \
         body, content_kind, content_payload, client_id, created_at) VALUES (",
    );
    D::push_text(&mut sql, change.conversation_id.as_str());
    sql.push(", ");
    D::push_integer(&mut sql, seq);
    sql.push(", ");
    D::push_text(&mut sql, change.change.kind());
    sql.push(", ");
    D::push_text(&mut sql, change.by.as_str());
    sql.push(", ");
    match message_seq {
        Some(message_seq) => D::push_integer(&mut sql, rows::to_sql(message_seq)),
        None => {
            sql.push("NULL");
        }
    }
    for value in [subject, label, body] {
        sql.push(", ");
        push_optional_text::<D>(&mut sql, value);
    }
    sql.push(", ");
    push_optional_text::<D>(&mut sql, content.map(|c| c.kind.as_str()));
    sql.push(", ");
    push_optional_text::<D>(&mut sql, content.map(Content::payload_json).as_deref());
    sql.push(", ");
    push_optional_text::<D>(&mut sql, change.client_id.as_deref());
    sql.push(", ");
    D::push_integer(&mut sql, time::to_millis(change.at));
    sql.push(")");
    D::execute(&mut sql, connection).await?;
    Ok(())
}
