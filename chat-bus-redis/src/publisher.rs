//! The connection every command but a single Redis's subscription goes
//! through: publishes, route changes and lookups, presence, rates. It
//! reconnects by itself; each call is bounded by the bus's timeout and,
//! when it finds the connection dropped (Redis restarted since the last
//! call), sent once more on the new one.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, Value};

use crate::error::RedisBusError;

/// One Redis server, or a Redis Cluster.
#[derive(Clone)]
pub(crate) enum Link {
    /// A single server: plain pub/sub, any pipeline.
    Single(ConnectionManager),
    /// A cluster: sharded pub/sub, and pipelines of one slot each.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

/// A self-reconnecting link with the bus's timeout.
#[derive(Clone)]
pub(crate) struct Publisher {
    link: Link,
    timeout: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.link {
            Link::Single(_) => "single",
            Link::Cluster(_) => "cluster",
        };
        f.debug_struct("Publisher")
            .field("redis", &kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Publisher {
    pub(crate) fn new(link: Link, timeout: Duration) -> Self {
        Self { link, timeout }
    }

    /// The link itself, for callers with commands of their own (scripts).
    pub(crate) fn link(&self) -> Link {
        self.link.clone()
    }

    /// Runs `pipe`, ignoring its answers. `what` names it in a timeout error.
    pub(crate) async fn exec(
        &self,
        pipe: &Pipeline,
        what: &'static str,
    ) -> Result<(), RedisBusError> {
        self.query::<()>(pipe, what).await
    }

    /// Runs `pipe` and reads its answers as `T`.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
        what: &'static str,
    ) -> Result<T, RedisBusError> {
        let mut link = self.link.clone();
        let mut retried = false;
        loop {
            let sent = tokio::time::timeout(self.timeout, pipe.query_async(&mut link)).await;
            match sent {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(error))
                    if !retried && (error.is_connection_dropped() || error.is_io_error()) =>
                {
                    retried = true;
                }
                Ok(Err(error)) => return Err(RedisBusError::Redis(error)),
                Err(_) => return Err(RedisBusError::Timeout(what)),
            }
        }
    }

    /// Publishes each copy to its channel: one pipeline on a single Redis;
    /// on a cluster, a sharded publish per copy, sent at once, each to the
    /// shard that owns its channel.
    pub(crate) async fn publish(
        &self,
        copies: &[(String, Bytes)],
        what: &'static str,
    ) -> Result<(), RedisBusError> {
        match self.link {
            Link::Single(_) => {
                let mut pipe = redis::pipe();
                for (channel, copy) in copies {
                    pipe.publish(channel, &copy[..]).ignore();
                }
                self.exec(&pipe, what).await
            }
            Link::Cluster(_) => {
                let sends = copies.iter().map(|(channel, copy)| {
                    let mut pipe = redis::pipe();
                    pipe.cmd("SPUBLISH").arg(channel).arg(&copy[..]).ignore();
                    async move { self.exec(&pipe, what).await }
                });
                futures::future::try_join_all(sends).await.map(drop)
            }
        }
    }
}
