//! A member's preferences for a conversation (`Store::set_preferences`):
//! one `UPDATE` of the named fields only, so a concurrent change of another
//! field (from the member's other device) stays, then the row read back in
//! the same transaction. The `UPDATE` comes first: on SQLite a transaction
//! must take the write lock before it reads (it cannot upgrade a read lock
//! under another writer, such as the search indexer), so the pin limit is
//! checked after it, counting the new pin, and rolled back when over.

use chat_engine::{
    ConversationId, MAX_PINNED, MuteChange, Preferences, PreferencesChange, Refusal, UserId, time,
};
use sqlx::QueryBuilder;

use super::Written;
use crate::dialect::{ConnectionOf, Dialect};
use crate::error::SqlError;
use crate::rows;

/// Changes `user`'s preferences for `id` as `change` says, in the open
/// transaction: the preferences now, `None` when `user` is not a member.
///
/// # Errors
/// [`SqlError`].
pub async fn set_preferences<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    user: &UserId,
    change: PreferencesChange,
) -> Result<Written<Option<Preferences>>, SqlError> {
    if !change.is_empty() {
        let mut sql = QueryBuilder::new("UPDATE chat_members SET ");
        let mut first = true;
        let mut set = |sql: &mut QueryBuilder<'_, D::Db>, column: &str| {
            sql.push(if first { "" } else { ", " });
            sql.push(column).push(" = ");
            first = false;
        };
        if let Some(level) = change.notifications {
            set(&mut sql, "notifications");
            D::push_text(&mut sql, level.as_str());
        }
        if let Some(until) = change.muted_until {
            set(&mut sql, "muted_until");
            match until {
                MuteChange::Until(until) => D::push_integer(&mut sql, time::to_millis(until)),
                MuteChange::Unmute => {
                    sql.push("NULL");
                }
            }
        }
        if let Some(archived) = change.archived {
            set(&mut sql, "archived");
            D::push_integer(&mut sql, i64::from(archived));
        }
        if let Some(pinned) = change.pinned {
            set(&mut sql, "pinned");
            D::push_integer(&mut sql, i64::from(pinned));
        }
        sql.push(" WHERE conversation_id = ");
        D::push_text(&mut sql, id.as_str());
        sql.push(" AND user_id = ");
        D::push_text(&mut sql, user.as_str());
        D::execute(&mut sql, connection).await?;
    }
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_members m WHERE m.conversation_id = ",
        rows::preference_columns("m")
    ));
    D::push_text(&mut sql, id.as_str());
    sql.push(" AND m.user_id = ");
    D::push_text(&mut sql, user.as_str());
    let Some(row) = D::fetch_optional(&mut sql, connection).await? else {
        return Ok(Written::RollBack(Ok(None)));
    };
    let preferences = rows::preferences::<D>(&row, 0)?;
    if change.pinned == Some(true) && pinned::<D>(connection, user).await? > MAX_PINNED {
        return Ok(Written::RollBack(Err(Refusal::TooManyPinned)));
    }
    Ok(Written::Commit(Some(preferences)))
}

/// How many conversations `user` has pinned, this transaction's pin
/// included, read under shared locks so two pins racing on MySQL cannot
/// both pass the limit (each waits for the other's row: one deadlocks, is
/// run again, and then counts the other).
async fn pinned<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    user: &UserId,
) -> Result<usize, SqlError> {
    let mut sql = QueryBuilder::new("SELECT conversation_id FROM chat_members WHERE user_id = ");
    D::push_text(&mut sql, user.as_str());
    sql.push(" AND pinned = 1");
    sql.push(D::LOCK_SHARED);
    Ok(D::fetch_all(&mut sql, connection).await?.len())
}
