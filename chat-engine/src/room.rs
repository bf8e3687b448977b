//! Public rooms: groups marked public when created, which any user can find
//! (newest first, searchable by title) and join or leave by themselves.
//! Private groups stay invite-only. A room is a group in every other way:
//! same messages, read marks and membership events.

use serde::{Deserialize, Serialize};

use crate::ids::{ConversationId, Seq, UserId};
use crate::time::Timestamp;

/// One public room as the directory lists it: no member list (rooms can be
/// large), a count instead, and whether the viewer has joined.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// The room's conversation id.
    pub id: ConversationId,
    /// Its title.
    pub title: String,
    /// Who created it.
    pub created_by: UserId,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// The `seq` of its latest message; `0` when it has none.
    pub last_seq: Seq,
    /// How many members it has now.
    pub member_count: u64,
    /// Whether the user who asked is a member.
    pub joined: bool,
}

/// A page of the room directory, as handed to [`Store::rooms`](crate::Store::rooms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomQuery {
    /// Who is looking (for [`Room::joined`]).
    pub viewer: UserId,
    /// Only rooms whose title contains this, ignoring case (ASCII letters on
    /// SQLite, all letters on MySQL; accents count). Never empty when set.
    pub search: Option<String>,
    /// Only rooms older than this one: the last id of the previous page.
    pub before: Option<ConversationId>,
    /// At most this many rooms (at least 1).
    pub limit: u32,
}

/// Rooms newest first, and whether older ones remain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomPage {
    /// Newest first (conversation ids are time-ordered UUIDv7).
    pub rooms: Vec<Room>,
    /// Whether more rooms match: ask again with `before` set to the last id.
    pub has_more: bool,
}

impl RoomPage {
    /// The page a store makes from up to `limit + 1` rooms fetched in order:
    /// the extra room only says that more remain.
    ///
    /// ```
    /// use chat_engine::RoomPage;
    /// let page = RoomPage::from_overfetch(Vec::new(), 15);
    /// assert!(page.rooms.is_empty() && !page.has_more);
    /// ```
    #[must_use]
    pub fn from_overfetch(rooms: Vec<Room>, limit: u32) -> Self {
        let (rooms, has_more) = crate::paging::split_overfetch(rooms, limit);
        Self { rooms, has_more }
    }
}
