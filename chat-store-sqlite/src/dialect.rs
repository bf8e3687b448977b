//! SQLite's hooks for the shared read layer (`chat_store_sql`): ids are
//! `TEXT`, a boolean is already an integer, and the title search folds ASCII
//! case with `lower()` (SQLite's own `lower` knows no other letters).

use chat_store_sql::{ConnectionOf, Dialect, Fetch, RowOf};
use sqlx::{QueryBuilder, Row, Sqlite};

/// SQLite, for `chat_store_sql`.
#[derive(Debug)]
pub(crate) struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Db = Sqlite;

    const INTEGER_OF_BOOLEAN: (&'static str, &'static str) = ("", "");

    fn push_text(sql: &mut QueryBuilder<'_, Sqlite>, value: &str) {
        sql.push_bind(value.to_owned());
    }

    fn push_integer(sql: &mut QueryBuilder<'_, Sqlite>, value: i64) {
        sql.push_bind(value);
    }

    fn push_contains(sql: &mut QueryBuilder<'_, Sqlite>, column: &str, search: &str) {
        sql.push(format!("instr(lower({column}), lower("))
            .push_bind(search.to_owned())
            .push(")) > 0");
    }

    fn fetch_all<'a>(
        sql: &'a mut QueryBuilder<'_, Sqlite>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, Vec<RowOf<Self>>> {
        Box::pin(sql.build().fetch_all(connection))
    }

    fn fetch_optional<'a>(
        sql: &'a mut QueryBuilder<'_, Sqlite>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, Option<RowOf<Self>>> {
        Box::pin(sql.build().fetch_optional(connection))
    }

    fn id_text(row: &RowOf<Self>, index: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(index)
    }

    fn text(row: &RowOf<Self>, index: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(index)
    }

    fn integer(row: &RowOf<Self>, index: usize) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(index)
    }
}
