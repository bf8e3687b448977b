//! Who the users are: the host's [`Directory`] lists and searches them,
//! resolves ids to display names and avatars, and says whether an id
//! exists, so a typo never opens a chat with nobody.
//!
//! The library owns no users: the host has them, and implements
//! [`Directory`] over its own table or identity service. A host with no
//! directory of its own (the standalone server) uses [`StoreDirectory`]:
//! the users who have signed in, kept in the chat store.

mod store_directory;

use serde::{Deserialize, Serialize};

pub use store_directory::StoreDirectory;

use crate::error::BoxError;
use crate::ids::UserId;

/// Most users one page of the directory, or one profile lookup, returns.
pub const MAX_USERS_LISTED: u32 = 100;
/// Longest display name a [`StoreDirectory`] keeps, in bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 256;
/// Longest avatar URL a [`StoreDirectory`] keeps, in bytes.
pub const MAX_AVATAR_URL_BYTES: usize = 2_048;

/// What a page shows of a user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The user's id.
    pub user_id: UserId,
    /// The name to show.
    pub display_name: String,
    /// A picture to show beside it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

impl Profile {
    /// A profile whose display name is the id itself, with no avatar.
    #[must_use]
    pub fn of(user_id: UserId) -> Self {
        Self {
            display_name: user_id.as_str().to_owned(),
            user_id,
            avatar_url: None,
        }
    }
}

/// One page of the directory, as [`Directory::users`] is asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuery {
    /// Who is looking: a directory may show each viewer only some users
    /// (their organisation, their friends).
    pub viewer: UserId,
    /// Only users whose display name or id contains this, ignoring case
    /// (ASCII letters on SQLite). Never empty when set.
    pub search: Option<String>,
    /// Only users after this id: the `next` of the previous page.
    pub after: Option<UserId>,
    /// At most this many (1 to [`MAX_USERS_LISTED`]).
    pub limit: u32,
}

/// Users in id order, and where the next page starts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    /// In id order.
    pub users: Vec<Profile>,
    /// Whether more users match.
    pub has_more: bool,
    /// When more match: pass it back as `cursor` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<UserId>,
}

impl UserPage {
    /// The page a directory makes from up to `limit + 1` users fetched in
    /// id order: the extra one only says that more remain.
    ///
    /// ```
    /// use chat_engine::{Profile, UserId, UserPage};
    /// let users: Vec<Profile> = ["a", "b", "c"]
    ///     .into_iter()
    ///     .map(|id| Profile::of(UserId::new(id).unwrap()))
    ///     .collect();
    /// let page = UserPage::from_overfetch(users, 2);
    /// assert_eq!(page.users.len(), 2);
    /// assert_eq!(page.next, Some(UserId::new("b").unwrap()));
    /// ```
    #[must_use]
    pub fn from_overfetch(mut users: Vec<Profile>, limit: u32) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = users.len() > limit;
        users.truncate(limit);
        let next = has_more
            .then(|| users.last().map(|last| last.user_id.clone()))
            .flatten();
        Self {
            users,
            has_more,
            next,
        }
    }
}

/// The host's users, for [`ChatServiceBuilder::directory`](crate::ChatServiceBuilder::directory).
///
/// ```
/// use chat_engine::{BoxError, Directory, Profile, UserId, UserPage, UserQuery};
///
/// /// Three users, fixed.
/// #[derive(Debug)]
/// struct Staff;
///
/// const STAFF: [&str; 3] = ["ann", "ben", "cat"];
///
/// #[async_trait::async_trait]
/// impl Directory for Staff {
///     async fn users(&self, query: UserQuery) -> Result<UserPage, BoxError> {
///         let matching = STAFF
///             .iter()
///             .filter(|id| query.search.as_deref().is_none_or(|s| id.contains(s)))
///             .filter(|id| query.after.as_ref().is_none_or(|after| **id > after.as_str()))
///             .map(|id| Profile::of(UserId::new(*id).unwrap()))
///             .take(query.limit as usize + 1)
///             .collect();
///         Ok(UserPage::from_overfetch(matching, query.limit))
///     }
///
///     async fn profiles(&self, ids: &[UserId]) -> Result<Vec<Profile>, BoxError> {
///         Ok(ids
///             .iter()
///             .filter(|id| STAFF.contains(&id.as_str()))
///             .map(|id| Profile::of(id.clone()))
///             .collect())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Directory: std::fmt::Debug + Send + Sync + 'static {
    /// A page of users in id order, matching the search if there is one.
    async fn users(&self, query: UserQuery) -> Result<UserPage, BoxError>;

    /// The profiles of those of `ids` that exist (unknown ids are left out).
    async fn profiles(&self, ids: &[UserId]) -> Result<Vec<Profile>, BoxError>;

    /// Whether `id` is a user. The default asks [`Directory::profiles`].
    async fn exists(&self, id: &UserId) -> Result<bool, BoxError> {
        Ok(!self.profiles(std::slice::from_ref(id)).await?.is_empty())
    }
}
