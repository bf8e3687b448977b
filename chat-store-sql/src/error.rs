//! The one error of the read layer; each store converts it into its own
//! error, which classifies it (unavailable, or a failure).

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// A query, connection or pool failure.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// A stored value does not decode into a domain value.
    #[error("stored {column} is invalid")]
    Decode {
        /// The column.
        column: &'static str,
        /// Why it does not decode.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl SqlError {
    /// A value of `column` that does not decode, for `reason`.
    pub fn decode(
        column: &'static str,
        reason: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Decode {
            column,
            source: reason.into(),
        }
    }
}
