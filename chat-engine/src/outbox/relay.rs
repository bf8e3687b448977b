//! The node's relay task: follows up its own sends at once, and sweeps the
//! outbox for work whose node died or whose notifier failed (see the
//! module above for the contract).
//!
//! One task owns the loop: it takes the node's fresh messages from a
//! bounded queue, claims due rows every quarter of the lease (at once again
//! while a claim comes back full), runs each follow-up on a task of its own
//! (at most [`RELAY_CONCURRENCY`]), and deletes finished rows in batches.
//! It ends when the service is gone (the queue's sender with it).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::{Notification, Notifier, OutboxEntry, OutboxStage, RELAY_CONCURRENCY, Recipient};
use crate::config::ChatConfig;
use crate::error::ChatError;
use crate::hooks::SendHooks;
use crate::ids::{MessageId, UserId};
use crate::message::Message;
use crate::presence::Presence;
use crate::store::Store;
use crate::time;

/// Fresh messages waiting for the relay; past this, a message waits in the
/// outbox for a sweep instead of in memory.
const QUEUE: usize = 4_096;

/// Finished rows deleted by one statement.
const FINISH_BATCH: usize = 256;

/// Longest wait between two tries of a failing notifier.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The service's side of the relay: hands it the node's fresh messages.
#[derive(Debug)]
pub(crate) struct RelayHandle {
    queue: mpsc::Sender<Work>,
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
        hooks: Option<Arc<dyn SendHooks>>,
        notifier: Option<Arc<dyn Notifier>>,
        config: &ChatConfig,
    ) -> Self {
        Self {
            store,
            presence,
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
        let lease = self.lease;
        tokio::spawn(Arc::new(self).run(fresh));
        RelayHandle { queue, lease }
    }

    async fn run(self: Arc<Self>, mut fresh: mpsc::Receiver<Work>) {
        let mut running: JoinSet<Option<MessageId>> = JoinSet::new();
        let mut finished: Vec<MessageId> = Vec::new();
        let mut sweep = tokio::time::interval((self.lease / 4).max(Duration::from_millis(1)));
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // A claim came back full: more rows are due than one claim takes.
        let mut backlog = false;
        loop {
            let room = RELAY_CONCURRENCY.saturating_sub(running.len());
            tokio::select! {
                work = fresh.recv(), if room > 0 => {
                    let Some(work) = work else { break };
                    running.spawn(Arc::clone(&self).follow(work));
                }
                Some(done) = running.join_next() => {
                    if let Ok(Some(id)) = done {
                        finished.push(id);
                    }
                    if finished.len() >= FINISH_BATCH || running.is_empty() {
                        self.finish(&mut finished);
                    }
                    if backlog {
                        backlog = self.claim(&mut running).await;
                    }
                }
                _ = sweep.tick() => {
                    self.finish(&mut finished);
                    backlog = self.claim(&mut running).await;
                }
            }
        }
        // The service is gone: let what runs finish, and record it.
        while let Some(done) = running.join_next().await {
            if let Ok(Some(id)) = done {
                finished.push(id);
            }
        }
        self.finish(&mut finished);
    }

    /// Deletes the rows of `finished` (on a task of its own: the loop goes
    /// on). A failure leaves them to run again: a repeat, never a loss.
    fn finish(&self, finished: &mut Vec<MessageId>) {
        if finished.is_empty() {
            return;
        }
        let ids = std::mem::take(finished);
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            if let Err(error) = store.finish_outbox(&ids).await {
                static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(error = %error, rows = ids.len(), suppressed, "outbox rows not deleted; their follow-ups will run again");
                }
            }
        });
    }

    /// Claims due rows for the room `running` leaves and runs them; whether
    /// the claim came back full.
    async fn claim(self: &Arc<Self>, running: &mut JoinSet<Option<MessageId>>) -> bool {
        let room = RELAY_CONCURRENCY.saturating_sub(running.len());
        if room == 0 {
            return true;
        }
        let now = time::now();
        let claimed = match self
            .store
            .claim_outbox(
                now,
                now + self.lease,
                u32::try_from(room).unwrap_or(u32::MAX),
            )
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(error = %error, suppressed, "outbox sweep failed; trying again at the next");
                }
                return false;
            }
        };
        let full = claimed.len() >= room;
        if !claimed.is_empty() {
            ::metrics::counter!(crate::metrics::OUTBOX_SWEPT).increment(claimed.len() as u64);
        }
        for entry in claimed {
            running.spawn(Arc::clone(self).follow_entry(entry));
        }
        full
    }

    /// Follows up a swept row: reads its message and members first. A
    /// message or conversation deleted since has nothing left to follow.
    async fn follow_entry(self: Arc<Self>, entry: OutboxEntry) -> Option<MessageId> {
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
                self.follow(work).await
            }
            Ok(_) => Some(entry.message_id),
            // The row stays claimed; the next sweep after the lease tries again.
            Err(_) => None,
        }
    }

    /// Runs what remains of `work`; the row to delete when it is done
    /// (`None`: deferred, or dropped after its last try).
    async fn follow(self: Arc<Self>, work: Work) -> Option<MessageId> {
        if let (OutboxStage::Hooks, Some(hooks)) = (work.stage, &self.hooks) {
            let call = hooks.after_send(work.message.clone(), work.members.clone());
            if tokio::time::timeout(self.call_timeout, call).await.is_err() {
                ::metrics::counter!(crate::metrics::OUTBOX_FAILURES, "call" => "after_send")
                    .increment(1);
                static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
                if let Some(suppressed) = LOG.admit() {
                    tracing::warn!(message = %work.message.id, suppressed, "after_send hook timed out");
                }
            }
        }
        let Some(notifier) = &self.notifier else {
            return Some(work.message.id);
        };
        let failure = match self.notification(&work).await {
            Ok(None) => return Some(work.message.id),
            Ok(Some(notification)) => {
                let call = notifier.notify(&notification);
                match tokio::time::timeout(self.call_timeout, call).await {
                    Ok(Ok(())) => {
                        ::metrics::counter!(crate::metrics::NOTIFICATIONS)
                            .increment(notification.recipients.len() as u64);
                        return Some(work.message.id);
                    }
                    Ok(Err(reason)) => reason,
                    Err(_) => "no answer within the call timeout".to_owned(),
                }
            }
            Err(error) => error.to_string(),
        };
        ::metrics::counter!(crate::metrics::OUTBOX_FAILURES, "call" => "notify").increment(1);
        static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
        let id = work.message.id;
        if work.attempts >= self.attempts {
            ::metrics::counter!(crate::metrics::OUTBOX_DROPPED).increment(1);
            tracing::error!(message = %id, attempts = work.attempts, reason = %failure, "notifications dropped after their last try");
            return Some(id);
        }
        if let Some(suppressed) = LOG.admit() {
            tracing::warn!(message = %id, attempts = work.attempts, reason = %failure, suppressed, "notifier failed; trying again later");
        }
        let due = time::now() + backoff(work.attempts);
        // A row that cannot be put back keeps its claim and is swept after the lease.
        let _ = self.store.defer_outbox(&id, OutboxStage::Notify, due).await;
        None
    }

    /// Whom to tell about `work.message`: members but the sender, offline on
    /// every node, whose preferences let it through; `None` for nobody.
    async fn notification(&self, work: &Work) -> Result<Option<Notification>, ChatError> {
        let message = &work.message;
        let others: Vec<UserId> = work
            .members
            .iter()
            .filter(|member| **member != message.sender)
            .cloned()
            .collect();
        if others.is_empty() {
            return Ok(None);
        }
        let offline: Vec<UserId> = self
            .presence
            .read(&others, time::now())
            .await?
            .into_iter()
            .filter(|presence| !presence.online)
            .map(|presence| presence.user_id)
            .collect();
        if offline.is_empty() {
            return Ok(None);
        }
        let recipients: Vec<Recipient> = self
            .store
            .preferences_of(&message.conversation_id, &offline)
            .await?
            .into_iter()
            .filter_map(|(user_id, preferences)| {
                let mentioned = message.mentions.contains(&user_id);
                preferences
                    .notifies(message.created_at, mentioned)
                    .then_some(Recipient { user_id, mentioned })
            })
            .collect();
        Ok((!recipients.is_empty()).then(|| Notification {
            message: message.clone(),
            recipients,
        }))
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
