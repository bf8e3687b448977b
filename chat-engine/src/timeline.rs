//! The timeline of a conversation: every change to it takes the next `seq`
//! in the store's transaction, the same stream messages are in, so the
//! machinery that makes messages exactly-once (gap-free seqs, `resume`,
//! `gap` events, idempotent `client_id`s) covers every change.
//!
//! Two ways to read it:
//! - **current state**: history pages of messages as they are now (edited
//!   text, tombstones, reaction counts, thread counts), which is what a
//!   conversation opens on;
//! - **events since N**: every entry after a seq, in seq order (a message in
//!   its current state, or another change), which is what `resume` replays
//!   and what a client applies to bring its copy up to date.
//!
//! A message's `updated_seq` is the seq of the last change that touched it
//! (an edit, a delete, a reaction, a thread reply, a pin does not count). A
//! client applies a change to a message only when the change's seq is
//! greater than the message's `updated_seq`, then sets `updated_seq` to it:
//! replaying a message in its current state and then the changes that made
//! it so applies nothing twice.

use serde::{Deserialize, Serialize};

use crate::content::Content;
use crate::conversation::Role;
use crate::ids::{ConversationId, Seq, UserId};
use crate::message::Message;
use crate::time::Timestamp;

/// What a change does. On the wire each kind is an event of its own type
/// (`edited`, `deleted`, `reaction_added`, `reaction_removed`,
/// `member_added`, `member_removed`, `renamed`, `pinned`, `unpinned`,
/// `role_changed`, `owner_changed`, `banned`, `unbanned`, `muted`, `unmuted`,
/// `settings_changed`; see
/// [`ServerEvent`](crate::protocol::ServerEvent)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// The sender replaced a message's text (and content).
    Edited {
        /// The message.
        message_seq: Seq,
        /// Its new text.
        body: String,
        /// Its new structured content.
        content: Option<Content>,
    },
    /// A message was deleted: its text and content are gone, a tombstone stays.
    Deleted {
        /// The message.
        message_seq: Seq,
    },
    /// A member reacted to a message.
    ReactionAdded {
        /// The message.
        message_seq: Seq,
        /// The reaction (an emoji, or any key of 1 to 64 bytes).
        reaction: String,
    },
    /// A member took a reaction back.
    ReactionRemoved {
        /// The message.
        message_seq: Seq,
        /// The reaction.
        reaction: String,
    },
    /// A user joined (was added, or joined a room).
    MemberAdded {
        /// Who.
        user_id: UserId,
    },
    /// A user left or was removed.
    MemberRemoved {
        /// Who.
        user_id: UserId,
        /// When the owner left: the member who owns the group now (the
        /// longest-standing admin, else member). Set by the store; `None`
        /// in the change handed to it.
        new_owner: Option<UserId>,
    },
    /// The owner made a member an admin, or an admin a plain member.
    RoleChanged {
        /// Who.
        user_id: UserId,
        /// Their role now: [`Role::Admin`] or [`Role::Member`].
        role: Role,
    },
    /// The owner handed the group over: `user_id` owns it now and the
    /// previous owner (the change's `by`) is an admin.
    OwnerChanged {
        /// The new owner.
        user_id: UserId,
    },
    /// An admin banned a user: removed if a member, and neither joining nor
    /// being added again until unbanned.
    Banned {
        /// Who.
        user_id: UserId,
    },
    /// An admin lifted a ban.
    Unbanned {
        /// Who.
        user_id: UserId,
    },
    /// An admin muted a member: they read, but cannot send, edit, react or pin.
    Muted {
        /// Who.
        user_id: UserId,
    },
    /// An admin lifted a mute.
    Unmuted {
        /// Who.
        user_id: UserId,
    },
    /// An admin changed whether plain members may add others.
    SettingsChanged {
        /// See [`Conversation::members_can_add`](crate::Conversation::members_can_add).
        members_can_add: bool,
    },
    /// The group was renamed.
    Renamed {
        /// The new title.
        title: String,
    },
    /// A message was pinned.
    Pinned {
        /// The message.
        message_seq: Seq,
    },
    /// A message was unpinned.
    Unpinned {
        /// The message.
        message_seq: Seq,
    },
}

impl Change {
    /// The message the change is about, for those about one.
    #[must_use]
    pub fn message_seq(&self) -> Option<Seq> {
        match self {
            Self::Edited { message_seq, .. }
            | Self::Deleted { message_seq }
            | Self::ReactionAdded { message_seq, .. }
            | Self::ReactionRemoved { message_seq, .. }
            | Self::Pinned { message_seq }
            | Self::Unpinned { message_seq } => Some(*message_seq),
            _ => None,
        }
    }

    /// The user the change is about, for membership and moderation changes.
    #[must_use]
    pub fn subject(&self) -> Option<&UserId> {
        match self {
            Self::MemberAdded { user_id }
            | Self::MemberRemoved { user_id, .. }
            | Self::RoleChanged { user_id, .. }
            | Self::OwnerChanged { user_id }
            | Self::Banned { user_id }
            | Self::Unbanned { user_id }
            | Self::Muted { user_id }
            | Self::Unmuted { user_id } => Some(user_id),
            _ => None,
        }
    }

    /// Whether this change may be a retry of `earlier` (made with the same
    /// `client_id`): the same kind on the same message, with the same
    /// reaction. An edit retried with another text is still that retry (the
    /// first text stands); a `client_id` reused for anything else is a
    /// client's mistake, refused with [`Refusal::ClientIdReused`](crate::Refusal::ClientIdReused).
    #[must_use]
    pub fn may_retry(&self, earlier: &Self) -> bool {
        let reaction = |change: &Self| match change {
            Self::ReactionAdded { reaction, .. } | Self::ReactionRemoved { reaction, .. } => {
                Some(reaction.clone())
            }
            _ => None,
        };
        self.kind() == earlier.kind()
            && self.message_seq() == earlier.message_seq()
            && reaction(self) == reaction(earlier)
    }

    /// The name stored for its kind.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Edited { .. } => "edited",
            Self::Deleted { .. } => "deleted",
            Self::ReactionAdded { .. } => "reaction_added",
            Self::ReactionRemoved { .. } => "reaction_removed",
            Self::MemberAdded { .. } => "member_added",
            Self::MemberRemoved { .. } => "member_removed",
            Self::Renamed { .. } => "renamed",
            Self::Pinned { .. } => "pinned",
            Self::Unpinned { .. } => "unpinned",
            Self::RoleChanged { .. } => "role_changed",
            Self::OwnerChanged { .. } => "owner_changed",
            Self::Banned { .. } => "banned",
            Self::Unbanned { .. } => "unbanned",
            Self::Muted { .. } => "muted",
            Self::Unmuted { .. } => "unmuted",
            Self::SettingsChanged { .. } => "settings_changed",
        }
    }
}

/// One stored change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEvent {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its place in the conversation's stream.
    pub seq: Seq,
    /// Who made it.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// The `client_id` it was made with, if any.
    pub client_id: Option<String>,
    /// What it does.
    pub change: Change,
}

/// A change to make, as handed to [`Store::change`](crate::Store::change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChange {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Who makes it, with the role the change needs (checked in the
    /// change's transaction; see [`Store::change`](crate::Store::change)).
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// An idempotency key: a retry with the same one from the same user in
    /// the same conversation returns the stored change.
    pub client_id: Option<String>,
    /// What to change.
    pub change: Change,
    /// For [`Change::MemberAdded`]: the most members the conversation may have.
    pub max_members: usize,
}

/// What [`Store::change`](crate::Store::change) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now, with the next seq.
    Applied(TimelineEvent),
    /// A retry of a stored change (same `client_id`): nothing new.
    Repeated(TimelineEvent),
    /// Nothing to do (a reaction already there, a pin already gone, a member
    /// already in): no event, no seq.
    Unchanged,
}

impl Outcome {
    /// The stored event, if there is one.
    #[must_use]
    pub fn event(&self) -> Option<&TimelineEvent> {
        match self {
            Self::Applied(event) | Self::Repeated(event) => Some(event),
            Self::Unchanged => None,
        }
    }
}

/// A change made, and the members of the conversation then (with a removed
/// member still among them): the event's recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changed {
    /// What happened.
    pub outcome: Outcome,
    /// The members, sorted.
    pub members: Vec<UserId>,
}

/// One entry of a conversation's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A message, in its current state.
    Message(Message),
    /// Any other change.
    Change(TimelineEvent),
}

impl Entry {
    /// Its seq.
    #[must_use]
    pub fn seq(&self) -> Seq {
        match self {
            Self::Message(message) => message.seq,
            Self::Change(event) => event.seq,
        }
    }
}

/// Entries after a seq, in seq order, and whether more follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelinePage {
    /// Ascending seq.
    pub entries: Vec<Entry>,
    /// Whether more entries follow the last.
    pub has_more: bool,
}

/// A member's read mark, as `GET /conversations/{cid}/reads` lists them.
/// (Named `MemberReadMark` in the OpenAPI document: `ReadMark` there is the
/// body of `POST …/read`, which names no user.)
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MemberReadMark))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadMark {
    /// The member.
    pub user_id: UserId,
    /// The highest seq they have read.
    pub seq: Seq,
}

/// One reaction on a message: how many members reacted with it, and
/// whether the member asking is one of them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionCount {
    /// The reaction.
    pub reaction: String,
    /// How many members reacted with it.
    pub count: u64,
    /// Whether the member asking did (always `false` in a live `message`
    /// event, which every member shares).
    #[serde(default)]
    pub mine: bool,
}
