//! Every read query of the SQL stores, written once. Each takes a
//! connection (a pooled one, or a transaction's), builds its SQL with
//! [`sqlx::QueryBuilder`] and decodes with [`crate::rows`]. The text of each query
//! is the same for every call of the same shape, so the driver's statement
//! cache prepares it once per connection.
//!
//! One file per subject: `conversations.rs` (a conversation, membership,
//! the list, rooms), `messages.rs` (messages, history, the timeline, read
//! marks, pins, search) and `people.rs` (bans, blocks, contacts, members'
//! preferences, the directory's users).

mod conversations;
mod messages;
mod people;

pub use conversations::{conversation, conversations, is_member, listed, members, rooms};
pub use messages::{history, message, pins, read_marks, search, timeline};
pub use people::{bans, blocked_by, contacts, preferences_of, profiles, users};
