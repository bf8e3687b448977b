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
//! They do not autocommit, so a batch needs no `BEGIN` (one more round
//! trip): its first statement starts the transaction. A connection whose
//! transaction failed is rolled back before it is given back, and dropped
//! when that fails too. One that died while idle (the server's
//! `wait_timeout`, a restart) is noticed by the batch's first statement, a
//! locking read that wrote nothing, and the batch starts over on a new one.

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

    /// A connection for a batch: an idle one (then `true`: it may have
    /// died while idle), or a new one.
    pub(crate) async fn take(&self) -> Result<(MySqlConnection, bool), sqlx::Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(connection) => Ok((connection, true)),
            None => Ok((self.connect().await?, false)),
        }
    }

    /// A new connection that does not autocommit: its first statement
    /// starts a transaction, and `COMMIT` or `ROLLBACK` ends it (no `BEGIN`,
    /// a round trip per batch).
    pub(crate) async fn connect(&self) -> Result<MySqlConnection, sqlx::Error> {
        let mut connection = MySqlConnection::connect_with(&self.options).await?;
        connection.execute("SET autocommit = 0").await?;
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
