//! Sends not yet acknowledged. Each gets its `client_id` when the caller
//! sends, and is sent again with it after every reconnect (and after a
//! retryable refusal) until the server answers `ack` (stored: the server
//! answers a repeat with the stored message, so a retry never stores twice)
//! or refuses it for good. Its state is a `watch` the caller can await.

use std::collections::BTreeMap;
use std::time::Duration;

use chat_engine::protocol::{ClientFrame, ErrorBody};
use chat_engine::{ConversationId, Message, NewMessage};
use tokio::sync::watch;
use tokio::time::Instant;

/// Wait before sending again a message the server refused as retryable
/// (`unavailable`, `rate_limited`).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Where a send is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendState {
    /// Not acknowledged yet: being sent, or waiting to be sent again.
    Pending,
    /// Stored, as the server acknowledged it.
    Sent(Box<Message>),
    /// Refused for good (`forbidden`, `invalid`, …): the server's reason.
    Failed(ErrorBody),
}

/// A send the client keeps trying: its `client_id` and its state.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The idempotency key the message is sent with.
    pub client_id: String,
    state: watch::Receiver<SendState>,
}

impl Outgoing {
    /// The state now.
    #[must_use]
    pub fn state(&self) -> SendState {
        self.state.borrow().clone()
    }

    /// Waits until the send is stored or refused for good; its final state
    /// (`Pending` only when the client is gone).
    pub async fn settled(&mut self) -> SendState {
        let settled = self
            .state
            .wait_for(|state| !matches!(state, SendState::Pending))
            .await;
        settled.map_or(SendState::Pending, |state| state.clone())
    }
}

/// One pending send.
#[derive(Debug)]
struct Item {
    conversation_id: ConversationId,
    message: NewMessage,
    state: watch::Sender<SendState>,
    /// Not before this (after a retryable refusal).
    retry_at: Option<Instant>,
}

/// The pending sends, by `client_id`.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    items: BTreeMap<String, Item>,
}

impl Outbox {
    /// Takes `message` for `conversation_id`, giving it a `client_id` if it
    /// has none; the caller's handle, and the frame to send now.
    pub(crate) fn add(
        &mut self,
        conversation_id: ConversationId,
        mut message: NewMessage,
    ) -> (Outgoing, ClientFrame) {
        let client_id = message
            .client_id
            .get_or_insert_with(|| uuid::Uuid::now_v7().to_string())
            .clone();
        let (state, receiver) = watch::channel(SendState::Pending);
        let item = Item {
            conversation_id,
            message,
            state,
            retry_at: None,
        };
        let frame = item.frame();
        self.items.insert(client_id.clone(), item);
        let outgoing = Outgoing {
            client_id,
            state: receiver,
        };
        (outgoing, frame)
    }

    /// Every pending send due by `now`: what a fresh connection sends first.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<ClientFrame> {
        self.items
            .values_mut()
            .filter(|item| item.retry_at.is_none_or(|at| at <= now))
            .map(|item| {
                item.retry_at = None;
                item.frame()
            })
            .collect()
    }

    /// The next time a refused send is due again.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.items.values().filter_map(|item| item.retry_at).min()
    }

    /// The server stored the send of `client_id`.
    pub(crate) fn acked(&mut self, client_id: &str, message: Message) {
        if let Some(item) = self.items.remove(client_id) {
            item.state.send_replace(SendState::Sent(Box::new(message)));
        }
    }

    /// The server refused the send of `client_id`: again later when it may
    /// succeed unchanged, else for good.
    pub(crate) fn refused(&mut self, client_id: &str, error: ErrorBody, now: Instant) {
        if error.retryable {
            if let Some(item) = self.items.get_mut(client_id) {
                item.retry_at = Some(now + RETRY_AFTER);
            }
        } else if let Some(item) = self.items.remove(client_id) {
            item.state.send_replace(SendState::Failed(error));
        }
    }
}

impl Item {
    fn frame(&self) -> ClientFrame {
        let message = self.message.clone();
        ClientFrame::Send {
            conversation_id: self.conversation_id.clone(),
            body: message.body,
            content: message.content,
            client_id: message.client_id,
            reply_to: message.reply_to,
            thread_root: message.thread_root,
            mentions: message.mentions,
        }
    }
}
