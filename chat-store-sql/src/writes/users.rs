//! The users a `StoreDirectory` knows: recorded when first seen, their
//! display name and avatar kept up to date.

use chat_engine::{Profile, Timestamp, time};
use sqlx::QueryBuilder;

use crate::SqlError;
use crate::dialect::{ConnectionOf, Dialect};

/// Records `profile` (first seen `at`), or updates its display name and
/// avatar when the user is already known. The insert comes first, so on
/// SQLite the transaction writes before it reads.
///
/// # Errors
/// [`SqlError`].
pub async fn record_user<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    profile: &Profile,
    at: Timestamp,
) -> Result<(), SqlError> {
    let mut insert = QueryBuilder::new(format!(
        "{} INTO chat_users (id, display_name, avatar_url, first_seen_at) VALUES (",
        D::INSERT_IGNORE
    ));
    D::push_text(&mut insert, profile.user_id.as_str());
    insert.push(", ");
    D::push_text(&mut insert, &profile.display_name);
    insert.push(", ");
    push_avatar::<D>(&mut insert, profile);
    insert.push(", ");
    D::push_integer(&mut insert, time::to_millis(at));
    insert.push(")");
    D::execute(&mut insert, connection).await?;
    let mut update = QueryBuilder::new("UPDATE chat_users SET display_name = ");
    D::push_text(&mut update, &profile.display_name);
    update.push(", avatar_url = ");
    push_avatar::<D>(&mut update, profile);
    update.push(" WHERE id = ");
    D::push_text(&mut update, profile.user_id.as_str());
    D::execute(&mut update, connection).await?;
    Ok(())
}

fn push_avatar<D: Dialect>(sql: &mut QueryBuilder<'_, D::Db>, profile: &Profile) {
    match &profile.avatar_url {
        Some(url) => D::push_text(sql, url),
        None => {
            sql.push("NULL");
        }
    }
}
