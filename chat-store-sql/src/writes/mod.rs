//! The timeline's changes besides messages (edits, deletes, reactions,
//! membership, renames, pins, roles and moderation), deleting a group,
//! blocks, members' preferences, and the checks creating a conversation makes, written once for
//! every SQL backend. The store begins the transaction, calls one of these,
//! and [`finish`]es it: only what they return as done is committed;
//! everything else is rolled back, a reserved seq included.
//!
//! A change's first statement takes the next seq of the conversation with
//! an `UPDATE`: a write lock on the conversation's row from the start (on
//! SQLite the whole database's, which a transaction must take before it
//! reads, since it cannot upgrade a read lock under another writer), so
//! every check after it is true until the commit, and two changes of one
//! conversation never share a seq.
//!
//! One file per job: [`change`] runs a change (`change.rs`), the roles'
//! rules decide whether it may be made (`roles.rs`), the state tables are
//! written (`state.rs`), and the writes that are not timeline changes
//! (deleting a group, blocks, creation checks) are in `moderation.rs`, a
//! member's own preferences in `preferences.rs`, the directory's users in
//! `users.rs`, the outbox's rows after the append in `outbox.rs`.

use chat_engine::Refusal;

mod change;
mod moderation;
mod outbox;
mod preferences;
mod roles;
mod state;
mod users;

pub use change::change;
pub use moderation::{
    crown, delete_conversation, refuse_creation, refuse_direct, set_block, silence_blocked,
};
pub use outbox::{claim_outbox, defer_outbox, finish_outbox};
pub use preferences::set_preferences;
pub use users::record_user;

/// What a write did: commit it, or roll back (a refusal, a repeat or a
/// change with nothing to do writes nothing).
#[derive(Debug)]
pub enum Written<T> {
    /// Commit: the write is made.
    Commit(T),
    /// Roll back, and answer this.
    RollBack(Result<T, Refusal>),
}

/// Commits or rolls back `tx` as `written` says; the answer to give.
///
/// # Errors
/// The driver's, committing or rolling back.
pub async fn finish<DB: sqlx::Database, T>(
    tx: sqlx::Transaction<'_, DB>,
    written: Written<T>,
) -> Result<Result<T, Refusal>, sqlx::Error> {
    match written {
        Written::Commit(value) => {
            tx.commit().await?;
            Ok(Ok(value))
        }
        Written::RollBack(answer) => {
            tx.rollback().await?;
            Ok(answer)
        }
    }
}
