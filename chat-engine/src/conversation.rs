//! Conversations: direct (exactly two users, one per unordered pair) and
//! groups (title, members, creator), plus the per-user summary that a
//! conversation list shows.

use serde::{Deserialize, Serialize};

use crate::error::ChatError;
use crate::ids::{ConversationId, Seq, UserId};
use crate::message::Message;
use crate::time::Timestamp;

/// Whether a conversation is between two users or a group.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Exactly two users; one conversation per unordered pair.
    Direct,
    /// A titled conversation with any number of members (up to the configured limit).
    Group,
}

impl ConversationKind {
    /// The name used on the wire and in storage: `"direct"` or `"group"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }
}

/// What a member may do in a group or room. Direct conversations have no
/// roles: both users are plain members, and neither moderates the other
/// (a user [blocks](crate::ChatService::block) instead).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads and writes; adds members only where the group allows it
    /// ([`Conversation::members_can_add`]).
    #[default]
    Member,
    /// Adds, removes, bans and mutes members and other admins (never the
    /// owner), renames and deletes the group.
    Admin,
    /// One per group: an admin who also appoints admins and may hand the
    /// group over. When the owner leaves, the longest-standing admin (else
    /// member) becomes owner.
    Owner,
}

impl Role {
    /// The name used on the wire and in storage: `"member"`, `"admin"` or `"owner"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    /// Parses [`Role::as_str`]; anything else is `None`.
    ///
    /// ```
    /// use chat_engine::Role;
    /// assert_eq!(Role::parse("admin"), Some(Role::Admin));
    /// assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
    /// assert_eq!(Role::parse("boss"), None);
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "member" => Some(Self::Member),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }

    /// Whether the role moderates (admins and the owner).
    #[must_use]
    pub fn moderates(self) -> bool {
        self >= Self::Admin
    }
}

/// A conversation and its members.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// The group's title; `None` for direct conversations.
    pub title: Option<String>,
    /// Whether it is a public room: any user may find it in the directory
    /// and join or leave it by themselves. `false` for private groups
    /// (invite-only) and direct conversations.
    #[serde(default)]
    pub public: bool,
    /// Who created it (the group's creator, or whoever opened the direct conversation).
    pub created_by: UserId,
    /// Current members, sorted by user id.
    pub members: Vec<UserId>,
    /// The group's owner (see [`Role::Owner`]); `None` for direct
    /// conversations and for a room its last member left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<UserId>,
    /// The group's admins besides the owner, sorted.
    #[serde(default)]
    pub admins: Vec<UserId>,
    /// Members an admin muted: they read but cannot write, sorted.
    #[serde(default)]
    pub muted: Vec<UserId>,
    /// Whether plain members may add others (else only admins may).
    #[serde(default)]
    pub members_can_add: bool,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// The `seq` of its latest message; `0` when it has none.
    pub last_seq: Seq,
}

impl Conversation {
    /// Whether `user` is currently a member.
    #[must_use]
    pub fn has_member(&self, user: &UserId) -> bool {
        self.members.binary_search(user).is_ok()
    }

    /// `user`'s role, or `None` for a non-member.
    #[must_use]
    pub fn role_of(&self, user: &UserId) -> Option<Role> {
        if !self.has_member(user) {
            None
        } else if self.owner.as_ref() == Some(user) {
            Some(Role::Owner)
        } else if self.admins.binary_search(user).is_ok() {
            Some(Role::Admin)
        } else {
            Some(Role::Member)
        }
    }
}

/// One entry of a user's conversation list.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// The conversation, with its members.
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Its latest message, if any.
    pub last_message: Option<Message>,
    /// The highest `seq` this user has read.
    pub read_seq: Seq,
    /// Messages after `read_seq` sent by others: an exact count from the
    /// store (deleted messages and thread replies left out).
    pub unread: u64,
    /// Those of the unread messages that mention this user.
    #[serde(default)]
    pub unread_mentions: u64,
    /// When it last had a message, else when it was created: the list's order.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_activity_at: Timestamp,
    /// This user's own settings for it (mute, archive, pin).
    #[serde(default)]
    pub preferences: crate::Preferences,
}

impl ConversationSummary {
    /// Where the next page starts when this summary ends a page.
    #[must_use]
    pub fn cursor(&self) -> ActivityCursor {
        ActivityCursor {
            activity_at: self.last_activity_at,
            id: self.conversation.id.clone(),
        }
    }
}

/// A position in a user's conversation list, which is ordered by last
/// activity, newest first, ties by id (descending). On the wire it is the
/// string `MILLIS.ID` (the activity time in milliseconds since the epoch,
/// then the conversation id): clients pass back what they were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityCursor {
    /// The last activity of the conversation the previous page ended with.
    pub activity_at: Timestamp,
    /// Its id.
    pub id: ConversationId,
}

impl std::fmt::Display for ActivityCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}",
            crate::time::to_millis(self.activity_at),
            self.id
        )
    }
}

impl std::str::FromStr for ActivityCursor {
    type Err = ChatError;

    /// ```
    /// use chat_engine::ActivityCursor;
    /// let cursor: ActivityCursor = "1700000000123.c-1".parse().unwrap();
    /// assert_eq!(cursor.to_string(), "1700000000123.c-1");
    /// assert!("c-1".parse::<ActivityCursor>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, ChatError> {
        let invalid = || ChatError::invalid("before", "expected a cursor from a previous page");
        let (millis, id) = text.split_once('.').ok_or_else(invalid)?;
        let millis: i64 = millis.parse().map_err(|_| invalid())?;
        Ok(Self {
            activity_at: crate::time::from_millis(millis),
            id: ConversationId::new(id).map_err(|_| invalid())?,
        })
    }
}

impl Serialize for ActivityCursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ActivityCursor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A page of a user's conversation list, as handed to
/// [`Store::conversations_of`](crate::Store::conversations_of).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationQuery {
    /// Whose conversations.
    pub user: UserId,
    /// Only conversations after this position (older activity); `None` for
    /// the newest.
    pub before: Option<ActivityCursor>,
    /// At most this many (at least 1).
    pub limit: u32,
    /// The archived list instead of the main one. The main list's first
    /// page (`before` is `None`) starts with every pinned conversation
    /// (most recent activity first, at most [`MAX_PINNED`](crate::MAX_PINNED)
    /// of them, on top of `limit`); the rest of the list, and its cursors,
    /// hold the unpinned ones only. The archived list has no pinned top.
    pub archived: bool,
}

/// Conversations by last activity, newest first, and whether more remain.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPage {
    /// Newest activity first.
    pub conversations: Vec<ConversationSummary>,
    /// Whether older ones remain: ask again with `before` set to [`next`](Self::next).
    pub has_more: bool,
    /// The cursor of the next page, when there is one.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<ActivityCursor>,
}

impl ConversationPage {
    /// The page a store makes from up to `limit + 1` summaries fetched in
    /// order: the extra one only says that more remain.
    #[must_use]
    pub fn from_overfetch(conversations: Vec<ConversationSummary>, limit: u32) -> Self {
        let (conversations, has_more) = crate::paging::split_overfetch(conversations, limit);
        let next = has_more
            .then(|| conversations.last().map(ConversationSummary::cursor))
            .flatten();
        Self {
            conversations,
            has_more,
            next,
        }
    }
}

/// The two users of a direct conversation, stored in a canonical order so
/// `(a, b)` and `(b, a)` name the same conversation. Cannot hold one user twice.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DirectPair {
    low: UserId,
    high: UserId,
}

impl DirectPair {
    /// Orders the two users.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] when both are the same user.
    ///
    /// ```
    /// use chat_engine::{DirectPair, UserId};
    /// let (a, b) = (UserId::new("a").unwrap(), UserId::new("b").unwrap());
    /// assert_eq!(DirectPair::new(a.clone(), b.clone()).unwrap(), DirectPair::new(b, a.clone()).unwrap());
    /// assert!(DirectPair::new(a.clone(), a).is_err());
    /// ```
    pub fn new(a: UserId, b: UserId) -> Result<Self, ChatError> {
        match a.cmp(&b) {
            std::cmp::Ordering::Less => Ok(Self { low: a, high: b }),
            std::cmp::Ordering::Greater => Ok(Self { low: b, high: a }),
            std::cmp::Ordering::Equal => Err(ChatError::invalid(
                "user_id",
                "a direct conversation needs two different users",
            )),
        }
    }

    /// The users, in canonical (sorted) order.
    #[must_use]
    pub fn users(&self) -> [&UserId; 2] {
        [&self.low, &self.high]
    }

    /// A string that names the pair unambiguously whatever bytes the ids hold
    /// (the first id is length-prefixed), for a unique index in a store.
    ///
    /// ```
    /// use chat_engine::{DirectPair, UserId};
    /// let pair = DirectPair::new(UserId::new("bob").unwrap(), UserId::new("al").unwrap()).unwrap();
    /// assert_eq!(pair.key(), "2:albob");
    /// ```
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}{}", self.low.as_str().len(), self.low, self.high)
    }
}

/// How a new group is set up ([`ChatService::create_with`](crate::ChatService::create_with)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupSettings {
    /// A public room (see [`Conversation::public`]).
    pub public: bool,
    /// Plain members may add others (see [`Conversation::members_can_add`]).
    pub members_can_add: bool,
}

impl GroupSettings {
    /// A private group where only admins add (the default), or a public
    /// room with `public`; `members_can_add` lets any member add others.
    #[must_use]
    pub const fn new(public: bool, members_can_add: bool) -> Self {
        Self {
            public,
            members_can_add,
        }
    }
}

/// A group conversation to create, as handed to [`Store::create_group`](crate::Store::create_group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGroup {
    /// The new conversation's id (made by the service).
    pub id: ConversationId,
    /// Its title.
    pub title: String,
    /// Whether it is a public room (see [`Conversation::public`]).
    pub public: bool,
    /// Whether plain members may add others (see [`Conversation::members_can_add`]).
    pub members_can_add: bool,
    /// Its creator, who is also among `members`, and its owner.
    pub created_by: UserId,
    /// All members, sorted and without duplicates.
    pub members: Vec<UserId>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A direct conversation to open, as handed to [`Store::open_direct`](crate::Store::open_direct).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDirect {
    /// The id to use if the pair has no conversation yet.
    pub id: ConversationId,
    /// The two users.
    pub pair: DirectPair,
    /// Who opens it.
    pub created_by: UserId,
    /// Creation time, if it is created now.
    pub created_at: Timestamp,
}
