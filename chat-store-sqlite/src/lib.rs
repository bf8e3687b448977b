//! A [`Store`](chat_engine::Store) on SQLite: the chat library's embedded
//! default, one file (or memory) and nothing to install.
//!
//! - Migrations are embedded and run by [`SqliteStore::connect`].
//! - WAL journal, `synchronous=NORMAL`, foreign keys, 5 s busy timeout.
//! - Every query is an index range scan: messages are keyed by
//!   `(conversation_id, seq)`, members by `(conversation_id, user_id)` and by
//!   `(user_id, conversation_id)`, retries by `(conversation_id, sender, client_id)`.
//! - No query needs a database at build time.
//!
//! One process should own a database file: writes are serialized through one
//! connection in that process. Several app nodes need a shared networked store.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use chat_engine::Store;
//! use chat_store_sqlite::SqliteStore;
//!
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::connect("sqlite::memory:").await?);
//! # drop(store); Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod checkpoint;
mod dialect;
mod error;
mod members;
mod outbox;
mod search_index;
mod store;
mod writer;

pub use error::SqliteStoreError;
pub use store::{SqliteStore, legacy_migrations, migrations};

/// The sqlx version this crate is built on, so hosts need not pin their own.
pub use sqlx;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
