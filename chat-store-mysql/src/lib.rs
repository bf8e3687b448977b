//! A [`Store`](chat_engine::Store) on MySQL 8 or MariaDB 10.11: one shared
//! database for many app nodes.
//!
//! - Migrations are embedded and run by [`MySqlStore::connect`]; InnoDB,
//!   utf8mb4 text (any Unicode, emoji included, round-trips byte for byte).
//! - Portable SQL: no `RETURNING`, nothing MySQL-only or MariaDB-only.
//! - Seqs are assigned under a row lock on the conversation, so concurrent
//!   appends from several nodes stay gap-free; deadlocks and lock-wait
//!   timeouts are retried inside the store.
//! - Ids are stored as `VARBINARY`, compared byte for byte.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use chat_store_mysql::MySqlStore;
//! let store: Arc<dyn chat_engine::Store> =
//!     Arc::new(MySqlStore::connect("mysql://root@127.0.0.1:3306/chat").await?);
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod batch_reads;
mod dialect;
mod error;
mod store;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod writer;
mod writer_connections;

pub use error::MySqlStoreError;
pub use store::{MySqlStore, legacy_migrations, migrations};

/// The sqlx version this crate is built on, so hosts need not pin their own.
pub use sqlx;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
