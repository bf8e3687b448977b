//! The node's presence task: keeps the shared backend's entries for this
//! node's users, and announces what changes.
//!
//! The hub tells it a user's name whenever their connections here change;
//! it compares "has a connection here" with what it told the backend, as
//! the hub's watcher does for the bus, so no interleaving of connects and
//! disconnects can leave the two apart. A user whose last connection here
//! closed is only left after the grace period, and a reconnection within
//! it cancels the leave: no event either way. Every quarter of the TTL it
//! renews its entries (announcing users a failed call or a slow node let
//! lapse) and sweeps entries that expired elsewhere (announcing the users
//! of a node that died).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::{Presence, UserPresence};
use crate::error::BusError;
use crate::ids::UserId;
use crate::service::WeakService;
use crate::time;

/// Users renewed by one call to the backend.
const RENEWALS_PER_CALL: usize = 500;

/// How the tracker of one node runs.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub(crate) service: WeakService,
    pub(crate) presence: Arc<dyn Presence>,
    pub(crate) ttl: Duration,
    pub(crate) grace: Duration,
}

impl Tracker {
    /// Runs until the service is gone. `changes` names a user whenever
    /// their connections on this node change.
    pub(crate) async fn run(self, mut changes: mpsc::UnboundedReceiver<UserId>) {
        let mut here: HashSet<UserId> = HashSet::new();
        // Users whose last connection closed, and when they are left; the
        // queue holds the same deadlines in order (the grace is constant).
        let mut leaving: HashMap<UserId, Instant> = HashMap::new();
        let mut due: VecDeque<(Instant, UserId)> = VecDeque::new();
        let mut renew = tokio::time::interval((self.ttl / 4).max(Duration::from_millis(1)));
        renew.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let next_leave = due.front().map(|(at, _)| *at);
            tokio::select! {
                changed = changes.recv() => {
                    let Some(user) = changed else { return };
                    let Some(service) = self.service.upgrade() else { return };
                    if service.hub().is_connected(&user) {
                        if leaving.remove(&user).is_none() && here.insert(user.clone()) {
                            let now = time::now();
                            match self.presence.arrive(&user, now, now + self.ttl).await {
                                Ok(true) => service.announce_presence(online(user)).await,
                                Ok(false) => {}
                                // The next renewal puts the entry in, and announces it.
                                Err(error) => failed("arrive", &error),
                            }
                        }
                    } else if here.contains(&user)
                        && let Entry::Vacant(vacant) = leaving.entry(user.clone())
                    {
                        let at = Instant::now() + self.grace;
                        vacant.insert(at);
                        due.push_back((at, user));
                    }
                }
                () = tokio::time::sleep_until(next_leave.unwrap_or_else(Instant::now)), if next_leave.is_some() => {
                    let Some((at, user)) = due.pop_front() else { continue };
                    if leaving.get(&user) != Some(&at) {
                        continue; // they came back, and maybe left again later
                    }
                    leaving.remove(&user);
                    here.remove(&user);
                    let Some(service) = self.service.upgrade() else { return };
                    let now = time::now();
                    match self.presence.leave(&user, now).await {
                        Ok(true) => {
                            service.announce_presence(UserPresence::offline(user, Some(now))).await;
                        }
                        Ok(false) => {}
                        // The entry expires, and a sweep announces it.
                        Err(error) => failed("leave", &error),
                    }
                }
                _ = renew.tick() => {
                    let Some(service) = self.service.upgrade() else { return };
                    let now = time::now();
                    let users: Vec<UserId> = here.iter().cloned().collect();
                    // In slices, so that no one call holds the backend for long.
                    for slice in users.chunks(RENEWALS_PER_CALL) {
                        match self.presence.refresh(slice, now, now + self.ttl).await {
                            Ok(back) => {
                                for user in back {
                                    service.announce_presence(online(user)).await;
                                }
                            }
                            Err(error) => failed("refresh", &error),
                        }
                    }
                    match self.presence.sweep(now).await {
                        Ok(gone) => {
                            for (user, seen) in gone {
                                service.announce_presence(UserPresence::offline(user, Some(seen))).await;
                            }
                        }
                        Err(error) => failed("sweep", &error),
                    }
                }
            }
        }
    }
}

fn online(user_id: UserId) -> UserPresence {
    UserPresence {
        user_id,
        online: true,
        last_seen: None,
    }
}

fn failed(what: &'static str, error: &BusError) {
    ::metrics::counter!(crate::metrics::PRESENCE_FAILURES, "call" => what).increment(1);
    static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
    if let Some(suppressed) = LOG.admit() {
        tracing::warn!(call = what, error = %error, suppressed, "presence backend call failed");
    }
}
