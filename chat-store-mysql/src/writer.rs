//! Group commit for appends (see [`chat_engine::group_commit`]): concurrent
//! appends on this node queue; one task writes everything queued (up to
//! [`MAX_BATCH`]) in one transaction of a fixed number of statements:
//!
//! 1. `SELECT … FOR UPDATE` locks the batch's conversations, in id order (so
//!    two nodes' batches cannot deadlock on them), with their members' rows,
//!    and reads their last seqs and members (senders who are not members
//!    are refused);
//! 2. only when the batch ran once already and its insert met a stored
//!    retry (the unique key refused it), one `SELECT` finds retried
//!    `(conversation, sender, client_id)`s;
//! 3. one multi-row `INSERT` stores the messages (and one their outbox
//!    rows, when the service asks for them);
//! 4. one multi-table `UPDATE` moves each conversation's last seq and
//!    raises its senders' read marks.
//!
//! A deadlock or lock-wait timeout runs the whole batch again. Every caller
//! is answered after the commit, so an answer still means "stored".

use std::collections::HashMap;
use std::sync::Arc;

use chat_engine::group_commit::{BatchPlan, Batcher};
use chat_engine::{Appended, Content, NewMessageRecord, time};
use chat_store_sql::rows;
use sqlx::mysql::MySqlPool;
use sqlx::query_builder::Separated;
use sqlx::{Executor, MySql, MySqlConnection, QueryBuilder};

use crate::batch_reads::{Locked, lock, referenced, stored_retries};
use crate::error::MySqlStoreError;
use crate::store::retrying;
use crate::writer_connections::WriterConnections;

/// Most appends written in one transaction (7 parameters each, far below
/// the protocol's 65,535).
pub(crate) const MAX_BATCH: usize = 512;

/// Batches in flight at once per node: while one waits for its commit (and
/// InnoDB's log flush), the next collects and takes its row locks. On the
/// project's 2-vCPU machine, with MariaDB on the same cores, the store
/// alone did 8,200, 8,800 and 6,000 appends/s with 1, 2 and 4 writers.
const WRITERS: usize = 2;

/// The queue in front of the writing tasks.
pub(crate) type Writer = Batcher<Appended, MySqlStoreError>;

/// Starts the writing tasks, on connections made like `pool`'s.
pub(crate) fn start(pool: &MySqlPool) -> Writer {
    let connections = Arc::new(WriterConnections::new(pool, WRITERS));
    Batcher::start(MAX_BATCH, WRITERS, move |records| {
        let connections = Arc::clone(&connections);
        async move {
            match retrying(|| write(&connections, &records)).await {
                Ok(answers) => answers,
                Err(error) => {
                    let error = Arc::new(error);
                    records
                        .iter()
                        .map(|_| Err(MySqlStoreError::Batch(Arc::clone(&error))))
                        .collect()
                }
            }
        }
    })
}

/// Whether a batch looks up which of its sends are retries of a stored
/// message before it inserts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retries {
    /// No lookup: the unique key on `(conversation, sender, client_id)`
    /// refuses the insert if one was stored, and the batch runs again with
    /// [`Retries::Read`]. Retries are rare; the lookup was a round trip in
    /// every batch.
    Assumed,
    /// Look them up first and answer them with the stored message.
    Read,
}

/// One batch in one transaction on one of the writers' connections.
async fn write(
    connections: &WriterConnections,
    records: &[NewMessageRecord],
) -> Result<Vec<Result<Appended, MySqlStoreError>>, MySqlStoreError> {
    match write_once(connections, records, Retries::Assumed).await {
        Err(error) if error.is_duplicate_key() => {
            write_once(connections, records, Retries::Read).await
        }
        written => written,
    }
}

async fn write_once(
    connections: &WriterConnections,
    records: &[NewMessageRecord],
    retries: Retries,
) -> Result<Vec<Result<Appended, MySqlStoreError>>, MySqlStoreError> {
    let (mut connection, idle) = connections.take().await?;
    let locked = match lock(&mut connection, records).await {
        // Dead while idle (the server's `wait_timeout`, a restart): the
        // locking read wrote nothing, so the batch starts over on a new one.
        Err(error) if idle && !error.is_from_server() => {
            drop(connection);
            connection = connections.connect().await?;
            lock(&mut connection, records).await
        }
        locked => locked,
    };
    let written = match locked {
        Ok(locked) => write_in(&mut connection, records, locked, retries).await,
        Err(error) => Err(error),
    };
    connections.give_back(connection, written.is_ok()).await;
    written
}

/// Steps 2 to 4 and the `COMMIT`, on `tx` after the locking read (`lock`).
async fn write_in(
    tx: &mut MySqlConnection,
    records: &[NewMessageRecord],
    locked: Locked,
    retries: Retries,
) -> Result<Vec<Result<Appended, MySqlStoreError>>, MySqlStoreError> {
    let Locked {
        first_seq,
        members,
        silenced,
    } = locked;
    // 2. Retries, references and seqs.
    let referenced = referenced(tx, records).await?;
    let retries = match retries {
        Retries::Assumed => HashMap::new(),
        Retries::Read => stored_retries(tx, records).await?,
    };
    let mut plan = BatchPlan::new(records, members, &silenced, retries, &referenced);
    plan.assign(&first_seq);
    let new = plan.new_messages();
    if !new.is_empty() {
        // Each conversation's new last seq, latest activity and last
        // message outside threads (0: none in this batch), moved in step 5.
        let listed = plan.last_messages();
        let mut last: HashMap<&str, (u64, i64)> = HashMap::new();
        for (record, seq) in &new {
            let entry = last
                .entry(record.conversation_id.as_str())
                .or_insert((0, i64::MIN));
            entry.0 = entry.0.max(*seq);
            entry.1 = entry.1.max(time::to_millis(record.created_at));
        }
        let mut insert: QueryBuilder<'_, MySql> = QueryBuilder::new(
            "INSERT INTO chat_messages (conversation_id, seq, id, sender, body, client_id, created_at, \
             content_kind, content_payload, reply_to, thread_root, mentions) ",
        );
        insert.push_values(&new, |mut row, (record, seq)| {
            row.push_bind(record.conversation_id.as_str())
                .push_bind(rows::to_sql(*seq))
                .push_bind(record.id.as_str())
                .push_bind(record.sender.as_str())
                .push_bind(record.body.as_str())
                .push_bind(record.client_id.as_deref())
                .push_bind(time::to_millis(record.created_at))
                .push_bind(record.content.as_ref().map(|content| content.kind.as_str()))
                .push_bind(record.content.as_ref().map(Content::payload_json))
                .push_bind(record.reply_to.map(rows::to_sql))
                .push_bind(record.thread_root.map(rows::to_sql))
                .push_bind(
                    (!record.mentions.is_empty()).then(|| {
                        serde_json::to_string(&record.mentions).expect("user ids serialize")
                    }),
                );
        });
        insert.build().execute(&mut *tx).await?;
        let outbox: Vec<(&NewMessageRecord, i64)> = new
            .iter()
            .filter_map(|(record, _)| Some((*record, time::to_millis(record.outbox_due?))))
            .collect();
        if !outbox.is_empty() {
            let mut insert: QueryBuilder<'_, MySql> =
                QueryBuilder::new("INSERT INTO chat_outbox (message_id, conversation_id, due_at) ");
            insert.push_values(&outbox, |mut row, (record, due)| {
                row.push_bind(record.id.as_str())
                    .push_bind(record.conversation_id.as_str())
                    .push_bind(*due);
            });
            insert.build().execute(&mut *tx).await?;
        }
        let mentions: Vec<(&str, &str, u64)> = new
            .iter()
            .flat_map(|(record, seq)| {
                record
                    .mentions
                    .iter()
                    .map(|user| (record.conversation_id.as_str(), user.as_str(), *seq))
            })
            .collect();
        if !mentions.is_empty() {
            let mut insert: QueryBuilder<'_, MySql> =
                QueryBuilder::new("INSERT INTO chat_mentions (conversation_id, user_id, seq) ");
            insert.push_values(&mentions, |mut row, (conversation, user, seq)| {
                row.push_bind(*conversation)
                    .push_bind(*user)
                    .push_bind(rows::to_sql(*seq));
            });
            insert.build().execute(&mut *tx).await?;
        }
        let threads = plan.thread_replies();
        if !threads.is_empty() {
            let mut count: QueryBuilder<'_, MySql> =
                QueryBuilder::new("UPDATE chat_messages m JOIN (");
            derived_table(
                &mut count,
                4,
                &threads,
                |row, ((conversation, root), replies)| {
                    row.push_bind(*conversation)
                        .push_bind(rows::to_sql(*root))
                        .push_bind(rows::to_sql(replies.count))
                        .push_bind(rows::to_sql(replies.last));
                },
            );
            count.push(
                ") v ON m.conversation_id = v.c1 AND m.seq = v.c2 \
                 SET m.reply_count = m.reply_count + v.c3, \
                 m.last_reply_seq = GREATEST(COALESCE(m.last_reply_seq, 0), v.c4), \
                 m.updated_seq = GREATEST(m.updated_seq, v.c4)",
            );
            count.build().execute(&mut *tx).await?;
        }

        // 4. With the conversations' new last seqs, the senders' read marks,
        //    in the same statement: a row per (conversation, sender) that
        //    repeats the conversation's values (a multi-table UPDATE
        //    changes each conversation once).
        let marks = plan.read_marks();
        let mut advance: QueryBuilder<'_, MySql> =
            QueryBuilder::new("UPDATE chat_conversations c JOIN (");
        derived_table(
            &mut advance,
            6,
            &marks,
            |row, ((conversation, sender), mark)| {
                let (seq, at) = last[conversation];
                let message = listed.get(conversation).copied().unwrap_or(0);
                row.push_bind(*conversation)
                    .push_bind(rows::to_sql(seq))
                    .push_bind(at)
                    .push_bind(rows::to_sql(message))
                    .push_bind(*sender)
                    .push_bind(rows::to_sql(*mark));
            },
        );
        advance.push(
            ") v ON c.id = v.c1 \
             LEFT JOIN chat_members m ON m.conversation_id = v.c1 AND m.user_id = v.c5 \
             SET c.last_seq = v.c2, \
             c.last_activity_at = GREATEST(c.last_activity_at, v.c3), \
             c.last_message_seq = GREATEST(c.last_message_seq, v.c4), \
             m.read_seq = GREATEST(m.read_seq, v.c6)",
        );
        advance.build().execute(&mut *tx).await?;
    }
    tx.execute("COMMIT").await?;
    Ok(plan.answers(MySqlStoreError::Refused))
}

/// Pushes a derived table with `columns` columns `c1, c2, …` and one row per
/// item: an empty first `SELECT` names the columns (MariaDB has no `VALUES`
/// table constructor with column names), then `UNION ALL SELECT ?, ?, …`
/// per item.
fn derived_table<'q, T>(
    query: &mut QueryBuilder<'q, MySql>,
    columns: usize,
    items: impl IntoIterator<Item = T>,
    mut bind: impl FnMut(&mut Separated<'_, 'q, MySql, &'static str>, T),
) {
    let names: Vec<String> = (1..=columns).map(|n| format!("NULL AS c{n}")).collect();
    query.push(format!("SELECT {} FROM DUAL WHERE FALSE", names.join(", ")));
    for item in items {
        query.push(" UNION ALL SELECT ");
        bind(&mut query.separated(", "), item);
    }
}
