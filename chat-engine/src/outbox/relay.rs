//! The node's relay task: follows up its own sends at once, and sweeps the
//! outbox for work whose node died or whose notifier failed (see the
//! module above for the contract).
//!
//! One task owns the loop: it takes the node's fresh messages from a
//! bounded queue, claims due rows every quarter of the lease (again as soon
//! as a follow-up ends while a claim comes back full), follows them up on
//! tasks of their own (up to [`FOLLOW_BATCH`] fresh messages a task, with
//! one presence read for all; at most [`RELAY_CONCURRENCY`] tasks), and
//! deletes finished rows in batches. Claims and deletes run on tasks of their own,
//! one of each at a time, so a slow store never holds up the loop and the
//! relay never queues more than two calls for the store's connections. It
//! ends when the service is gone (the queue's sender with it).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

use super::{Notification, Notifier, OutboxEntry, OutboxStage, RELAY_CONCURRENCY, Recipient};
use crate::config::ChatConfig;
use crate::error::ChatError;
use crate::hooks::SendHooks;
use crate::hub::Hub;
use crate::ids::{ConversationId, MessageId, UserId};
use crate::message::Message;
use crate::preferences::Preferences;
use crate::presence::Presence;
use crate::store::Store;
use crate::time;

/// Fresh messages waiting for the relay; past this, a message waits in the
/// outbox for a sweep instead of in memory.
const QUEUE: usize = 4_096;

/// Fresh messages one follow-up task takes at once: one presence read and
/// one task for all of them.
const FOLLOW_BATCH: usize = 64;

/// Users one presence read asks about.
const PRESENCE_CHUNK: usize = 1_000;

/// Finished rows that start a delete at once (otherwise every
/// [`FINISH_INTERVAL`]).
const FINISH_BATCH: usize = 256;

/// How often finished rows are deleted, at the most.
const FINISH_INTERVAL: Duration = Duration::from_millis(100);

/// Longest wait between two tries of a failing notifier.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The service's side of the relay: hands it the node's fresh messages.
#[derive(Debug)]
pub(crate) struct RelayHandle {
    queue: mpsc::Sender<Work>,
    /// Asks the relay to finish what it has and answer.
    flushes: mpsc::Sender<oneshot::Sender<()>>,
    lease: Duration,
}

impl RelayHandle {
    /// When the outbox row of a message stored now falls due.
    pub(crate) fn due(&self, now: time::Timestamp) -> time::Timestamp {
        now + self.lease
    }

    /// Follows up `message` soon; when the relay is behind, its row waits
    /// for a sweep (the send never waits).
    pub(crate) fn offer(&self, message: Message, members: Vec<UserId>) {
        let work = Work {
            message,
            members,
            stage: OutboxStage::Hooks,
            attempts: 0,
        };
        if self.queue.try_send(work).is_err() {
            ::metrics::counter!(crate::metrics::OUTBOX_LEFT_FOR_SWEEP).increment(1);
        }
    }

    /// Resolves once every fresh message offered so far is followed up and
    /// its row deleted (or left for a later try).
    pub(crate) async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.flushes.send(reply).await.is_ok() {
            let _ = done.await;
        }
    }
}

/// One message to follow up.
#[derive(Debug)]
struct Work {
    message: Message,
    members: Vec<UserId>,
    stage: OutboxStage,
    /// Sweeps that took it (0 for the node's own fresh message).
    attempts: u32,
}

/// What the relay needs from the service: the store, presence, and the
/// host's code.
#[derive(Debug)]
pub(crate) struct Relay {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) presence: Arc<dyn Presence>,
    /// This node's connections: a member connected here is online without
    /// asking the presence backend.
    pub(crate) hub: Hub,
    pub(crate) hooks: Option<Arc<dyn SendHooks>>,
    pub(crate) notifier: Option<Arc<dyn Notifier>>,
    pub(crate) lease: Duration,
    pub(crate) call_timeout: Duration,
    pub(crate) attempts: u32,
}

impl Relay {
    /// The relay's settings from `config`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        presence: Arc<dyn Presence>,
        hub: Hub,
        hooks: Option<Arc<dyn SendHooks>>,
        notifier: Option<Arc<dyn Notifier>>,
        config: &ChatConfig,
    ) -> Self {
        Self {
            store,
            presence,
            hub,
            hooks,
            notifier,
            lease: config.outbox_lease,
            call_timeout: config.outbox_call_timeout,
            attempts: config.outbox_attempts,
        }
    }

    /// Starts the relay's task; the handle the service keeps.
    pub(crate) fn start(self) -> RelayHandle {
        let (queue, fresh) = mpsc::channel(QUEUE);
        let (flushes, flush_requests) = mpsc::channel(1);
        let lease = self.lease;
        tokio::spawn(Arc::new(self).run(fresh, flush_requests));
        RelayHandle {
            queue,
            flushes,
            lease,
        }
    }

    async fn run(
        self: Arc<Self>,
        mut fresh: mpsc::Receiver<Work>,
        mut flush_requests: mpsc::Receiver<oneshot::Sender<()>>,
    ) {
        let mut running: JoinSet<Vec<MessageId>> = JoinSet::new();
        let mut batch: Vec<Work> = Vec::with_capacity(FOLLOW_BATCH);
        let mut finished: Vec<MessageId> = Vec::new();
        let mut finishing: Option<JoinHandle<()>> = None;
        // A claim in flight, with how many rows it asked for.
        let mut claiming: Option<(usize, JoinHandle<Vec<OutboxEntry>>)> = None;
        let mut sweep = tokio::time::interval((self.lease / 4).max(Duration::from_millis(1)));
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut flush = tokio::time::interval(FINISH_INTERVAL);
        flush.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // A claim came back full: more rows are due than one claim takes.
        let mut backlog = false;
        loop {
            let room = RELAY_CONCURRENCY.saturating_sub(running.len());
            tokio::select! {
                taken = fresh.recv_many(&mut batch, FOLLOW_BATCH), if room > 0 => {
                    if taken == 0 {
                        break;
                    }
                    let works = std::mem::replace(&mut batch, Vec::with_capacity(FOLLOW_BATCH));
                    running.spawn(Arc::clone(&self).follow(works));
                }
                Some(done) = running.join_next() => {
                    if let Ok(ids) = done {
                        finished.extend(ids);
                    }
                    if finished.len() >= FINISH_BATCH {
                        self.finish(&mut finished, &mut finishing);
                    }
                    if backlog && claiming.is_none() {
                        claiming = self.claim(room + 1);
                    }
                }
                claimed = async { (&mut claiming.as_mut().expect("a claim in flight").1).await },
                    if claiming.is_some() =>
                {
                    let asked = claiming.take().map_or(0, |(asked, _)| asked);
                    let claimed = claimed.unwrap_or_default();
                    backlog = claimed.len() >= asked;
                    if !claimed.is_empty() {
                        ::metrics::counter!(crate::metrics::OUTBOX_SWEPT)
                            .increment(claimed.len() as u64);
                    }
                    for entry in claimed {
                        running.spawn(Arc::clone(&self).follow_entry(entry));
                    }
                }
                _ = sweep.tick() => {
                    if claiming.is_none() {
                        claiming = self.claim(room);
                    }
                }
                _ = flush.tick() => self.finish(&mut finished, &mut finishing),
                Some(reply) = flush_requests.recv() => {
                    // What was offered before the request is queued: follow
                    // it all, then delete the rows before answering.
                    while let Ok(work) = fresh.try_recv() {
                        batch.push(work);
                        if batch.len() == FOLLOW_BATCH {
                            let works = std::mem::replace(&mut batch, Vec::with_capacity(FOLLOW_BATCH));
                            running.spawn(Arc::clone(&self).follow(works));
                        }
                    }
                    if !batch.is_empty() {
                        running.spawn(Arc::clone(&self).follow(std::mem::take(&mut batch)));
                    }
                    self.drain(&mut running, &mut finished, &mut finishing).await;
                    let _ = reply.send(());
                }
            }
        }
        // The service is gone: let what runs finish, and record it.
        self.drain(&mut running, &mut finished, &mut finishing)
            .await;
    }

    /// Waits for every follow-up running, then deletes the finished rows.
    async fn drain(
        &self,
        running: &mut JoinSet<Vec<MessageId>>,
        finished: &mut Vec<MessageId>,
        finishing: &mut Option<JoinHandle<()>>,
    ) {
        while let Some(done) = running.join_next().await {
            if let Ok(ids) = done {
                finished.extend(ids);
            }
        }
        for _ in 0..2 {
            // The delete in flight first, then the rest.
            if let Some(task) = finishing.take() {
                let _ = task.await;
            }
            self.finish(finished, finishing);
        }
    }

    /// Deletes the rows of `finished` on a task of its own (the loop goes
    /// on), one such task at a time so that deletes never queue up for the
    /// store's connections; while one runs, finished rows wait for the next.
    /// A failure leaves them to run again: a repeat, never a loss.
    fn finish(&self, finished: &mut Vec<MessageId>, finishing: &mut Option<JoinHandle<()>>) {
        if finished.is_empty() || finishing.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        let ids = std::mem::take(finished);
        let store = Arc::clone(&self.store);
        *finishing = Some(tokio::spawn(async move {
            if let Err(error) = store.finish_outbox(&ids).await {
                static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(error = %error, rows = ids.len(), suppressed, "outbox rows not deleted; their follow-ups will run again");
                }
            }
        }));
    }

    /// Starts claiming up to `room` due rows on a task of its own, so a
    /// slow store never holds up the node's fresh messages.
    fn claim(&self, room: usize) -> Option<(usize, JoinHandle<Vec<OutboxEntry>>)> {
        if room == 0 {
            return None;
        }
        let (store, lease) = (Arc::clone(&self.store), self.lease);
        let limit = u32::try_from(room).unwrap_or(u32::MAX);
        let task = tokio::spawn(async move {
            let now = time::now();
            store
                .claim_outbox(now, now + lease, limit)
                .await
                .unwrap_or_else(|error| {
                    static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                    if let Some(suppressed) = LOG.admit() {
                        tracing::warn!(error = %error, suppressed, "outbox sweep failed; trying again at the next");
                    }
                    Vec::new()
                })
        });
        Some((room, task))
    }

    /// Follows up a swept row: reads its message and members first. A
    /// message or conversation deleted since has nothing left to follow.
    async fn follow_entry(self: Arc<Self>, entry: OutboxEntry) -> Vec<MessageId> {
        let viewer = UserId::new("outbox").expect("a valid user id");
        let read = async {
            let message = self.store.message(&entry.message_id, &viewer).await?;
            let members = self.store.members(&entry.conversation_id).await?;
            Ok::<_, crate::StoreError>(message.zip(members))
        };
        match read.await {
            Ok(Some((message, members))) if !message.deleted => {
                let work = Work {
                    message,
                    members,
                    stage: entry.stage,
                    attempts: entry.attempts,
                };
                self.follow(vec![work]).await
            }
            Ok(_) => vec![entry.message_id],
            // The row stays claimed; the next sweep after the lease tries again.
            Err(_) => Vec::new(),
        }
    }

    /// Runs what remains of each of `works` (hooks, then notifications);
    /// the rows to delete: those done, or dropped after their last try.
    async fn follow(self: Arc<Self>, works: Vec<Work>) -> Vec<MessageId> {
        if let Some(hooks) = &self.hooks {
            let mut calls = JoinSet::new();
            for work in works.iter().filter(|work| work.stage == OutboxStage::Hooks) {
                let (hooks, timeout) = (Arc::clone(hooks), self.call_timeout);
                let (message, members) = (work.message.clone(), work.members.clone());
                calls.spawn(async move {
                    let id = message.id.clone();
                    let call = hooks.after_send(message, members);
                    (id, tokio::time::timeout(timeout, call).await.is_ok())
                });
            }
            while let Some(call) = calls.join_next().await {
                if let Ok((id, false)) = call {
                    ::metrics::counter!(crate::metrics::OUTBOX_FAILURES, "call" => "after_send")
                        .increment(1);
                    static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                    if let Some(suppressed) = LOG.admit() {
                        tracing::warn!(message_id = %id, suppressed, "after_send hook timed out");
                    }
                }
            }
        }
        let Some(notifier) = &self.notifier else {
            return works.into_iter().map(|work| work.message.id).collect();
        };
        let notifications = match self.notifications(&works).await {
            Ok(notifications) => notifications,
            Err(error) => {
                let reason = error.to_string();
                let mut done = Vec::new();
                for work in &works {
                    done.extend(self.failed(work, &reason).await);
                }
                return done;
            }
        };
        let mut calls = JoinSet::new();
        for (index, notification) in notifications.into_iter().enumerate() {
            let Some(notification) = notification else {
                continue;
            };
            let (notifier, timeout) = (Arc::clone(notifier), self.call_timeout);
            calls.spawn(async move {
                let told = notification.recipients.len() as u64;
                let outcome =
                    match tokio::time::timeout(timeout, notifier.notify(&notification)).await {
                        Ok(Ok(())) => Ok(told),
                        Ok(Err(reason)) => Err(reason),
                        Err(_) => Err("no answer within the call timeout".to_owned()),
                    };
                (index, outcome)
            });
        }
        let mut failures: Vec<(usize, String)> = Vec::new();
        while let Some(call) = calls.join_next().await {
            match call {
                Ok((_, Ok(told))) => {
                    ::metrics::counter!(crate::metrics::NOTIFICATIONS).increment(told);
                }
                Ok((index, Err(reason))) => failures.push((index, reason)),
                // A notifier that panicked: its row keeps its claim and is
                // swept again after the lease.
                Err(_) => {}
            }
        }
        let failed: Vec<usize> = failures.iter().map(|(index, _)| *index).collect();
        let mut done: Vec<MessageId> = works
            .iter()
            .enumerate()
            .filter(|(index, _)| !failed.contains(index))
            .map(|(_, work)| work.message.id.clone())
            .collect();
        for (index, reason) in failures {
            done.extend(self.failed(&works[index], &reason).await);
        }
        done
    }

    /// Records a failed notification of `work`: puts its row back for a
    /// later try with backoff, or after the last try gives it up (the row
    /// to delete).
    async fn failed(&self, work: &Work, reason: &str) -> Option<MessageId> {
        ::metrics::counter!(crate::metrics::OUTBOX_FAILURES, "call" => "notify").increment(1);
        let id = &work.message.id;
        if work.attempts >= self.attempts {
            ::metrics::counter!(crate::metrics::OUTBOX_DROPPED).increment(1);
            tracing::error!(message_id = %id, attempts = work.attempts, reason, "notifications dropped after their last try");
            return Some(id.clone());
        }
        static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
        if let Some(suppressed) = LOG.admit() {
            tracing::warn!(message_id = %id, attempts = work.attempts, reason, suppressed, "notifier failed; trying again later");
        }
        let due = time::now() + backoff(work.attempts);
        // A row that cannot be put back keeps its claim and is swept after the lease.
        let _ = self.store.defer_outbox(id, OutboxStage::Notify, due).await;
        None
    }

    /// For each of `works`, whom to tell: members but the sender, offline
    /// on every node, whose preferences let the message through (`None`
    /// for nobody). Members connected to this node are online; one
    /// presence read for the others of the whole batch, one preferences
    /// read per conversation with someone offline.
    async fn notifications(&self, works: &[Work]) -> Result<Vec<Option<Notification>>, ChatError> {
        let mut asked: Vec<UserId> = works
            .iter()
            .flat_map(|work| {
                work.members
                    .iter()
                    .filter(|member| **member != work.message.sender)
            })
            .filter(|member| !self.hub.is_connected(member))
            .cloned()
            .collect();
        asked.sort();
        asked.dedup();
        let now = time::now();
        let mut offline: HashSet<UserId> = HashSet::new();
        for chunk in asked.chunks(PRESENCE_CHUNK) {
            for presence in self.presence.read(chunk, now).await? {
                if !presence.online {
                    offline.insert(presence.user_id);
                }
            }
        }
        // The offline recipients of each conversation, and their preferences.
        let mut away: HashMap<&ConversationId, Vec<UserId>> = HashMap::new();
        for work in works {
            let users = away.entry(&work.message.conversation_id).or_default();
            users.extend(
                work.members
                    .iter()
                    .filter(|member| **member != work.message.sender && offline.contains(*member))
                    .cloned(),
            );
        }
        // Each conversation's offline members' preferences, by user.
        let mut preferences: HashMap<&ConversationId, HashMap<UserId, Preferences>> =
            HashMap::new();
        for (conversation, mut users) in away {
            if users.is_empty() {
                continue;
            }
            users.sort();
            users.dedup();
            let found = self.store.preferences_of(conversation, &users).await?;
            preferences.insert(conversation, found.into_iter().collect());
        }
        Ok(works
            .iter()
            .map(|work| {
                let message = &work.message;
                let settings = preferences.get(&message.conversation_id);
                let recipients: Vec<Recipient> = work
                    .members
                    .iter()
                    // The sender may be offline and another message's
                    // recipient in this batch: never told of their own.
                    .filter(|user_id| **user_id != message.sender)
                    .filter_map(|user_id| {
                        let mentioned = message.mentions.contains(user_id);
                        settings?
                            .get(user_id)?
                            .notifies(message.created_at, mentioned)
                            .then(|| Recipient {
                                user_id: user_id.clone(),
                                mentioned,
                            })
                    })
                    .collect();
                (!recipients.is_empty()).then(|| Notification {
                    message: message.clone(),
                    recipients,
                })
            })
            .collect())
    }
}

/// The wait before try `attempts + 1` of a failing notifier: 1 s doubling,
/// at most [`MAX_BACKOFF`].
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(10)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(9), Duration::from_secs(512));
        assert_eq!(backoff(10), MAX_BACKOFF);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
