//! What differs between SQL backends, as small hooks: how a parameter is
//! bound and a query run (the driver's types), how an id column reads back
//! (SQLite `TEXT`, MySQL `VARBINARY`), and two pieces of SQL (a
//! case-insensitive search, a boolean read as an integer). Everything else
//! in this crate is written once against these.
//!
//! Writes of the timeline's changes are shared too (`crate::writes`): they
//! are the same statements on both, in a transaction the store begins.
//!
//! A store implements [`Dialect`] on a marker type of its own, so the
//! driver's trait bounds live in that store, where the types are concrete.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Database, QueryBuilder};

/// A query in flight, borrowing its builder and its connection.
pub type Fetch<'a, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'a>>;

/// The row type of a dialect's database.
pub type RowOf<D> = <<D as Dialect>::Db as Database>::Row;

/// The connection type of a dialect's database (a `Transaction` derefs to it).
pub type ConnectionOf<D> = <<D as Dialect>::Db as Database>::Connection;

/// One SQL backend's hooks (see the module docs).
pub trait Dialect: Send + Sync + 'static {
    /// The sqlx database.
    type Db: Database;

    /// Binds a text parameter (`?`).
    fn push_text(sql: &mut QueryBuilder<'_, Self::Db>, value: &str);

    /// Binds an integer parameter.
    fn push_integer(sql: &mut QueryBuilder<'_, Self::Db>, value: i64);

    /// Appends a condition true when `column` contains the bound `search`,
    /// ignoring case as far as the backend can (see `RoomQuery::search`).
    fn push_contains(sql: &mut QueryBuilder<'_, Self::Db>, column: &str, search: &str);

    /// The SQL around a boolean expression that makes it read back as an
    /// integer 0 or 1: opening and closing text.
    const INTEGER_OF_BOOLEAN: (&'static str, &'static str);

    /// `INSERT` that skips a row whose key is already there (`INSERT OR
    /// IGNORE` on SQLite, `INSERT IGNORE` on MySQL).
    const INSERT_IGNORE: &'static str;

    /// Appends a condition true when the message aliased `m` holds every
    /// one of `words` (letters and digits only) as a word prefix, from the
    /// backend's full-text index.
    fn push_search(sql: &mut QueryBuilder<'_, Self::Db>, words: &[String]);

    /// Brings the full-text index in step with the text of message `seq`
    /// of `conversation_id`: `Some(body)` after an edit, `None` after a
    /// delete (a backend whose index follows the row does nothing).
    fn reindex<'a>(
        connection: &'a mut ConnectionOf<Self>,
        conversation_id: &'a str,
        seq: i64,
        body: Option<&'a str>,
    ) -> Fetch<'a, ()>;

    /// Takes every message of the conversation out of the full-text index,
    /// before they are deleted (a backend whose index follows the rows does
    /// nothing).
    fn unindex_conversation<'a>(
        connection: &'a mut ConnectionOf<Self>,
        conversation_id: &'a str,
    ) -> Fetch<'a, ()>;

    /// What ends a `SELECT` that must wait for a concurrent writer of the
    /// rows it reads (`LOCK IN SHARE MODE` on MySQL; nothing on SQLite,
    /// whose writer is alone).
    const LOCK_SHARED: &'static str;

    /// The start of a query that returns a row when the bound table name
    /// (pushed after it) names a table of the database.
    const TABLE_NAMED: &'static str;

    /// Runs a script of one or more statements, without parameters (a
    /// migration).
    fn run_script<'a>(connection: &'a mut ConnectionOf<Self>, sql: &'a str) -> Fetch<'a, ()>;

    /// Runs a statement; the rows it changed.
    fn execute<'a>(
        sql: &'a mut QueryBuilder<'_, Self::Db>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, u64>;

    /// Runs the query; all its rows.
    fn fetch_all<'a>(
        sql: &'a mut QueryBuilder<'_, Self::Db>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, Vec<RowOf<Self>>>;

    /// Runs the query; its first row, if any.
    fn fetch_optional<'a>(
        sql: &'a mut QueryBuilder<'_, Self::Db>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, Option<RowOf<Self>>>;

    /// An id column (or another column holding an opaque string), `None`
    /// when NULL.
    ///
    /// # Errors
    /// The driver's, or a decode error for bytes that are not UTF-8.
    fn id_text(row: &RowOf<Self>, index: usize) -> Result<Option<String>, sqlx::Error>;

    /// A text column meant for people (titles, bodies, JSON), `None` when NULL.
    ///
    /// # Errors
    /// The driver's.
    fn text(row: &RowOf<Self>, index: usize) -> Result<Option<String>, sqlx::Error>;

    /// An integer column, `None` when NULL.
    ///
    /// # Errors
    /// The driver's.
    fn integer(row: &RowOf<Self>, index: usize) -> Result<Option<i64>, sqlx::Error>;
}

/// Binds each of `values` as a text parameter, separated by commas: the
/// inside of an `IN (…)` list.
pub(crate) fn push_text_list<'v, D: Dialect>(
    sql: &mut QueryBuilder<'_, D::Db>,
    values: impl IntoIterator<Item = &'v str>,
) {
    for (index, value) in values.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        D::push_text(sql, value);
    }
}
