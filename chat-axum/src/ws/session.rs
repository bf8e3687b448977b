//! One WebSocket: a thin adapter between the socket and a
//! [`chat_engine::Session`], which holds the whole protocol (frames, order,
//! resume, gaps). This file does what only a WebSocket needs: read frames,
//! write them with a timeout, ping, notice silence, and close with a code.
//!
//! One task per socket, `select!` over four sources: the client's frames,
//! the session's output, the keepalive tick, and the token's expiry. Writes carry a timeout, so
//! a peer that stops reading cannot pin the task forever.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_engine::{ChatError, ChatService, CloseReason, Output, Session, SessionConfig, UserId};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use std::time::SystemTime;

use tokio::time::{Instant, MissedTickBehavior, interval_at, sleep_until, timeout};

use super::{
    CLOSE_GOING_AWAY, CLOSE_SIGNED_OUT, CLOSE_SLOW_CONSUMER, CLOSE_TOKEN_EXPIRED, CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_CONNECTIONS, CLOSE_UNAVAILABLE, WsConfig,
};

/// Most events written before one flush.
const MAX_BURST: usize = 64;

/// Why a socket ended early (anything but a clean close by the client).
#[derive(Debug)]
enum End {
    /// Sending failed: the peer is gone.
    WriteFailed,
    /// Sending did not finish within the write timeout: the peer stopped reading.
    WriteTimedOut,
    /// The session was closed by the hub.
    Closed(CloseReason),
    /// The client sent a frame over the limit.
    FrameTooBig,
    /// The token the socket was opened with expired.
    TokenExpired,
}

/// The writing half of the socket and its settings.
struct Socket {
    sink: SplitSink<WebSocket, Message>,
    config: WsConfig,
}

pub(super) async fn run(
    socket: WebSocket,
    chat: ChatService,
    me: UserId,
    expires_at: Option<SystemTime>,
    config: WsConfig,
    settings: SessionConfig,
) {
    let (sink, mut stream) = socket.split();
    let mut socket = Socket { sink, config };
    let mut session = match Session::open(chat, me.clone(), settings).await {
        Ok(session) => session,
        Err(ChatError::TooManyConnections { .. }) => {
            let reason = "too many connections for this user";
            socket
                .close(&mut stream, CLOSE_TOO_MANY_CONNECTIONS, reason)
                .await;
            return;
        }
        Err(error) => {
            static LOG: chat_engine::LogThrottle = chat_engine::LogThrottle::every_ten_seconds();
            if let Some(suppressed) = LOG.admit() {
                tracing::warn!(user = %me, error = %error, suppressed, "cannot register connection");
            }
            socket
                .close(&mut stream, CLOSE_UNAVAILABLE, "unavailable, retry later")
                .await;
            return;
        }
    };
    // The wall clock's expiry as a monotonic deadline.
    let expiry = expires_at
        .map(|at| Instant::now() + at.duration_since(SystemTime::now()).unwrap_or_default());
    let served = socket.serve(&mut session, &mut stream, expiry).await;
    if matches!(served, Err(End::WriteTimedOut)) && session.stopped_reading() {
        tracing::debug!(user = %me, "peer stopped reading; dropping");
    }
    // The session is dropped only after the close frame is written: a
    // graceful shutdown waits for every connection to go (`Hub::drained`),
    // and must not stop the runtime under a close still being written.
    match served {
        Ok(()) | Err(End::WriteFailed | End::WriteTimedOut) => {}
        Err(End::Closed(CloseReason::Stuck)) => {
            socket
                .close(
                    &mut stream,
                    CLOSE_SLOW_CONSUMER,
                    "too slow: reconnect and resume",
                )
                .await;
        }
        Err(End::Closed(CloseReason::SignedOut)) => {
            socket
                .close(&mut stream, CLOSE_SIGNED_OUT, "signed out")
                .await;
        }
        Err(End::Closed(_)) => {
            socket
                .close(&mut stream, CLOSE_GOING_AWAY, "server going away")
                .await
        }
        Err(End::TokenExpired) => {
            socket
                .close(
                    &mut stream,
                    CLOSE_TOKEN_EXPIRED,
                    "token expired: reconnect with a fresh token",
                )
                .await;
        }
        Err(End::FrameTooBig) => {
            let reason = format!(
                "frame too large: the limit is {} bytes",
                socket.config.frame_limit()
            );
            socket.close(&mut stream, CLOSE_TOO_BIG, reason).await;
        }
    }
    drop(session);
}

impl Socket {
    async fn serve(
        &mut self,
        session: &mut Session,
        stream: &mut SplitStream<WebSocket>,
        expiry: Option<Instant>,
    ) -> Result<(), End> {
        let expired = async {
            match expiry {
                Some(deadline) => sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expired);
        let start = Instant::now() + self.config.ping_interval;
        let mut ping = interval_at(start, self.config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                incoming = stream.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => session.receive(&text).await,
                        Some(Ok(Message::Binary(_))) => {
                            let error = ChatError::invalid("frame", "binary frames are not supported; send JSON text");
                            session.refuse(None, &error);
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Err(error)) if is_too_big(&error) => return Err(End::FrameTooBig),
                        // Closed by the client, or a protocol error.
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
                    }
                }
                output = session.next() => {
                    // Write everything already owed, then flush once: one
                    // syscall for a burst, not one per frame.
                    self.write_output(output).await?;
                    let mut burst = 1;
                    while burst < MAX_BURST {
                        let Some(output) = session.try_next() else { break };
                        self.write_output(output).await?;
                        burst += 1;
                    }
                    self.flush().await?;
                }
                () = &mut expired => return Err(End::TokenExpired),
                _ = ping.tick() => {
                    if last_heard.elapsed() >= self.config.idle_timeout {
                        tracing::debug!(user = %session.user(), "peer silent past the idle timeout; dropping");
                        return Ok(());
                    }
                    self.write(Message::Ping(Default::default())).await?;
                    self.flush().await?;
                }
            }
        }
    }

    async fn write_output(&mut self, output: Output) -> Result<(), End> {
        match output {
            // Events are serde_json output, so always UTF-8.
            Output::Event(event) => match Utf8Bytes::try_from(event) {
                Ok(text) => self.write(Message::Text(text)).await,
                Err(error) => {
                    tracing::error!(%error, "dropping a non-UTF-8 event");
                    Ok(())
                }
            },
            Output::Close(reason) => Err(End::Closed(reason)),
        }
    }

    /// Queues `message` in the socket's write buffer (flushed by
    /// [`Socket::flush`], or by the sink itself when the buffer fills).
    async fn write(&mut self, message: Message) -> Result<(), End> {
        match timeout(self.config.write_timeout, self.sink.feed(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::WriteFailed),
            Err(_) => Err(End::WriteTimedOut),
        }
    }

    async fn flush(&mut self) -> Result<(), End> {
        match timeout(self.config.write_timeout, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::WriteFailed),
            Err(_) => Err(End::WriteTimedOut),
        }
    }

    /// Closes the socket with `code`: writes the close frame, then reads
    /// (dropping what comes) until the client answers with its own, within
    /// the write timeout. Dropping the connection right after the frame
    /// would make the kernel reset it if the client had sent anything
    /// meanwhile, and the client would see "connection reset" instead of
    /// the code that tells it what to do.
    async fn close(
        &mut self,
        stream: &mut SplitStream<WebSocket>,
        code: u16,
        reason: impl Into<Utf8Bytes>,
    ) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // Best effort: the peer may already be gone.
        let _ = timeout(self.config.write_timeout, async {
            if self.sink.send(Message::Close(Some(frame))).await.is_ok() {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            }
        })
        .await;
    }
}

/// Whether a read failed because the client's frame was over the limit.
fn is_too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)))
}
