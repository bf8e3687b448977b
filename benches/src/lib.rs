//! Criterion benchmarks of the chat library's hot paths live in `benches/`:
//! `fanout`, `redis_bus`, `write_path`, `history`, `protocol`. Run them with
//! `cargo bench -p chat-benches`; BENCHMARKS.md holds the numbers. This
//! library holds what several of them share.

use chat_engine::protocol::encode_message_event;
use chat_engine::{ConversationId, Envelope, Message, MessageId, UserId, time};

/// The event of one 150-byte message from the first recipient, encoded once,
/// addressed to `recipients`.
///
/// # Panics
/// When `recipients` is empty.
#[must_use]
pub fn message_envelope(recipients: Vec<UserId>) -> Envelope {
    let message = Message::stored(
        MessageId::generate(),
        ConversationId::generate(),
        1,
        recipients[0].clone(),
        "x".repeat(150),
        time::now(),
    );
    let payload = encode_message_event(&message);
    Envelope::new(
        recipients,
        message.conversation_id,
        Some(1),
        chat_engine::EventKind::Message,
        payload,
    )
}
