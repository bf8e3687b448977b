//! A member's preferences over REST: each field changes alone, the list
//! honours archive and pins, and bad input is refused with a clear error
//! that changes nothing.

mod common;

use chat_engine::{ChatConfig, RateLimits};
use common::TestServer;
use serde_json::{Value, json};

fn titles(page: &Value) -> Vec<String> {
    page["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|summary| summary["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn preferences_change_field_by_field_and_shape_the_list() {
    let server = TestServer::start().await;
    let quiet = server.group("alice", &["bob"]).await;
    let path = format!("/conversations/{quiet}/preferences");
    let until = (chrono::Utc::now() + chrono::Duration::hours(8)).to_rfc3339();
    let (status, muted) = server
        .patch(
            "alice",
            &path,
            json!({ "muted_until": until, "notifications": "mentions" }),
        )
        .await;
    assert_eq!(status, 200, "{muted}");
    assert_eq!(muted["notifications"], "mentions");
    assert!(muted["muted_until"].is_string());
    assert_eq!(muted["archived"], false);

    let (status, archived) = server
        .patch("alice", &path, json!({ "archived": true }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(archived["notifications"], "mentions", "other fields stay");
    assert_eq!(archived["archived"], true);

    let (_, main) = server.get("alice", "/conversations").await;
    assert!(titles(&main).is_empty(), "{main}");
    let (_, listed) = server.get("alice", "/conversations?archived=true").await;
    assert_eq!(listed["conversations"][0]["id"], quiet.as_str());
    assert_eq!(listed["conversations"][0]["preferences"]["archived"], true);
    // Bob's list is his own.
    let (_, bobs) = server.get("bob", "/conversations").await;
    assert_eq!(bobs["conversations"][0]["preferences"]["archived"], false);

    let (status, unmuted) = server
        .patch("alice", &path, json!({ "muted_until": null }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(unmuted["muted_until"], Value::Null);
    assert_eq!(unmuted["archived"], true);
}

#[tokio::test]
async fn bad_preferences_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let chat = server.group("alice", &["bob"]).await;
    let path = format!("/conversations/{chat}/preferences");
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    for (body, why) in [
        (json!({ "notifications": "loud" }), "an unknown level"),
        (json!({ "muted_until": past }), "a mute ending in the past"),
        (json!({ "muted_until": "tomorrow" }), "not a time"),
        (json!({ "starred": true }), "an unknown field"),
        (json!({}), "nothing to change"),
        (json!([null, null]), "an array, not an object"),
        (json!([true]), "an array of one field"),
    ] {
        let (status, error) = server.patch("alice", &path, body).await;
        assert_eq!(status, 400, "{why}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (status, _) = server
        .patch("mallory", &path, json!({ "pinned": true }))
        .await;
    assert_eq!(status, 403, "not a member");
    let (status, _) = server
        .patch(
            "alice",
            "/conversations/nope/preferences",
            json!({ "pinned": true }),
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = server.get("alice", "/conversations").await;
    assert_eq!(
        list["conversations"][0]["preferences"],
        json!({
            "notifications": "all", "muted_until": null, "archived": false, "pinned": false
        })
    );
}

#[tokio::test]
async fn pins_lead_the_list_up_to_the_limit() {
    let config = ChatConfig::default().with_rates(RateLimits::none());
    let server = TestServer::start_configured(config, chat_axum::WsConfig::default()).await;
    let mut groups = Vec::new();
    for _ in 0..=chat_engine::MAX_PINNED {
        groups.push(server.group("alice", &["bob"]).await);
    }
    for group in &groups[..chat_engine::MAX_PINNED] {
        let (status, pinned) = server
            .patch(
                "alice",
                &format!("/conversations/{group}/preferences"),
                json!({ "pinned": true }),
            )
            .await;
        assert_eq!(status, 200, "{pinned}");
    }
    let last = &groups[chat_engine::MAX_PINNED];
    let (status, error) = server
        .patch(
            "alice",
            &format!("/conversations/{last}/preferences"),
            json!({ "pinned": true }),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unpin")
    );
    let (_, first) = server.get("alice", "/conversations?limit=1").await;
    let conversations = first["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), chat_engine::MAX_PINNED + 1);
    assert_eq!(conversations[chat_engine::MAX_PINNED]["id"], last.as_str());
}

#[tokio::test]
async fn every_device_of_the_member_and_only_theirs_learns_the_change() {
    let server = TestServer::start().await;
    let chat = server.group("alice", &["bob"]).await;
    let mut phone = server.ws("alice").await;
    let mut laptop = server.ws("alice").await;
    let mut bob = server.ws("bob").await;
    let path = format!("/conversations/{chat}/preferences");
    let (status, _) = server
        .patch("alice", &path, json!({ "pinned": true }))
        .await;
    assert_eq!(status, 200);
    for device in [&mut phone, &mut laptop] {
        let event = device.next_event().await;
        assert_eq!(event["type"], "preferences_changed", "{event}");
        assert_eq!(event["conversation_id"], chat.as_str());
        assert_eq!(event["preferences"]["pinned"], true);
    }
    // Bob's next event is the message sent after the change: nothing of
    // alice's preferences came before it.
    server.send("alice", &chat, "after").await;
    let next = bob.next_event().await;
    assert_eq!(next["type"], "message", "{next}");
}
