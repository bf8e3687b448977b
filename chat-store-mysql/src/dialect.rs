//! MySQL's hooks for the shared read layer (`chat_store_sql`): ids live in
//! `VARBINARY` columns and come back as bytes, `EXISTS` needs a cast to read
//! as an integer, and the title search is `LOCATE` on the `utf8mb4_unicode_ci`
//! title, which folds case beyond ASCII (accents still count).

use chat_store_sql::{ConnectionOf, Dialect, Fetch, RowOf};
use sqlx::{MySql, QueryBuilder, Row};

/// MySQL and MariaDB, for `chat_store_sql`.
#[derive(Debug)]
pub(crate) struct MySqlDialect;

impl Dialect for MySqlDialect {
    type Db = MySql;

    const INTEGER_OF_BOOLEAN: (&'static str, &'static str) = ("CAST(", " AS SIGNED)");

    fn push_text(sql: &mut QueryBuilder<'_, MySql>, value: &str) {
        sql.push_bind(value.to_owned());
    }

    fn push_integer(sql: &mut QueryBuilder<'_, MySql>, value: i64) {
        sql.push_bind(value);
    }

    fn push_contains(sql: &mut QueryBuilder<'_, MySql>, column: &str, search: &str) {
        sql.push("LOCATE(")
            .push_bind(search.to_owned())
            .push(format!(", {column}) > 0"));
    }

    const INSERT_IGNORE: &'static str = "INSERT IGNORE";

    fn push_search(sql: &mut QueryBuilder<'_, MySql>, words: &[String]) {
        // Boolean mode: every word required (+), each a prefix (*).
        let terms: Vec<String> = words.iter().map(|word| format!("+{word}*")).collect();
        sql.push("MATCH (m.body) AGAINST (")
            .push_bind(terms.join(" "))
            .push(" IN BOOLEAN MODE)");
    }

    fn reindex<'a>(
        _: &'a mut ConnectionOf<Self>,
        _: &'a str,
        _: i64,
        _: Option<&'a str>,
    ) -> Fetch<'a, ()> {
        // InnoDB keeps the FULLTEXT index in step with the row itself.
        Box::pin(std::future::ready(Ok(())))
    }

    fn unindex_conversation<'a>(_: &'a mut ConnectionOf<Self>, _: &'a str) -> Fetch<'a, ()> {
        // The FULLTEXT index loses the rows with the rows.
        Box::pin(std::future::ready(Ok(())))
    }

    const LOCK_SHARED: &'static str = " LOCK IN SHARE MODE";

    const TABLE_NAMED: &'static str =
        "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ";

    fn run_script<'a>(connection: &'a mut ConnectionOf<Self>, sql: &'a str) -> Fetch<'a, ()> {
        Box::pin(async move { sqlx::Executor::execute(connection, sql).await.map(drop) })
    }

    fn execute<'a>(
        sql: &'a mut QueryBuilder<'_, MySql>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, u64> {
        Box::pin(async move { Ok(sql.build().execute(connection).await?.rows_affected()) })
    }

    fn fetch_all<'a>(
        sql: &'a mut QueryBuilder<'_, MySql>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, Vec<RowOf<Self>>> {
        Box::pin(sql.build().fetch_all(connection))
    }

    fn fetch_optional<'a>(
        sql: &'a mut QueryBuilder<'_, MySql>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, Option<RowOf<Self>>> {
        Box::pin(sql.build().fetch_optional(connection))
    }

    fn id_text(row: &RowOf<Self>, index: usize) -> Result<Option<String>, sqlx::Error> {
        let bytes: Option<Vec<u8>> = row.try_get(index)?;
        bytes
            .map(String::from_utf8)
            .transpose()
            .map_err(|error| sqlx::Error::ColumnDecode {
                index: index.to_string(),
                source: Box::new(error),
            })
    }

    fn text(row: &RowOf<Self>, index: usize) -> Result<Option<String>, sqlx::Error> {
        row.try_get(index)
    }

    fn integer(row: &RowOf<Self>, index: usize) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(index)
    }
}
