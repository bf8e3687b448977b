//! The node's subscription connection, to its own channel (where the
//! copies of events for its users and its health probes arrive): one task
//! owns it and pings it, and when it dies reconnects with backoff, puts the
//! node's routes back (Redis may have restarted and forgotten them), then
//! reports a gap. A second task reads the message stream.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

use crate::error::RedisBusError;
use crate::publisher::Publisher;
use crate::routes::{self, Routes};
use crate::shared::{AbortOnDrop, Shared};

/// A subscription connection, split: commands go to the sink, messages come
/// from the stream.
pub(crate) struct Connection {
    sink: PubSubSink,
    stream: PubSubStream,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

/// Opens a subscription connection and subscribes this node's channel.
pub(crate) async fn open(
    client: &redis::Client,
    shared: &Shared,
) -> Result<Connection, RedisBusError> {
    let pubsub = timeout(shared.timeout, client.get_async_pubsub())
        .await
        .map_err(|_| RedisBusError::Timeout("a connect"))??;
    let (mut sink, stream) = pubsub.split();
    timeout(shared.timeout, sink.subscribe(&shared.node_channel))
        .await
        .map_err(|_| RedisBusError::Timeout("a subscribe"))??;
    Ok(Connection { sink, stream })
}

/// Owns the subscription connection for the life of the bus.
pub(crate) async fn run(
    client: redis::Client,
    shared: Arc<Shared>,
    routes: Arc<Routes>,
    publisher: Publisher,
    first: Connection,
) {
    let mut connection = Some(first);
    let mut backoff = Duration::from_millis(50);
    loop {
        let Connection { mut sink, stream } = match connection.take() {
            Some(connection) => connection,
            None => match open(&client, &shared).await {
                Ok(connection) => {
                    routes::resubscribed(&shared, &routes, &publisher).await;
                    backoff = Duration::from_millis(50);
                    connection
                }
                Err(error) => {
                    tracing::warn!(error = %error, ?backoff, "redis subscription still down");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(shared.max_backoff);
                    continue;
                }
            },
        };
        shared.set_subscribed(true);
        let (lost, mut lost_signal) = oneshot::channel::<()>();
        let reader = AbortOnDrop(tokio::spawn(read(stream, Arc::clone(&shared), lost)));
        let mut ping = tokio::time::interval(shared.ping_interval);
        ping.tick().await;
        loop {
            tokio::select! {
                _ = &mut lost_signal => break,
                _ = ping.tick() => {
                    // In subscribed mode PING answers an array, not PONG: accept any reply.
                    let answer = timeout(shared.timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(answer, Ok(Ok(_))) {
                        break;
                    }
                    shared.ping_answered();
                }
            }
        }
        shared.set_subscribed(false);
        drop(reader);
        tracing::warn!("redis subscription lost; reconnecting");
    }
}

/// Reads messages until the connection ends, then says so on `lost`.
async fn read(mut stream: PubSubStream, shared: Arc<Shared>, lost: oneshot::Sender<()>) {
    while let Some(message) = stream.next().await {
        shared.route(message.get_channel_name(), message.get_payload_bytes());
    }
    let _ = lost.send(());
}
