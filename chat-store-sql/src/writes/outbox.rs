//! The outbox's rows after the append wrote them (see
//! `chat_engine::outbox`): claimed by a sweep with a conditional `UPDATE`
//! that one node alone can win, put back for a later try, deleted when
//! their work is done. Each statement commits on its own: a claim is
//! atomic by its condition, not by a transaction.

use chat_engine::{MessageId, OutboxEntry, OutboxStage, Timestamp, time};
use sqlx::QueryBuilder;

use crate::SqlError;
use crate::dialect::{ConnectionOf, Dialect, push_text_list};
use crate::rows;

/// Claims up to `limit` rows due by `now`, earliest first, until `until`,
/// counting the attempt; a row another node claimed first is left out.
///
/// # Errors
/// [`SqlError`].
pub async fn claim_outbox<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> Result<Vec<OutboxEntry>, SqlError> {
    let mut due = QueryBuilder::new(
        "SELECT message_id, conversation_id, due_at, attempts, stage FROM chat_outbox \
         WHERE due_at <= ",
    );
    D::push_integer(&mut due, time::to_millis(now));
    due.push(" ORDER BY due_at LIMIT ");
    D::push_integer(&mut due, i64::from(limit));
    let found = D::fetch_all(&mut due, connection).await?;
    let mut claimed = Vec::with_capacity(found.len());
    for row in &found {
        let message_id = rows::message_id::<D>(row, 0)?;
        let due_at = rows::integer::<D>(row, 2, "due_at")?;
        let attempts = rows::integer::<D>(row, 3, "attempts")?;
        let mut take = QueryBuilder::new("UPDATE chat_outbox SET due_at = ");
        D::push_integer(&mut take, time::to_millis(until));
        take.push(", attempts = attempts + 1 WHERE message_id = ");
        D::push_text(&mut take, message_id.as_str());
        take.push(" AND due_at = ");
        D::push_integer(&mut take, due_at);
        if D::execute(&mut take, connection).await? == 1 {
            claimed.push(OutboxEntry {
                conversation_id: rows::conversation_id::<D>(row, 1)?,
                message_id,
                stage: OutboxStage::from_code(rows::integer::<D>(row, 4, "stage")?),
                attempts: u32::try_from(attempts + 1).unwrap_or(u32::MAX),
            });
        }
    }
    Ok(claimed)
}

/// Deletes the rows of `ids`.
///
/// # Errors
/// [`SqlError`].
pub async fn finish_outbox<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    ids: &[MessageId],
) -> Result<(), SqlError> {
    for chunk in ids.chunks(256) {
        let mut delete = QueryBuilder::new("DELETE FROM chat_outbox WHERE message_id IN (");
        push_text_list::<D>(&mut delete, chunk.iter().map(MessageId::as_str));
        delete.push(")");
        D::execute(&mut delete, connection).await?;
    }
    Ok(())
}

/// Puts the row of `id` back for `stage`, due at `due`.
///
/// # Errors
/// [`SqlError`].
pub async fn defer_outbox<D: Dialect>(
    connection: &mut ConnectionOf<D>,
    id: &MessageId,
    stage: OutboxStage,
    due: Timestamp,
) -> Result<(), SqlError> {
    let mut defer = QueryBuilder::new("UPDATE chat_outbox SET due_at = ");
    D::push_integer(&mut defer, time::to_millis(due));
    defer.push(", stage = ");
    D::push_integer(&mut defer, stage.code());
    defer.push(" WHERE message_id = ");
    D::push_text(&mut defer, id.as_str());
    D::execute(&mut defer, connection).await?;
    Ok(())
}
