//! Property tests of the client frame decoder: any text, and JSON shaped like
//! real frames with wrong types, huge numbers and deep nesting, decodes to a
//! frame or to an error. Never a panic, and what decodes re-encodes to the
//! same frame.

use chat_engine::protocol::ClientFrame;
use proptest::prelude::*;
use serde_json::Value;

/// Keys and tags of real frames, so the generated objects get past the tag.
const KEYS: [&str; 8] = [
    "type",
    "conversation_id",
    "body",
    "client_id",
    "positions",
    "seq",
    "kind",
    "payload",
];
const TAGS: [&str; 5] = ["send", "typing", "resume", "read", "unknown"];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(TAGS.as_slice()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[\\x00-\\x1f'\"%\\\\]{0,8}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(KEYS.as_slice()).prop_map(str::to_owned),
                    ".{0,12}"
                ],
                inner,
                0..8
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn decode(text: &str) -> Option<ClientFrame> {
    serde_json::from_str::<ClientFrame>(text).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,256}") {
        let _ = decode(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<ClientFrame>(&bytes);
    }

    #[test]
    fn frame_shaped_json_decodes_or_errs_and_round_trips(value in json_value()) {
        let text = value.to_string();
        if let Some(frame) = decode(&text) {
            let again = serde_json::to_string(&frame).unwrap();
            prop_assert_eq!(decode(&again), Some(frame));
        }
    }

    #[test]
    fn send_frames_with_any_fields_decode_or_err(
        tag in proptest::sample::select(TAGS.as_slice()),
        conversation in json_leaf(),
        body in json_leaf(),
        client_id in json_leaf(),
    ) {
        let text = serde_json::json!({
            "type": tag, "conversation_id": conversation, "body": body, "client_id": client_id,
        })
        .to_string();
        if let Some(ClientFrame::Send { body: decoded, .. }) = decode(&text) {
            prop_assert_eq!(Some(decoded.as_str()), body.as_str());
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!(
        "{{\"type\":\"resume\",\"positions\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(decode(&text).is_none());
}
