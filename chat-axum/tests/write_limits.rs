//! Every write is rate limited per user with its own setting: creating
//! conversations, membership changes, read marks, typing notices, edits and
//! deletes, reactions, pins and renames, moderation, reports, over
//! REST (429 with `Retry-After`) and over the socket (`error` frames); typing
//! is throttled per conversation, and read marks that do not move are told
//! to nobody.

mod common;

use std::time::Duration;

use chat_engine::{Action, ChatConfig, Rate, RateLimits};
use common::TestServer;
use serde_json::{Value, json};

/// One write of each kind allowed at once, one a minute after that.
fn tight() -> ChatConfig {
    let once = Some(Rate::per_minute(1, 1));
    ChatConfig::default()
        .with_rates(RateLimits::none())
        .with_rate(Action::Create, once)
        .with_rate(Action::Membership, once)
        .with_rate(Action::Read, once)
        .with_rate(Action::Typing, once)
        .with_rate(Action::Edit, once)
        .with_rate(Action::React, once)
        .with_rate(Action::Manage, once)
        .with_rate(Action::Moderate, once)
        .with_rate(Action::Report, once)
}

async fn server(config: ChatConfig) -> TestServer {
    TestServer::start_configured(config, chat_axum::WsConfig::default()).await
}

/// A raw REST call: status, `Retry-After`, body.
async fn call(
    server: &TestServer,
    method: reqwest::Method,
    user: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(user);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn assert_limited((status, retry_after, body): &(u16, Option<String>, Value), what: &str) {
    assert_eq!(*status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(body["error"]["retryable"], true, "{body}");
    let seconds: u64 = retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains(what),
        "{body}"
    );
}

#[tokio::test]
async fn creating_conversations_is_limited_per_user() {
    let server = server(tight()).await;
    let group = json!({"title": "spam", "members": ["victim"]});
    let first = call(
        &server,
        reqwest::Method::POST,
        "spammer",
        "/conversations",
        Some(group.clone()),
    )
    .await;
    assert_eq!(first.0, 201, "{}", first.2);
    let second = call(
        &server,
        reqwest::Method::POST,
        "spammer",
        "/conversations",
        Some(group.clone()),
    )
    .await;
    assert_limited(&second, "new conversations");
    let room = json!({"title": "spam room", "public": true});
    let third = call(
        &server,
        reqwest::Method::POST,
        "spammer",
        "/conversations",
        Some(room),
    )
    .await;
    assert_limited(&third, "new conversations");
    let direct = call(
        &server,
        reqwest::Method::PUT,
        "spammer",
        "/direct/victim",
        None,
    )
    .await;
    assert_limited(&direct, "new conversations");

    let (_, _, listed) = call(
        &server,
        reqwest::Method::GET,
        "victim",
        "/conversations",
        None,
    )
    .await;
    assert_eq!(
        listed["conversations"].as_array().unwrap().len(),
        1,
        "refused creations stored nothing: {listed}"
    );
    let other = call(
        &server,
        reqwest::Method::PUT,
        "bystander",
        "/direct/victim",
        None,
    )
    .await;
    assert_eq!(other.0, 200, "other users are not slowed: {}", other.2);
}

#[tokio::test]
async fn membership_changes_are_limited_per_user() {
    let config = tight().with_rate(Action::Create, None);
    let server = server(config).await;
    let (status, _, group) = call(
        &server,
        reqwest::Method::POST,
        "alice",
        "/conversations",
        Some(json!({"title": "g", "members": ["bob"]})),
    )
    .await;
    assert_eq!(status, 201);
    let cid = group["id"].as_str().unwrap().to_owned();
    let members = format!("/conversations/{cid}/members");
    let added = call(
        &server,
        reqwest::Method::POST,
        "alice",
        &members,
        Some(json!({"user_id": "carol"})),
    )
    .await;
    assert_eq!(added.0, 201, "{}", added.2);
    let refused = call(
        &server,
        reqwest::Method::POST,
        "alice",
        &members,
        Some(json!({"user_id": "dave"})),
    )
    .await;
    assert_limited(&refused, "membership changes");
    let leave = call(
        &server,
        reqwest::Method::DELETE,
        "alice",
        &format!("{members}/alice"),
        None,
    )
    .await;
    assert_limited(&leave, "membership changes");

    let (_, _, room) = call(
        &server,
        reqwest::Method::POST,
        "alice",
        "/conversations",
        Some(json!({"title": "room", "public": true})),
    )
    .await;
    let room = room["id"].as_str().unwrap().to_owned();
    let join = |user: &'static str| {
        let server = &server;
        let room = room.clone();
        async move {
            call(
                server,
                reqwest::Method::POST,
                user,
                &format!("/rooms/{room}/join"),
                None,
            )
            .await
        }
    };
    assert_eq!(join("erin").await.0, 201);
    assert_limited(&join("erin").await, "membership changes");

    // The same limit holds over the socket, answered with an error frame.
    let mut frank = server.ws("frank").await;
    assert_eq!(join("frank").await.0, 201);
    frank
        .send(json!({"type": "leave", "conversation_id": room}))
        .await;
    let error = frank.next_of("error").await;
    assert_eq!(error["error"]["code"], "rate_limited", "{error}");
    let (_, _, conversation) = call(
        &server,
        reqwest::Method::GET,
        "frank",
        &format!("/conversations/{room}"),
        None,
    )
    .await;
    assert!(
        conversation["members"]
            .as_array()
            .unwrap()
            .contains(&json!("frank")),
        "the refused leave changed nothing: {conversation}"
    );
}

#[tokio::test]
async fn read_marks_are_limited_and_only_moves_are_told() {
    let config = ChatConfig::default()
        .with_rates(RateLimits::none())
        .with_rate(Action::Read, Some(Rate::per_minute(1, 3)));
    let server = server(config).await;
    let cid = server.direct("alice", "bob").await;
    server.send("alice", &cid, "one").await;
    let mut alice = server.ws("alice").await;
    let read = format!("/conversations/{cid}/read");
    for _ in 0..2 {
        let (status, _, mark) = call(
            &server,
            reqwest::Method::POST,
            "bob",
            &read,
            Some(json!({"seq": 1})),
        )
        .await;
        assert_eq!((status, &mark), (200, &json!({"seq": 1})));
    }
    let told = alice.next_of("read").await;
    assert_eq!(told["seq"], 1);
    // The repeated mark moved nothing: the next event alice gets is the
    // message, not a second `read`.
    server.send("bob", &cid, "two").await;
    let next = alice.next_event().await;
    assert_eq!(next["type"], "message", "{next}");
    assert_eq!(next["message"]["body"], "two");

    let third = call(
        &server,
        reqwest::Method::POST,
        "bob",
        &read,
        Some(json!({"seq": 2})),
    )
    .await;
    assert_eq!(third.0, 200);
    let fourth = call(
        &server,
        reqwest::Method::POST,
        "bob",
        &read,
        Some(json!({"seq": 2})),
    )
    .await;
    assert_limited(&fourth, "read marks");
    let mut bob = server.ws("bob").await;
    bob.send(json!({"type": "read", "conversation_id": cid, "seq": 2}))
        .await;
    let error = bob.next_of("error").await;
    assert_eq!(error["error"]["code"], "rate_limited", "{error}");
}

#[tokio::test]
async fn typing_is_throttled_per_conversation_and_limited_per_user() {
    let config = ChatConfig::default()
        .with_rates(RateLimits::none())
        .with_rate(Action::Typing, Some(Rate::per_minute(1, 4)))
        .with_typing_interval(Duration::from_secs(3_600));
    let server = server(config).await;
    let first = server.direct("alice", "bob").await;
    let second = server.direct("alice", "carol").await;
    let mut bob = server.ws("bob").await;
    let mut carol = server.ws("carol").await;
    let mut alice = server.ws("alice").await;
    for _ in 0..3 {
        alice
            .send(json!({"type": "typing", "conversation_id": first}))
            .await;
    }
    alice
        .send(json!({"type": "typing", "conversation_id": second}))
        .await;
    let typing = bob.next_event().await;
    assert_eq!(
        (typing["type"].as_str(), typing["user_id"].as_str()),
        (Some("typing"), Some("alice"))
    );
    assert_eq!(
        carol.next_event().await["type"],
        "typing",
        "another conversation has its own throttle"
    );
    // Three notices within the interval reached bob once: his next event is
    // the message.
    server.send("alice", &first, "done typing").await;
    let next = bob.next_event().await;
    assert_eq!(next["type"], "message", "{next}");

    // The fifth notice is past the user's typing rate: an error frame.
    alice
        .send(json!({"type": "typing", "conversation_id": first}))
        .await;
    let error = alice.next_of("error").await;
    assert_eq!(error["error"]["code"], "rate_limited", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("typing notices")
    );
}

#[tokio::test]
async fn edits_reactions_pins_and_renames_are_limited_per_user() {
    let config = tight().with_rate(Action::Create, None);
    let server = server(config).await;
    let cid = server.group("alice", &["bob"]).await;
    for body in ["one", "two"] {
        server.send("alice", &cid, body).await;
    }
    let [first, second] = [1, 2].map(|seq| format!("/conversations/{cid}/messages/{seq}"));
    let reaction = format!("{first}/reactions/ok");
    let x = || Some(json!({"body": "x"}));
    let (patch, put, delete) = (
        reqwest::Method::PATCH,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    );
    assert_eq!(
        call(&server, patch.clone(), "alice", &first, x()).await.0,
        200
    );
    let edit = call(&server, patch.clone(), "alice", &second, x()).await;
    assert_limited(&edit, "edits and deletes");
    let removal = call(&server, delete, "alice", &second, None).await;
    assert_limited(&removal, "edits and deletes");
    assert_eq!(
        call(&server, put.clone(), "alice", &reaction, None).await.0,
        200
    );
    assert_limited(
        &call(&server, put.clone(), "alice", &reaction, None).await,
        "reactions",
    );
    let other = call(&server, put.clone(), "bob", &reaction, None).await;
    assert_eq!(other.0, 200, "other users are not slowed");
    let pin = call(
        &server,
        put,
        "alice",
        &format!("/conversations/{cid}/pins/1"),
        None,
    )
    .await;
    assert_eq!(pin.0, 200);
    let title = Some(json!({"title": "t"}));
    let rename = call(
        &server,
        patch,
        "alice",
        &format!("/conversations/{cid}"),
        title,
    )
    .await;
    assert_limited(&rename, "pins and renames");

    let events = format!("/conversations/{cid}/events");
    let (_, _, page) = call(&server, reqwest::Method::GET, "bob", &events, None).await;
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "message",
            "message",
            "edited",
            "reaction_added",
            "reaction_added",
            "pinned"
        ],
        "refused changes stored nothing"
    );
}

#[tokio::test]
async fn moderation_and_reports_are_limited_per_user() {
    let config = tight().with_rate(Action::Create, None);
    let server = server(config).await;
    let cid = server.group("alice", &["bob", "carol"]).await;
    let put = reqwest::Method::PUT;
    let mute = |user: &str| format!("/conversations/{cid}/mutes/{user}");
    assert_eq!(
        call(&server, put.clone(), "alice", &mute("bob"), None)
            .await
            .0,
        200
    );
    let second = call(&server, put.clone(), "alice", &mute("carol"), None).await;
    assert_limited(&second, "moderation changes");
    let block = call(&server, put, "alice", "/blocks/mallory", None).await;
    assert_limited(&block, "moderation changes");
    let (_, conversation) = server.get("alice", &format!("/conversations/{cid}")).await;
    assert_eq!(
        conversation["muted"],
        json!(["bob"]),
        "refused mutes stored nothing"
    );

    let post = reqwest::Method::POST;
    let report = || Some(json!({"user_id": "mallory", "reason": "spam"}));
    assert_eq!(
        call(&server, post.clone(), "bob", "/reports", report())
            .await
            .0,
        202
    );
    assert_limited(
        &call(&server, post.clone(), "bob", "/reports", report()).await,
        "reports",
    );
    let other = call(&server, post, "carol", "/reports", report()).await;
    assert_eq!(other.0, 202, "other users are not slowed");
}
