//! One simulated user: a WebSocket to the server, a task that reads every
//! event (timing each message from the send time written into its body),
//! and a task that writes queued frames with one flush per burst.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::latency::Samples;

/// Digits of the send time (microseconds since the run's origin) that open every body.
pub(crate) const STAMP_DIGITS: usize = 20;

/// Counters every client of a run shares.
#[derive(Debug)]
pub(crate) struct Tally {
    /// The run's clock: bodies carry microseconds since this instant.
    pub(crate) origin: Instant,
    /// Message events received, over all clients.
    pub(crate) received: AtomicU64,
    /// Gap events received.
    pub(crate) gaps: AtomicU64,
    /// Sockets the server closed or that failed.
    pub(crate) closed: AtomicU64,
    /// Microseconds since `origin` of the latest message event.
    pub(crate) last_receipt: AtomicU64,
    /// `received` value at which `reached` is notified.
    target: AtomicU64,
    reached: Notify,
}

impl Tally {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            origin: Instant::now(),
            received: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            last_receipt: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            reached: Notify::new(),
        })
    }

    /// Microseconds since the origin.
    pub(crate) fn now_micros(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Waits until `expected` message events have arrived or `deadline` passes;
    /// true when they all arrived.
    pub(crate) async fn wait_for(&self, expected: u64, deadline: tokio::time::Instant) -> bool {
        self.target.store(expected, Ordering::SeqCst);
        loop {
            if self.received.load(Ordering::SeqCst) >= expected {
                return true;
            }
            tokio::select! {
                () = self.reached.notified() => {}
                () = tokio::time::sleep_until(deadline) => {
                    return self.received.load(Ordering::SeqCst) >= expected;
                }
            }
        }
    }

    fn count_message(&self, stamp: u64) -> Duration {
        let now = self.now_micros();
        self.last_receipt.fetch_max(now, Ordering::Relaxed);
        let received = self.received.fetch_add(1, Ordering::SeqCst) + 1;
        if received >= self.target.load(Ordering::SeqCst) {
            self.reached.notify_one();
        }
        Duration::from_micros(now.saturating_sub(stamp))
    }
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Result<(), String>>>>>;

/// A connected user.
#[derive(Debug)]
pub(crate) struct Client {
    outbound: mpsc::UnboundedSender<Frame>,
    pending: Pending,
    next_client_id: AtomicU64,
    reader: JoinHandle<Samples>,
    writer: JoinHandle<()>,
}

/// Why a client could not connect or send.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the socket closed before the answer")]
    Closed,
    #[error("refused: {0}")]
    Refused(String),
}

/// The fields of a server event this tool looks at.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<MessageBody>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct MessageBody {
    body: String,
}

impl Client {
    /// Connects `user` to the server at `base` (`http://host:port`).
    pub(crate) async fn connect(
        base: &str,
        user: &str,
        tally: Arc<Tally>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, ClientError> {
        let url = format!(
            "ws://{}/ws?token={user}",
            base.trim_start_matches("http://")
        );
        // Nagle off: a send frame must not wait for the server's delayed ACK.
        let (socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
        let (mut sink, stream) = socket.split();
        let (outbound, mut queue) = mpsc::unbounded_channel::<Frame>();
        let writer = tokio::spawn(async move {
            while let Some(frame) = queue.recv().await {
                if sink.feed(frame).await.is_err() {
                    return;
                }
                while let Ok(frame) = queue.try_recv() {
                    if sink.feed(frame).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let pending: Pending = Arc::default();
        let reader = tokio::spawn(read(stream, tally, Arc::clone(&pending), stop));
        Ok(Self {
            outbound,
            pending,
            next_client_id: AtomicU64::new(0),
            reader,
            writer,
        })
    }

    /// Sends a message frame and waits for its `ack`.
    pub(crate) async fn send(&self, conversation: &str, body: &str) -> Result<(), ClientError> {
        let client_id = self
            .next_client_id
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let frame = serde_json::json!({
            "type": "send",
            "conversation_id": conversation,
            "body": body,
            "client_id": client_id,
        })
        .to_string();
        let (answer, answered) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(client_id, answer);
        self.outbound
            .send(Frame::text(frame))
            .map_err(|_| ClientError::Closed)?;
        answered
            .await
            .map_err(|_| ClientError::Closed)?
            .map_err(ClientError::Refused)
    }

    /// Closes the socket and returns the latencies its reader recorded.
    pub(crate) async fn finish(self) -> Samples {
        drop(self.outbound);
        let _ = self.writer.await;
        self.reader.await.unwrap_or_default()
    }
}

async fn read(
    mut stream: futures::stream::SplitStream<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    >,
    tally: Arc<Tally>,
    pending: Pending,
    mut stop: watch::Receiver<bool>,
) -> Samples {
    let mut samples = Samples::default();
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = stop.wait_for(|stopped| *stopped) => return samples,
        };
        let text = match frame {
            Some(Ok(Frame::Text(text))) => text,
            Some(Ok(Frame::Close(_)) | Err(_)) | None => {
                tally.closed.fetch_add(1, Ordering::Relaxed);
                return samples;
            }
            Some(Ok(_)) => continue,
        };
        let Ok(event) = serde_json::from_str::<Event>(&text) else {
            continue;
        };
        match event.kind.as_str() {
            "message" => {
                if let Some(stamp) = event
                    .message
                    .and_then(|message| message.body.get(..STAMP_DIGITS)?.parse::<u64>().ok())
                {
                    samples.push(tally.count_message(stamp));
                }
            }
            "gap" => {
                tally.gaps.fetch_add(1, Ordering::Relaxed);
            }
            "ack" | "error" => {
                let answer = event.client_id.and_then(|id| {
                    pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&id)
                });
                if let Some(answer) = answer {
                    let _ = answer.send(match event.error {
                        None => Ok(()),
                        Some(error) => Err(error.to_string()),
                    });
                }
            }
            _ => {}
        }
    }
}
