//! Every read query of the SQL stores, written once. Each takes a
//! connection (a pooled one, or a transaction's), builds its SQL with
//! [`QueryBuilder`] and decodes with [`crate::rows`]. The text of each query
//! is the same for every call of the same shape, so the driver's statement
//! cache prepares it once per connection.

use std::collections::HashMap;

use chat_engine::paging::split_overfetch;
use chat_engine::{
    Conversation, ConversationId, ConversationPage, ConversationQuery, ConversationSummary, Cursor,
    Entry, HistoryQuery, MAX_PINNED, Message, MessageId, Page, Profile, ReactionCount, ReadMark,
    RoomPage, RoomQuery, SearchPage, SearchQuery, TimelinePage, UserId, UserPage, UserQuery, time,
};
use sqlx::QueryBuilder;

use crate::dialect::{ConnectionOf, Dialect, RowOf};
use crate::error::SqlError;
use crate::rows::{
    self, CONVERSATION_COLUMNS, PREFERENCE_COLUMNS, Roster, conversation_columns, event_columns,
    member_columns, message_columns,
};

/// A conversation with its members, or `None`: one statement, so the row
/// and the member list are one snapshot.
///
/// # Errors
/// [`SqlError`].
pub async fn conversation<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Option<Conversation>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {}, {} FROM chat_conversations c \
         LEFT JOIN chat_members m ON m.conversation_id = c.id \
         WHERE c.deleted_at IS NULL AND c.id = ",
        conversation_columns("c"),
        member_columns("m"),
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" ORDER BY m.user_id");
    let rows = D::fetch_all(&mut sql, connection).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut roster = Roster::default();
    for row in &rows {
        roster.add::<D>(row, CONVERSATION_COLUMNS)?;
    }
    rows::conversation::<D>(first, 0, roster).map(Some)
}

/// The sorted members of a conversation, or `None` when it does not exist.
///
/// # Errors
/// [`SqlError`].
pub async fn members<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Option<Vec<UserId>>, SqlError> {
    let mut sql = QueryBuilder::new(
        "SELECT m.user_id FROM chat_conversations c \
         LEFT JOIN chat_members m ON m.conversation_id = c.id \
         WHERE c.deleted_at IS NULL AND c.id = ",
    );
    D::push_text(&mut sql, id.as_str());
    sql.push(" ORDER BY m.user_id");
    let rows = D::fetch_all(&mut sql, connection).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    rows.iter()
        .filter_map(|row| rows::optional_user::<D>(row, 0).transpose())
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Whether `user` is a member of `id` (`false` for an unknown conversation).
///
/// # Errors
/// [`SqlError`].
pub async fn is_member<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    user: &UserId,
) -> Result<bool, SqlError> {
    listed::<D>(connection, "chat_members", id, user).await
}

/// Whether `table` (keyed by `conversation_id, user_id`: `chat_members`,
/// `chat_bans`)
/// has a row for `user` in `id`.
///
/// # Errors
/// [`SqlError`].
pub async fn listed<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    table: &str,
    id: &ConversationId,
    user: &UserId,
) -> Result<bool, SqlError> {
    let mut sql = QueryBuilder::new(format!("SELECT 1 FROM {table} WHERE conversation_id = "));
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND user_id = ");
    D::push_text(&mut sql, user.as_str());
    Ok(D::fetch_optional(&mut sql, connection).await?.is_some())
}

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

/// A page of a user's conversation list, each with its members, last
/// message, read mark, unread count (messages from others after it) and
/// the user's preferences: the main list (the first page led by the pinned
/// ones) or the archived one, as [`ConversationQuery`] says.
///
/// # Errors
/// [`SqlError`].
pub async fn conversations<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    query: ConversationQuery,
) -> Result<ConversationPage, SqlError> {
    let listed = summaries::<D>(connection, &query, Listed::Page).await?;
    let mut page = ConversationPage::from_overfetch(listed, query.limit);
    if !query.archived && query.before.is_none() {
        let pinned = summaries::<D>(connection, &query, Listed::Pinned).await?;
        page.conversations.splice(0..0, pinned);
    }
    Ok(page)
}

/// Which part of a conversation list [`summaries`] reads.
#[derive(Clone, Copy)]
enum Listed {
    /// The page `query` asks for (pinned ones left out of the main list),
    /// one more than its limit.
    Page,
    /// The main list's pinned conversations, all of them.
    Pinned,
}

/// The summaries of `query.user`'s conversations that `listed` names, by
/// activity, newest first.
async fn summaries<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    query: &ConversationQuery,
    listed: Listed,
) -> Result<Vec<ConversationSummary>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {}, m.read_seq, \
            (SELECT COUNT(*) FROM chat_messages x WHERE x.conversation_id = c.id \
                AND x.seq > m.read_seq AND x.sender <> m.user_id \
                AND x.deleted_at IS NULL AND x.thread_root IS NULL), \
            c.last_activity_at, \
            (SELECT COUNT(*) FROM chat_mentions n WHERE n.conversation_id = c.id \
                AND n.user_id = m.user_id AND n.seq > m.read_seq), \
            {}, {} \
         FROM chat_members m \
         JOIN chat_conversations c ON c.id = m.conversation_id \
         LEFT JOIN chat_messages l ON l.conversation_id = c.id AND l.seq = c.last_message_seq \
         WHERE m.user_id = ",
        conversation_columns("c"),
        rows::preference_columns("m"),
        message_columns("l"),
    ));
    D::push_text(&mut sql, query.user.as_str());
    sql.push(" AND m.archived = ");
    D::push_integer(&mut sql, i64::from(query.archived));
    let limit = match listed {
        Listed::Pinned => {
            sql.push(" AND m.pinned = 1");
            i64::try_from(MAX_PINNED).unwrap_or(i64::MAX)
        }
        Listed::Page => {
            if !query.archived {
                sql.push(" AND m.pinned = 0");
            }
            if let Some(before) = &query.before {
                let at = time::to_millis(before.activity_at);
                sql.push(" AND (c.last_activity_at < ");
                D::push_integer(&mut sql, at);
                sql.push(" OR (c.last_activity_at = ");
                D::push_integer(&mut sql, at);
                sql.push(" AND c.id < ");
                D::push_text(&mut sql, before.id.as_str());
                sql.push("))");
            }
            i64::from(query.limit) + 1
        }
    };
    sql.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ");
    D::push_integer(&mut sql, limit);
    let rows = D::fetch_all(&mut sql, connection).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = rows
        .iter()
        .map(|row| rows::conversation_id::<D>(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rosters = rosters_of_each::<D>(connection, &ids).await?;
    let read = CONVERSATION_COLUMNS;
    let last = read + 4 + PREFERENCE_COLUMNS;
    rows.iter()
        .zip(ids)
        .map(|(row, id)| {
            let roster = rosters.remove(&id).unwrap_or_default();
            let has_last = D::id_text(row, last)?.is_some();
            Ok(ConversationSummary {
                conversation: rows::conversation::<D>(row, 0, roster)?,
                last_message: has_last
                    .then(|| rows::message::<D>(row, last))
                    .transpose()?,
                unread_mentions: rows::from_sql(rows::integer::<D>(row, read + 3, "mentions")?),
                read_seq: rows::from_sql(rows::integer::<D>(row, read, "read_seq")?),
                unread: rows::from_sql(rows::integer::<D>(row, read + 1, "unread")?),
                last_activity_at: time::from_millis(rows::integer::<D>(
                    row,
                    read + 2,
                    "last_activity_at",
                )?),
                preferences: rows::preferences::<D>(row, read + 4)?,
            })
        })
        .collect()
}

/// The members (with roles) of each of `ids`, in one query.
async fn rosters_of_each<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    ids: &[ConversationId],
) -> Result<HashMap<ConversationId, Roster>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT m.conversation_id, {} FROM chat_members m WHERE m.conversation_id IN (",
        member_columns("m")
    ));
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        D::push_text(&mut sql, id.as_str());
    }
    sql.push(") ORDER BY m.conversation_id, m.user_id");
    let mut rosters: HashMap<ConversationId, Roster> = HashMap::new();
    for row in D::fetch_all(&mut sql, connection).await? {
        rosters
            .entry(rows::conversation_id::<D>(&row, 0)?)
            .or_default()
            .add::<D>(&row, 1)?;
    }
    Ok(rosters)
}

/// A page of the public rooms directory, newest first. The SQL is built per
/// request so the planner sees `c.id < ?` itself and walks the
/// `(is_public, id)` index from `before`, however deep the page.
///
/// # Errors
/// [`SqlError`].
pub async fn rooms<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    query: RoomQuery,
) -> Result<RoomPage, SqlError> {
    let (open, close) = D::INTEGER_OF_BOOLEAN;
    let mut sql = QueryBuilder::new(format!(
        "SELECT c.id, c.title, c.created_by, c.created_at, c.last_seq, \
            (SELECT COUNT(*) FROM chat_members n WHERE n.conversation_id = c.id), \
            {open}EXISTS (SELECT 1 FROM chat_members j WHERE j.conversation_id = c.id AND j.user_id = "
    ));
    D::push_text(&mut sql, query.viewer.as_str());
    sql.push(format!(
        "){close} FROM chat_conversations c WHERE c.is_public = 1 AND c.deleted_at IS NULL"
    ));
    if let Some(before) = &query.before {
        sql.push(" AND c.id < ");
        D::push_text(&mut sql, before.as_str());
    }
    if let Some(search) = &query.search {
        sql.push(" AND ");
        D::push_contains(&mut sql, "c.title", search);
    }
    sql.push(" ORDER BY c.id DESC LIMIT ");
    D::push_integer(&mut sql, i64::from(query.limit) + 1);
    let rows = D::fetch_all(&mut sql, connection).await?;
    let rooms = rows.iter().map(rows::room::<D>).collect::<Result<_, _>>()?;
    Ok(RoomPage::from_overfetch(rooms, query.limit))
}

/// The users banned from `id`, sorted.
///
/// # Errors
/// [`SqlError`].
pub async fn bans<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Vec<UserId>, SqlError> {
    let mut sql = QueryBuilder::new("SELECT user_id FROM chat_bans WHERE conversation_id = ");
    D::push_text(&mut sql, id.as_str());
    sql.push(" ORDER BY user_id");
    user_ids::<D>(&mut sql, connection).await
}

/// The users `by` blocks, sorted.
///
/// # Errors
/// [`SqlError`].
pub async fn blocked_by<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    by: &UserId,
) -> Result<Vec<UserId>, SqlError> {
    let mut sql = QueryBuilder::new("SELECT blocked FROM chat_blocks WHERE blocker = ");
    D::push_text(&mut sql, by.as_str());
    sql.push(" ORDER BY blocked");
    user_ids::<D>(&mut sql, connection).await
}

/// The users who share a direct conversation or a group (not a public
/// room, nor a deleted conversation) with `user`, where neither blocks the
/// other; sorted, without `user`.
///
/// # Errors
/// [`SqlError`].
pub async fn contacts<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    user: &UserId,
) -> Result<Vec<UserId>, SqlError> {
    let mut sql = QueryBuilder::new(
        "SELECT DISTINCT other.user_id FROM chat_members mine \
         JOIN chat_conversations c ON c.id = mine.conversation_id \
         JOIN chat_members other ON other.conversation_id = mine.conversation_id \
         WHERE c.is_public = 0 AND c.deleted_at IS NULL AND mine.user_id = ",
    );
    D::push_text(&mut sql, user.as_str());
    sql.push(" AND other.user_id <> ");
    D::push_text(&mut sql, user.as_str());
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM chat_blocks b \
         WHERE b.blocker = other.user_id AND b.blocked = ",
    );
    D::push_text(&mut sql, user.as_str());
    sql.push(") AND NOT EXISTS (SELECT 1 FROM chat_blocks b WHERE b.blocker = ");
    D::push_text(&mut sql, user.as_str());
    sql.push(" AND b.blocked = other.user_id) ORDER BY other.user_id");
    user_ids::<D>(&mut sql, connection).await
}

/// A page of the users a `StoreDirectory` knows, in id order.
///
/// # Errors
/// [`SqlError`].
pub async fn users<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    query: &UserQuery,
) -> Result<UserPage, SqlError> {
    let mut sql = QueryBuilder::new(
        "SELECT u.id, u.display_name, u.avatar_url FROM chat_users u WHERE 1 = 1",
    );
    if let Some(after) = &query.after {
        sql.push(" AND u.id > ");
        D::push_text(&mut sql, after.as_str());
    }
    if let Some(search) = &query.search {
        sql.push(" AND (");
        D::push_contains(&mut sql, "u.display_name", search);
        sql.push(" OR ");
        D::push_contains(&mut sql, "u.id", search);
        sql.push(")");
    }
    sql.push(" ORDER BY u.id LIMIT ");
    D::push_integer(&mut sql, i64::from(query.limit) + 1);
    let rows = D::fetch_all(&mut sql, connection).await?;
    let users = rows
        .iter()
        .map(rows::profile::<D>)
        .collect::<Result<_, _>>()?;
    Ok(UserPage::from_overfetch(users, query.limit))
}

/// The profiles of those of `ids` a `StoreDirectory` knows, in id order.
///
/// # Errors
/// [`SqlError`].
pub async fn profiles<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    ids: &[UserId],
) -> Result<Vec<Profile>, SqlError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = QueryBuilder::new(
        "SELECT u.id, u.display_name, u.avatar_url FROM chat_users u WHERE u.id IN (",
    );
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        D::push_text(&mut sql, id.as_str());
    }
    sql.push(") ORDER BY u.id");
    let rows = D::fetch_all(&mut sql, connection).await?;
    rows.iter().map(rows::profile::<D>).collect()
}

/// The user ids of the first column of `sql`'s rows.
async fn user_ids<D: Dialect>(
    sql: &mut QueryBuilder<'_, D::Db>,
    connection: &mut ConnectionOf<D>,
) -> Result<Vec<UserId>, SqlError> {
    D::fetch_all(sql, connection)
        .await?
        .iter()
        .map(|row| rows::user::<D>(row, 0))
        .collect()
}
