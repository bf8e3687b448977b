//! Group commit for appends. Concurrent `append` calls queue here; one task
//! takes everything queued (up to [`MAX_BATCH`]) and writes it in a single
//! `BEGIN IMMEDIATE … COMMIT`, with a fixed number of statements per batch
//! whatever its size:
//!
//! 1. one `SELECT` finds retried `(conversation, sender, client_id)`s;
//! 2. one `UPDATE … FROM (VALUES …) RETURNING` reserves seqs per conversation;
//! 3. one multi-row `INSERT` stores the messages;
//! 4. one `UPDATE … FROM (VALUES …)` raises the senders' read marks.
//!
//! Every caller is answered only after the commit, so an answer still means
//! "stored"; 64 concurrent senders cost a handful of commits, not 64.

use std::collections::HashMap;
use std::sync::Arc;

use chat_core::{Appended, Message, NewMessageRecord, time};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Connection, QueryBuilder, Row, Sqlite};
use tokio::sync::{mpsc, oneshot};

use crate::error::SqliteStoreError;
use crate::rows;

/// Most appends written in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<Appended, SqliteStoreError>>;

/// The queue in front of the writing task.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    requests: mpsc::Sender<(NewMessageRecord, Reply)>,
}

impl Writer {
    /// Starts the writing task on `pool` (the one-connection write pool).
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (requests, receiver) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(run(pool, receiver));
        Self { requests }
    }

    /// Appends `record`; answers once its batch is committed.
    pub(crate) async fn append(
        &self,
        record: NewMessageRecord,
    ) -> Result<Appended, SqliteStoreError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((record, reply))
            .await
            .map_err(|_| SqliteStoreError::Sqlx(sqlx::Error::PoolClosed))?;
        answer
            .await
            .map_err(|_| SqliteStoreError::Sqlx(sqlx::Error::PoolClosed))?
    }
}

async fn run(pool: SqlitePool, mut requests: mpsc::Receiver<(NewMessageRecord, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = requests.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let (records, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match write(&pool, &records).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    // A caller that gave up needs no answer.
                    let _ = reply.send(result);
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for reply in replies {
                    let _ = reply.send(Err(SqliteStoreError::Batch(Arc::clone(&error))));
                }
            }
        }
    }
}

/// What becomes of one record of the batch.
enum Fate {
    /// Already stored earlier: answer with the stored message.
    Stored(Message),
    /// The same retry appears earlier in this batch: answer like that one.
    SameAs(usize),
    /// Written now with this seq.
    New(i64),
    /// Its conversation does not exist.
    Unknown,
}

type RetryKey<'a> = (&'a str, &'a str, &'a str);

fn retry_key(record: &NewMessageRecord) -> Option<RetryKey<'_>> {
    record.client_id.as_deref().map(|client_id| {
        (
            record.conversation_id.as_str(),
            record.sender.as_str(),
            client_id,
        )
    })
}

async fn write(
    pool: &SqlitePool,
    records: &[NewMessageRecord],
) -> Result<Vec<Result<Appended, SqliteStoreError>>, SqliteStoreError> {
    let mut connection = pool.acquire().await?;
    let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;

    // 1. Retries: already stored, or repeated within the batch.
    let stored = stored_retries(&mut tx, records).await?;
    let mut first_of: HashMap<RetryKey<'_>, usize> = HashMap::new();
    let mut fates: Vec<Option<Fate>> = Vec::with_capacity(records.len());
    let mut wanted: HashMap<&str, (i64, i64)> = HashMap::new(); // conversation -> (count, latest time)
    for (index, record) in records.iter().enumerate() {
        let fate = match retry_key(record) {
            Some(key) if stored.contains_key(&key) => Some(Fate::Stored(stored[&key].clone())),
            Some(key) if first_of.contains_key(&key) => Some(Fate::SameAs(first_of[&key])),
            key => {
                if let Some(key) = key {
                    first_of.insert(key, index);
                }
                let entry = wanted
                    .entry(record.conversation_id.as_str())
                    .or_insert((0, i64::MIN));
                entry.0 += 1;
                entry.1 = entry.1.max(time::to_millis(record.created_at));
                None
            }
        };
        fates.push(fate);
    }

    // 2. Reserve seqs, one statement for every conversation of the batch.
    let mut next_seq: HashMap<String, i64> = HashMap::new();
    if !wanted.is_empty() {
        let mut reserve: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
            "UPDATE conversations SET last_seq = last_seq + v.column2, \
             last_activity_at = MAX(last_activity_at, v.column3) FROM (",
        );
        reserve.push_values(&wanted, |mut row, (id, (count, at))| {
            row.push_bind(*id).push_bind(*count).push_bind(*at);
        });
        reserve.push(") AS v WHERE conversations.id = v.column1 RETURNING conversations.id, conversations.last_seq");
        for row in reserve.build().fetch_all(&mut *tx).await? {
            let id: String = row.try_get(0)?;
            let last: i64 = row.try_get(1)?;
            let count = wanted.get(id.as_str()).map_or(0, |(count, _)| *count);
            next_seq.insert(id, last - count + 1);
        }
    }
    for (record, fate) in records.iter().zip(&mut fates) {
        if fate.is_none() {
            *fate = Some(match next_seq.get_mut(record.conversation_id.as_str()) {
                Some(next) => {
                    *next += 1;
                    Fate::New(*next - 1)
                }
                None => Fate::Unknown,
            });
        }
    }

    // 3. Store the new messages; 4. raise their senders' read marks.
    let new: Vec<(&NewMessageRecord, i64)> = records
        .iter()
        .zip(&fates)
        .filter_map(|(record, fate)| match fate {
            Some(Fate::New(seq)) => Some((record, *seq)),
            _ => None,
        })
        .collect();
    if !new.is_empty() {
        let mut insert: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
            "INSERT INTO messages (conversation_id, seq, id, sender, body, client_id, created_at) ",
        );
        insert.push_values(&new, |mut row, (record, seq)| {
            row.push_bind(record.conversation_id.as_str())
                .push_bind(*seq)
                .push_bind(record.id.as_str())
                .push_bind(record.sender.as_str())
                .push_bind(record.body.as_str())
                .push_bind(record.client_id.as_deref())
                .push_bind(time::to_millis(record.created_at));
        });
        insert.build().execute(&mut *tx).await?;

        let mut marks: HashMap<(&str, &str), i64> = HashMap::new();
        for (record, seq) in &new {
            let mark = marks
                .entry((record.conversation_id.as_str(), record.sender.as_str()))
                .or_insert(*seq);
            *mark = (*mark).max(*seq);
        }
        let mut raise: QueryBuilder<'_, Sqlite> =
            QueryBuilder::new("UPDATE members SET read_seq = v.column3 FROM (");
        raise.push_values(&marks, |mut row, ((conversation, sender), seq)| {
            row.push_bind(*conversation)
                .push_bind(*sender)
                .push_bind(*seq);
        });
        raise.push(
            ") AS v WHERE members.conversation_id = v.column1 AND members.user_id = v.column2 \
             AND members.read_seq < v.column3",
        );
        raise.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;

    let mut results: Vec<Result<Appended, SqliteStoreError>> = Vec::with_capacity(records.len());
    for (record, fate) in records.iter().zip(fates) {
        let result = match fate.expect("every record has a fate") {
            Fate::Stored(message) => Ok(Appended {
                message,
                duplicate: true,
            }),
            Fate::SameAs(index) => match &results[index] {
                Ok(first) => Ok(Appended {
                    message: first.message.clone(),
                    duplicate: true,
                }),
                Err(_) => Err(SqliteStoreError::Sqlx(sqlx::Error::RowNotFound)),
            },
            Fate::New(seq) => Ok(Appended {
                message: Message {
                    id: record.id.clone(),
                    conversation_id: record.conversation_id.clone(),
                    seq: rows::from_sql(seq),
                    sender: record.sender.clone(),
                    body: record.body.clone(),
                    client_id: record.client_id.clone(),
                    created_at: record.created_at,
                },
                duplicate: false,
            }),
            Fate::Unknown => Err(SqliteStoreError::Sqlx(sqlx::Error::RowNotFound)),
        };
        results.push(result);
    }
    Ok(results)
}

/// The stored messages of the batch's retried `(conversation, sender, client_id)`s.
async fn stored_retries<'a>(
    tx: &mut sqlx::SqliteConnection,
    records: &'a [NewMessageRecord],
) -> Result<HashMap<RetryKey<'a>, Message>, SqliteStoreError> {
    let keys: Vec<RetryKey<'a>> = records.iter().filter_map(retry_key).collect();
    let mut stored = HashMap::new();
    if keys.is_empty() {
        return Ok(stored);
    }
    let mut query: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "SELECT m.id, m.conversation_id, m.seq, m.sender, m.body, m.client_id, m.created_at \
         FROM messages m JOIN (",
    );
    query.push_values(&keys, |mut row, (conversation, sender, client_id)| {
        row.push_bind(*conversation)
            .push_bind(*sender)
            .push_bind(*client_id);
    });
    query.push(
        ") AS k ON m.conversation_id = k.column1 AND m.sender = k.column2 AND m.client_id = k.column3",
    );
    let rows: Vec<SqliteRow> = query.build().fetch_all(&mut *tx).await?;
    for row in &rows {
        let message = rows::message(row, 0)?;
        if let Some(key) = keys.iter().find(|(conversation, sender, client_id)| {
            *conversation == message.conversation_id.as_str()
                && *sender == message.sender.as_str()
                && Some(*client_id) == message.client_id.as_deref()
        }) {
            stored.insert(*key, message);
        }
    }
    Ok(stored)
}
