//! An example bot. A bot is an ordinary user whose messages code writes.
//! Inside the server, [`EchoBot`] watches stored messages through
//! [`SendHooks::after_send`], and [`run`] answers each one sent to the bot in
//! a direct conversation, through the same [`ChatService::send`] as anyone.
//! As a process of its own (the `echo-bot` binary), [`answer_over`] does the
//! same over the network through a [`chat_client::Client`].
//!
//! ```no_run
//! # async fn example(store: std::sync::Arc<dyn chat_engine::Store>, bus: std::sync::Arc<dyn chat_engine::Bus>) -> chat_engine::Result<()> {
//! use chat_engine::{ChatConfig, ChatService, UserId};
//!
//! let bot = UserId::new("echo-bot")?;
//! let (hooks, inbox) = echo_bot::EchoBot::new(bot.clone());
//! let chat = ChatService::new_with_hooks(store, bus, ChatConfig::default(), hooks).await?;
//! tokio::spawn(echo_bot::run(chat.clone(), bot, inbox));
//! // Anyone who opens a direct conversation with "echo-bot" gets answers.
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use chat_engine::{
    ChatError, ChatService, Content, ConversationKind, Message, NewMessage, SendHooks, UserId,
};
use tokio::sync::mpsc;

/// Messages waiting for an answer; beyond it new ones are left unanswered
/// (and logged), so a flood cannot grow the bot's memory.
const INBOX: usize = 1_024;

/// The hook half of the bot: hands messages addressed to it to [`run`].
#[derive(Debug)]
pub struct EchoBot {
    id: UserId,
    inbox: mpsc::Sender<Message>,
}

impl EchoBot {
    /// The hooks to give the service, and the inbox to give [`run`].
    #[must_use]
    pub fn new(id: UserId) -> (Arc<Self>, mpsc::Receiver<Message>) {
        let (inbox, receiver) = mpsc::channel(INBOX);
        (Arc::new(Self { id, inbox }), receiver)
    }
}

#[async_trait::async_trait]
impl SendHooks for EchoBot {
    async fn after_send(&self, message: Message, members: Vec<UserId>) {
        let for_the_bot =
            message.sender != self.id && members.len() == 2 && members.contains(&self.id);
        if for_the_bot && self.inbox.try_send(message).is_err() {
            tracing::warn!(bot = %self.id, "bot inbox full or closed; a message is left unanswered");
        }
    }
}

/// Answers every message in `inbox` that was sent to `bot` in a direct
/// conversation, until the service's hooks are dropped.
pub async fn run(chat: ChatService, bot: UserId, mut inbox: mpsc::Receiver<Message>) {
    while let Some(message) = inbox.recv().await {
        let direct = chat
            .conversation(&bot, &message.conversation_id)
            .await
            .is_ok_and(|conversation| conversation.kind == ConversationKind::Direct);
        if !direct {
            continue;
        }
        // Keyed by the message answered: a retried answer is stored once.
        let reply = reply(&message.body).with_client_id(format!("reply-{}", message.id));
        for attempt in 1..=ATTEMPTS {
            match chat
                .send(&bot, &message.conversation_id, reply.clone())
                .await
            {
                Ok(_) => break,
                Err(error) if error.is_retryable() && attempt < ATTEMPTS => {
                    let wait = match error {
                        ChatError::RateLimited { retry_after, .. } => retry_after,
                        _ => Duration::from_secs(1),
                    };
                    tokio::time::sleep(wait).await;
                }
                Err(error) => {
                    tracing::warn!(bot = %bot, error = %error, "the bot could not answer");
                    break;
                }
            }
        }
    }
}

/// Tries per answer when the service says "retry" (rate limit, outage).
const ATTEMPTS: u32 = 3;

/// The bot's message for `body`: [`answer`]'s text, and for `/help` a
/// `buttons` content whose `choices` are commands to try (the standalone
/// page sends a choice when it is clicked).
///
/// ```
/// let help = echo_bot::reply("/help");
/// let content = help.content.expect("buttons");
/// assert_eq!(content.kind, "buttons");
/// assert_eq!(content.payload["choices"][0], "/upper hello");
/// assert!(echo_bot::reply("hi").content.is_none());
/// ```
#[must_use]
pub fn reply(body: &str) -> NewMessage {
    let text = NewMessage::text(answer(body));
    if command(body).0 != "/help" {
        return text;
    }
    text.with_content(Content::new(
        "buttons",
        serde_json::json!({ "choices": ["/upper hello", "/count one two three"] }),
    ))
}

/// What the bot says to `body`: a command's result, or the text echoed.
///
/// ```
/// assert_eq!(echo_bot::answer("hello"), "echo: hello");
/// assert!(echo_bot::answer("/help").contains("/upper"));
/// assert_eq!(echo_bot::answer("/upper shout"), "SHOUT");
/// ```
#[must_use]
pub fn answer(body: &str) -> String {
    match command(body) {
        ("/help", _) => "I echo what you say. Commands: /help, /upper TEXT, /count TEXT".to_owned(),
        ("/upper", text) => text.to_uppercase(),
        ("/count", text) => format!(
            "{} characters, {} words",
            text.chars().count(),
            text.split_whitespace().count()
        ),
        _ => format!("echo: {}", body.trim()),
    }
}

/// The first word of `body` and the rest: `("/upper", "shout")`.
fn command(body: &str) -> (&str, &str) {
    let body = body.trim();
    body.split_once(' ').unwrap_or((body, ""))
}

/// The bot as a process of its own: answers over the network, through
/// `client` (a [`chat_client::Client`] of the bot's user), every message
/// sent to `bot` in a direct conversation, with the same replies as
/// [`run`]. Each answer's `client_id` is made from the message's id, so a
/// message handed on again after a reconnect is answered once. Returns when
/// the client's task ends.
pub async fn answer_over(mut client: chat_client::Client, bot: UserId) {
    use chat_client::Event;
    use chat_engine::protocol::ServerEvent;

    // Whether each conversation is a direct one, asked once.
    let mut direct: std::collections::HashMap<chat_engine::ConversationId, bool> =
        std::collections::HashMap::new();
    while let Some(event) = client.next_event().await {
        let Event::Timeline(ServerEvent::Message { message }) = event else {
            continue;
        };
        if message.sender == bot {
            continue;
        }
        let id = message.conversation_id.clone();
        let is_direct = match direct.get(&id) {
            Some(known) => *known,
            None => match client.get(&format!("/conversations/{id}")).await {
                Ok(conversation) => {
                    let known = conversation["kind"] == "direct";
                    direct.insert(id.clone(), known);
                    known
                }
                Err(error) => {
                    tracing::warn!(bot = %bot, error = %error, "the bot could not read a conversation");
                    continue;
                }
            },
        };
        if is_direct {
            let reply = reply(&message.body).with_client_id(format!("reply-{}", message.id));
            // The client sends it (again after reconnects) until stored.
            client.send(&id, reply).await;
        }
    }
}
