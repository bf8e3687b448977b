//! Rows into domain values, once for every backend: the column lists the
//! queries select, the decoders that read them in that order, and the
//! integer conversions between `Seq` (`u64`) and SQL's `BIGINT` (`i64`).

use chat_engine::{
    Change, Content, Conversation, ConversationId, ConversationKind, Message, MessageId,
    NotificationLevel, Preferences, Profile, Refusal, Role, Room, Seq, TimelineEvent, UserId, time,
};

use crate::dialect::{Dialect, RowOf};
use crate::error::SqlError;

/// The columns [`message`] decodes, in its order, prefixed by a table alias.
#[must_use]
pub fn message_columns(alias: &str) -> String {
    columns(
        alias,
        &[
            "id",
            "conversation_id",
            "seq",
            "sender",
            "body",
            "client_id",
            "created_at",
            "content_kind",
            "content_payload",
            "reply_to",
            "thread_root",
            "mentions",
            "updated_seq",
            "edited_at",
            "deleted_at",
            "reply_count",
            "last_reply_seq",
        ],
    )
}

/// How many columns [`message_columns`] lists.
pub const MESSAGE_COLUMNS: usize = 17;

/// The columns [`event`] decodes, in its order, prefixed by a table alias.
#[must_use]
pub fn event_columns(alias: &str) -> String {
    columns(
        alias,
        &[
            "conversation_id",
            "seq",
            "kind",
            "actor",
            "message_seq",
            "subject",
            "label",
            "body",
            "content_kind",
            "content_payload",
            "client_id",
            "created_at",
        ],
    )
}

/// The columns [`conversation`] decodes, in its order, prefixed by a table alias.
#[must_use]
pub fn conversation_columns(alias: &str) -> String {
    columns(
        alias,
        &[
            "id",
            "kind",
            "title",
            "created_by",
            "created_at",
            "last_seq",
            "is_public",
            "members_can_add",
        ],
    )
}

/// How many columns [`conversation_columns`] lists.
pub const CONVERSATION_COLUMNS: usize = 8;

/// The member columns [`Roster::add`] decodes, in its order, prefixed by a
/// table alias.
#[must_use]
pub fn member_columns(alias: &str) -> String {
    columns(alias, &["user_id", "role", "silenced"])
}

/// A member's preference columns [`preferences`] decodes, in its order,
/// prefixed by a table alias.
#[must_use]
pub fn preference_columns(alias: &str) -> String {
    columns(
        alias,
        &["notifications", "muted_until", "archived", "pinned"],
    )
}

/// How many columns [`preference_columns`] names.
pub const PREFERENCE_COLUMNS: usize = 4;

/// A member's preferences from the [`preference_columns`] at `at`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`] for an unknown level.
pub fn preferences<D: Dialect>(row: &RowOf<D>, at: usize) -> Result<Preferences, SqlError> {
    let level = required(D::id_text(row, at)?, "notifications")?;
    Ok(Preferences {
        notifications: NotificationLevel::parse(&level)
            .ok_or_else(|| SqlError::decode("notifications", format!("unknown level {level:?}")))?,
        muted_until: D::integer(row, at + 1)?.map(time::from_millis),
        archived: integer::<D>(row, at + 2, "archived")? != 0,
        pinned: integer::<D>(row, at + 3, "pinned")? != 0,
    })
}

/// What `members.silenced` holds for a member an admin muted.
pub const MUTED: i64 = 1;

/// What `members.silenced` holds for a user whom the other user of their
/// direct conversation blocks.
pub const BLOCKED: i64 = 2;

/// Why a member whose `members.silenced` is `code` may not write, if they may not.
#[must_use]
pub fn silence(code: i64) -> Option<Refusal> {
    match code {
        0 => None,
        BLOCKED => Some(Refusal::Blocked),
        _ => Some(Refusal::Muted),
    }
}

/// A conversation's members with their roles, built from rows in user id
/// order: what a [`Conversation`] lists.
#[derive(Debug, Default)]
pub struct Roster {
    members: Vec<UserId>,
    owner: Option<UserId>,
    admins: Vec<UserId>,
    muted: Vec<UserId>,
}

impl Roster {
    /// Adds the member of [`member_columns`] at column `at`; a row of an
    /// outer join that found no member adds nothing.
    ///
    /// # Errors
    /// The driver's, or [`SqlError::Decode`].
    pub fn add<D: Dialect>(&mut self, row: &RowOf<D>, at: usize) -> Result<(), SqlError> {
        let Some(user) = optional_user::<D>(row, at)? else {
            return Ok(());
        };
        match role::<D>(row, at + 1)? {
            Role::Owner => self.owner = Some(user.clone()),
            Role::Admin => self.admins.push(user.clone()),
            Role::Member => {}
        }
        if integer::<D>(row, at + 2, "silenced")? == MUTED {
            self.muted.push(user.clone());
        }
        self.members.push(user);
        Ok(())
    }
}

/// A role column at `index`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`] for an unknown role.
pub fn role<D: Dialect>(row: &RowOf<D>, index: usize) -> Result<Role, SqlError> {
    let text = required(D::text(row, index)?, "role")?;
    Role::parse(&text).ok_or_else(|| SqlError::decode("role", format!("unknown role {text:?}")))
}

fn columns(alias: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("{alias}.{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A seq for a query. Seqs above `i64::MAX` cannot exist in a store, so
/// clamping keeps every comparison's meaning.
#[must_use]
pub fn to_sql(seq: Seq) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// A seq (or a count) read from a store, never negative there.
#[must_use]
pub fn from_sql(value: i64) -> Seq {
    Seq::try_from(value).unwrap_or(0)
}

fn required<T>(value: Option<T>, column: &'static str) -> Result<T, SqlError> {
    value.ok_or_else(|| SqlError::decode(column, "is NULL"))
}

fn id<D: Dialect, T>(
    row: &RowOf<D>,
    index: usize,
    column: &'static str,
    parse: fn(String) -> Result<T, chat_engine::ChatError>,
) -> Result<T, SqlError> {
    let text = required(D::id_text(row, index)?, column)?;
    parse(text).map_err(|error| SqlError::decode(column, error))
}

/// A NOT NULL integer column at `index`.
pub(crate) fn integer<D: Dialect>(
    row: &RowOf<D>,
    index: usize,
    column: &'static str,
) -> Result<i64, SqlError> {
    required(D::integer(row, index)?, column)
}

/// A user id at `index`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn user<D: Dialect>(row: &RowOf<D>, index: usize) -> Result<UserId, SqlError> {
    id::<D, _>(row, index, "user_id", UserId::new)
}

/// A user id at `index`, `None` when NULL (an outer join that found none).
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn optional_user<D: Dialect>(row: &RowOf<D>, index: usize) -> Result<Option<UserId>, SqlError> {
    D::id_text(row, index)?
        .map(|text| UserId::new(text).map_err(|error| SqlError::decode("user_id", error)))
        .transpose()
}

/// A conversation id at `index`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn conversation_id<D: Dialect>(
    row: &RowOf<D>,
    index: usize,
) -> Result<ConversationId, SqlError> {
    id::<D, _>(row, index, "conversation_id", ConversationId::new)
}

/// Decodes [`message_columns`] starting at column `at` (reactions are read
/// apart: [`crate::reads`] attaches them).
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn message<D: Dialect>(row: &RowOf<D>, at: usize) -> Result<Message, SqlError> {
    let (kind, payload) = (D::text(row, at + 7)?, D::text(row, at + 8)?);
    let content = Content::from_columns(kind, payload.as_deref())
        .map_err(|error| SqlError::decode("content_payload", error))?;
    let seq = from_sql(integer::<D>(row, at + 2, "seq")?);
    let mentions = match D::text(row, at + 11)? {
        Some(json) => serde_json::from_str::<Vec<UserId>>(&json)
            .map_err(|error| SqlError::decode("mentions", error))?,
        None => Vec::new(),
    };
    let updated = from_sql(integer::<D>(row, at + 12, "updated_seq")?);
    Ok(Message {
        id: id::<D, _>(row, at, "id", MessageId::new)?,
        conversation_id: conversation_id::<D>(row, at + 1)?,
        seq,
        sender: id::<D, _>(row, at + 3, "sender", UserId::new)?,
        body: required(D::text(row, at + 4)?, "body")?,
        client_id: D::id_text(row, at + 5)?,
        created_at: time::from_millis(integer::<D>(row, at + 6, "created_at")?),
        content,
        reply_to: D::integer(row, at + 9)?.map(from_sql),
        thread_root: D::integer(row, at + 10)?.map(from_sql),
        mentions,
        updated_seq: updated.max(seq),
        edited_at: D::integer(row, at + 13)?.map(time::from_millis),
        deleted: D::integer(row, at + 14)?.is_some(),
        reactions: Vec::new(),
        reply_count: from_sql(integer::<D>(row, at + 15, "reply_count")?),
        last_reply_seq: D::integer(row, at + 16)?.map(from_sql),
    })
}

/// Decodes [`event_columns`] starting at column `at`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`] (an unknown kind among them).
pub fn event<D: Dialect>(row: &RowOf<D>, at: usize) -> Result<TimelineEvent, SqlError> {
    let message_seq =
        || -> Result<u64, SqlError> { Ok(from_sql(integer::<D>(row, at + 4, "message_seq")?)) };
    // Binary-collated text, which MySQL hands back as bytes.
    let label = || required(D::id_text(row, at + 6)?, "label");
    let subject = || id::<D, _>(row, at + 5, "subject", UserId::new);
    let kind = required(D::text(row, at + 2)?, "kind")?;
    let change = match kind.as_str() {
        "edited" => {
            let (kind, payload) = (D::text(row, at + 8)?, D::text(row, at + 9)?);
            Change::Edited {
                message_seq: message_seq()?,
                // Wiped when the message was deleted.
                body: D::text(row, at + 7)?.unwrap_or_default(),
                content: Content::from_columns(kind, payload.as_deref())
                    .map_err(|error| SqlError::decode("content_payload", error))?,
            }
        }
        "deleted" => Change::Deleted {
            message_seq: message_seq()?,
        },
        "reaction_added" => Change::ReactionAdded {
            message_seq: message_seq()?,
            reaction: label()?,
        },
        "reaction_removed" => Change::ReactionRemoved {
            message_seq: message_seq()?,
            reaction: label()?,
        },
        "member_added" => Change::MemberAdded {
            user_id: subject()?,
        },
        "member_removed" => Change::MemberRemoved {
            user_id: subject()?,
            new_owner: D::id_text(row, at + 6)?
                .map(|text| UserId::new(text).map_err(|error| SqlError::decode("label", error)))
                .transpose()?,
        },
        "role_changed" => Change::RoleChanged {
            user_id: subject()?,
            role: Role::parse(&label()?)
                .ok_or_else(|| SqlError::decode("label", "an unknown role"))?,
        },
        "owner_changed" => Change::OwnerChanged {
            user_id: subject()?,
        },
        "banned" => Change::Banned {
            user_id: subject()?,
        },
        "unbanned" => Change::Unbanned {
            user_id: subject()?,
        },
        "muted" => Change::Muted {
            user_id: subject()?,
        },
        "unmuted" => Change::Unmuted {
            user_id: subject()?,
        },
        "settings_changed" => Change::SettingsChanged {
            members_can_add: label()? == "true",
        },
        "renamed" => Change::Renamed { title: label()? },
        "pinned" => Change::Pinned {
            message_seq: message_seq()?,
        },
        "unpinned" => Change::Unpinned {
            message_seq: message_seq()?,
        },
        other => {
            return Err(SqlError::decode(
                "kind",
                format!("unknown event kind {other:?}"),
            ));
        }
    };
    Ok(TimelineEvent {
        conversation_id: conversation_id::<D>(row, at)?,
        seq: from_sql(integer::<D>(row, at + 1, "seq")?),
        by: id::<D, _>(row, at + 3, "actor", UserId::new)?,
        at: time::from_millis(integer::<D>(row, at + 11, "created_at")?),
        client_id: D::id_text(row, at + 10)?,
        change,
    })
}

/// Decodes [`conversation_columns`] starting at column `at`, with its members.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn conversation<D: Dialect>(
    row: &RowOf<D>,
    at: usize,
    roster: Roster,
) -> Result<Conversation, SqlError> {
    let kind = match required(D::text(row, at + 1)?, "kind")?.as_str() {
        "direct" => ConversationKind::Direct,
        _ => ConversationKind::Group,
    };
    Ok(Conversation {
        id: conversation_id::<D>(row, at)?,
        kind,
        title: D::text(row, at + 2)?,
        public: integer::<D>(row, at + 6, "is_public")? != 0,
        created_by: id::<D, _>(row, at + 3, "created_by", UserId::new)?,
        members: roster.members,
        owner: roster.owner,
        admins: roster.admins,
        muted: roster.muted,
        members_can_add: integer::<D>(row, at + 7, "members_can_add")? != 0,
        created_at: time::from_millis(integer::<D>(row, at + 4, "created_at")?),
        last_seq: from_sql(integer::<D>(row, at + 5, "last_seq")?),
    })
}

/// A directory's user from `id, display_name, avatar_url`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn profile<D: Dialect>(row: &RowOf<D>) -> Result<Profile, SqlError> {
    Ok(Profile {
        user_id: user::<D>(row, 0)?,
        display_name: D::text(row, 1)?.unwrap_or_default(),
        avatar_url: D::text(row, 2)?,
    })
}

/// Decodes `id, title, created_by, created_at, last_seq, member count,
/// joined` (from column 0) into a directory entry.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn room<D: Dialect>(row: &RowOf<D>) -> Result<Room, SqlError> {
    Ok(Room {
        id: conversation_id::<D>(row, 0)?,
        title: D::text(row, 1)?.unwrap_or_default(),
        created_by: id::<D, _>(row, 2, "created_by", UserId::new)?,
        created_at: time::from_millis(integer::<D>(row, 3, "created_at")?),
        last_seq: from_sql(integer::<D>(row, 4, "last_seq")?),
        member_count: from_sql(integer::<D>(row, 5, "member_count")?),
        joined: integer::<D>(row, 6, "joined")? != 0,
    })
}

/// A message id at `index`.
///
/// # Errors
/// The driver's, or [`SqlError::Decode`].
pub fn message_id<D: Dialect>(row: &RowOf<D>, index: usize) -> Result<MessageId, SqlError> {
    id::<D, _>(row, index, "message_id", MessageId::new)
}
