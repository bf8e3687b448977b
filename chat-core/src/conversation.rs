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
    /// Messages after `read_seq` sent by others: an exact count from the store.
    pub unread: u64,
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
    /// use chat_core::{DirectPair, UserId};
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
    /// use chat_core::{DirectPair, UserId};
    /// let pair = DirectPair::new(UserId::new("bob").unwrap(), UserId::new("al").unwrap()).unwrap();
    /// assert_eq!(pair.key(), "2:albob");
    /// ```
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}:{}{}", self.low.as_str().len(), self.low, self.high)
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
    /// Its creator, who is also among `members`.
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
