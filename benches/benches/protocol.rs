//! The wire protocol's hot spots: encoding a message event (once per
//! message, shared by every recipient) and decoding a client `send` frame.

use chat_engine::protocol::{ClientFrame, encode_message_event};
use chat_engine::{ConversationId, Message, MessageId, UserId, time};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn message() -> Message {
    Message {
        client_id: Some("c-7f3a9d".to_owned()),
        ..Message::stored(
            MessageId::generate(),
            ConversationId::generate(),
            123_456,
            UserId::new("user-000042").unwrap(),
            "The quick brown fox jumps over the lazy dog; a typical chat line of about 150 bytes, \
             with \"quotes\" and an emoji \u{1f44b} to escape.",
            time::now(),
        )
    }
}

fn protocol(c: &mut Criterion) {
    let mut group = c.benchmark_group("protocol");
    group.throughput(Throughput::Elements(1));
    let message = message();
    group.bench_function("encode_message_event", |b| {
        b.iter(|| encode_message_event(std::hint::black_box(&message)));
    });
    let frame = serde_json::json!({
        "type": "send",
        "conversation_id": message.conversation_id,
        "body": message.body,
        "client_id": "c-7f3a9d",
    })
    .to_string();
    group.bench_function("decode_send_frame", |b| {
        b.iter(|| serde_json::from_str::<ClientFrame>(std::hint::black_box(&frame)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, protocol);
criterion_main!(benches);
