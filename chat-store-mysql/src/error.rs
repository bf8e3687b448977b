//! The adapter's own error (the orphan rule needs one), converted into the
//! core's [`StoreError`] by classifying, never by stringifying.

use chat_engine::StoreError;

/// What the MySQL store can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MySqlStoreError {
    /// A query, connection or pool failure.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A read of the shared SQL layer failed.
    #[error(transparent)]
    Read(#[from] chat_store_sql::SqlError),
    /// Applying the embedded migrations failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The append was refused (unknown conversation, sender not a member).
    #[error("append refused: {0}")]
    Refused(chat_engine::Refusal),
    /// The batch this append was written in failed as a whole (group commit).
    #[error("the batched write failed")]
    Batch(#[source] std::sync::Arc<MySqlStoreError>),
    /// Another node held the migration lock too long.
    #[error("timed out waiting for another node's migrations")]
    MigrationLock,
}

/// Server error numbers after which the same transaction may succeed when
/// run again: deadlock, lock wait timeout.
const RETRYABLE: [u16; 2] = [1213, 1205];

/// Server error numbers that mean "cannot serve now": too many connections,
/// read-only server (`--read-only`, `super_read_only`), shutdown in progress.
const UNAVAILABLE: [u16; 5] = [1040, 1053, 1290, 1792, 1836];

impl MySqlStoreError {
    /// The driver's error, whether it came from a write or a shared read.
    fn sqlx(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Sqlx(error) | Self::Read(chat_store_sql::SqlError::Sqlx(error)) => Some(error),
            _ => None,
        }
    }

    fn server_error_number(&self) -> Option<u16> {
        match self.sqlx() {
            Some(sqlx::Error::Database(error)) => error
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(sqlx::mysql::MySqlDatabaseError::number),
            _ => None,
        }
    }

    /// Whether running the whole transaction again may succeed (deadlock,
    /// lock wait timeout). The store retries these itself.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        self.server_error_number()
            .is_some_and(|number| RETRYABLE.contains(&number))
    }

    /// Whether the server answered with this error (not the connection,
    /// the driver or a decode).
    pub(crate) fn is_from_server(&self) -> bool {
        matches!(self.sqlx(), Some(sqlx::Error::Database(_)))
    }

    /// Whether a unique key refused a row (`ER_DUP_ENTRY`).
    pub(crate) fn is_duplicate_key(&self) -> bool {
        self.server_error_number() == Some(1062)
    }

    /// Whether the database cannot be reached or cannot write right now.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        if let Self::Batch(inner) = self {
            return inner.is_unavailable();
        }
        match self.sqlx() {
            Some(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            _ => self
                .server_error_number()
                .is_some_and(|number| UNAVAILABLE.contains(&number) || RETRYABLE.contains(&number)),
        }
    }
}

impl From<MySqlStoreError> for StoreError {
    fn from(error: MySqlStoreError) -> Self {
        if let MySqlStoreError::Refused(refusal) = error {
            Self::Refused(refusal)
        } else if error.is_unavailable() {
            Self::Unavailable(Box::new(error))
        } else {
            Self::Backend(Box::new(error))
        }
    }
}
