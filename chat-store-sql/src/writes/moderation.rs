//! Writes that are not timeline changes: deleting a group with its
//! history, blocks between users, and the checks and setup of creating a
//! conversation (a blocked creator, the owner, a block older than the
//! direct conversation).

use chat_engine::{ConversationId, DirectPair, Refusal, UserId};
use sqlx::QueryBuilder;

use super::Written;
use super::roles::{blocks, seat, seats};
use super::state::set_role;
use crate::dialect::{ConnectionOf, Dialect, push_text_list};
use crate::error::SqlError;
use crate::rows;
use chat_engine::Role;

/// Deletes group `id` on behalf of `by` in the open transaction (see
/// `Store::delete_conversation`): the members it had, to tell them.
///
/// # Errors
/// [`SqlError`].
pub async fn delete_conversation<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    by: &UserId,
    at: i64,
) -> Result<Written<Vec<UserId>>, SqlError> {
    // The row's write lock first, as for every change.
    let mut sql = QueryBuilder::new("UPDATE chat_conversations SET deleted_at = ");
    D::push_integer(&mut sql, at);
    sql.push(", last_message_seq = 0, title = NULL WHERE deleted_at IS NULL AND id = ");
    D::push_text(&mut sql, id.as_str());
    if D::execute(&mut sql, connection).await? == 0 {
        return Ok(Written::RollBack(Err(Refusal::UnknownConversation)));
    }
    let roster = seats::<D>(connection, id).await?;
    match seat(&roster, by) {
        None => return Ok(Written::RollBack(Err(Refusal::NotAMember))),
        Some(seat) if !seat.role.moderates() => {
            return Ok(Written::RollBack(Err(Refusal::NotAnAdmin)));
        }
        Some(_) => {}
    }
    D::unindex_conversation(connection, id.as_str()).await?;
    for table in [
        "chat_messages",
        "chat_events",
        "chat_reactions",
        "chat_mentions",
        "chat_pins",
        "chat_bans",
        "chat_members",
    ] {
        let mut sql = QueryBuilder::new(format!("DELETE FROM {table} WHERE conversation_id = "));
        D::push_text(&mut sql, id.as_str());
        D::execute(&mut sql, connection).await?;
    }
    Ok(Written::Commit(
        roster.into_iter().map(|(user, _)| user).collect(),
    ))
}

/// Makes `by` block `user` or stops it, in the open transaction (see
/// `Store::set_block`): whether that changed anything.
///
/// # Errors
/// [`SqlError`].
pub async fn set_block<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    by: &UserId,
    user: &UserId,
    blocked: bool,
    at: i64,
) -> Result<bool, SqlError> {
    let mut sql = if blocked {
        let mut sql = QueryBuilder::new(format!(
            "{} INTO chat_blocks (blocker, blocked, blocked_at) VALUES (",
            D::INSERT_IGNORE
        ));
        D::push_text(&mut sql, by.as_str());
        sql.push(", ");
        D::push_text(&mut sql, user.as_str());
        sql.push(", ");
        D::push_integer(&mut sql, at);
        sql.push(")");
        sql
    } else {
        let mut sql = QueryBuilder::new("DELETE FROM chat_blocks WHERE blocker = ");
        D::push_text(&mut sql, by.as_str());
        sql.push(" AND blocked = ");
        D::push_text(&mut sql, user.as_str());
        sql
    };
    // The direct conversation's row lock first, as a change or a batch of
    // sends takes it: none of them reads the member's flag before this
    // block commits, and a conversation opened meanwhile waits too.
    let pair = DirectPair::new(by.clone(), user.clone()).ok();
    if let Some(pair) = &pair {
        let mut lock = QueryBuilder::new(
            "UPDATE chat_conversations SET last_seq = last_seq WHERE direct_key = ",
        );
        D::push_text(&mut lock, &pair.key());
        D::execute(&mut lock, connection).await?;
    }
    let changed = D::execute(&mut sql, connection).await? == 1;
    if changed && let Some(pair) = pair {
        let mut sql = QueryBuilder::new("UPDATE chat_members SET silenced = ");
        D::push_integer(&mut sql, if blocked { rows::BLOCKED } else { 0 });
        sql.push(" WHERE user_id = ");
        D::push_text(&mut sql, user.as_str());
        sql.push(" AND conversation_id = (SELECT id FROM chat_conversations WHERE direct_key = ");
        D::push_text(&mut sql, &pair.key());
        sql.push(")");
        D::execute(&mut sql, connection).await?;
    }
    Ok(changed)
}

/// Refuses a group `by` creates with `members` when one of them blocks
/// `by`, in the creation's transaction.
///
/// # Errors
/// [`SqlError`].
pub async fn refuse_creation<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    by: &UserId,
    members: &[UserId],
) -> Result<Option<Refusal>, SqlError> {
    let others: Vec<&UserId> = members.iter().filter(|member| *member != by).collect();
    if others.is_empty() {
        return Ok(None);
    }
    let mut sql = QueryBuilder::new("SELECT 1 FROM chat_blocks WHERE blocked = ");
    D::push_text(&mut sql, by.as_str());
    sql.push(" AND blocker IN (");
    push_text_list::<D>(&mut sql, others.iter().map(|member| member.as_str()));
    sql.push(")");
    sql.push(D::LOCK_SHARED);
    let blocked = D::fetch_optional(&mut sql, connection).await?.is_some();
    Ok(blocked.then_some(Refusal::Blocked))
}

/// Makes `owner` the owner of the group `id` just created.
///
/// # Errors
/// [`SqlError`].
pub async fn crown<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    owner: &UserId,
) -> Result<(), SqlError> {
    set_role::<D>(connection, id.as_str(), owner, Role::Owner).await?;
    Ok(())
}

/// Refuses `opener` a direct conversation with `other` when `other`
/// blocks them, in the opening's transaction.
///
/// # Errors
/// [`SqlError`].
pub async fn refuse_direct<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    opener: &UserId,
    other: &UserId,
) -> Result<Option<Refusal>, SqlError> {
    Ok(blocks::<D>(connection, other, opener)
        .await?
        .then_some(Refusal::Blocked))
}

/// Mutes each user of the direct conversation `id` just created whom the
/// other blocks (the opener may block the other: a block outlives the
/// conversation, and comes before it).
///
/// # Errors
/// [`SqlError`].
pub async fn silence_blocked<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    pair: &DirectPair,
) -> Result<(), SqlError> {
    let [low, high] = pair.users();
    for (user, other) in [(low, high), (high, low)] {
        if blocks::<D>(connection, other, user).await? {
            let mut sql = QueryBuilder::new("UPDATE chat_members SET silenced = ");
            D::push_integer(&mut sql, rows::BLOCKED);
            sql.push(" WHERE conversation_id = ");
            D::push_text(&mut sql, id.as_str());
            sql.push(" AND user_id = ");
            D::push_text(&mut sql, user.as_str());
            D::execute(&mut sql, connection).await?;
        }
    }
    Ok(())
}
