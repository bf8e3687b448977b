//! The task behind a [`Client`](crate::Client): one connection at a time,
//! reconnecting with backoff, and the protocol's promises kept across them.
//!
//! On every connection, before it treats anything as live, it sends
//! `resume` with each conversation's contiguous seq, then every pending
//! send. Timeline events (those with a seq) go through each conversation's
//! [`Order`]: duplicates dropped, holes held. A hole the server's replay
//! does not fill within the configured time, and a `gap` event, are
//! fetched over REST (`GET …/events?after=`), through the same order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chat_engine::protocol::{ClientFrame, EventPage, ServerEvent};
use chat_engine::{ConversationId, NewMessage, Seq};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::Event;
use crate::config::{ClientConfig, TokenProvider};
use crate::error::ClientError;
use crate::order::Order;
use crate::outbox::{Outbox, Outgoing};

/// Events of the timeline fetched over REST per request.
const FETCH_PAGE: u32 = 200;

/// What the [`Client`](crate::Client) asks of its driver.
#[derive(Debug)]
pub(crate) enum Command {
    Send {
        conversation_id: ConversationId,
        message: NewMessage,
        reply: oneshot::Sender<Outgoing>,
    },
    Follow {
        conversation_id: ConversationId,
        after: Seq,
    },
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The connection loop's state, which outlives each connection.
pub(crate) struct Driver {
    pub(crate) config: ClientConfig,
    pub(crate) tokens: Arc<dyn TokenProvider>,
    pub(crate) http: reqwest::Client,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: mpsc::Sender<Event>,
    pub(crate) orders: HashMap<ConversationId, Order>,
    /// The conversations with a hole open: what the timer looks at, so a
    /// frame costs nothing per conversation followed.
    pub(crate) holes: HashSet<ConversationId>,
    pub(crate) outbox: Outbox,
}

/// Why a connection ended.
enum Ended {
    /// The client was dropped: stop.
    ClientGone,
    /// The connection failed or closed: reconnect.
    Lost(String),
}

impl Driver {
    /// Connects, serves, reconnects with backoff, until the client is dropped.
    pub(crate) async fn run(mut self) {
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            match self.connection().await {
                Ended::ClientGone => return,
                Ended::Lost(reason) => {
                    tracing::debug!(%reason, "chat connection lost");
                    if self
                        .events
                        .send(Event::Disconnected { reason })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            // A connection that lived a while starts the backoff over.
            if started.elapsed() > self.config.backoff_max {
                attempt = 0;
            }
            let wait = self.config.backoff(attempt);
            attempt = attempt.saturating_add(1);
            // Sends made while disconnected join the outbox meanwhile.
            let sleep = tokio::time::sleep(wait);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    command = self.commands.recv() => match command {
                        // Without a socket nothing is written: nothing fails.
                        Some(command) => { let _ = self.command(command, None).await; }
                        None => return,
                    },
                }
            }
        }
    }

    /// One connection's life.
    async fn connection(&mut self) -> Ended {
        let mut socket = match self.connect().await {
            Ok(socket) => socket,
            Err(error) => return Ended::Lost(error.to_string()),
        };
        // Positions first: no live event is taken as in order before them.
        let positions: std::collections::BTreeMap<ConversationId, Seq> = self
            .orders
            .iter()
            .map(|(id, order)| (id.clone(), order.contiguous()))
            .collect();
        let mut frames = vec![ClientFrame::Resume { positions }];
        frames.extend(self.outbox.due(Instant::now()));
        for frame in frames {
            if let Err(error) = write(&mut socket, &frame).await {
                return Ended::Lost(error.to_string());
            }
        }
        if self.events.send(Event::Connected).await.is_err() {
            return Ended::ClientGone;
        }
        loop {
            let wake = self.next_wake();
            tokio::select! {
                // The caller's commands first: a `follow` made before an
                // event of its conversation was sent is applied before it.
                biased;
                command = self.commands.recv() => match command {
                    Some(command) => {
                        if let Err(error) = self.command(command, Some(&mut socket)).await {
                            return Ended::Lost(error.to_string());
                        }
                    }
                    None => {
                        let _ = socket.close(None).await;
                        return Ended::ClientGone;
                    }
                },
                frame = socket.next() => match frame {
                    Some(Ok(Frame::Text(text))) => {
                        if let Err(error) = self.receive(text.as_str()).await {
                            return match error {
                                ClientError::ClientGone => Ended::ClientGone,
                                error => Ended::Lost(error.to_string()),
                            };
                        }
                    }
                    Some(Ok(Frame::Close(close))) => {
                        return Ended::Lost(format!("closed by the server: {close:?}"));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Ended::Lost(error.to_string()),
                    None => return Ended::Lost("the connection ended".to_owned()),
                },
                () = sleep_until(wake) => {
                    if let Err(error) = self.on_time(&mut socket).await {
                        return match error {
                            ClientError::ClientGone => Ended::ClientGone,
                            error => Ended::Lost(error.to_string()),
                        };
                    }
                }
            }
        }
    }

    /// Opens the socket with a fresh token and waits for `ready`.
    async fn connect(&mut self) -> Result<Socket, ClientError> {
        let token = self.tokens.token().await.map_err(ClientError::Token)?;
        let mut request = self.config.socket_url().into_client_request()?;
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}")
                .parse()
                .map_err(|_| ClientError::Token("not a header value".to_owned()))?,
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        loop {
            match socket.next().await {
                Some(Ok(Frame::Text(text))) => {
                    let event: serde_json::Value = serde_json::from_str(text.as_str())?;
                    if event["type"] == "ready" {
                        return Ok(socket);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Err(ClientError::Closed),
            }
        }
    }

    /// Does what the client asked; a send is written at once when connected.
    async fn command(
        &mut self,
        command: Command,
        socket: Option<&mut Socket>,
    ) -> Result<(), ClientError> {
        match command {
            Command::Send {
                conversation_id,
                message,
                reply,
            } => {
                let (outgoing, frame) = self.outbox.add(conversation_id, message);
                let _ = reply.send(outgoing);
                if let Some(socket) = socket {
                    write(socket, &frame).await?;
                }
            }
            Command::Follow {
                conversation_id,
                after,
            } => {
                // Never back: what was handed on stays handed on, once.
                if self
                    .orders
                    .get(&conversation_id)
                    .is_some_and(|order| order.contiguous() >= after)
                {
                    return Ok(());
                }
                self.orders
                    .insert(conversation_id.clone(), Order::after(after));
                self.holes.remove(&conversation_id);
                if let Some(socket) = socket {
                    let positions = [(conversation_id, after)].into_iter().collect();
                    write(socket, &ClientFrame::Resume { positions }).await?;
                }
            }
        }
        Ok(())
    }

    /// One frame from the server.
    async fn receive(&mut self, text: &str) -> Result<(), ClientError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let conversation = conversation_of(&value);
        let event = match serde_json::from_value::<ServerEvent>(value) {
            Ok(event) => event,
            Err(error) => {
                // A newer server's event this client does not know.
                tracing::debug!(%error, "unknown event skipped");
                return Ok(());
            }
        };
        match event {
            ServerEvent::Ack {
                client_id: Some(client_id),
                message,
            } => self.outbox.acked(&client_id, message),
            ServerEvent::Error {
                client_id: Some(client_id),
                error,
            } => self.outbox.refused(&client_id, error, Instant::now()),
            ServerEvent::Gap(gap) => {
                let ids: Vec<ConversationId> = match gap.conversation_id {
                    Some(id) => vec![id],
                    None => self.orders.keys().cloned().collect(),
                };
                for id in ids {
                    self.fetch(&id).await?;
                }
            }
            event => match (event.seq(), conversation) {
                (Some(seq), Some(id)) => {
                    // A conversation not followed starts where the client
                    // first hears of it: its earlier events are history,
                    // not news (`Client::follow` starts one earlier).
                    if !self.orders.contains_key(&id) {
                        self.orders.insert(id.clone(), Order::after(seq - 1));
                    }
                    let order = self.orders.get_mut(&id).expect("inserted above");
                    let ready = order.accept(seq, event, Instant::now());
                    self.track_hole(id);
                    self.hand_on(ready).await?;
                }
                _ => self.emit(Event::Live(event)).await?,
            },
        }
        Ok(())
    }

    /// Holes open longer than the timeout are fetched; refused sends due
    /// again are sent.
    async fn on_time(&mut self, socket: &mut Socket) -> Result<(), ClientError> {
        let now = Instant::now();
        let stale: Vec<ConversationId> = self
            .holes
            .iter()
            .filter(|id| {
                self.orders
                    .get(*id)
                    .and_then(Order::hole_since)
                    .is_some_and(|since| now >= since + self.config.hole_timeout)
            })
            .cloned()
            .collect();
        for id in stale {
            self.fetch(&id).await?;
        }
        for frame in self.outbox.due(now) {
            write(socket, &frame).await?;
        }
        Ok(())
    }

    /// When [`Driver::on_time`] has something to do next.
    fn next_wake(&self) -> Option<Instant> {
        let hole = self
            .holes
            .iter()
            .filter_map(|id| self.orders.get(id).and_then(Order::hole_since))
            .min()
            .map(|since| since + self.config.hole_timeout);
        match (hole, self.outbox.next_retry()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fetches the timeline of `id` after its contiguous seq over REST
    /// and hands it on through its order.
    async fn fetch(&mut self, id: &ConversationId) -> Result<(), ClientError> {
        let token = self.tokens.token().await.map_err(ClientError::Token)?;
        loop {
            let after = self.orders.get(id).map_or(0, Order::contiguous);
            let url = format!(
                "{}/conversations/{id}/events?after={after}&limit={FETCH_PAGE}",
                self.config.base_url
            );
            let response = self.http.get(url).bearer_auth(&token).send().await?;
            if !response.status().is_success() {
                return Err(ClientError::Refused(response.status().as_u16()));
            }
            let page: EventPage = response.json().await?;
            let now = Instant::now();
            let order = self
                .orders
                .entry(id.clone())
                .or_insert_with(|| Order::after(after));
            let mut ready = Vec::new();
            for event in page.events {
                if let Some(seq) = event.seq() {
                    ready.extend(order.accept(seq, event, now));
                }
            }
            self.track_hole(id.clone());
            self.hand_on(ready).await?;
            if !page.has_more {
                return Ok(());
            }
        }
    }

    /// Notes whether `id` has a hole open after its order moved.
    fn track_hole(&mut self, id: ConversationId) {
        if self.orders.get(&id).and_then(Order::hole_since).is_some() {
            self.holes.insert(id);
        } else {
            self.holes.remove(&id);
        }
    }

    async fn hand_on(&self, ready: Vec<ServerEvent>) -> Result<(), ClientError> {
        for event in ready {
            self.emit(Event::Timeline(event)).await?;
        }
        Ok(())
    }

    async fn emit(&self, event: Event) -> Result<(), ClientError> {
        self.events
            .send(event)
            .await
            .map_err(|_| ClientError::ClientGone)
    }
}

/// The conversation a timeline event belongs to, from its JSON (a message
/// event carries it inside the message).
fn conversation_of(value: &serde_json::Value) -> Option<ConversationId> {
    let id = value
        .get("conversation_id")
        .or_else(|| value.get("message")?.get("conversation_id"))?
        .as_str()?;
    ConversationId::new(id).ok()
}

async fn write(socket: &mut Socket, frame: &ClientFrame) -> Result<(), ClientError> {
    let text = serde_json::to_string(frame)?;
    socket.send(Frame::text(text)).await?;
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
