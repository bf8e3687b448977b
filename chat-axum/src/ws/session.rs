//! One WebSocket session: reads client frames, writes hub events, pings.
//!
//! One task per socket, `select!` over three sources: the client's frames,
//! the hub connection's outbound events, and the keepalive tick. Writes carry
//! a timeout, so a peer that stops reading cannot pin the task forever.
//!
//! Message events are written in seq order per conversation ([`Order`]):
//! `resume` replays from the store while live events keep queueing in the hub
//! connection, and queued live events at or below the last replayed seq are
//! skipped: no duplicates and no gaps at the seam.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_core::protocol::{ClientFrame, ErrorBody, ServerEvent, encode_message_event};
use chat_core::{
    ChatError, ChatService, CloseReason, Connection, ConversationId, Cursor, NewMessage, Outbound,
    Seq, UserId,
};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout};

use super::order::{Order, Step};
use super::{
    CLOSE_GOING_AWAY, CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG, CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_UNAVAILABLE, WsConfig,
};

/// Most queued events written before one flush.
const MAX_BURST: usize = 64;

/// Why a session ended early (anything but a clean close by the client).
#[derive(Debug)]
enum End {
    /// Sending failed: the peer is gone.
    WriteFailed,
    /// Sending did not finish within the write timeout: the peer stopped reading.
    WriteTimedOut,
    /// The hub closed the connection.
    Closed(CloseReason),
    /// The client sent a frame over the limit.
    FrameTooBig,
}

struct Session {
    chat: ChatService,
    me: UserId,
    config: WsConfig,
    sink: SplitSink<WebSocket, Message>,
    /// Seq order per conversation, and the resume seam.
    order: Order,
    /// Scratch space for what `order` says to write.
    steps: Vec<Step>,
}

pub(super) async fn run(socket: WebSocket, chat: ChatService, me: UserId, config: WsConfig) {
    let (sink, stream) = socket.split();
    let mut session = Session {
        chat,
        me,
        config,
        sink,
        order: Order::new(config.reorder_window),
        steps: Vec::new(),
    };
    let mut connection = match session.chat.connect(&session.me).await {
        Ok(connection) => connection,
        Err(ChatError::TooManyConnections { .. }) => {
            session
                .close(
                    CLOSE_TOO_MANY_CONNECTIONS,
                    "too many connections for this user",
                )
                .await;
            return;
        }
        Err(error) => {
            static LOG: chat_core::LogThrottle = chat_core::LogThrottle::every_ten_seconds();
            if let Some(suppressed) = LOG.admit() {
                tracing::warn!(user = %session.me, error = %error, suppressed, "cannot register connection");
            }
            session
                .close(CLOSE_UNAVAILABLE, "unavailable, retry later")
                .await;
            return;
        }
    };
    let ready = ServerEvent::Ready {
        user_id: session.me.clone(),
    };
    let served = match session.write_event(&ready).await {
        Ok(()) => match session.flush().await {
            Ok(()) => session.serve(&mut connection, stream).await,
            Err(end) => Err(end),
        },
        Err(end) => Err(end),
    };
    if matches!(served, Err(End::WriteTimedOut)) && connection.close_stuck() {
        tracing::debug!(user = %session.me, "peer stopped reading; dropping");
    }
    // The connection is dropped only after the close frame is written: a
    // graceful shutdown waits for every connection to go (`Hub::drained`),
    // and must not stop the runtime under a close still being written.
    match served {
        Ok(()) => {}
        Err(End::Closed(CloseReason::Stuck)) => {
            session
                .close(CLOSE_SLOW_CONSUMER, "too slow: reconnect and resume")
                .await;
        }
        Err(End::Closed(_)) => session.close(CLOSE_GOING_AWAY, "server going away").await,
        Err(End::FrameTooBig) => {
            let reason = format!(
                "frame too large: the limit is {} bytes",
                session.config.frame_limit()
            );
            session.close(CLOSE_TOO_BIG, reason).await;
        }
        Err(End::WriteFailed | End::WriteTimedOut) => {}
    }
    drop(connection);
}

impl Session {
    async fn serve(
        &mut self,
        connection: &mut Connection,
        mut stream: SplitStream<WebSocket>,
    ) -> Result<(), End> {
        let start = Instant::now() + self.config.ping_interval;
        let mut ping = interval_at(start, self.config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                incoming = stream.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            self.on_frame(&text).await?;
                            self.flush().await?;
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let error = ChatError::invalid("frame", "binary frames are not supported; send JSON text");
                            self.send_error(None, &error).await?;
                            self.flush().await?;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Err(error)) if is_too_big(&error) => return Err(End::FrameTooBig),
                        // Closed by the client, or a protocol error.
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return Ok(()),
                    }
                }
                outbound = connection.next() => {
                    // Write everything already queued, then flush once: one
                    // syscall for a burst, not one per frame.
                    self.forward(outbound).await?;
                    let mut burst = 1;
                    while burst < MAX_BURST {
                        let Some(outbound) = connection.try_next() else { break };
                        self.forward(outbound).await?;
                        burst += 1;
                    }
                    self.flush().await?;
                }
                () = sleep_until_or_never(self.order.deadline()) => {
                    self.order.expire(&mut self.steps);
                    self.write_steps().await?;
                    self.flush().await?;
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() >= self.config.idle_timeout {
                        tracing::debug!(user = %self.me, "peer silent past the idle timeout; dropping");
                        return Ok(());
                    }
                    self.write(Message::Ping(Default::default())).await?;
                    self.flush().await?;
                }
            }
        }
    }

    async fn forward(&mut self, outbound: Outbound) -> Result<(), End> {
        match outbound {
            Outbound::Event(envelope) => {
                let rejoined = self
                    .rejoined(&envelope)
                    .then(|| envelope.conversation_id().clone());
                self.order.accept(envelope, Instant::now(), &mut self.steps);
                if let Some(conversation) = rejoined {
                    self.order
                        .rejoined(&conversation, Instant::now(), &mut self.steps);
                }
                self.write_steps().await
            }
            Outbound::Gaps(gaps) => {
                for mut gap in gaps {
                    match &gap.conversation_id {
                        Some(conversation) => {
                            // Held events are dropped too: refetch from the first not written.
                            if let Some(next) = self.order.forget(conversation) {
                                gap.from_seq =
                                    Some(gap.from_seq.map_or(next, |from| from.min(next)));
                            }
                        }
                        None => self.order.forget_all(),
                    }
                    self.write_event(&gap.to_event()).await?;
                }
                Ok(())
            }
            Outbound::Closed(reason) => Err(End::Closed(reason)),
        }
    }

    /// Whether `envelope` says this connection's user joined its
    /// conversation (again). Only membership events are decoded.
    fn rejoined(&self, envelope: &chat_core::Envelope) -> bool {
        let payload = envelope.payload();
        envelope.seq().is_none()
            && payload.starts_with(br#"{"type":"member_added""#)
            && matches!(
                serde_json::from_slice::<ServerEvent>(payload),
                Ok(ServerEvent::MemberAdded { user_id, .. }) if user_id == self.me
            )
    }

    /// Writes what [`Order`] released, in order.
    async fn write_steps(&mut self) -> Result<(), End> {
        let steps = std::mem::take(&mut self.steps);
        for step in steps {
            match step {
                Step::Write(envelope) => self.write_payload(envelope.payload().clone()).await?,
                Step::Gap(conversation_id, from_seq) => {
                    let gap = ServerEvent::Gap {
                        conversation_id: Some(conversation_id),
                        from_seq: Some(from_seq),
                    };
                    self.write_event(&gap).await?;
                }
            }
        }
        Ok(())
    }

    async fn on_frame(&mut self, text: &str) -> Result<(), End> {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(error) => {
                let error = ChatError::invalid("frame", error.to_string());
                return self.send_error(None, &error).await;
            }
        };
        match frame {
            ClientFrame::Send {
                conversation_id,
                body,
                content,
                client_id,
            } => {
                let new = NewMessage {
                    body,
                    content,
                    client_id: client_id.clone(),
                };
                match self.chat.send(&self.me, &conversation_id, new).await {
                    Ok(appended) => {
                        let ack = ServerEvent::Ack {
                            client_id,
                            message: appended.message,
                        };
                        self.write_event(&ack).await
                    }
                    Err(error) => self.send_error(client_id, &error).await,
                }
            }
            ClientFrame::Typing { conversation_id } => {
                match self.chat.typing(&self.me, &conversation_id).await {
                    Ok(()) => Ok(()),
                    Err(error) => self.send_error(None, &error).await,
                }
            }
            ClientFrame::Read {
                conversation_id,
                seq,
            } => match self.chat.mark_read(&self.me, &conversation_id, seq).await {
                Ok(_) => Ok(()),
                Err(error) => self.send_error(None, &error).await,
            },
            ClientFrame::Join { conversation_id } => {
                match self.chat.join_room(&self.me, &conversation_id).await {
                    Ok(_) => Ok(()),
                    Err(error) => self.send_error(None, &error).await,
                }
            }
            ClientFrame::Leave { conversation_id } => {
                let me = &self.me;
                match self.chat.remove_member(me, &conversation_id, me).await {
                    Ok(()) => Ok(()),
                    Err(error) => self.send_error(None, &error).await,
                }
            }
            ClientFrame::Resume { positions } => {
                for (conversation_id, after) in positions {
                    self.replay(conversation_id, after).await?;
                }
                Ok(())
            }
            // Frames added to the protocol later are refused, not ignored.
            _ => {
                let error = ChatError::invalid("type", "unsupported frame type");
                self.send_error(None, &error).await
            }
        }
    }

    /// Writes every stored message after `after`, in order, then lets live
    /// events continue from there.
    async fn replay(&mut self, conversation_id: ConversationId, after: Seq) -> Result<(), End> {
        // From the client's own position: live events written meanwhile are
        // skipped below, never taken as proof that earlier ones were sent.
        let mut last = after;
        loop {
            let page = self
                .chat
                .history(&self.me, &conversation_id, Cursor::After(last), None)
                .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => return self.send_error(None, &error).await,
            };
            for message in &page.messages {
                if !self.order.was_written(&conversation_id, message.seq) {
                    self.write_payload(encode_message_event(message)).await?;
                }
                last = message.seq;
            }
            if !page.has_more {
                self.order
                    .replayed(&conversation_id, after, last, &mut self.steps);
                return self.write_steps().await;
            }
        }
    }

    async fn send_error(
        &mut self,
        client_id: Option<String>,
        error: &ChatError,
    ) -> Result<(), End> {
        let event = ServerEvent::Error {
            client_id,
            error: ErrorBody::from(error),
        };
        self.write_event(&event).await
    }

    async fn write_event(&mut self, event: &ServerEvent) -> Result<(), End> {
        self.write_payload(event.encode()).await
    }

    async fn write_payload(&mut self, payload: bytes::Bytes) -> Result<(), End> {
        // Payloads are serde_json output, so always UTF-8.
        match Utf8Bytes::try_from(payload) {
            Ok(text) => self.write(Message::Text(text)).await,
            Err(error) => {
                tracing::error!(%error, "dropping a non-UTF-8 event");
                Ok(())
            }
        }
    }

    /// Queues `message` in the socket's write buffer (flushed by [`Session::flush`],
    /// or by the sink itself when the buffer fills).
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

    async fn close(&mut self, code: u16, reason: impl Into<Utf8Bytes>) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        // Best effort: the peer may already be gone.
        let _ = timeout(
            self.config.write_timeout,
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

/// Whether a read failed because the client's frame was over the limit.
fn is_too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)))
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_or_never(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
