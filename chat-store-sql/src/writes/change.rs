//! Running one change: reserve the seq, read the members, answer retries,
//! check the message it is about and the roles, write it, store its event.

use chat_engine::{
    Change, Changed, Content, ConversationId, NewChange, Outcome, Refusal, TimelineEvent, UserId,
    time,
};
use sqlx::QueryBuilder;

use super::Written;
use super::roles::{refuse, seat, seats};
use super::state::{apply, push_optional_text};
use crate::dialect::{ConnectionOf, Dialect};
use crate::error::SqlError;
use crate::reads;
use crate::rows::{self, event_columns};

/// Makes `change` in the open transaction on `connection` (see the module
/// docs for what to do with the result).
///
/// # Errors
/// [`SqlError`].
pub async fn change<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
) -> Result<Written<Changed>, SqlError> {
    let id = &change.conversation_id;
    let Some(reserved) = reserve_seq::<D>(connection, id).await? else {
        return Ok(Written::RollBack(Err(Refusal::UnknownConversation)));
    };
    let seq = reserved.seq;
    let roster = seats::<D>(connection, id).await?;
    let members: Vec<UserId> = roster.iter().map(|(user, _)| user.clone()).collect();
    let joining =
        matches!(&change.change, Change::MemberAdded { user_id } if *user_id == change.by);
    let actor = seat(&roster, &change.by);
    if actor.is_none() && !joining {
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
    let target = change.change.subject().and_then(|user| seat(&roster, user));
    if let Some(refusal) = refuse::<D>(connection, change, &reserved, actor, target).await? {
        return Ok(Written::RollBack(Err(refusal)));
    }
    let made = match apply::<D>(connection, change, seq, &roster).await? {
        Err(refusal) => return Ok(Written::RollBack(Err(refusal))),
        Ok(None) => {
            let changed = Changed {
                outcome: Outcome::Unchanged,
                members,
            };
            return Ok(Written::RollBack(Ok(changed)));
        }
        Ok(Some(made)) => made,
    };
    insert_event::<D>(connection, change, &made, seq).await?;
    // The recipients: members after the change, a removed (or banned)
    // member still among them (they hear that they left).
    let mut recipients = reads::members::<D>(connection, id)
        .await?
        .unwrap_or_default();
    if let Change::MemberRemoved { user_id, .. } | Change::Banned { user_id } = &made
        && target.is_some()
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
        change: made,
    };
    Ok(Written::Commit(Changed {
        outcome: Outcome::Applied(event),
        members: recipients,
    }))
}

/// What a change's transaction knows of its conversation.
pub(super) struct Reserved {
    /// The seq the change takes.
    pub(super) seq: i64,
    /// Whether plain members may add others.
    pub(super) members_can_add: bool,
}

/// Takes the conversation's next seq (and its row's write lock).
async fn reserve_seq<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
) -> Result<Option<Reserved>, SqlError> {
    let mut sql = QueryBuilder::new(
        "UPDATE chat_conversations SET last_seq = last_seq + 1 WHERE deleted_at IS NULL AND id = ",
    );
    D::push_text(&mut sql, id.as_str());
    if D::execute(&mut sql, connection).await? == 0 {
        return Ok(None);
    }
    let mut sql =
        QueryBuilder::new("SELECT last_seq, members_can_add FROM chat_conversations WHERE id = ");
    D::push_text(&mut sql, id.as_str());
    let Some(row) = D::fetch_optional(&mut sql, connection).await? else {
        return Ok(None);
    };
    Ok(Some(Reserved {
        seq: rows::integer::<D>(&row, 0, "last_seq")?,
        members_can_add: rows::integer::<D>(&row, 1, "members_can_add")? != 0,
    }))
}

async fn stored_event<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &ConversationId,
    by: &UserId,
    client_id: &str,
) -> Result<Option<TimelineEvent>, SqlError> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {} FROM chat_events e WHERE e.conversation_id = ",
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
        QueryBuilder::new("SELECT sender, deleted_at FROM chat_messages WHERE conversation_id = ");
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

/// Stores the event of `made`, the change as made (see [`apply`]).
async fn insert_event<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    change: &NewChange,
    made: &Change,
    seq: i64,
) -> Result<(), SqlError> {
    let (message_seq, subject, label, body, content) = match made {
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
        Change::MemberRemoved { user_id, new_owner } => (
            None,
            Some(user_id.as_str()),
            new_owner.as_ref().map(UserId::as_str),
            None,
            None,
        ),
        Change::RoleChanged { user_id, role } => (
            None,
            Some(user_id.as_str()),
            Some(role.as_str()),
            None,
            None,
        ),
        Change::SettingsChanged { members_can_add } => (
            None,
            None,
            Some(if *members_can_add { "true" } else { "false" }),
            None,
            None,
        ),
        Change::Renamed { title } => (None, None, Some(title.as_str()), None, None),
        other => (
            other.message_seq(),
            other.subject().map(UserId::as_str),
            None,
            None,
            None,
        ),
    };
    let mut sql = QueryBuilder::new(
        "INSERT INTO chat_events (conversation_id, seq, kind, actor, message_seq, subject, label, \
         body, content_kind, content_payload, client_id, created_at) VALUES (",
    );
    D::push_text(&mut sql, change.conversation_id.as_str());
    sql.push(", ");
    D::push_integer(&mut sql, seq);
    sql.push(", ");
    D::push_text(&mut sql, made.kind());
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
