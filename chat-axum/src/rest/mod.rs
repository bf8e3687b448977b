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

/// Any page size in the documented int64 range: past `u32::MAX` is simply
/// past the cap; zero and below are refused by the service.
pub(crate) fn page_size(limit: i64) -> u32 {
    u32::try_from(limit.max(0)).unwrap_or(u32::MAX)
}
