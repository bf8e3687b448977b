//! The conversation list pages by cursor over REST: however many
//! conversations others make a user part of, every one of them can be
//! reached by following `next`, and a bad cursor or limit is a 400.

mod common;

use chat_engine::{ChatConfig, RateLimits};
use common::TestServer;
use serde_json::{Value, json};

#[tokio::test]
async fn every_conversation_is_reachable_by_following_next() {
    let config = ChatConfig::default().with_rates(RateLimits::none());
    let server = TestServer::start_configured(config, chat_axum::WsConfig::default()).await;
    let real = server.direct("victim", "friend").await;
    server.send("friend", &real, "the one that matters").await;
    // Then a flood of groups the victim is put in, all newer.
    for i in 0..12 {
        let (status, _) = server
            .post(
                "spammer",
                "/conversations",
                json!({"title": format!("spam {i}"), "members": ["victim"]}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/conversations?limit=5".to_owned();
    loop {
        let (status, page) = server.get("victim", &path).await;
        assert_eq!(status, 200, "{page}");
        let conversations = page["conversations"].as_array().unwrap();
        assert!(conversations.len() <= 5);
        seen.extend(
            conversations
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        if page["has_more"] == json!(false) {
            assert!(page.get("next").is_none(), "{page}");
            break;
        }
        let next = page["next"].as_str().unwrap();
        path = format!("/conversations?limit=5&before={}", urlencode(next));
    }
    assert_eq!(seen.len(), 13, "each conversation once: {seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 13);
    assert_eq!(
        seen.last(),
        Some(&real),
        "the oldest activity comes last, still there"
    );

    let (status, first) = server.get("victim", "/conversations").await;
    assert_eq!(status, 200);
    assert_eq!(
        first["conversations"].as_array().unwrap().len(),
        13,
        "one default page holds them"
    );
    assert_eq!(first["has_more"], false);
}

#[tokio::test]
async fn bad_cursors_and_limits_are_refused() {
    let server = TestServer::start().await;
    for path in [
        "/conversations?before=nonsense",
        "/conversations?before=12.",
        "/conversations?limit=0",
        "/conversations?limit=-3",
    ] {
        let (status, body): (u16, Value) = server.get("alice", path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let code = body["error"]["code"].as_str().unwrap();
        assert!(["invalid", "bad_request"].contains(&code), "{body}");
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
