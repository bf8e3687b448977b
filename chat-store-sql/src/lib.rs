//! The read layer the SQL stores of the chat library share: every read
//! query (a conversation, members, history, the conversation list, the
//! rooms directory) and every row decoder, written once and generic over
//! the driver. A store supplies a [`Dialect`]: how to bind and run a query
//! on its driver, how its id columns read back, and the two pieces of SQL
//! that differ. Writes stay with each store, where the backends really
//! differ (SQLite's single writer and group commit on rusqlite, MySQL's row
//! locks and retried deadlocks), as do connecting and migrating.
//!
//! ```
//! use chat_store_sql::{Dialect, reads};
//! # async fn example<D: Dialect>(connection: &mut chat_store_sql::ConnectionOf<D>, id: chat_engine::ConversationId, viewer: chat_engine::UserId) -> Result<(), chat_store_sql::SqlError> {
//! let latest = chat_engine::HistoryQuery::latest(15);
//! let page = reads::history::<D>(connection, &id, &viewer, latest).await?;
//! # drop(page); Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod dialect;
mod error;
pub mod migrate;
pub mod probe;
pub mod reads;
pub mod rows;
pub mod testing;
pub mod writes;

pub use dialect::{ConnectionOf, Dialect, Fetch, RowOf};
pub use error::SqlError;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
