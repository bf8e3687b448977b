//! The adapter's own error (the orphan rule needs one), converted into the
//! core's [`StoreError`] by classifying, never by stringifying.

use chat_engine::StoreError;

/// What the SQLite store can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteStoreError {
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
    /// The append connection (rusqlite) failed.
    #[error(transparent)]
    Rusqlite(#[from] rusqlite::Error),
    /// The append writer panicked (a bug); the batch was not written.
    #[error("the append writer panicked: {0}")]
    WriterPanicked(String),
    /// The batch this append was written in failed as a whole (group commit).
    #[error("the batched write failed")]
    Batch(#[source] std::sync::Arc<SqliteStoreError>),
    /// A stored value does not decode into a domain value.
    #[error("stored {column} is invalid")]
    Decode {
        /// The column.
        column: &'static str,
        /// Why it does not decode.
        #[source]
        source: chat_engine::ChatError,
    },
}

/// SQLite primary result codes that mean "the database cannot serve now":
/// BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
const UNAVAILABLE_CODES: [i32; 6] = [5, 6, 8, 10, 13, 14];

impl SqliteStoreError {
    /// Whether the same call may succeed later (the file is locked, read-only,
    /// full, or the pool timed out).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Sqlx(error) | Self::Read(chat_store_sql::SqlError::Sqlx(error)) => match error {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
                sqlx::Error::Database(error) => error
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(|code| UNAVAILABLE_CODES.contains(&(code & 0xff))),
                _ => false,
            },
            Self::Batch(inner) => inner.is_unavailable(),
            Self::Rusqlite(rusqlite::Error::SqliteFailure(error, _)) => {
                UNAVAILABLE_CODES.contains(&(error.extended_code & 0xff))
            }
            _ => false,
        }
    }
}

impl From<SqliteStoreError> for StoreError {
    fn from(error: SqliteStoreError) -> Self {
        if let SqliteStoreError::Refused(refusal) = error {
            Self::Refused(refusal)
        } else if error.is_unavailable() {
            Self::Unavailable(Box::new(error))
        } else {
            Self::Backend(Box::new(error))
        }
    }
}
