//! People: bans and blocks, who shares a conversation with whom
//! (presence), members' preferences for notifications, and the users a
//! `StoreDirectory` keeps.

use chat_engine::{ConversationId, Preferences, Profile, UserId, UserPage, UserQuery};
use sqlx::QueryBuilder;

use crate::dialect::{ConnectionOf, Dialect, push_text_list};
use crate::error::SqlError;
use crate::rows;

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
    push_text_list::<D>(&mut sql, ids.iter().map(UserId::as_str));
    sql.push(") ORDER BY u.id");
    let rows = D::fetch_all(&mut sql, connection).await?;
    rows.iter().map(rows::profile::<D>).collect()
}

/// The preferences for `id` of those of `users` who are its members, in
/// user id order: whom a notification may reach.
///
/// # Errors
/// [`SqlError`].
pub async fn preferences_of<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    users: &[UserId],
) -> Result<Vec<(UserId, Preferences)>, SqlError> {
    let mut found = Vec::with_capacity(users.len());
    for chunk in users.chunks(500) {
        let mut sql = QueryBuilder::new(format!(
            "SELECT m.user_id, {} FROM chat_members m WHERE m.conversation_id = ",
            rows::preference_columns("m")
        ));
        D::push_text(&mut sql, id.as_str());
        sql.push(" AND m.user_id IN (");
        push_text_list::<D>(&mut sql, chunk.iter().map(UserId::as_str));
        sql.push(") ORDER BY m.user_id");
        for row in D::fetch_all(&mut sql, connection).await? {
            found.push((rows::user::<D>(&row, 0)?, rows::preferences::<D>(&row, 1)?));
        }
    }
    Ok(found)
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
