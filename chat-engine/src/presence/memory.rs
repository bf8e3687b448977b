//! [`MemoryPresence`]: presence for the nodes of one process, behind one
//! lock. The in-process bus hands one to each of its nodes, and a node
//! whose bus offers no presence uses a network of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{Presence, UserPresence};
use crate::error::BusError;
use crate::ids::UserId;
use crate::time::Timestamp;

/// One node's presence on an in-process network of nodes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use chat_engine::{MemoryPresence, Presence, UserId, time};
///
/// let a = MemoryPresence::new();
/// let b = a.node(); // on a's network
/// let alice = UserId::new("alice").unwrap();
/// let (now, later) = (time::now(), time::now() + std::time::Duration::from_secs(30));
/// assert!(a.arrive(&alice, now, later).await.unwrap());
/// assert!(!b.arrive(&alice, now, later).await.unwrap()); // already online
/// assert!(!a.leave(&alice, now).await.unwrap()); // still on b
/// assert!(b.leave(&alice, now).await.unwrap()); // now offline
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryPresence {
    network: Arc<Network>,
    node: u64,
}

#[derive(Debug, Default)]
struct Network {
    state: Mutex<State>,
    next_node: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Per user, per node: when that node last refreshed the entry, and
    /// when it expires.
    entries: HashMap<UserId, HashMap<u64, Entry>>,
    /// When each user who went offline was last seen.
    last_seen: HashMap<UserId, Timestamp>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    refreshed: Timestamp,
    expires: Timestamp,
}

impl Default for MemoryPresence {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryPresence {
    /// A node on a new, private network.
    #[must_use]
    pub fn new() -> Self {
        Self::join(Arc::new(Network::default()))
    }

    /// Another node on this node's network.
    #[must_use]
    pub fn node(&self) -> Self {
        Self::join(Arc::clone(&self.network))
    }

    fn join(network: Arc<Network>) -> Self {
        let node = network.next_node.fetch_add(1, Ordering::Relaxed);
        Self { network, node }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.network
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// Drops `user`'s expired entries; answers whether a live one remains,
    /// and the latest refresh of those dropped.
    fn prune(&mut self, user: &UserId, now: Timestamp) -> (bool, Option<Timestamp>) {
        let Some(nodes) = self.entries.get_mut(user) else {
            return (false, None);
        };
        let mut latest = None;
        nodes.retain(|_, entry| {
            let live = entry.expires > now;
            if !live {
                latest = latest.max(Some(entry.refreshed));
            }
            live
        });
        let live = !nodes.is_empty();
        if !live {
            self.entries.remove(user);
        }
        (live, latest)
    }

    /// Records `user` on `node` until `expires`; true when that brings them online.
    fn put(&mut self, node: u64, user: &UserId, now: Timestamp, expires: Timestamp) -> bool {
        let (was_online, _) = self.prune(user, now);
        self.entries.entry(user.clone()).or_default().insert(
            node,
            Entry {
                refreshed: now,
                expires,
            },
        );
        !was_online
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn arrive(
        &self,
        user: &UserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<bool, BusError> {
        Ok(self.lock().put(self.node, user, now, expires))
    }

    async fn leave(&self, user: &UserId, now: Timestamp) -> Result<bool, BusError> {
        let mut state = self.lock();
        if let Some(nodes) = state.entries.get_mut(user) {
            nodes.remove(&self.node);
        }
        let (live, _) = state.prune(user, now);
        if !live {
            state.last_seen.insert(user.clone(), now);
        }
        Ok(!live)
    }

    async fn refresh(
        &self,
        users: &[UserId],
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<Vec<UserId>, BusError> {
        let mut state = self.lock();
        Ok(users
            .iter()
            .filter(|user| state.put(self.node, user, now, expires))
            .cloned()
            .collect())
    }

    async fn sweep(&self, now: Timestamp) -> Result<Vec<(UserId, Timestamp)>, BusError> {
        let mut state = self.lock();
        let expired: Vec<UserId> = state
            .entries
            .iter()
            .filter(|(_, nodes)| nodes.values().any(|entry| entry.expires <= now))
            .map(|(user, _)| user.clone())
            .collect();
        let mut gone = Vec::new();
        for user in expired {
            let (live, latest) = state.prune(&user, now);
            if let (false, Some(latest)) = (live, latest) {
                let seen = state.last_seen.entry(user.clone()).or_insert(latest);
                *seen = (*seen).max(latest);
                gone.push((user, *seen));
            }
        }
        Ok(gone)
    }

    async fn read(&self, users: &[UserId], now: Timestamp) -> Result<Vec<UserPresence>, BusError> {
        let state = self.lock();
        Ok(users
            .iter()
            .map(|user| {
                let online = state
                    .entries
                    .get(user)
                    .is_some_and(|nodes| nodes.values().any(|entry| entry.expires > now));
                UserPresence {
                    user_id: user.clone(),
                    online,
                    last_seen: if online {
                        None
                    } else {
                        state.last_seen.get(user).copied()
                    },
                }
            })
            .collect())
    }
}
