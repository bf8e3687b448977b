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

    const INSERT_IGNORE: &'static str = "INSERT OR IGNORE";

    fn push_search(sql: &mut QueryBuilder<'_, Sqlite>, words: &[String]) {
        // Each word a quoted prefix term; terms side by side must all match.
        let terms: Vec<String> = words.iter().map(|word| format!("\"{word}\"*")).collect();
        sql.push(
            "m.text_rowid IN (SELECT rowid FROM chat_message_text WHERE chat_message_text MATCH ",
        )
        .push_bind(terms.join(" "))
        .push(")");
    }

    fn reindex<'a>(
        connection: &'a mut ConnectionOf<Self>,
        conversation_id: &'a str,
        seq: i64,
        body: Option<&'a str>,
    ) -> Fetch<'a, ()> {
        Box::pin(async move {
            // A message the indexer has not reached yet is left to it (its
            // round reads the text as it is then, see search_index.rs);
            // indexing it here too would give it a second entry.
            let rowid: Option<i64> = sqlx::query_scalar(
                "SELECT m.text_rowid FROM chat_messages m, chat_search_progress p \
                 WHERE m.conversation_id = ? AND m.seq = ? AND m.text_rowid <= p.indexed_upto",
            )
            .bind(conversation_id)
            .bind(seq)
            .fetch_optional(&mut *connection)
            .await?
            .flatten();
            let Some(rowid) = rowid else { return Ok(()) };
            sqlx::query("DELETE FROM chat_message_text WHERE rowid = ?")
                .bind(rowid)
                .execute(&mut *connection)
                .await?;
            if let Some(body) = body {
                sqlx::query("INSERT INTO chat_message_text (rowid, body) VALUES (?, ?)")
                    .bind(rowid)
                    .bind(body)
                    .execute(&mut *connection)
                    .await?;
            }
            Ok(())
        })
    }

    fn unindex_conversation<'a>(
        connection: &'a mut ConnectionOf<Self>,
        conversation_id: &'a str,
    ) -> Fetch<'a, ()> {
        Box::pin(async move {
            // As in `reindex`: what the indexer has not reached is never indexed.
            sqlx::query(
                "DELETE FROM chat_message_text WHERE rowid IN (SELECT m.text_rowid \
                 FROM chat_messages m, chat_search_progress p \
                 WHERE m.conversation_id = ? AND m.text_rowid <= p.indexed_upto)",
            )
            .bind(conversation_id)
            .execute(&mut *connection)
            .await?;
            Ok(())
        })
    }

    // One writer at a time: what a transaction reads cannot change under it.
    const LOCK_SHARED: &'static str = "";

    const TABLE_NAMED: &'static str =
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ";

    fn run_script<'a>(connection: &'a mut ConnectionOf<Self>, sql: &'a str) -> Fetch<'a, ()> {
        Box::pin(async move { sqlx::Executor::execute(connection, sql).await.map(drop) })
    }

    fn execute<'a>(
        sql: &'a mut QueryBuilder<'_, Sqlite>,
        connection: &'a mut ConnectionOf<Self>,
    ) -> Fetch<'a, u64> {
        Box::pin(async move { Ok(sql.build().execute(connection).await?.rows_affected()) })
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
