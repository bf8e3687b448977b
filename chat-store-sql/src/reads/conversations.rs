//! Conversations: one with its members, membership checks, a user's list
//! (summaries with unread counts, pinned first) and the rooms directory.

use std::collections::HashMap;

use chat_engine::{
    Conversation, ConversationId, ConversationPage, ConversationQuery, ConversationSummary,
    MAX_PINNED, RoomPage, RoomQuery, UserId, time,
};
use sqlx::QueryBuilder;

use crate::dialect::{ConnectionOf, Dialect, push_text_list};
use crate::error::SqlError;
use crate::rows::{
    self, CONVERSATION_COLUMNS, PREFERENCE_COLUMNS, Roster, conversation_columns, member_columns,
    message_columns,
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
    push_text_list::<D>(&mut sql, ids.iter().map(ConversationId::as_str));
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
