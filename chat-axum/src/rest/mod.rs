//! The REST routes of the wire protocol, one file per resource.

pub(crate) mod changes;
pub(crate) mod conversations;
pub(crate) mod health;
pub(crate) mod messages;
pub(crate) mod moderation;
pub(crate) mod preferences;
pub(crate) mod presence;
pub(crate) mod rooms;
pub(crate) mod timeline;
pub(crate) mod users;

use chat_engine::{ChatError, UserId};

/// Any page size in the documented int64 range: past `u32::MAX` is simply
/// past the cap; zero and below are refused by the service.
pub(crate) fn page_size(limit: i64) -> u32 {
    u32::try_from(limit.max(0)).unwrap_or(u32::MAX)
}

/// The users a query names as `user=…`, repeated (`?user=alice&user=bob`),
/// at most `limit`; another parameter, no user or an invalid id is refused.
pub(crate) fn users_named(query: Option<&str>, limit: usize) -> Result<Vec<UserId>, ChatError> {
    let mut users = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "user" {
            return Err(ChatError::invalid(
                "query",
                format!("unknown parameter `{key}`: repeat `user` for each user"),
            ));
        }
        if users.len() == limit {
            return Err(ChatError::invalid(
                "user",
                format!("at most {limit} users at once"),
            ));
        }
        users.push(UserId::new(value.into_owned())?);
    }
    if users.is_empty() {
        return Err(ChatError::invalid("user", "name at least one user"));
    }
    Ok(users)
}
