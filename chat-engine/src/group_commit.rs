//! Group commit for [`Store`](crate::Store) implementations: concurrent
//! appends queue in a [`Batcher`]; one task takes everything queued and
//! writes it in one transaction; every caller is answered after the commit,
//! so an answer still means "stored". [`BatchPlan`] holds the part of a
//! batch that does not depend on the database: retries within the batch,
//! seq assignment, read marks, the answers. The SQLite and MySQL stores use
//! both; a store of the host's own can too.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use ::metrics::histogram;

use crate::error::Refusal;
use crate::ids::UserId;
use crate::message::{Appended, Message, NewMessageRecord};
use crate::metrics;

/// A queue in front of one writing task.
#[derive(Debug)]
pub struct Batcher<T, E> {
    requests: mpsc::Sender<(NewMessageRecord, oneshot::Sender<Result<T, E>>)>,
}

impl<T, E> Clone for Batcher<T, E> {
    fn clone(&self) -> Self {
        Self {
            requests: self.requests.clone(),
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Batcher<T, E> {
    /// Spawns `writers` writing tasks: each takes up to `max_batch` queued
    /// records at a time and hands them to `write`, which must return one
    /// answer per record, in order. With several writers, one batch can
    /// collect while another commits (a store whose database serializes
    /// conflicting batches itself, like MySQL's row locks); one writer keeps
    /// batches strictly one after another (SQLite).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use chat_engine::group_commit::Batcher;
    /// use chat_engine::{ConversationId, MessageId, NewMessageRecord, UserId, time};
    /// let batcher: Batcher<usize, ()> = Batcher::start(64, 1, |records| async move {
    ///     let size = records.len();
    ///     records.iter().map(|_| Ok(size)).collect()
    /// });
    /// let record = NewMessageRecord {
    ///     id: MessageId::generate(),
    ///     conversation_id: ConversationId::generate(),
    ///     sender: UserId::new("alice").unwrap(),
    ///     body: "hi".into(),
    ///     content: None,
    ///     client_id: None,
    ///     created_at: time::now(),
    ///     reply_to: None,
    ///     thread_root: None,
    ///     mentions: Vec::new(),
    ///     outbox_due: None,
    /// };
    /// assert_eq!(batcher.submit(record).await, Some(Ok(1)));
    /// # }
    /// ```
    pub fn start<W, F>(max_batch: usize, writers: usize, write: W) -> Self
    where
        W: Fn(Vec<NewMessageRecord>) -> F + Send + Sync + 'static,
        F: Future<Output = Vec<Result<T, E>>> + Send,
    {
        let max_batch = max_batch.max(1);
        let (requests, queue) =
            mpsc::channel::<(NewMessageRecord, oneshot::Sender<Result<T, E>>)>(max_batch * 4);
        let queue = Arc::new(Mutex::new(queue));
        let write = Arc::new(write);
        for _ in 0..writers.max(1) {
            let (queue, write) = (Arc::clone(&queue), Arc::clone(&write));
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(max_batch);
                loop {
                    {
                        // Collect under the lock; write outside it.
                        let mut queue = queue.lock().await;
                        let Some(first) = queue.recv().await else {
                            return;
                        };
                        batch.push(first);
                        while batch.len() < max_batch {
                            match queue.try_recv() {
                                Ok(request) => batch.push(request),
                                Err(_) => break,
                            }
                        }
                        #[allow(clippy::cast_precision_loss)] // counts far below 2^53
                        histogram!(metrics::COMMIT_QUEUE_DEPTH).record(queue.len() as f64);
                    }
                    let (records, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                    #[allow(clippy::cast_precision_loss)]
                    histogram!(metrics::COMMIT_BATCH_SIZE).record(records.len() as f64);
                    let started = std::time::Instant::now();
                    let results = write(records).await;
                    histogram!(metrics::COMMIT_SECONDS).record(started.elapsed());
                    for (reply, result) in replies.into_iter().zip(results) {
                        // A caller that gave up needs no answer.
                        let _ = reply.send(result);
                    }
                }
            });
        }
        Self { requests }
    }

    /// Queues `record` and waits for its answer; `None` when the writing
    /// task is gone (its runtime shut down, or `write` panicked).
    pub async fn submit(&self, record: NewMessageRecord) -> Option<Result<T, E>> {
        let (reply, answer) = oneshot::channel();
        self.requests.send((record, reply)).await.ok()?;
        answer.await.ok()
    }
}

/// `(conversation, sender, client_id)`: what makes a retried send the same.
pub type RetryKey<'a> = (&'a str, &'a str, &'a str);

/// The retry key of `record`, if it has a `client_id`.
#[must_use]
pub fn retry_key(record: &NewMessageRecord) -> Option<RetryKey<'_>> {
    record.client_id.as_deref().map(|client_id| {
        (
            record.conversation_id.as_str(),
            record.sender.as_str(),
            client_id,
        )
    })
}

/// Why a record's references refuse it, if they do.
fn refuse_references(
    record: &NewMessageRecord,
    members: &[UserId],
    referenced: &Referenced,
) -> Option<Refusal> {
    let conversation = record.conversation_id.as_str();
    let found = |seq: u64| referenced.get(&(conversation.to_owned(), seq));
    if record.reply_to.is_some_and(|seq| found(seq).is_none()) {
        return Some(Refusal::UnknownMessage);
    }
    if let Some(root) = record.thread_root {
        match found(root) {
            None => return Some(Refusal::UnknownMessage),
            Some(Some(_)) => return Some(Refusal::NotARoot),
            Some(None) => {}
        }
    }
    if record
        .mentions
        .iter()
        .any(|user| members.binary_search(user).is_err())
    {
        return Some(Refusal::MentionNotAMember);
    }
    None
}

/// What becomes of one record of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Refused: nothing is written for it.
    Refused(Refusal),
    /// Already stored before this batch: answered with the stored message.
    Stored(Box<Message>),
    /// The same retry appears earlier in this batch: answered like that one.
    SameAs(usize),
    /// Written by this batch with this seq.
    New(u64),
}

/// The members of each conversation of a batch, read inside the batch's
/// transaction; a conversation missing from it does not exist.
pub type BatchMembers = HashMap<String, Vec<UserId>>;

/// The members of a batch's conversations who may not write, read inside
/// the batch's transaction, `(conversation, user)` → why (muted by an
/// admin, or blocked by the other user of a direct conversation).
pub type Silenced = HashMap<(String, UserId), Refusal>;

/// The messages a batch's records refer to (`reply_to`, `thread_root`),
/// read inside the batch's transaction: `(conversation, seq)` → that
/// message's own `thread_root`. A reference missing from it does not exist.
pub type Referenced = HashMap<(String, u64), Option<u64>>;

/// The replies one batch adds to one thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadReplies {
    /// How many.
    pub count: u64,
    /// The newest one's seq.
    pub last: u64,
}

/// Why `record`'s sender may not write, if they may not.
fn silenced_sender(record: &NewMessageRecord, silenced: &Silenced) -> Option<Refusal> {
    if silenced.is_empty() {
        return None;
    }
    let key = (
        record.conversation_id.as_str().to_owned(),
        record.sender.clone(),
    );
    silenced.get(&key).copied()
}

/// The `(conversation, seq)` pairs `records` refer to, for [`Referenced`].
#[must_use]
pub fn references(records: &[NewMessageRecord]) -> Vec<(&str, u64)> {
    let mut wanted: Vec<(&str, u64)> = records
        .iter()
        .flat_map(|record| {
            [record.reply_to, record.thread_root]
                .into_iter()
                .flatten()
                .map(|seq| (record.conversation_id.as_str(), seq))
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

/// One batch worked out: who may write, which records are new, their seqs.
///
/// 1. read the batch's conversations' members and the retries already
///    stored, inside the transaction;
/// 2. [`BatchPlan::new`]; [`BatchPlan::wanted`]: how many seqs each
///    conversation needs;
/// 3. [`BatchPlan::assign`] with each conversation's first new seq;
/// 4. write [`BatchPlan::new_messages`] and [`BatchPlan::read_marks`];
/// 5. after the commit, [`BatchPlan::answers`].
#[derive(Debug)]
pub struct BatchPlan<'a> {
    records: &'a [NewMessageRecord],
    members: BatchMembers,
    fates: Vec<Option<Fate>>,
    wanted: HashMap<&'a str, u64>,
}

impl<'a> BatchPlan<'a> {
    /// Plans `records`: refuses senders who are not members of an existing
    /// conversation or are `silenced`, references to messages that are not
    /// there (or a thread root that is a reply itself) and mentions of
    /// non-members, answers retries from `stored` (the messages of their
    /// retry keys already stored) and counts the seqs the rest need.
    #[must_use]
    pub fn new(
        records: &'a [NewMessageRecord],
        members: BatchMembers,
        silenced: &Silenced,
        mut stored: HashMap<RetryKey<'a>, Message>,
        referenced: &Referenced,
    ) -> Self {
        let mut first_of: HashMap<RetryKey<'a>, usize> = HashMap::new();
        let mut wanted: HashMap<&'a str, u64> = HashMap::new();
        let mut fates = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            let key = retry_key(record);
            let fate = match members.get(record.conversation_id.as_str()) {
                None => Some(Fate::Refused(Refusal::UnknownConversation)),
                Some(members) if members.binary_search(&record.sender).is_err() => {
                    Some(Fate::Refused(Refusal::NotAMember))
                }
                // A retry is answered as stored, whatever it refers to.
                Some(_)
                    if let Some(key) = key
                        && let Some(first) = first_of.get(&key) =>
                {
                    Some(Fate::SameAs(*first))
                }
                Some(_)
                    if let Some(key) = key
                        && stored.contains_key(&key) =>
                {
                    first_of.insert(key, index);
                    stored
                        .remove(&key)
                        .map(|message| Fate::Stored(Box::new(message)))
                }
                Some(_) if let Some(refusal) = silenced_sender(record, silenced) => {
                    Some(Fate::Refused(refusal))
                }
                Some(members)
                    if let Some(refusal) = refuse_references(record, members, referenced) =>
                {
                    Some(Fate::Refused(refusal))
                }
                Some(_) => {
                    if let Some(key) = key {
                        first_of.insert(key, index);
                    }
                    *wanted.entry(record.conversation_id.as_str()).or_insert(0) += 1;
                    None
                }
            };
            fates.push(fate);
        }
        Self {
            records,
            members,
            fates,
            wanted,
        }
    }

    /// The threads the batch replies in, `(conversation, root)`, each with
    /// how many replies it gained and the newest one's seq (after
    /// [`BatchPlan::assign`]): what the roots' counts move by.
    #[must_use]
    pub fn thread_replies(&self) -> BTreeMap<(&'a str, u64), ThreadReplies> {
        let mut threads: BTreeMap<(&str, u64), ThreadReplies> = BTreeMap::new();
        for (record, seq) in self.new_messages() {
            if let Some(root) = record.thread_root {
                let thread = threads
                    .entry((record.conversation_id.as_str(), root))
                    .or_default();
                thread.count += 1;
                thread.last = thread.last.max(seq);
            }
        }
        threads
    }

    /// Each conversation's latest new message outside threads, the one its
    /// listing shows (after [`BatchPlan::assign`]).
    #[must_use]
    pub fn last_messages(&self) -> HashMap<&'a str, u64> {
        let mut last: HashMap<&str, u64> = HashMap::new();
        for (record, seq) in self.new_messages() {
            if record.thread_root.is_none() {
                let at = last.entry(record.conversation_id.as_str()).or_insert(seq);
                *at = (*at).max(seq);
            }
        }
        last
    }

    /// New seqs needed per conversation.
    #[must_use]
    pub fn wanted(&self) -> &HashMap<&'a str, u64> {
        &self.wanted
    }

    /// Gives the new records their seqs: `first_seq` maps each conversation
    /// of [`BatchPlan::wanted`] to the first seq reserved for it (consecutive
    /// after that).
    pub fn assign(&mut self, first_seq: &HashMap<String, u64>) {
        let mut next: HashMap<&str, u64> = HashMap::new();
        for (record, fate) in self.records.iter().zip(&mut self.fates) {
            if fate.is_some() {
                continue;
            }
            let id = record.conversation_id.as_str();
            *fate = Some(match first_seq.get(id) {
                Some(first) => {
                    let seq = next.entry(id).or_insert(*first);
                    *seq += 1;
                    Fate::New(*seq - 1)
                }
                None => Fate::Refused(Refusal::UnknownConversation),
            });
        }
    }

    /// The records to insert, with their seqs (after [`BatchPlan::assign`]).
    #[must_use]
    pub fn new_messages(&self) -> Vec<(&'a NewMessageRecord, u64)> {
        self.records
            .iter()
            .zip(&self.fates)
            .filter_map(|(record, fate)| match fate {
                Some(Fate::New(seq)) => Some((record, *seq)),
                _ => None,
            })
            .collect()
    }

    /// The read mark each sender reaches: `(conversation, sender) -> seq`.
    #[must_use]
    pub fn read_marks(&self) -> HashMap<(&'a str, &'a str), u64> {
        let mut marks: HashMap<(&str, &str), u64> = HashMap::new();
        for (record, seq) in self.new_messages() {
            let mark = marks
                .entry((record.conversation_id.as_str(), record.sender.as_str()))
                .or_insert(seq);
            *mark = (*mark).max(seq);
        }
        marks
    }

    /// One answer per record, once the batch is committed; `refused` makes
    /// the error of a refused record.
    pub fn answers<E>(self, mut refused: impl FnMut(Refusal) -> E) -> Vec<Result<Appended, E>> {
        let mut answers: Vec<Result<Appended, E>> = Vec::with_capacity(self.records.len());
        for (record, fate) in self.records.iter().zip(self.fates) {
            let members = || {
                self.members
                    .get(record.conversation_id.as_str())
                    .cloned()
                    .unwrap_or_default()
            };
            let answer = match fate {
                Some(Fate::Stored(message)) => Ok(Appended {
                    message: *message,
                    duplicate: true,
                    members: members(),
                }),
                Some(Fate::SameAs(index)) => match &answers[index] {
                    Ok(first) => Ok(Appended {
                        message: first.message.clone(),
                        duplicate: true,
                        members: first.members.clone(),
                    }),
                    // The first of a retry is only refused for a reason its
                    // repeats share (same conversation, same sender).
                    Err(_) => Err(refused(Refusal::NotAMember)),
                },
                Some(Fate::New(seq)) => Ok(Appended {
                    message: record.to_message(seq),
                    duplicate: false,
                    members: members(),
                }),
                Some(Fate::Refused(refusal)) => Err(refused(refusal)),
                None => Err(refused(Refusal::UnknownConversation)),
            };
            answers.push(answer);
        }
        answers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConversationId, MessageId, UserId, time};

    fn record(conversation: &str, sender: &str, client_id: Option<&str>) -> NewMessageRecord {
        NewMessageRecord {
            id: MessageId::generate(),
            conversation_id: ConversationId::new(conversation).unwrap(),
            sender: UserId::new(sender).unwrap(),
            body: "hi".to_owned(),
            content: None,
            client_id: client_id.map(str::to_owned),
            reply_to: None,
            thread_root: None,
            mentions: Vec::new(),
            created_at: time::now(),
            outbox_due: None,
        }
    }

    fn members(of: &[(&str, &[&str])]) -> BatchMembers {
        of.iter()
            .map(|(conversation, users)| {
                let mut users: Vec<UserId> =
                    users.iter().map(|u| UserId::new(*u).unwrap()).collect();
                users.sort();
                ((*conversation).to_owned(), users)
            })
            .collect()
    }

    #[test]
    fn seqs_are_consecutive_per_conversation_and_retries_answer_alike() {
        let records = vec![
            record("a", "alice", Some("1")),
            record("b", "bob", None),
            record("a", "alice", Some("1")),
            record("a", "carol", None),
            record("nowhere", "alice", None),
            record("a", "mallory", None),
        ];
        let known = members(&[("a", &["alice", "carol"]), ("b", &["bob"])]);
        let mut plan = BatchPlan::new(
            &records,
            known,
            &Silenced::new(),
            HashMap::new(),
            &Referenced::new(),
        );
        assert_eq!(plan.wanted().get("a"), Some(&2));
        assert_eq!(plan.wanted().get("b"), Some(&1));
        plan.assign(&HashMap::from([("a".to_owned(), 10), ("b".to_owned(), 1)]));
        let seqs: Vec<u64> = plan.new_messages().iter().map(|(_, seq)| *seq).collect();
        assert_eq!(seqs, [10, 1, 11]);
        assert_eq!(plan.read_marks().get(&("a", "carol")), Some(&11));
        let answers = plan.answers(|refusal| refusal);
        let first = answers[0].as_ref().unwrap();
        assert_eq!(first.message.seq, 10);
        assert_eq!(
            first.members,
            [UserId::new("alice").unwrap(), UserId::new("carol").unwrap()]
        );
        let retry = answers[2].as_ref().unwrap();
        assert!(retry.duplicate);
        assert_eq!(retry.message.id, records[0].id);
        assert_eq!(answers[4], Err(Refusal::UnknownConversation));
        assert_eq!(answers[5], Err(Refusal::NotAMember));
    }

    #[test]
    fn silenced_senders_are_refused_with_their_reason() {
        let records = vec![
            record("a", "alice", None),
            record("a", "bob", None),
            record("d", "carol", None),
        ];
        let silenced = Silenced::from([
            (
                ("a".to_owned(), UserId::new("bob").unwrap()),
                Refusal::Muted,
            ),
            (
                ("d".to_owned(), UserId::new("carol").unwrap()),
                Refusal::Blocked,
            ),
        ]);
        let known = members(&[("a", &["alice", "bob"]), ("d", &["carol", "dave"])]);
        let mut plan = BatchPlan::new(
            &records,
            known,
            &silenced,
            HashMap::new(),
            &Referenced::new(),
        );
        assert_eq!(plan.wanted().get("a"), Some(&1));
        assert_eq!(plan.wanted().get("d"), None);
        plan.assign(&HashMap::from([("a".to_owned(), 1)]));
        let answers = plan.answers(|refusal| refusal);
        assert!(answers[0].is_ok());
        assert_eq!(answers[1], Err(Refusal::Muted));
        assert_eq!(answers[2], Err(Refusal::Blocked));
    }

    #[test]
    fn a_stored_retry_is_not_written_again() {
        let records = vec![record("a", "alice", Some("1"))];
        let stored = Message {
            client_id: Some("1".to_owned()),
            ..Message::stored(
                MessageId::generate(),
                ConversationId::new("a").unwrap(),
                3,
                UserId::new("alice").unwrap(),
                "hi",
                time::now(),
            )
        };
        // A retry is answered as stored even after its sender was muted.
        let muted = Silenced::from([(
            ("a".to_owned(), UserId::new("alice").unwrap()),
            Refusal::Muted,
        )]);
        let mut plan = BatchPlan::new(
            &records,
            members(&[("a", &["alice"])]),
            &muted,
            HashMap::from([(("a", "alice", "1"), stored.clone())]),
            &Referenced::new(),
        );
        assert!(plan.wanted().is_empty());
        plan.assign(&HashMap::new());
        assert!(plan.new_messages().is_empty());
        let answers = plan.answers(|_| ());
        assert_eq!(answers[0].as_ref().unwrap().message, stored);
        assert!(answers[0].as_ref().unwrap().duplicate);
    }

    #[tokio::test]
    async fn the_batcher_answers_every_caller_from_one_write() {
        let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&writes);
        let batcher: Batcher<usize, ()> = Batcher::start(64, 1, move |records| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let size = records.len();
                records.iter().map(|_| Ok(size)).collect()
            }
        });
        // All 32 are queued in one poll of this task, before the writer (on
        // this current-thread runtime) can run: one batch is certain.
        let mut calls: Vec<_> = (0..32)
            .map(|_| Box::pin(batcher.submit(record("a", "alice", None))))
            .collect();
        let mut sizes = vec![None; 32];
        std::future::poll_fn(|cx| {
            for (call, size) in calls.iter_mut().zip(sizes.iter_mut()) {
                if size.is_none()
                    && let std::task::Poll::Ready(answer) = call.as_mut().poll(cx)
                {
                    *size = Some(answer.unwrap().unwrap());
                }
            }
            if sizes.iter().all(Option::is_some) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        assert_eq!(
            writes.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one write"
        );
        assert!(sizes.iter().all(|size| *size == Some(32)), "{sizes:?}");
    }
}
