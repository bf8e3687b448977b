//! Messages and the timeline: one message, history pages with their
//! reactions, the timeline after a seq, read marks, pins and search.

use std::collections::HashMap;

use chat_engine::paging::split_overfetch;
use chat_engine::{
    ConversationId, Cursor, Entry, HistoryQuery, Message, MessageId, Page, ReactionCount, ReadMark,
    SearchPage, SearchQuery, TimelinePage, UserId,
};
use sqlx::QueryBuilder;

use crate::dialect::{ConnectionOf, Dialect, RowOf};
use crate::error::SqlError;
use crate::rows::{self, event_columns, message_columns};

/// One message by id, or `None`.
///
/// # Errors
/// [`SqlError`].
pub async fn message<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &MessageId,
    viewer: &UserId,
) -> Result<Option<Message>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_messages m WHERE m.id = ",
        message_columns("m")
    ));
    D::push_text(&mut sql, id.as_str());
    let Some(row) = D::fetch_optional(&mut sql, connection).await? else {
        return Ok(None);
    };
    let mut message = [rows::message::<D>(&row, 0)?];
    let conversation = message[0].conversation_id.clone();
    with_reactions::<D>(connection, &conversation, viewer, &mut message).await?;
    let [message] = message;
    Ok(Some(message))
}

/// A page of messages in their current state, ascending seq: the
/// conversation's own (thread replies left out) or one thread's; an unknown
/// conversation has none. The latest page and pages before a seq are read
/// newest first (an index range scan backwards from the end) and turned
/// around.
///
/// # Errors
/// [`SqlError`].
pub async fn history<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    viewer: &UserId,
    query: HistoryQuery,
) -> Result<Page, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_messages m WHERE m.conversation_id = ",
        message_columns("m")
    ));
    D::push_text(&mut sql, id.as_str());
    match query.thread {
        None => {
            sql.push(" AND m.thread_root IS NULL");
        }
        Some(root) => {
            sql.push(" AND m.thread_root = ");
            D::push_integer(&mut sql, rows::to_sql(root));
        }
    }
    let ascending = match query.cursor {
        Cursor::Latest => false,
        Cursor::Before(seq) => {
            sql.push(" AND m.seq < ");
            D::push_integer(&mut sql, rows::to_sql(seq));
            false
        }
        Cursor::After(seq) => {
            sql.push(" AND m.seq > ");
            D::push_integer(&mut sql, rows::to_sql(seq));
            true
        }
    };
    sql.push(if ascending {
        " ORDER BY m.seq ASC LIMIT "
    } else {
        " ORDER BY m.seq DESC LIMIT "
    });
    D::push_integer(&mut sql, i64::from(query.limit) + 1);
    let rows = D::fetch_all(&mut sql, connection).await?;
    let (rows, has_more) = split_overfetch(rows, query.limit);
    let mut messages = decode_messages::<D>(&rows)?;
    if !ascending {
        messages.reverse();
    }
    with_reactions::<D>(connection, id, viewer, &mut messages).await?;
    Ok(Page { messages, has_more })
}

fn decode_messages<D: Dialect>(rows: &[RowOf<D>]) -> Result<Vec<Message>, SqlError> {
    rows.iter().map(|row| rows::message::<D>(row, 0)).collect()
}

/// Fills in the reactions of `messages` (all of conversation `id`), in the
/// order each was first used, with whether `viewer` made them: one query,
/// a range of the reactions' primary key per message.
async fn with_reactions<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    viewer: &UserId,
    messages: &mut [Message],
) -> Result<(), SqlError> {
    let seqs: Vec<i64> = messages
        .iter()
        .filter(|message| !message.deleted)
        .map(|message| rows::to_sql(message.seq))
        .collect();
    if seqs.is_empty() {
        return Ok(());
    }
    let (open, close) = D::INTEGER_OF_BOOLEAN;
    let mut sql = QueryBuilder::new(format!(
        "SELECT r.message_seq, r.reaction, COUNT(*), MAX({open}r.user_id = "
    ));
    D::push_text(&mut sql, viewer.as_str());
    sql.push(format!(
        "{close}) FROM chat_reactions r WHERE r.conversation_id = "
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND r.message_seq IN (");
    for (index, seq) in seqs.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        D::push_integer(&mut sql, *seq);
    }
    sql.push(") GROUP BY r.message_seq, r.reaction ORDER BY r.message_seq, MIN(r.seq), r.reaction");
    let rows = D::fetch_all(&mut sql, connection).await?;
    let mut by_seq: HashMap<u64, Vec<ReactionCount>> = HashMap::new();
    for row in &rows {
        let seq = rows::from_sql(rows::integer::<D>(row, 0, "message_seq")?);
        by_seq.entry(seq).or_default().push(ReactionCount {
            reaction: D::id_text(row, 1)?.unwrap_or_default(),
            count: rows::from_sql(rows::integer::<D>(row, 2, "count")?),
            mine: rows::integer::<D>(row, 3, "mine")? != 0,
        });
    }
    for message in messages {
        if let Some(reactions) = by_seq.remove(&message.seq) {
            message.reactions = reactions;
        }
    }
    Ok(())
}

/// Every entry after `after`, ascending, at most `limit`: the messages and
/// the other changes are two range scans merged by seq.
///
/// # Errors
/// [`SqlError`].
pub async fn timeline<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    viewer: &UserId,
    after: u64,
    limit: u32,
) -> Result<TimelinePage, SqlError> {
    let after = rows::to_sql(after);
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_messages m WHERE m.conversation_id = ",
        message_columns("m")
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND m.seq > ");
    D::push_integer(&mut sql, after);
    sql.push(" ORDER BY m.seq LIMIT ");
    D::push_integer(&mut sql, i64::from(limit) + 1);
    let mut messages = decode_messages::<D>(&D::fetch_all(&mut sql, connection).await?)?;
    with_reactions::<D>(connection, id, viewer, &mut messages).await?;

    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_events e WHERE e.conversation_id = ",
        event_columns("e")
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND e.seq > ");
    D::push_integer(&mut sql, after);
    sql.push(" ORDER BY e.seq LIMIT ");
    D::push_integer(&mut sql, i64::from(limit) + 1);
    let events = D::fetch_all(&mut sql, connection)
        .await?
        .iter()
        .map(|row| rows::event::<D>(row, 0))
        .collect::<Result<Vec<_>, _>>()?;

    let mut entries: Vec<Entry> = messages
        .into_iter()
        .map(Entry::Message)
        .chain(events.into_iter().map(Entry::Change))
        .collect();
    entries.sort_by_key(Entry::seq);
    let (entries, has_more) = split_overfetch(entries, limit);
    Ok(TimelinePage { entries, has_more })
}

/// Every member's read mark, by user id.
///
/// # Errors
/// [`SqlError`].
pub async fn read_marks<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Vec<ReadMark>, SqlError> {
    let mut sql =
        QueryBuilder::new("SELECT user_id, read_seq FROM chat_members WHERE conversation_id = ");
    D::push_text(&mut sql, id.as_str());
    sql.push(" ORDER BY user_id");
    D::fetch_all(&mut sql, connection)
        .await?
        .iter()
        .map(|row| {
            Ok(ReadMark {
                user_id: rows::user::<D>(row, 0)?,
                seq: rows::from_sql(rows::integer::<D>(row, 1, "read_seq")?),
            })
        })
        .collect()
}

/// The pinned messages, most recently pinned first.
///
/// # Errors
/// [`SqlError`].
pub async fn pins<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    viewer: &UserId,
) -> Result<Vec<Message>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_pins p JOIN chat_messages m \
            ON m.conversation_id = p.conversation_id AND m.seq = p.message_seq \
         WHERE p.conversation_id = ",
        message_columns("m")
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" ORDER BY p.pinned_at DESC, p.message_seq DESC");
    let mut messages = decode_messages::<D>(&D::fetch_all(&mut sql, connection).await?)?;
    with_reactions::<D>(connection, id, viewer, &mut messages).await?;
    Ok(messages)
}

/// Messages of the user's conversations that hold every word, newest first
/// (message ids are time-ordered), from the backend's full-text index.
///
/// # Errors
/// [`SqlError`].
pub async fn search<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    query: SearchQuery,
) -> Result<SearchPage, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_messages m JOIN chat_members me \
            ON me.conversation_id = m.conversation_id AND me.user_id = ",
        message_columns("m")
    ));
    D::push_text(&mut sql, query.user.as_str());
    sql.push(" WHERE m.deleted_at IS NULL AND ");
    D::push_search(&mut sql, &query.words);
    if let Some(before) = &query.before {
        sql.push(" AND m.id < ");
        D::push_text(&mut sql, before.as_str());
    }
    sql.push(" ORDER BY m.id DESC LIMIT ");
    D::push_integer(&mut sql, i64::from(query.limit) + 1);
    let rows = D::fetch_all(&mut sql, connection).await?;
    let (rows, has_more) = split_overfetch(rows, query.limit);
    let messages = decode_messages::<D>(&rows)?;
    Ok(SearchPage { messages, has_more })
}
