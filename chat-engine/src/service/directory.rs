//! The host's users as the service offers them (see `crate::directory`):
//! a paged, searchable list, profile lookups, and the check that keeps a
//! conversation from being opened with, or a group given, a user who does
//! not exist.

use std::collections::HashSet;

use super::ChatService;
use crate::directory::{Directory, MAX_USERS_LISTED, Profile, UserPage, UserQuery};
use crate::error::{BoxError, ChatError, Result};
use crate::ids::UserId;

impl ChatService {
    /// A page of the host's users in id order as `viewer` may see them,
    /// those whose display name or id contains `search` when given;
    /// `cursor` is the previous page's `next`.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a `limit` of 0 or over
    /// [`MAX_USERS_LISTED`], or a search longer than a title may be;
    /// [`ChatError::NotFound`] when the host set no [`Directory`];
    /// [`ChatError::Unavailable`] when the directory fails.
    pub async fn users(
        &self,
        viewer: &UserId,
        search: Option<&str>,
        cursor: Option<UserId>,
        limit: Option<u32>,
    ) -> Result<UserPage> {
        let limit = limit.unwrap_or(self.inner.config.default_page);
        if !(1..=MAX_USERS_LISTED).contains(&limit) {
            return Err(ChatError::invalid(
                "limit",
                format!("must be 1 to {MAX_USERS_LISTED}"),
            ));
        }
        let search = search.map(str::trim).filter(|text| !text.is_empty());
        if let Some(text) = search {
            self.check_title_length("q", text)?;
        }
        let query = UserQuery {
            viewer: viewer.clone(),
            search: search.map(str::to_owned),
            after: cursor,
            limit,
        };
        self.directory()?.users(query).await.map_err(unavailable)
    }

    /// The profiles of those of `ids` the host's directory knows, in the
    /// order asked (unknown ids left out).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for more than [`MAX_USERS_LISTED`] ids;
    /// [`ChatError::NotFound`] when the host set no [`Directory`];
    /// [`ChatError::Unavailable`] when the directory fails.
    pub async fn profiles(&self, ids: &[UserId]) -> Result<Vec<Profile>> {
        if ids.len() > MAX_USERS_LISTED as usize {
            return Err(ChatError::invalid(
                "user",
                format!("at most {MAX_USERS_LISTED} users per lookup"),
            ));
        }
        let mut found = self.directory()?.profiles(ids).await.map_err(unavailable)?;
        let order: Vec<&UserId> = ids.iter().collect();
        found.sort_by_key(|profile| order.iter().position(|id| **id == profile.user_id));
        Ok(found)
    }

    /// Refuses the first of `users` the host's directory does not know,
    /// with [`ChatError::NotFound`]; with no directory, every id is a user.
    pub(super) async fn require_users(&self, users: &[UserId]) -> Result<()> {
        let Some(directory) = &self.inner.directory else {
            return Ok(());
        };
        for chunk in users.chunks(MAX_USERS_LISTED as usize) {
            let known: HashSet<UserId> = directory
                .profiles(chunk)
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(|profile| profile.user_id)
                .collect();
            if let Some(unknown) = chunk.iter().find(|user| !known.contains(*user)) {
                return Err(ChatError::not_found("user", unknown));
            }
        }
        Ok(())
    }

    fn directory(&self) -> Result<&dyn Directory> {
        self.inner
            .directory
            .as_deref()
            .ok_or_else(|| ChatError::not_found("user directory", "of this server"))
    }
}

fn unavailable(error: BoxError) -> ChatError {
    ChatError::Unavailable(error)
}
