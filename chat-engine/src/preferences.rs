//! A member's own settings for one conversation: how much it notifies them,
//! whether it is muted for a while, archived out of the main list, or
//! pinned to its top. They are the member's alone (no one else sees them,
//! no timeline event), so they are kept on the member's row and changed
//! field by field: two devices changing different ones never undo each
//! other.
//!
//! An archived conversation stays archived when a message arrives (its
//! unread count still grows, and the archived list shows it): archiving is
//! the member's decision, and lifting it on every message would turn each
//! send into a write to every member who archived. Muting is what quiets a
//! conversation without hiding it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::time::Timestamp;

/// Conversations a member may pin at once: the top of a list stays short.
pub const MAX_PINNED: usize = 20;

/// Which messages of a conversation notify the member while they are away.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationLevel {
    /// Every message.
    #[default]
    All,
    /// Only messages that mention them.
    Mentions,
    /// None.
    None,
}

impl NotificationLevel {
    /// The stored form (`all`, `mentions`, `none`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::None => "none",
        }
    }

    /// The level stored as `text`, `None` for anything else.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" => Some(Self::All),
            "mentions" => Some(Self::Mentions),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// A member's settings for one conversation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// Which messages notify them.
    #[serde(default)]
    pub notifications: NotificationLevel,
    /// Until when nothing notifies them, whatever the level; `None`: not
    /// muted.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default)]
    pub muted_until: Option<Timestamp>,
    /// Out of the main conversation list, in the archived one.
    #[serde(default)]
    pub archived: bool,
    /// Listed first, above conversations by activity.
    #[serde(default)]
    pub pinned: bool,
}

impl Preferences {
    /// Whether a message at `at` notifies them: not muted then, and the
    /// level lets it through (`mentioned`: the message mentions them).
    #[must_use]
    pub fn notifies(&self, at: Timestamp, mentioned: bool) -> bool {
        let muted = self.muted_until.is_some_and(|until| at < until);
        !muted
            && match self.notifications {
                NotificationLevel::All => true,
                NotificationLevel::Mentions => mentioned,
                NotificationLevel::None => false,
            }
    }
}

/// What a [`PreferencesChange`] does to the mute: on the wire, a time or
/// `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MuteChange {
    /// Mute until this time (in the future).
    Until(Timestamp),
    /// Unmute now.
    Unmute,
}

/// The fields of [`Preferences`] to change; absent ones stay as they are.
///
/// ```
/// use chat_engine::{MuteChange, PreferencesChange};
/// let change: PreferencesChange = serde_json::from_str(r#"{"muted_until": null, "pinned": true}"#).unwrap();
/// assert_eq!(change.muted_until, Some(MuteChange::Unmute));
/// assert_eq!(change.pinned, Some(true));
/// assert_eq!(change.archived, None); // unchanged
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesChange {
    /// A new level.
    #[serde(default)]
    pub notifications: Option<NotificationLevel>,
    /// Mute until this time (in the future), or `null` to unmute.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, nullable))]
    #[serde(default, deserialize_with = "mute_change")]
    pub muted_until: Option<MuteChange>,
    /// Archive, or bring back to the main list.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Pin (at most [`MAX_PINNED`] at once), or unpin.
    #[serde(default)]
    pub pinned: Option<bool>,
}

impl PreferencesChange {
    /// Whether it changes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A present `muted_until`: a time mutes, `null` unmutes (absent is the
/// `default`, no change).
fn mute_change<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<MuteChange>, D::Error> {
    let until: Option<Timestamp> = Option::deserialize(deserializer)?;
    Ok(Some(until.map_or(MuteChange::Unmute, MuteChange::Until)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn muting_and_levels_decide_what_notifies() {
        let now = crate::time::now();
        let later = now + chrono::Duration::hours(1);
        let all = Preferences::default();
        assert!(all.notifies(now, false));
        let mentions = Preferences {
            notifications: NotificationLevel::Mentions,
            ..all
        };
        assert!(!mentions.notifies(now, false) && mentions.notifies(now, true));
        let muted = Preferences {
            muted_until: Some(later),
            ..all
        };
        assert!(!muted.notifies(now, true));
        assert!(muted.notifies(later, false), "the mute ends at its time");
        let none = Preferences {
            notifications: NotificationLevel::None,
            ..all
        };
        assert!(!none.notifies(now, true));
    }

    #[test]
    fn unknown_levels_and_fields_are_refused() {
        assert!(serde_json::from_str::<PreferencesChange>(r#"{"notifications":"loud"}"#).is_err());
        assert!(serde_json::from_str::<PreferencesChange>(r#"{"starred":true}"#).is_err());
        for level in [
            NotificationLevel::All,
            NotificationLevel::Mentions,
            NotificationLevel::None,
        ] {
            assert_eq!(NotificationLevel::parse(level.as_str()), Some(level));
        }
    }
}
