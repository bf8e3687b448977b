//! The live session of one client, whatever carries it: client frames in,
//! server events out, in the order the protocol promises.
//!
//! A transport (chat-axum's WebSocket, a server-sent-events stream, a test
//! client, a bot in the same process) only moves bytes: it hands each client
//! frame to [`Session::receive`] and writes what [`Session::next`] returns,
//! plus what it needs for itself (pings, write timeouts, close codes). All
//! the protocol lives here:
//!
//! - **Frames** are decoded and dispatched to the [`ChatService`]; each gets
//!   its answer (`ack`, or an `error` naming the `client_id`).
//! - **Order**: message events are released in seq order per conversation
//!   (`order.rs`): events from different nodes can cross on the bus, so a
//!   later seq waits for an earlier one for at most the reorder window, then
//!   the hole is announced as a [`Gap`](crate::Gap).
//! - **Resume**: `resume` replays the timeline after each given seq (every
//!   message in its current state, and every other change),
//!   a page at a time as the transport pulls (memory stays bounded however
//!   far behind the client is), while live events wait in the hub's bounded
//!   queue; queued live events at or below what was replayed are skipped, so
//!   the seam has no duplicate and no hole. A client that opened its socket
//!   with `resume` first ([`SessionConfig::resume_first`]) gets no live
//!   event before its first frame: none reaches it before its position.
//! - **Gaps** the hub recorded while the queue was full become `gap` events
//!   that start where this session stopped writing.
//!
//! [`Session::next`] is cancel-safe: a transport may `select!` it against its
//! own reads and timers, and nothing is lost when another branch wins.

mod order;

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::bus::{Envelope, EventKind};
use crate::error::{ChatError, Result};
use crate::hub::{CloseReason, Connection, Outbound};
use crate::ids::{ConversationId, Seq, UserId};
use crate::message::NewMessage;
use crate::protocol::{ClientFrame, ErrorBody, ServerEvent, encode_message_event};
use crate::service::ChatService;
use crate::timeline::{Changed, Entry};
use order::{Order, Step};

/// Settings of a [`Session`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// How long a message event waits for an earlier seq of its conversation
    /// (events from different app nodes can cross on the bus) before the
    /// client is sent a `gap` for the missing ones. Defaults to 250 ms.
    pub reorder_window: Duration,
    /// When set, the client's first frame is its `resume`: no live event is
    /// written before that frame (they wait in the connection's queue), for
    /// at most this long. So no live event of a conversation reaches the
    /// client before the server knows where the client is in it. `None` by
    /// default.
    pub resume_first: Option<Duration>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            reorder_window: Duration::from_millis(250),
            resume_first: None,
        }
    }
}

impl SessionConfig {
    /// Sets [`reorder_window`](Self::reorder_window).
    #[must_use]
    pub fn with_reorder_window(mut self, window: Duration) -> Self {
        self.reorder_window = window;
        self
    }

    /// Sets [`resume_first`](Self::resume_first): live events wait for the
    /// client's first frame, at most `bound`.
    #[must_use]
    pub fn with_resume_first(mut self, bound: Duration) -> Self {
        self.resume_first = Some(bound);
        self
    }
}

/// What the transport does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write this server event: the JSON text of one frame.
    Event(Bytes),
    /// The session is over (the hub closed it): close the transport, with
    /// "going away" for [`CloseReason::Shutdown`], "signed out" for
    /// [`CloseReason::SignedOut`] and "too slow, resume" for
    /// [`CloseReason::Stuck`].
    Close(CloseReason),
}

/// What is owed to the client, in order.
#[derive(Debug)]
enum Pending {
    /// An encoded event.
    Event(Bytes),
    /// Stored messages of `conversation_id` after `last` still to replay,
    /// for a `resume` from `after`.
    Replay {
        conversation_id: ConversationId,
        after: Seq,
        last: Seq,
    },
}

/// One client's live session (see the [module docs](self)).
#[derive(Debug)]
pub struct Session {
    chat: ChatService,
    me: UserId,
    connection: Connection,
    order: Order,
    pending: VecDeque<Pending>,
    closed: Option<CloseReason>,
    /// Scratch space for what `order` releases.
    steps: Vec<Step>,
    /// Live events are held until the client's first frame, or this time
    /// ([`SessionConfig::resume_first`]).
    held_until: Option<Instant>,
}

impl Session {
    /// Registers a live connection of `me` on this node; the first output
    /// is the `ready` event.
    ///
    /// # Errors
    /// [`ChatError::TooManyConnections`] past the per-user limit,
    /// [`ChatError::Unavailable`] when the bus cannot route `me`'s events
    /// here or the node is shutting down.
    pub async fn open(chat: ChatService, me: UserId, config: SessionConfig) -> Result<Self> {
        let connection = chat.hub().connect(me.clone()).await?;
        let ready = ServerEvent::Ready {
            user_id: me.clone(),
        };
        Ok(Self {
            chat,
            me,
            connection,
            order: Order::new(config.reorder_window),
            pending: VecDeque::from([Pending::Event(ready.encode())]),
            closed: None,
            steps: Vec::new(),
            held_until: config.resume_first.map(|bound| Instant::now() + bound),
        })
    }

    /// The user the session belongs to.
    #[must_use]
    pub fn user(&self) -> &UserId {
        &self.me
    }

    /// Handles one client frame given as JSON text; a frame that does not
    /// decode is answered with an `error` event.
    pub async fn receive(&mut self, text: &str) {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => self.handle(frame).await,
            Err(error) => self.refuse(None, &ChatError::invalid("frame", error.to_string())),
        }
    }

    /// Handles one decoded client frame. Its answer (an `ack`, an `error`,
    /// a replay) comes out of [`Session::next`] after everything owed before.
    pub async fn handle(&mut self, frame: ClientFrame) {
        // The first frame (the client's resume) releases live events: they
        // follow whatever it replays.
        self.held_until = None;
        let (chat, me) = (&self.chat, &self.me);
        // Ok(Some(answer)) for a send; Err with the send's client_id, if any.
        let outcome: std::result::Result<Option<Bytes>, (Option<String>, ChatError)> = match frame {
            ClientFrame::Send {
                conversation_id,
                body,
                content,
                client_id,
                reply_to,
                thread_root,
                mentions,
            } => {
                let new = NewMessage {
                    body,
                    content,
                    client_id: client_id.clone(),
                    reply_to,
                    thread_root,
                    mentions,
                };
                match chat.send(me, &conversation_id, new).await {
                    Ok(appended) => Ok(Some(
                        ServerEvent::Ack {
                            client_id,
                            message: appended.message,
                        }
                        .encode(),
                    )),
                    Err(error) => Err((client_id, error)),
                }
            }
            ClientFrame::Edit {
                conversation_id,
                seq,
                body,
                content,
                client_id,
            } => done(
                chat.edit(me, &conversation_id, seq, body, content, client_id.clone())
                    .await,
                &conversation_id,
                client_id,
            ),
            ClientFrame::Delete {
                conversation_id,
                seq,
                client_id,
            } => done(
                chat.delete(me, &conversation_id, seq, client_id.clone())
                    .await,
                &conversation_id,
                client_id,
            ),
            ClientFrame::React {
                conversation_id,
                seq,
                reaction,
                client_id,
            } => done(
                chat.react(me, &conversation_id, seq, reaction, client_id.clone())
                    .await,
                &conversation_id,
                client_id,
            ),
            ClientFrame::Unreact {
                conversation_id,
                seq,
                reaction,
                client_id,
            } => done(
                chat.unreact(me, &conversation_id, seq, reaction, client_id.clone())
                    .await,
                &conversation_id,
                client_id,
            ),
            ClientFrame::Typing { conversation_id } => chat
                .typing(me, &conversation_id)
                .await
                .map(|()| None)
                .map_err(|error| (None, error)),
            ClientFrame::Read {
                conversation_id,
                seq,
            } => chat
                .mark_read(me, &conversation_id, seq)
                .await
                .map(|_| None)
                .map_err(|error| (None, error)),
            ClientFrame::Join { conversation_id } => chat
                .join_room(me, &conversation_id)
                .await
                .map(|_| None)
                .map_err(|error| (None, error)),
            ClientFrame::Leave { conversation_id } => chat
                .remove_member(me, &conversation_id, me)
                .await
                .map(|()| None)
                .map_err(|error| (None, error)),
            ClientFrame::Resume { positions } => {
                self.pending
                    .extend(positions.into_iter().map(|(conversation_id, after)| {
                        Pending::Replay {
                            conversation_id,
                            after,
                            last: after,
                        }
                    }));
                Ok(None)
            }
        };
        match outcome {
            Ok(Some(answer)) => self.push(answer),
            Ok(None) => {}
            Err((client_id, error)) => self.refuse(client_id, &error),
        }
    }

    /// Answers a frame the transport itself refused (say, a binary frame)
    /// with an `error` event, in order with everything else.
    pub fn refuse(&mut self, client_id: Option<String>, error: &ChatError) {
        let event = ServerEvent::Error {
            client_id,
            error: ErrorBody::from(error),
        };
        self.push(event.encode());
    }

    /// The next thing to do, waiting until there is one. Cancel-safe.
    pub async fn next(&mut self) -> Output {
        loop {
            if let Some(output) = self.try_next() {
                return output;
            }
            if matches!(self.pending.front(), Some(Pending::Replay { .. })) {
                self.replay_page().await;
                continue;
            }
            if let Some(until) = self.held_until {
                // Nothing live before the client's first frame (the
                // transport calls `handle` meanwhile), or the bound.
                tokio::time::sleep_until(until).await;
                self.held_until = None;
                continue;
            }
            tokio::select! {
                outbound = self.connection.next() => self.forward(outbound),
                () = sleep_until_or_never(self.order.deadline()) => self.expire(),
            }
        }
    }

    /// What [`Session::next`] would return without waiting, if anything:
    /// lets a transport write a burst, then flush once.
    pub fn try_next(&mut self) -> Option<Output> {
        loop {
            match self.pending.front() {
                Some(Pending::Event(_)) => {
                    let Some(Pending::Event(event)) = self.pending.pop_front() else {
                        unreachable!("the front was just seen to be an event")
                    };
                    return Some(Output::Event(event));
                }
                // Replaying needs the store: only `next` waits for it.
                Some(Pending::Replay { .. }) => return None,
                None => {}
            }
            if let Some(reason) = self.closed {
                return Some(Output::Close(reason));
            }
            if self.order.deadline().is_some_and(|at| at <= Instant::now()) {
                self.expire();
                continue;
            }
            if self.held_until.is_some_and(|until| until > Instant::now()) {
                return None;
            }
            self.held_until = None;
            let outbound = self.connection.try_next()?;
            self.forward(outbound);
        }
    }

    /// The transport could not write for too long (the peer stopped
    /// reading): counted as a stuck connection. Returns whether this call
    /// closed it.
    pub fn stopped_reading(&self) -> bool {
        self.connection.close_stuck()
    }

    fn push(&mut self, event: Bytes) {
        self.pending.push_back(Pending::Event(event));
    }

    /// Takes in what the hub queued for this connection.
    fn forward(&mut self, outbound: Outbound) {
        match outbound {
            Outbound::Event(envelope) => {
                // Joining again starts the conversation afresh: what was sent
                // while away is history, not a hole before this event.
                if self.rejoined(&envelope) {
                    let conversation = envelope.conversation_id().clone();
                    self.order
                        .rejoined(&conversation, Instant::now(), &mut self.steps);
                }
                self.order.accept(envelope, Instant::now(), &mut self.steps);
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
                    self.steps.push(Step::Missed(gap));
                }
            }
            Outbound::Closed(reason) => self.closed = Some(reason),
        }
        self.release_steps();
    }

    /// Whether `envelope` says this session's user joined its conversation
    /// (again): what was sent while they were away is history, not a hole.
    fn rejoined(&self, envelope: &Envelope) -> bool {
        matches!(envelope.kind(), EventKind::MemberAdded(user) if *user == self.me)
    }

    /// The reorder window passed: holes become gaps.
    fn expire(&mut self) {
        self.order.expire(&mut self.steps);
        self.release_steps();
    }

    /// Queues what `order` released, in order.
    fn release_steps(&mut self) {
        let released = std::mem::take(&mut self.steps);
        self.pending.extend(
            released
                .into_iter()
                .map(|step| Pending::Event(encode(step))),
        );
    }

    /// One page of the replay at the front of `pending`. Nothing changes
    /// until the page is in, so a cancelled call leaves the replay as it was.
    async fn replay_page(&mut self) {
        let Some(Pending::Replay {
            conversation_id,
            last,
            ..
        }) = self.pending.front()
        else {
            return;
        };
        let page = self
            .chat
            .events(&self.me, conversation_id, *last, None)
            .await;
        let Some(Pending::Replay {
            conversation_id,
            after,
            last,
        }) = self.pending.pop_front()
        else {
            unreachable!("the replay stays at the front while its page loads")
        };
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                let event = ServerEvent::Error {
                    client_id: None,
                    error: ErrorBody::from(&error),
                };
                self.pending.push_front(Pending::Event(event.encode()));
                return;
            }
        };
        // From the client's own position: live events written meanwhile are
        // skipped here, never taken as proof that earlier ones were sent.
        let mut replayed: Vec<Bytes> = Vec::with_capacity(page.entries.len());
        let mut upto = last;
        for entry in &page.entries {
            if !self.order.was_written(&conversation_id, entry.seq()) {
                replayed.push(match entry {
                    Entry::Message(message) => encode_message_event(message),
                    Entry::Change(event) => ServerEvent::from(event).encode(),
                });
            }
            upto = entry.seq();
        }
        if page.has_more {
            self.pending.push_front(Pending::Replay {
                conversation_id,
                after,
                last: upto,
            });
        } else {
            // Held live events that now follow in order come right after.
            self.order
                .replayed(&conversation_id, after, upto, &mut self.steps);
            let released = std::mem::take(&mut self.steps);
            for step in released.into_iter().rev() {
                self.pending.push_front(Pending::Event(encode(step)));
            }
        }
        for event in replayed.into_iter().rev() {
            self.pending.push_front(Pending::Event(event));
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_or_never(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The answer to a change frame: `done` with the change's seq (none when
/// nothing changed), or the error with the frame's `client_id`.
fn done(
    changed: Result<Changed>,
    conversation_id: &ConversationId,
    client_id: Option<String>,
) -> std::result::Result<Option<Bytes>, (Option<String>, ChatError)> {
    match changed {
        Ok(changed) => Ok(Some(
            ServerEvent::Done {
                client_id,
                conversation_id: conversation_id.clone(),
                seq: changed.outcome.event().map(|event| event.seq),
            }
            .encode(),
        )),
        Err(error) => Err((client_id, error)),
    }
}

/// The bytes of a released step.
fn encode(step: Step) -> Bytes {
    match step {
        Step::Write(envelope) => envelope.payload().clone(),
        Step::Missed(gap) => ServerEvent::Gap(gap).encode(),
    }
}
