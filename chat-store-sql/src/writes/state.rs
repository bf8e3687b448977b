//! What each change writes to the state tables (messages, reactions,
//! members, bans, pins), besides its event.

use chat_engine::{Change, Content, NewChange, Refusal, Role, UserId, time};
use sqlx::QueryBuilder;

use super::roles::{Seat, seat};
use crate::dialect::{ConnectionOf, Dialect};
use crate::error::SqlError;
use crate::rows;

/// Writes what the change does to the state tables: the change made (with
/// what the store decides filled in: a leaving owner's heir), or `None`
/// when there was nothing to do.
pub(super) async fn apply<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
    seq: i64,
    roster: &[(UserId, Seat)],
) -> Result<Result<Option<Change>, Refusal>, SqlError> {
    let id = change.conversation_id.as_str();
    let at = time::to_millis(change.at);
    let changed = match &change.change {
        Change::Edited {
            message_seq,
            body,
            content,
        } => {
            let message_seq = rows::to_sql(*message_seq);
            let mut sql = QueryBuilder::new("UPDATE chat_messages SET body = ");
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
                "{} INTO chat_reactions (conversation_id, message_seq, reaction, user_id, seq) VALUES (",
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
            let mut sql = QueryBuilder::new("DELETE FROM chat_reactions WHERE conversation_id = ");
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
            if seat(roster, user_id).is_some() {
                false
            } else if roster.len() >= change.max_members {
                return Ok(Err(Refusal::Full));
            } else {
                // The first to join a group nobody owns (its owner left it
                // empty) owns it.
                let ownerless = roster.iter().all(|(_, seat)| seat.role != Role::Owner);
                let role = if ownerless { Role::Owner } else { Role::Member };
                // The new member's read mark starts at this very event.
                let mut sql = QueryBuilder::new(
                    "INSERT INTO chat_members (conversation_id, user_id, read_seq, joined_at, role) VALUES (",
                );
                D::push_text(&mut sql, id);
                sql.push(", ");
                D::push_text(&mut sql, user_id.as_str());
                sql.push(", ");
                D::push_integer(&mut sql, seq);
                sql.push(", ");
                D::push_integer(&mut sql, at);
                sql.push(", ");
                D::push_text(&mut sql, role.as_str());
                sql.push(")");
                D::execute(&mut sql, connection).await?;
                true
            }
        }
        Change::MemberRemoved { user_id, .. } => {
            if !remove_member::<D>(connection, id, user_id).await? {
                return Ok(Ok(None));
            }
            let new_owner = match seat(roster, user_id) {
                Some(seat) if seat.role == Role::Owner => {
                    let heir = heir(roster, user_id);
                    if let Some(heir) = &heir {
                        set_role::<D>(connection, id, heir, Role::Owner).await?;
                    }
                    heir
                }
                _ => None,
            };
            return Ok(Ok(Some(Change::MemberRemoved {
                user_id: user_id.clone(),
                new_owner,
            })));
        }
        Change::RoleChanged { user_id, role } => {
            seat(roster, user_id).is_some_and(|seat| seat.role != *role)
                && set_role::<D>(connection, id, user_id, *role).await?
        }
        Change::OwnerChanged { user_id } => {
            set_role::<D>(connection, id, user_id, Role::Owner).await?;
            set_role::<D>(connection, id, &change.by, Role::Admin).await?
        }
        Change::Banned { user_id } => {
            let mut sql = QueryBuilder::new(format!(
                "{} INTO chat_bans (conversation_id, user_id, banned_by, banned_at) VALUES (",
                D::INSERT_IGNORE
            ));
            D::push_text(&mut sql, id);
            sql.push(", ");
            D::push_text(&mut sql, user_id.as_str());
            sql.push(", ");
            D::push_text(&mut sql, change.by.as_str());
            sql.push(", ");
            D::push_integer(&mut sql, at);
            sql.push(")");
            let banned = D::execute(&mut sql, connection).await? == 1;
            remove_member::<D>(connection, id, user_id).await? || banned
        }
        Change::Unbanned { user_id } => {
            let mut sql = QueryBuilder::new("DELETE FROM chat_bans WHERE conversation_id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND user_id = ");
            D::push_text(&mut sql, user_id.as_str());
            D::execute(&mut sql, connection).await? == 1
        }
        Change::SettingsChanged { members_can_add } => {
            let allowed = i64::from(*members_can_add);
            let mut sql = QueryBuilder::new("UPDATE chat_conversations SET members_can_add = ");
            D::push_integer(&mut sql, allowed);
            sql.push(" WHERE id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND members_can_add <> ");
            D::push_integer(&mut sql, allowed);
            D::execute(&mut sql, connection).await? == 1
        }
        Change::Muted { user_id } | Change::Unmuted { user_id } => {
            let (from, to) = if matches!(change.change, Change::Muted { .. }) {
                (0, rows::MUTED)
            } else {
                (rows::MUTED, 0)
            };
            let mut sql = QueryBuilder::new("UPDATE chat_members SET silenced = ");
            D::push_integer(&mut sql, to);
            sql.push(" WHERE conversation_id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND user_id = ");
            D::push_text(&mut sql, user_id.as_str());
            sql.push(" AND silenced = ");
            D::push_integer(&mut sql, from);
            D::execute(&mut sql, connection).await? == 1
        }
        Change::Renamed { title } => {
            let mut sql = QueryBuilder::new("UPDATE chat_conversations SET title = ");
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
                "{} INTO chat_pins (conversation_id, message_seq, pinned_by, pinned_at) VALUES (",
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
            let mut sql = QueryBuilder::new("DELETE FROM chat_pins WHERE conversation_id = ");
            D::push_text(&mut sql, id);
            sql.push(" AND message_seq = ");
            D::push_integer(&mut sql, rows::to_sql(*message_seq));
            D::execute(&mut sql, connection).await? == 1
        }
        // `Change` is non-exhaustive: a kind the core adds later is written
        // here before any store can be given it.
        _ => unreachable!("a change kind this store does not know"),
    };
    Ok(Ok(changed.then(|| change.change.clone())))
}

/// Who owns a group after its owner `leaving` goes: the longest-standing
/// admin, else the longest-standing member (ties by user id); `None` when
/// nobody is left.
fn heir(roster: &[(UserId, Seat)], leaving: &UserId) -> Option<UserId> {
    roster
        .iter()
        .filter(|(user, _)| user != leaving)
        .min_by_key(|(user, seat)| (seat.role != Role::Admin, seat.joined_at, user.clone()))
        .map(|(user, _)| user.clone())
}

/// Deletes `user`'s membership of `id`; whether they were a member.
async fn remove_member<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &str,
    user: &UserId,
) -> Result<bool, SqlError> {
    let mut sql = QueryBuilder::new("DELETE FROM chat_members WHERE conversation_id = ");
    D::push_text(&mut sql, id);
    sql.push(" AND user_id = ");
    D::push_text(&mut sql, user.as_str());
    Ok(D::execute(&mut sql, connection).await? == 1)
}

/// Gives member `user` of `id` `role` (an owner is never muted); whether
/// they are a member.
pub(super) async fn set_role<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &str,
    user: &UserId,
    role: Role,
) -> Result<bool, SqlError> {
    let mut sql = QueryBuilder::new("UPDATE chat_members SET role = ");
    D::push_text(&mut sql, role.as_str());
    if role == Role::Owner {
        // Nobody could unmute an owner (admins never act on the owner, and
        // the owner does not moderate themselves): owning lifts a mute.
        sql.push(", silenced = 0");
    }
    sql.push(" WHERE conversation_id = ");
    D::push_text(&mut sql, id);
    sql.push(" AND user_id = ");
    D::push_text(&mut sql, user.as_str());
    Ok(D::execute(&mut sql, connection).await? == 1)
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
        "UPDATE chat_messages SET body = '', content_kind = NULL, content_payload = NULL, \
         mentions = NULL, deleted_at = ",
    );
    D::push_integer(&mut sql, at);
    sql.push(", updated_seq = ");
    D::push_integer(&mut sql, seq);
    push_message_key::<D>(&mut sql, id, message_seq);
    D::execute(&mut sql, connection).await?;
    let mut sql = QueryBuilder::new(
        "UPDATE chat_events SET body = NULL, content_kind = NULL, content_payload = NULL \
         WHERE kind = 'edited' AND conversation_id = ",
    );
    D::push_text(&mut sql, id);
    sql.push(" AND message_seq = ");
    D::push_integer(&mut sql, message_seq);
    D::execute(&mut sql, connection).await?;
    for table in ["chat_reactions", "chat_pins"] {
        let mut sql = QueryBuilder::new(format!("DELETE FROM {table} WHERE conversation_id = "));
        D::push_text(&mut sql, id);
        sql.push(" AND message_seq = ");
        D::push_integer(&mut sql, message_seq);
        D::execute(&mut sql, connection).await?;
    }
    let mut sql = QueryBuilder::new("DELETE FROM chat_mentions WHERE conversation_id = ");
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
    let mut sql = QueryBuilder::new("UPDATE chat_messages SET updated_seq = ");
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

pub(super) fn push_optional_text<D: Dialect>(
    sql: &mut QueryBuilder<'_, D::Db>,
    value: Option<&str>,
) {
    match value {
        Some(value) => D::push_text(sql, value),
        None => {
            sql.push("NULL");
        }
    }
}
