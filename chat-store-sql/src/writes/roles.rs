//! The roles' rules (see `Store::change`): who may make which change, read
//! inside the change's transaction, so a race cannot slip past them.

use chat_engine::{Change, ConversationId, NewChange, Refusal, Role, UserId};
use sqlx::QueryBuilder;

use super::change::Reserved;
use crate::dialect::{ConnectionOf, Dialect};
use crate::error::SqlError;
use crate::{reads, rows};

/// A member as a change's checks see them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seat {
    /// Their role.
    pub(super) role: Role,
    /// `members.silenced`: may they write.
    pub(super) silenced: i64,
    /// When they joined (ms).
    pub(super) joined_at: i64,
}

/// The members of `id` with their seats, sorted by user id.
pub(super) async fn seats<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Vec<(UserId, Seat)>, SqlError> {
    let mut sql = QueryBuilder::new(
        "SELECT user_id, role, silenced, joined_at FROM chat_members WHERE conversation_id = ",
    );
    D::push_text(&mut sql, id.as_str());
    sql.push(" ORDER BY user_id");
    D::fetch_all(&mut sql, connection)
        .await?
        .iter()
        .map(|row| {
            let seat = Seat {
                role: rows::role::<D>(row, 1)?,
                silenced: rows::integer::<D>(row, 2, "silenced")?,
                joined_at: rows::integer::<D>(row, 3, "joined_at")?,
            };
            Ok((rows::user::<D>(row, 0)?, seat))
        })
        .collect()
}

pub(super) fn seat<'a>(roster: &'a [(UserId, Seat)], user: &UserId) -> Option<&'a Seat> {
    roster
        .binary_search_by(|(member, _)| member.cmp(user))
        .ok()
        .map(|at| &roster[at].1)
}

/// The roles' rules (see `Store::change`): why `change.by`, in `actor`'s
/// seat, may not make `change` about the member in `target`'s seat.
pub(super) async fn refuse<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
    reserved: &Reserved,
    actor: Option<&Seat>,
    target: Option<&Seat>,
) -> Result<Option<Refusal>, SqlError> {
    let role = actor.map(|seat| seat.role);
    let moderates = role.is_some_and(Role::moderates);
    let leaving =
        matches!(&change.change, Change::MemberRemoved { user_id, .. } if *user_id == change.by);
    // Muted (or blocked) members read; of writes they only delete their
    // own messages and leave.
    if let Some(refusal) = actor.and_then(|seat| rows::silence(seat.silenced))
        && !leaving
        && !matches!(change.change, Change::Deleted { .. })
    {
        return Ok(Some(refusal));
    }
    let on_owner = target.is_some_and(|seat| seat.role == Role::Owner);
    let on_oneself = change.change.subject() == Some(&change.by);
    Ok(match &change.change {
        Change::Renamed { .. } | Change::SettingsChanged { .. } if !moderates => {
            Some(Refusal::NotAnAdmin)
        }
        // Whether a user is banned is the admins' to know: a member who may
        // not add learns only that.
        Change::MemberAdded { .. } if !on_oneself && !moderates && !reserved.members_can_add => {
            Some(Refusal::NotAnAdmin)
        }
        Change::MemberAdded { user_id } => {
            if reads::listed::<D>(connection, "chat_bans", &change.conversation_id, user_id).await?
            {
                Some(Refusal::Banned)
            } else if !on_oneself && blocks::<D>(connection, user_id, &change.by).await? {
                Some(Refusal::Blocked)
            } else {
                None
            }
        }
        Change::MemberRemoved { .. } if leaving => None,
        Change::MemberRemoved { .. }
        | Change::Banned { .. }
        | Change::Unbanned { .. }
        | Change::Muted { .. }
        | Change::Unmuted { .. } => {
            if !moderates {
                Some(Refusal::NotAnAdmin)
            } else if on_oneself {
                Some(Refusal::OnOneself)
            } else if on_owner {
                Some(Refusal::OwnerProtected)
            } else if target.is_none()
                && matches!(change.change, Change::Muted { .. } | Change::Unmuted { .. })
            {
                Some(Refusal::UnknownMember)
            } else {
                None
            }
        }
        Change::RoleChanged { .. } | Change::OwnerChanged { .. } => {
            if role != Some(Role::Owner) {
                Some(Refusal::NotTheOwner)
            } else if on_oneself {
                Some(Refusal::OnOneself)
            } else if matches!(
                change.change,
                Change::RoleChanged {
                    role: Role::Owner,
                    ..
                }
            ) {
                Some(Refusal::OneOwner)
            } else if target.is_none() {
                Some(Refusal::UnknownMember)
            } else if on_owner {
                Some(Refusal::OwnerProtected)
            } else {
                None
            }
        }
        _ => None,
    })
}

/// Whether `blocker` blocks `user`: a locking read where the backend has
/// them, so a block committing meanwhile is waited for, not missed.
pub(super) async fn blocks<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    blocker: &UserId,
    user: &UserId,
) -> Result<bool, SqlError> {
    let mut sql = QueryBuilder::new("SELECT 1 FROM chat_blocks WHERE blocker = ");
    D::push_text(&mut sql, blocker.as_str());
    sql.push(" AND blocked = ");
    D::push_text(&mut sql, user.as_str());
    sql.push(D::LOCK_SHARED);
    Ok(D::fetch_optional(&mut sql, connection).await?.is_some())
}
