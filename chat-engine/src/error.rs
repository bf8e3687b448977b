//! Errors. Each says exactly what was wrong and classifies itself
//! ([`ChatError::code`], [`ChatError::is_retryable`]) so the HTTP layer maps
//! it without guessing. Sources are kept, never stringified.

/// A boxed error from a backend (database driver, Redis client…).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result of every [`ChatService`](crate::ChatService) call.
pub type Result<T, E = ChatError> = std::result::Result<T, E>;

/// What a [`ChatService`](crate::ChatService) call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// The named thing does not exist (HTTP 404).
    #[error("{what} {id} not found")]
    NotFound {
        /// What was looked up: `"conversation"`, `"message"`.
        what: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// The caller may not do this, e.g. is not a member (HTTP 403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A field of the request is malformed (HTTP 400).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field, as named on the wire.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The request contradicts the current state (HTTP 409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Something is over its configured limit (HTTP 413).
    #[error("{what} is too large: {size} > limit {limit}")]
    TooLarge {
        /// What is too large: `"body"`, `"members"`…
        what: &'static str,
        /// Its size (bytes, or a count).
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The user wrote faster than the rate configured for this kind of
    /// write (HTTP 429, with `Retry-After`).
    #[error("too many {}: retry in {} ms", action.plural(), retry_after.as_millis())]
    RateLimited {
        /// What was done too often.
        action: crate::config::Action,
        /// When the next one will be accepted.
        retry_after: std::time::Duration,
    },
    /// The user already has the most live connections allowed on this node
    /// ([`ChatConfig::max_connections_per_user`](crate::ChatConfig::max_connections_per_user); HTTP 429).
    #[error("too many live connections for this user: the limit is {limit}")]
    TooManyConnections {
        /// The configured limit.
        limit: usize,
    },
    /// The host's [`SendHooks::before_send`](crate::SendHooks::before_send)
    /// refused the message, for the reason given (HTTP 422).
    #[error("message rejected: {0}")]
    Rejected(String),
    /// A backend is unreachable; the same call may succeed later (HTTP 503).
    #[error("service unavailable, retry later")]
    Unavailable(#[source] BoxError),
    /// A backend failed unexpectedly (HTTP 500).
    #[error("internal error")]
    Backend(#[source] BoxError),
}

impl ChatError {
    /// Shorthand for [`ChatError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`ChatError::NotFound`].
    pub fn not_found(what: &'static str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// The stable machine-readable code sent on the wire as `error.code`.
    ///
    /// ```
    /// use chat_engine::ChatError;
    /// assert_eq!(ChatError::invalid("body", "must not be empty").code(), "invalid");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Forbidden(_) => "forbidden",
            Self::Invalid { .. } => "invalid",
            Self::Conflict(_) => "conflict",
            Self::TooLarge { .. } => "too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::TooManyConnections { .. } => "too_many_connections",
            Self::Rejected(_) => "rejected",
            Self::Unavailable(_) => "unavailable",
            Self::Backend(_) => "internal",
        }
    }

    /// Whether repeating the same call later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::RateLimited { .. })
    }
}

/// What a [`Store`](crate::Store) call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store refused the call and wrote nothing (see [`Refusal`]).
    #[error("refused: {0}")]
    Refused(Refusal),
    /// A uniqueness rule was violated in a way the store could not absorb.
    #[error("store conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached (pool timeout, connection refused, read-only file).
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other database failure.
    #[error("store failure")]
    Backend(#[source] BoxError),
}

/// Why a [`Store`](crate::Store) write was refused, writing nothing:
/// [`Store::append`](crate::Store::append) or
/// [`Store::change`](crate::Store::change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The conversation does not exist.
    #[error("unknown conversation")]
    UnknownConversation,
    /// The sender is not a member of the conversation (checked in the same
    /// transaction as the write, so a member removed a moment ago cannot
    /// slip a message in).
    #[error("the sender is not a member")]
    NotAMember,
    /// The conversation already has as many members as allowed (checked
    /// atomically with the insert, so concurrent joins never exceed it).
    #[error("the conversation is full")]
    Full,
    /// The message referred to is not in the conversation.
    #[error("no such message in the conversation")]
    UnknownMessage,
    /// The message referred to was deleted.
    #[error("the message was deleted")]
    MessageDeleted,
    /// Only the message's sender may do this.
    #[error("only the message's sender may do this")]
    NotTheSender,
    /// A thread root must not be a thread reply itself (threads are one level).
    #[error("the message is a thread reply: reply in its root's thread")]
    NotARoot,
    /// A mentioned user is not a member.
    #[error("a mentioned user is not a member")]
    MentionNotAMember,
    /// The change's `client_id` was already used by this user in this
    /// conversation for a different change (another kind, message or
    /// reaction).
    #[error("the client_id was used for another change")]
    ClientIdReused,
    /// Only the conversation's admins (and its owner) may do this.
    #[error("only the conversation's admins may do this")]
    NotAnAdmin,
    /// Only the conversation's owner may do this.
    #[error("only the conversation's owner may do this")]
    NotTheOwner,
    /// The owner cannot be removed, banned, muted or demoted (they hand
    /// the group over first).
    #[error("the owner cannot be removed, banned, muted or demoted")]
    OwnerProtected,
    /// The user the change is about is not a member.
    #[error("the user is not a member")]
    UnknownMember,
    /// The user is banned from the conversation.
    #[error("the user is banned from the conversation")]
    Banned,
    /// The writer is muted in the conversation.
    #[error("the writer is muted")]
    Muted,
    /// The other user blocked the writer.
    #[error("blocked by the other user")]
    Blocked,
    /// Moderators act on others: nobody bans, mutes or changes the role of
    /// themselves (they leave, or hand the group over).
    #[error("a moderator acts on others")]
    OnOneself,
    /// A group has one owner: it is handed over, not given as a role.
    #[error("a group has one owner")]
    OneOwner,
    /// The member already pinned [`MAX_PINNED`](crate::MAX_PINNED)
    /// conversations.
    #[error("too many pinned conversations")]
    TooManyPinned,
}

/// What a [`Bus`](crate::Bus) call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The transport cannot be reached right now.
    #[error("bus unavailable")]
    Unavailable(#[source] BoxError),
    /// The bus was shut down.
    #[error("bus closed")]
    Closed,
    /// Any other transport failure.
    #[error("bus failure")]
    Backend(#[source] BoxError),
}

impl From<StoreError> for ChatError {
    fn from(error: StoreError) -> Self {
        match error {
            // Callers that know the id say which (ChatService does).
            StoreError::Refused(Refusal::UnknownConversation) => Self::NotFound {
                what: "conversation",
                id: "(id not given)".to_owned(),
            },
            StoreError::Refused(Refusal::NotAMember) => {
                Self::Forbidden("not a member of the conversation".to_owned())
            }
            // ChatService, which knows the limit, answers TooLarge instead.
            StoreError::Refused(Refusal::Full) => {
                Self::Conflict("the conversation has as many members as allowed".to_owned())
            }
            StoreError::Refused(Refusal::UnknownMessage) => Self::NotFound {
                what: "message",
                id: "(seq not given)".to_owned(),
            },
            StoreError::Refused(Refusal::MessageDeleted) => {
                Self::Conflict("the message was deleted".to_owned())
            }
            StoreError::Refused(Refusal::NotTheSender) => {
                Self::Forbidden("only the message's sender may do this".to_owned())
            }
            StoreError::Refused(Refusal::NotARoot) => Self::invalid(
                "thread_root",
                "is a thread reply: reply in its root's thread (threads are one level deep)",
            ),
            StoreError::Refused(Refusal::MentionNotAMember) => {
                Self::invalid("mentions", "every mentioned user must be a member")
            }
            StoreError::Refused(Refusal::ClientIdReused) => Self::Conflict(
                "the client_id was used for another change: give each change its own".to_owned(),
            ),
            StoreError::Refused(Refusal::NotAnAdmin) => Self::Forbidden(
                "only the conversation's admins (and its owner) may do this".to_owned(),
            ),
            StoreError::Refused(Refusal::NotTheOwner) => {
                Self::Forbidden("only the conversation's owner may do this".to_owned())
            }
            StoreError::Refused(Refusal::OwnerProtected) => Self::Forbidden(
                "the owner cannot be removed, banned, muted or demoted: they hand the group over first"
                    .to_owned(),
            ),
            StoreError::Refused(Refusal::UnknownMember) => Self::NotFound {
                what: "member",
                id: "(user not given)".to_owned(),
            },
            StoreError::Refused(Refusal::Banned) => {
                Self::Forbidden("the user is banned from the conversation".to_owned())
            }
            StoreError::Refused(Refusal::Muted) => {
                Self::Forbidden("you are muted in this conversation: you may read, not write".to_owned())
            }
            StoreError::Refused(Refusal::Blocked) => {
                Self::Forbidden("the other user does not accept this from you".to_owned())
            }
            StoreError::Refused(Refusal::OnOneself) => Self::invalid(
                "user_id",
                "moderators act on others: leave, or hand the group over, instead",
            ),
            StoreError::Refused(Refusal::OneOwner) => Self::invalid(
                "role",
                "there is one owner: hand the group over (PUT …/owner) instead",
            ),
            StoreError::Refused(Refusal::TooManyPinned) => Self::Conflict(format!(
                "at most {} conversations are pinned at once: unpin one first",
                crate::MAX_PINNED
            )),
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::Unavailable(_) => Self::Unavailable(Box::new(error)),
            StoreError::Backend(_) => Self::Backend(Box::new(error)),
        }
    }
}

impl From<BusError> for ChatError {
    fn from(error: BusError) -> Self {
        match error {
            BusError::Unavailable(_) | BusError::Closed => Self::Unavailable(Box::new(error)),
            BusError::Backend(_) => Self::Backend(Box::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_was_wrong() {
        assert_eq!(
            ChatError::not_found("conversation", "c1").to_string(),
            "conversation c1 not found"
        );
        let too_large = ChatError::TooLarge {
            what: "body",
            size: 20,
            limit: 10,
        };
        assert_eq!(too_large.to_string(), "body is too large: 20 > limit 10");
        assert_eq!(too_large.code(), "too_large");
    }

    #[test]
    fn store_unavailability_is_retryable_and_keeps_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = ChatError::from(StoreError::Unavailable(Box::new(io)));
        assert!(err.is_retryable());
        assert_eq!(err.code(), "unavailable");
        let store = std::error::Error::source(&err).expect("store error kept");
        let driver = store.source().expect("driver error kept");
        assert_eq!(driver.to_string(), "refused");
    }

    #[test]
    fn backend_failures_are_not_retryable() {
        let err = ChatError::from(StoreError::Backend("disk".into()));
        assert!(!err.is_retryable());
        assert_eq!(err.code(), "internal");
    }
}
