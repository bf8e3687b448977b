//! Keeps the bus watching exactly the users connected to this node.
//!
//! One task handles every request in order and compares the hub's truth
//! ("has a connection here") with what it last told the bus, so a
//! disconnect racing a reconnect can never leave a connected user unwatched.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::HubInner;
use crate::bus::Bus;
use crate::error::BusError;
use crate::ids::UserId;

/// Reconcile `user`'s watch; answer on `done` when a connect waits for it.
#[derive(Debug)]
pub(crate) struct WatchRequest {
    pub(crate) user: UserId,
    pub(crate) done: Option<oneshot::Sender<Result<(), BusError>>>,
}

pub(crate) async fn reconcile(
    hub: Weak<HubInner>,
    bus: Arc<dyn Bus>,
    mut requests: mpsc::UnboundedReceiver<WatchRequest>,
) {
    let mut watched: HashSet<UserId> = HashSet::new();
    while let Some(WatchRequest { user, done }) = requests.recv().await {
        let Some(inner) = hub.upgrade() else { return };
        let wanted = inner.is_connected(&user);
        let result = if wanted && !watched.contains(&user) {
            bus.watch(&user).await.map(|()| {
                watched.insert(user.clone());
            })
        } else if !wanted && watched.contains(&user) {
            bus.unwatch(&user).await.map(|()| {
                watched.remove(&user);
            })
        } else {
            Ok(())
        };
        inner.counters.set_watched_users(watched.len());
        if let Err(error) = &result {
            inner.counters.watch_failure();
            static LOG: crate::LogThrottle = crate::LogThrottle::every_ten_seconds();
            if let Some(suppressed) = LOG.admit() {
                tracing::warn!(user = %user, wanted, error = %error, suppressed, "bus watch change failed");
            }
        }
        if let Some(changes) = inner.presence_changes.get() {
            // The tracker is gone only when the service is.
            let _ = changes.send(user);
        }
        if let Some(done) = done {
            // The connecting caller may have given up; nothing to tell then.
            let _ = done.send(result);
        }
    }
}
