//! Identifiers. Every id is a validated string newtype, so a value that reached
//! a `Store` or a `Bus` is known to be well formed and is never re-checked there.
//!
//! Users are the host's (`UserId` is opaque to us); conversations and messages
//! are named by the library with UUIDv7 strings, which sort by creation time
//! and need no store round trip to allocate.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ChatError;

/// The position of a message in its conversation: 1, 2, 3… with no gaps.
///
/// `0` means "nothing yet" (an empty conversation, or nothing read).
pub type Seq = u64;

/// The largest seq a conversation can reach (stores keep seqs as signed
/// 64-bit integers); a larger one in a request is refused as invalid.
pub const MAX_SEQ: Seq = i64::MAX.unsigned_abs();

/// The longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 128;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(String);

        impl $name {
            /// Validates `value`: non-empty and at most [`MAX_ID_BYTES`] bytes.
            ///
            /// # Errors
            /// [`ChatError::Invalid`] naming the field and what is wrong.
            pub fn new(value: impl Into<String>) -> Result<Self, ChatError> {
                let value = value.into();
                if value.is_empty() {
                    return Err(ChatError::invalid($field, "must not be empty"));
                }
                if value.len() > MAX_ID_BYTES {
                    return Err(ChatError::invalid(
                        $field,
                        format!("is {} bytes, the limit is {MAX_ID_BYTES}", value.len()),
                    ));
                }
                Ok(Self(value))
            }

            /// The id as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ChatError;
            fn try_from(value: String) -> Result<Self, ChatError> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ChatError;
            fn try_from(value: &str) -> Result<Self, ChatError> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ChatError;
            fn from_str(value: &str) -> Result<Self, ChatError> {
                Self::new(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::new(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// The host application's id for one of its users: an opaque, non-empty
    /// string of at most 128 bytes. The library never owns users or passwords.
    ///
    /// ```
    /// use chat_engine::UserId;
    /// let alice = UserId::new("alice").unwrap();
    /// assert_eq!(alice.as_str(), "alice");
    /// assert!(UserId::new("").is_err());
    /// assert!(UserId::new("x".repeat(129)).is_err());
    /// ```
    UserId,
    "user_id"
);

string_id!(
    /// Names a conversation. Made by the library ([`ConversationId::generate`]);
    /// parsed from the wire with the same rules as [`UserId`].
    ConversationId,
    "conversation_id"
);

string_id!(
    /// Names a message. Made by the library ([`MessageId::generate`]).
    MessageId,
    "message_id"
);

impl ConversationId {
    /// A new time-ordered (UUIDv7) id.
    #[must_use]
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl MessageId {
    /// A new time-ordered (UUIDv7) id.
    #[must_use]
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_rejects_empty_and_oversized_values() {
        assert!(UserId::new("").is_err());
        assert!(UserId::new("a".repeat(MAX_ID_BYTES)).is_ok());
        let err = UserId::new("a".repeat(MAX_ID_BYTES + 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid user_id: is 129 bytes, the limit is 128"
        );
    }

    #[test]
    fn ids_deserialize_with_validation() {
        let ok: UserId = serde_json::from_str("\"b\u{f6}b\"").unwrap();
        assert_eq!(ok.as_str(), "b\u{f6}b");
        let err = serde_json::from_str::<UserId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("must not be empty"), "{err}");
    }

    #[test]
    fn generated_ids_are_time_ordered_and_distinct() {
        let a = MessageId::generate();
        let b = MessageId::generate();
        assert_ne!(a, b);
        assert!(a < b, "{a} should sort before {b}");
    }
}
