//! The bus on a Redis Cluster: one cluster connection (RESP3) carries every
//! command, and this node's channel is a sharded one (`SSUBSCRIBE`), held
//! by the shard that owns its slot, so the copies to K nodes spread over
//! the cluster (`SPUBLISH`) instead of passing through every server. The
//! routes and presence keep their keys in one slot each (a hash tag), so
//! their pipelines and scripts stay atomic.
//!
//! The connection re-subscribes by itself after a reconnect or a slot
//! moving; the node cannot tell what it missed meanwhile, so each dropped
//! link, and each probe of its own channel that does not come back, is
//! answered by subscribing again, putting the routes back and reporting a
//! gap.

use std::sync::Arc;
use std::time::Duration;

use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::error::RedisBusError;
use crate::options::RedisBusOptions;
use crate::publisher::{Link, Publisher};
use crate::routes::{self, Routes};
use crate::shared::{AbortOnDrop, Shared};

/// A connection to the cluster behind `nodes` (seed URLs), and the pushes
/// (sharded messages, disconnections) it receives.
pub(crate) async fn connect(
    nodes: &[&str],
    options: &RedisBusOptions,
) -> Result<(ClusterConnection, mpsc::UnboundedReceiver<PushInfo>), RedisBusError> {
    let (pushes, received) = mpsc::unbounded_channel();
    let client = ClusterClientBuilder::new(nodes.iter().copied())
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(pushes)
        .connection_timeout(options.timeout)
        .response_timeout(options.timeout)
        .build()?;
    let connection = timeout(options.timeout, client.get_async_connection())
        .await
        .map_err(|_| RedisBusError::Timeout("a connect"))??;
    Ok((connection, received))
}

/// Subscribes this node's sharded channel.
pub(crate) async fn subscribe(
    connection: &mut ClusterConnection,
    shared: &Shared,
) -> Result<(), RedisBusError> {
    timeout(shared.timeout, connection.ssubscribe(&shared.node_channel))
        .await
        .map_err(|_| RedisBusError::Timeout("a subscribe"))??;
    shared.set_subscribed(true);
    Ok(())
}

/// The link the publisher uses.
pub(crate) fn link(connection: &ClusterConnection) -> Link {
    Link::Cluster(connection.clone())
}

/// Reads the pushes for the life of the bus: routes each sharded message,
/// and recovers from each loss. A second task probes the node's channel
/// every ping interval and asks for the same recovery when a probe is lost.
pub(crate) async fn listen(
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    mut connection: ClusterConnection,
    shared: Arc<Shared>,
    routes: Arc<Routes>,
    publisher: Publisher,
) {
    let (lost, mut losses) = mpsc::channel::<()>(1);
    let prober = AbortOnDrop(tokio::spawn(probe_every(
        Arc::clone(&shared),
        publisher.clone(),
        lost,
    )));
    loop {
        tokio::select! {
            push = pushes.recv() => match push {
                None => break,
                Some(PushInfo { kind: PushKind::SMessage, data }) => {
                    if let [Value::BulkString(channel), Value::BulkString(payload)] = &data[..] {
                        shared.route(&String::from_utf8_lossy(channel), payload);
                    }
                }
                Some(PushInfo { kind: PushKind::Disconnection, .. }) => {
                    recover(&mut connection, &shared, &routes, &publisher).await;
                }
                Some(_) => {}
            },
            Some(()) = losses.recv() => {
                recover(&mut connection, &shared, &routes, &publisher).await;
            }
        }
    }
    drop(prober);
}

/// Subscribes again until it holds, puts the routes back, then reports a gap.
async fn recover(
    connection: &mut ClusterConnection,
    shared: &Shared,
    routes: &Routes,
    publisher: &Publisher,
) {
    shared.set_subscribed(false);
    tracing::warn!("redis cluster link lost; subscribing again");
    let mut backoff = Duration::from_millis(50);
    while let Err(error) = subscribe(connection, shared).await {
        tracing::warn!(error = %error, ?backoff, "redis cluster subscription still down");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(shared.max_backoff);
    }
    routes::resubscribed(shared, routes, publisher).await;
}

/// Sends a probe through the node's channel every ping interval; one that
/// does not come back is a loss.
async fn probe_every(shared: Arc<Shared>, publisher: Publisher, lost: mpsc::Sender<()>) {
    let mut tick = tokio::time::interval(shared.ping_interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        if !shared.is_subscribed() {
            continue; // a recovery is under way
        }
        match shared.probe(&publisher).await {
            Ok(()) => shared.ping_answered(),
            Err(_) => {
                let _ = lost.try_send(());
            }
        }
    }
}
