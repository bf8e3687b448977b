//! [`StoreDirectory`]: the users who have signed in, kept in the chat
//! store, for a host with no directory of its own.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::{
    Directory, MAX_AVATAR_URL_BYTES, MAX_DISPLAY_NAME_BYTES, Profile, UserPage, UserQuery,
};
use crate::error::{BoxError, ChatError};
use crate::ids::UserId;
use crate::store::Store;
use crate::time;

/// A [`Directory`] of the users [`StoreDirectory::sign_in`] was told of,
/// kept in the chat store (`chat_users`), so every node shares it.
///
/// ```
/// # async fn example(store: std::sync::Arc<dyn chat_engine::Store>) -> chat_engine::Result<()> {
/// use chat_engine::{Directory, StoreDirectory, UserId};
///
/// let directory = StoreDirectory::new(store);
/// let alice = UserId::new("alice")?;
/// directory.sign_in(&alice).await?; // e.g. from the host's authentication
/// assert!(directory.exists(&alice).await.unwrap());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct StoreDirectory {
    store: Arc<dyn Store>,
    /// Users recorded by this process: each is written once per process,
    /// not once per request.
    recorded: Mutex<HashSet<UserId>>,
}

impl StoreDirectory {
    /// A directory in `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            recorded: Mutex::default(),
        }
    }

    /// Records that `user` signed in (their display name is their id),
    /// once per process: call it on every authenticated request.
    ///
    /// # Errors
    /// The store's, as a [`ChatError`]; the next call tries again.
    pub async fn sign_in(&self, user: &UserId) -> Result<(), ChatError> {
        if self.is_recorded(user) {
            return Ok(());
        }
        self.store
            .record_user(&Profile::of(user.clone()), time::now())
            .await?;
        self.lock().insert(user.clone());
        Ok(())
    }

    /// Records `profile`, or changes the recorded display name and avatar.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a display name that is empty or longer
    /// than [`MAX_DISPLAY_NAME_BYTES`], or an avatar that is not an http(s)
    /// URL of at most [`MAX_AVATAR_URL_BYTES`]; the store's, as a [`ChatError`].
    pub async fn save(&self, profile: &Profile) -> Result<(), ChatError> {
        let name = profile.display_name.trim();
        if name.is_empty() || name.len() > MAX_DISPLAY_NAME_BYTES {
            return Err(ChatError::invalid(
                "display_name",
                format!("must be 1 to {MAX_DISPLAY_NAME_BYTES} bytes"),
            ));
        }
        if let Some(url) = &profile.avatar_url
            && (url.len() > MAX_AVATAR_URL_BYTES
                || !(url.starts_with("https://") || url.starts_with("http://")))
        {
            return Err(ChatError::invalid(
                "avatar_url",
                format!("must be an http(s) URL of at most {MAX_AVATAR_URL_BYTES} bytes"),
            ));
        }
        self.store.record_user(profile, time::now()).await?;
        self.lock().insert(profile.user_id.clone());
        Ok(())
    }

    fn is_recorded(&self, user: &UserId) -> bool {
        self.lock().contains(user)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<UserId>> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Directory for StoreDirectory {
    async fn users(&self, query: UserQuery) -> Result<UserPage, BoxError> {
        Ok(self.store.users(&query).await?)
    }

    async fn profiles(&self, ids: &[UserId]) -> Result<Vec<Profile>, BoxError> {
        Ok(self.store.profiles(ids).await?)
    }
}
