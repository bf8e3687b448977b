//! A client of the chat server for bots, services and tests, over its
//! WebSocket and REST API, that keeps the server's promises on the
//! client's side:
//!
//! - **Every stored event once, in order.** Per conversation it keeps the
//!   highest *contiguous* seq; a duplicate is dropped, an event after a
//!   hole waits until the hole is filled (by the server's replay, or
//!   fetched over REST), and every (re)connection resumes from the
//!   contiguous seqs before anything is taken as live.
//! - **Sends retried until acknowledged.** Each send gets its `client_id`
//!   when it is made and is sent again with it after every reconnect (the
//!   server stores a `client_id` once) until it is acknowledged or refused
//!   for good; [`Outgoing`] tells which. Pending sends live in memory: a
//!   process that restarts gives its sends its own `client_id`s to keep
//!   them idempotent.
//! - **Reconnects by itself**, with exponential backoff and full jitter,
//!   asking its [`TokenProvider`] for a token each time (so an expired
//!   token is replaced).
//!
//! ```no_run
//! # async fn example() {
//! use chat_client::{Client, ClientConfig, Event, StaticToken};
//! use chat_engine::protocol::ServerEvent;
//!
//! let mut bot = Client::start(ClientConfig::new("http://127.0.0.1:8080"), StaticToken("echo-bot".into()));
//! while let Some(event) = bot.next_event().await {
//!     if let Event::Timeline(ServerEvent::Message { message }) = event {
//!         if message.sender.as_str() != "echo-bot" {
//!             let reply = chat_engine::NewMessage::text(format!("you said: {}", message.body));
//!             bot.send(&message.conversation_id, reply).await;
//!         }
//!     }
//! }
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod driver;
mod error;
mod order;
mod outbox;

use std::collections::HashMap;
use std::sync::Arc;

use chat_engine::protocol::ServerEvent;
use chat_engine::{ConversationId, NewMessage, Seq};
use tokio::sync::{mpsc, oneshot};

pub use config::{ClientConfig, StaticToken, TokenProvider};
pub use error::ClientError;
pub use outbox::{Outgoing, SendState};

use driver::{Command, Driver};
use outbox::Outbox;

/// Events the client holds for a caller who reads slowly; past it the
/// client stops reading its socket (the server then records a gap, which
/// the client fetches later), so memory stays bounded.
const EVENT_QUEUE: usize = 1_024;

/// What the client hands on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A timeline event (a message, an edit, a reaction, a membership
    /// change…): per conversation in seq order, each once, none skipped
    /// from where the client started following it.
    Timeline(ServerEvent),
    /// An event outside the timeline (typing, read marks, presence, your
    /// preferences, a deleted group): as it comes.
    Live(ServerEvent),
    /// A connection is up: positions and pending sends were sent first.
    Connected,
    /// The connection went down; the client reconnects by itself.
    Disconnected {
        /// What happened.
        reason: String,
    },
}

/// A client of one user: created with [`Client::start`], it connects and
/// reconnects in the background until dropped.
#[derive(Debug)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<Event>,
    base_url: String,
    tokens: Arc<dyn TokenProvider>,
    http: reqwest::Client,
}

impl Client {
    /// Starts the client's task (needs a tokio runtime): it connects to
    /// `config.base_url` with a token from `tokens` and keeps connected.
    pub fn start(config: ClientConfig, tokens: impl TokenProvider) -> Self {
        let (commands, commands_in) = mpsc::unbounded_channel();
        let (events_out, events) = mpsc::channel(EVENT_QUEUE);
        let tokens: Arc<dyn TokenProvider> = Arc::new(tokens);
        let http = reqwest::Client::new();
        let base_url = config.base_url.clone();
        let driver = Driver {
            config,
            tokens: Arc::clone(&tokens),
            http: http.clone(),
            commands: commands_in,
            events: events_out,
            orders: HashMap::new(),
            holes: std::collections::HashSet::new(),
            outbox: Outbox::default(),
        };
        tokio::spawn(driver.run());
        Self {
            commands,
            events,
            base_url,
            tokens,
            http,
        }
    }

    /// `GET` of a REST path (`/conversations/{cid}`, `/users?q=…`) as this
    /// client's user: the JSON answer.
    ///
    /// # Errors
    /// [`ClientError::Token`], [`ClientError::Http`], [`ClientError::Refused`]
    /// for a status that is not a success, [`ClientError::Json`].
    pub async fn get(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let token = self.tokens.token().await.map_err(ClientError::Token)?;
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(ClientError::Refused(response.status().as_u16()));
        }
        Ok(response.json().await?)
    }

    /// The next event; `None` once the client's task has ended.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Sends `message` to `conversation_id`, now or when connected, and
    /// again after every reconnect until the server acknowledges it (a
    /// `client_id` is given when the message has none).
    ///
    /// # Panics
    /// When the client's task has ended (it ends only when the client is
    /// dropped, or when its runtime shuts down).
    pub async fn send(&self, conversation_id: &ConversationId, message: NewMessage) -> Outgoing {
        let (reply, outgoing) = oneshot::channel();
        let command = Command::Send {
            conversation_id: conversation_id.clone(),
            message,
            reply,
        };
        self.commands
            .send(command)
            .expect("the client's task runs while the client lives");
        outgoing
            .await
            .expect("the client's task answers every send")
    }

    /// Follows `conversation_id` from after `after`: every timeline event
    /// after it is handed on, replayed first. Without it, a conversation is
    /// followed from its first event the client receives. A conversation
    /// already handed on past `after` stays where it is (nothing is handed
    /// on twice): follow before its events come.
    pub fn follow(&self, conversation_id: ConversationId, after: Seq) {
        let _ = self.commands.send(Command::Follow {
            conversation_id,
            after,
        });
    }
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
