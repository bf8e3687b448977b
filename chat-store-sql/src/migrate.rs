//! The stores' migrations, recorded in a table of the library's own,
//! `chat_migrations`, instead of sqlx's `_sqlx_migrations`: a host running
//! its own sqlx migrations on the same database would find versions it does
//! not know there and refuse to start, and sqlx 0.8 cannot be told another
//! table. The migrations stay sqlx's (`sqlx::migrate!` embeds the files and
//! their checksums); only the bookkeeping is written here.
//!
//! A database made before the `chat_` names has its history in
//! `_sqlx_migrations`. [`run`] first brings it to the last of those
//! migrations, renames it (the store's rename script) and moves its history
//! here, leaving the host's own rows in `_sqlx_migrations` alone.
//!
//! The caller keeps two runs apart (MySQL: a named lock on the connection;
//! SQLite: a single writer), and passes one connection throughout.

use std::fmt::Write as _;

use sqlx::migrate::{Migrate, MigrateError, Migration, Migrator};
use sqlx::{Connection, QueryBuilder};

use crate::dialect::{ConnectionOf, Dialect};

/// The table holding which of the store's migrations a database has.
pub const TABLE: &str = "chat_migrations";

/// A table the store's own schema has (migration 1): its presence means a
/// legacy database was already renamed.
const RENAMED_TABLE: &str = "chat_conversations";

/// A store's migrations: its schema, and the way from before the `chat_`
/// names.
#[derive(Debug)]
pub struct Migrations {
    /// The schema's migrations (`migrations/`), recorded in [`TABLE`].
    pub schema: Migrator,
    /// The migrations of releases before the `chat_` names
    /// (`legacy-migrations/`), as sqlx ran them.
    pub legacy: Migrator,
    /// The script renaming what `legacy` made to what the schema's first
    /// migration makes.
    pub rename: &'static str,
}

/// Brings the database up to date: a legacy database is first moved over
/// (see the module docs), then every migration of the schema it lacks is
/// applied, each in a transaction with its record in [`TABLE`].
///
/// # Errors
/// [`MigrateError::VersionMissing`] when the database has a migration this
/// build does not know (a newer release migrated it),
/// [`MigrateError::VersionMismatch`] when one it has was changed, or the
/// failing statement's error.
pub async fn run<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    migrations: Migrations,
) -> Result<(), MigrateError>
where
    ConnectionOf<D>: Migrate,
{
    let Migrations {
        schema,
        legacy,
        rename,
    } = migrations;
    adopt_legacy::<D>(connection, legacy, rename, &schema).await?;
    let migrator = &schema;
    ensure_table::<D>(connection).await?;
    let applied = applied::<D>(connection).await?;
    for (version, checksum) in &applied {
        let ours = migrator
            .iter()
            .find(|migration| migration.version == *version)
            .ok_or(MigrateError::VersionMissing(*version))?;
        if &hex(&ours.checksum) != checksum {
            return Err(MigrateError::VersionMismatch(*version));
        }
    }
    for migration in migrator.iter() {
        if applied
            .iter()
            .any(|(version, _)| *version == migration.version)
        {
            continue;
        }
        let mut transaction = connection.begin().await?;
        D::run_script(&mut transaction, &migration.sql)
            .await
            .map_err(|error| MigrateError::ExecuteMigration(error, migration.version))?;
        record::<D>(&mut transaction, migration).await?;
        transaction.commit().await?;
    }
    Ok(())
}

/// Moves a legacy database (history in `_sqlx_migrations`, tables without
/// the `chat_` names) onto `schema`: brings it to the last of the `legacy`
/// migrations, runs `rename`, records `schema`'s first migration (whose
/// result the rename produces) in [`TABLE`] and takes the store's rows out
/// of `_sqlx_migrations` (dropping it when nothing else is left in it).
/// Does nothing when `_sqlx_migrations` holds no first legacy migration of
/// the store's (by checksum). Safe to run again after a crash part-way.
///
/// # Errors
/// The failing statement's, or the legacy migrator's.
async fn adopt_legacy<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    mut legacy: Migrator,
    rename: &str,
    schema: &Migrator,
) -> Result<(), MigrateError>
where
    ConnectionOf<D>: Migrate,
{
    let Some(first) = legacy.iter().next() else {
        return Ok(());
    };
    if !table_exists::<D>(connection, "_sqlx_migrations").await?
        || !has_legacy_row::<D>(connection, first).await?
    {
        return Ok(());
    }
    tracing::info!("moving the chat tables to their chat_ names and chat_migrations");
    let renamed = table_exists::<D>(connection, RENAMED_TABLE).await?;
    if !renamed {
        legacy.set_ignore_missing(true);
        legacy.set_locking(false);
        legacy.run_direct(connection).await?;
    }
    // One transaction: on SQLite the rename and the move of the history
    // happen together or not at all (MySQL commits each DDL statement).
    let mut transaction = connection.begin().await?;
    if !renamed {
        D::run_script(&mut transaction, rename).await?;
    }
    ensure_table::<D>(&mut transaction).await?;
    if let Some(schema_first) = schema.iter().next() {
        record::<D>(&mut transaction, schema_first).await?;
    }
    for migration in legacy.iter() {
        let mut sql = QueryBuilder::new("DELETE FROM _sqlx_migrations WHERE version = ");
        D::push_integer(&mut sql, migration.version);
        sql.push(" AND HEX(checksum) = ");
        D::push_text(&mut sql, &hex(&migration.checksum));
        D::execute(&mut sql, &mut transaction).await?;
    }
    let mut left = QueryBuilder::new("SELECT 1 FROM _sqlx_migrations LIMIT 1");
    if D::fetch_optional(&mut left, &mut transaction)
        .await?
        .is_none()
    {
        D::run_script(&mut transaction, "DROP TABLE _sqlx_migrations").await?;
    }
    transaction.commit().await?;
    Ok(())
}

async fn ensure_table<D: Dialect>(connection: &mut ConnectionOf<D>) -> Result<(), sqlx::Error> {
    D::run_script(
        connection,
        "CREATE TABLE IF NOT EXISTS chat_migrations (\
         version BIGINT NOT NULL PRIMARY KEY, \
         description VARCHAR(255) NOT NULL, \
         checksum VARCHAR(128) NOT NULL, \
         applied_at BIGINT NOT NULL)",
    )
    .await
}

/// The recorded migrations: version and checksum (hex), in order.
async fn applied<D: Dialect>(
    connection: &mut ConnectionOf<D>,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let mut sql =
        QueryBuilder::new("SELECT version, checksum FROM chat_migrations ORDER BY version");
    D::fetch_all(&mut sql, connection)
        .await?
        .iter()
        .map(|row| {
            Ok((
                D::integer(row, 0)?.unwrap_or_default(),
                D::id_text(row, 1)?.unwrap_or_default(),
            ))
        })
        .collect()
}

/// Records `migration` as applied (again is a no-op).
async fn record<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    migration: &Migration,
) -> Result<(), sqlx::Error> {
    let mut sql = QueryBuilder::new(D::INSERT_IGNORE);
    sql.push(" INTO chat_migrations (version, description, checksum, applied_at) VALUES (");
    D::push_integer(&mut sql, migration.version);
    sql.push(", ");
    D::push_text(&mut sql, &migration.description);
    sql.push(", ");
    D::push_text(&mut sql, &hex(&migration.checksum));
    sql.push(", ");
    D::push_integer(
        &mut sql,
        chat_engine::time::to_millis(chat_engine::time::now()),
    );
    sql.push(")");
    D::execute(&mut sql, connection).await.map(drop)
}

async fn table_exists<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    table: &str,
) -> Result<bool, sqlx::Error> {
    let mut sql = QueryBuilder::new(D::TABLE_NAMED);
    D::push_text(&mut sql, table);
    Ok(D::fetch_optional(&mut sql, connection).await?.is_some())
}

async fn has_legacy_row<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    migration: &Migration,
) -> Result<bool, sqlx::Error> {
    let mut sql = QueryBuilder::new("SELECT 1 FROM _sqlx_migrations WHERE version = ");
    D::push_integer(&mut sql, migration.version);
    sql.push(" AND HEX(checksum) = ");
    D::push_text(&mut sql, &hex(&migration.checksum));
    Ok(D::fetch_optional(&mut sql, connection).await?.is_some())
}

/// Upper-case hex, as both backends' `HEX()` writes it.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02X}");
        text
    })
}
