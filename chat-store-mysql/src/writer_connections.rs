//! The append writers' own connections, kept out of the pool.
//!
//! sqlx's pool pings a connection when it hands it out and again when it
//! comes back: two round trips to the database for every batch, besides the
//! batch's own (the pings were 3.4 % of the server's CPU in the pairs load
//! run). The writers' connections are few and busy, so they are kept in a
//! short list instead, taken and given back without a ping. Each also keeps
//! more prepared statements than the pool's: a batch's statements differ
//! with its size, and with the pool's 100 they were prepared again and
//! again (another 3.4 %).
//!
//! A connection that failed anywhere but in the database's own answer (its
//! socket, say) is dropped, not given back. One that died while idle (the
//! server's `wait_timeout`, a restart) is noticed at `BEGIN`, before the
//! batch wrote anything, and replaced by a new one at once.

use std::sync::{Mutex, PoisonError};

use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::{Connection, Executor, MySqlConnection};

/// Prepared statements kept per writer connection: every batch size up to
/// a few hundred, for each of a batch's statements. Two connections keep at
/// most 2,048 on the server, far below MySQL's and MariaDB's default
/// `max_prepared_stmt_count` of 16,382.
const STATEMENTS: usize = 1_024;

/// Idle connections of the append writers.
#[derive(Debug)]
pub(crate) struct WriterConnections {
    options: MySqlConnectOptions,
    idle: Mutex<Vec<MySqlConnection>>,
    kept: usize,
}

impl WriterConnections {
    /// Connections made like the pool's, keeping at most `kept` idle.
    pub(crate) fn new(pool: &MySqlPool, kept: usize) -> Self {
        Self {
            options: (*pool.connect_options())
                .clone()
                .statement_cache_capacity(STATEMENTS),
            idle: Mutex::new(Vec::with_capacity(kept)),
            kept,
        }
    }

    /// A connection inside a started transaction (`BEGIN` sent and
    /// answered): an idle one, or a new one if none is idle or the idle one
    /// turned out dead.
    pub(crate) async fn begin(&self) -> Result<MySqlConnection, sqlx::Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(mut connection) = idle {
            match connection.execute("BEGIN").await {
                Ok(_) => return Ok(connection),
                // Dead while idle: nothing was written, a new one is made.
                Err(sqlx::Error::Database(error)) => return Err(sqlx::Error::Database(error)),
                Err(_) => drop(connection),
            }
        }
        let mut connection = MySqlConnection::connect_with(&self.options).await?;
        connection.execute("BEGIN").await?;
        Ok(connection)
    }

    /// Takes `connection` back after its transaction: committed when
    /// `committed`, else rolled back here first; dropped if that fails.
    pub(crate) async fn give_back(&self, mut connection: MySqlConnection, committed: bool) {
        if !committed && connection.execute("ROLLBACK").await.is_err() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.kept {
            idle.push(connection);
        }
    }
}
