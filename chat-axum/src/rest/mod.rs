//! The REST routes of the wire protocol, one file per resource.

pub(crate) mod conversations;
pub(crate) mod messages;
pub(crate) mod rooms;
