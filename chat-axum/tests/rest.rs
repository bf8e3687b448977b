//! REST over a real socket: the wire protocol's routes, statuses and errors.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn two_users_exchange_messages_and_read_state_over_rest() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    assert_eq!(
        server.direct("bob", "alice").await,
        cid,
        "one conversation per pair"
    );
    let sent = server.send("alice", &cid, "hi bob").await;
    assert_eq!(sent["seq"], 1);
    assert_eq!(sent["sender"], "alice");

    let (status, page) = server
        .get("bob", &format!("/conversations/{cid}/messages"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["messages"][0]["body"], "hi bob");
    assert_eq!(page["has_more"], false);

    let (status, one) = server
        .get(
            "bob",
            &format!("/messages/{}", sent["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!((status, &one), (200, &sent));

    let (_, list) = server.get("bob", "/conversations").await;
    assert_eq!(list["conversations"][0]["unread"], 1);
    assert_eq!(list["conversations"][0]["last_message"]["body"], "hi bob");
    let (status, mark) = server
        .post(
            "bob",
            &format!("/conversations/{cid}/read"),
            json!({"seq": 1}),
        )
        .await;
    assert_eq!((status, mark), (200, json!({"seq": 1})));
    let (_, list) = server.get("bob", "/conversations").await;
    assert_eq!(list["conversations"][0]["unread"], 0);
}

#[tokio::test]
async fn history_pages_by_seq_with_default_and_explicit_limits() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    for i in 1..=20 {
        server.send("alice", &cid, &format!("m{i}")).await;
    }
    let (_, latest) = server
        .get("bob", &format!("/conversations/{cid}/messages"))
        .await;
    let seqs: Vec<_> = latest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (6..=20).collect::<Vec<_>>(),
        "default page is the latest 15, ascending"
    );
    assert_eq!(latest["has_more"], true);
    let (_, older) = server
        .get(
            "bob",
            &format!("/conversations/{cid}/messages?before=6&limit=3"),
        )
        .await;
    assert_eq!(older["messages"][0]["seq"], 3);
    let (_, newer) = server
        .get("bob", &format!("/conversations/{cid}/messages?after=18"))
        .await;
    assert_eq!(newer["messages"].as_array().unwrap().len(), 2);
    assert_eq!(newer["has_more"], false);
}

#[tokio::test]
async fn groups_members_and_idempotent_sends() {
    let server = TestServer::start().await;
    let (status, group) = server
        .post(
            "alice",
            "/conversations",
            json!({"title": "team", "members": ["bob"], "members_can_add": true}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let cid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["members"], json!(["alice", "bob"]));
    assert_eq!(
        (&group["owner"], &group["members_can_add"]),
        (&json!("alice"), &json!(true))
    );
    let (status, _) = server
        .post(
            "bob",
            &format!("/conversations/{cid}/members"),
            json!({"user_id": "carol"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, again) = server
        .post(
            "bob",
            &format!("/conversations/{cid}/members"),
            json!({"user_id": "carol"}),
        )
        .await;
    assert_eq!(status, 200, "adding twice is not an error");
    assert_eq!(again["members"], json!(["alice", "bob", "carol"]));

    let path = format!("/conversations/{cid}/messages");
    let (first_status, first) = server
        .post("carol", &path, json!({"body": "hello", "client_id": "c-1"}))
        .await;
    let (retry_status, retry) = server
        .post("carol", &path, json!({"body": "hello", "client_id": "c-1"}))
        .await;
    assert_eq!((first_status, retry_status), (201, 200));
    assert_eq!(first, retry, "a retry returns the stored message");

    let (status, _) = server
        .request(
            Method::DELETE,
            Some("carol"),
            &format!("/conversations/{cid}/members/carol"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = server.get("carol", &format!("/conversations/{cid}")).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
}

#[tokio::test]
async fn non_members_are_refused_everywhere() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let sent = server.send("alice", &cid, "private").await;
    let mid = sent["id"].as_str().unwrap();
    for (status, body) in [
        server.get("eve", &format!("/conversations/{cid}")).await,
        server
            .get("eve", &format!("/conversations/{cid}/messages"))
            .await,
        server.get("eve", &format!("/messages/{mid}")).await,
        server
            .post(
                "eve",
                &format!("/conversations/{cid}/messages"),
                json!({"body": "x"}),
            )
            .await,
        server
            .post(
                "eve",
                &format!("/conversations/{cid}/read"),
                json!({"seq": 1}),
            )
            .await,
    ] {
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (_, page) = server
        .get("alice", &format!("/conversations/{cid}/messages"))
        .await;
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        1,
        "nothing was added"
    );
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_envelope() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let path = format!("/conversations/{cid}/messages");
    let raw = |body: &str| Some(reqwest::Body::from(body.to_owned()));

    let (status, body) = server
        .request(Method::POST, Some("alice"), &path, raw("{not json"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, body) = server
        .request(
            Method::POST,
            Some("alice"),
            &path,
            raw(r#"{"client_id":"x"}"#),
        )
        .await;
    assert_eq!(status, 400, "missing body field: {body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("body"),
        "{body}"
    );

    let (status, body) = server
        .post("alice", &path, json!({"body": "x".repeat(17 * 1024)}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    let (status, _) = server
        .post("alice", &path, json!({"body": "x".repeat(64 * 1024)}))
        .await;
    assert_eq!(status, 413, "over the transport limit");
    let (status, body) = server.post("alice", &path, json!({"body": "   "})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid"))
    );

    let (status, body) = server
        .get("alice", "/conversations/no-such-conversation/messages")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, _) = server
        .get("alice", &format!("{path}?before=3&after=1"))
        .await;
    assert_eq!(status, 400);
    let (status, _) = server.get("alice", &format!("{path}?limit=lots")).await;
    assert_eq!(status, 400);
    let (status, body) = server.put("alice", "/direct/alice").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid"))
    );

    let (status, body) = server
        .request(Method::GET, None, "/conversations", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );

    let (_, page) = server.get("alice", &path).await;
    assert!(
        page["messages"].as_array().unwrap().is_empty(),
        "bad input stored nothing"
    );
}

#[tokio::test]
async fn sends_past_the_rate_limit_get_429_with_retry_after_and_a_socket_error() {
    let config = chat_engine::ChatConfig::default().with_rate(
        chat_engine::Action::Send,
        Some(chat_engine::Rate::per_second(1, 2)),
    );
    let server = TestServer::start_configured(config, chat_axum::WsConfig::default()).await;
    let cid = server.direct("alice", "bob").await;
    let path = format!("/conversations/{cid}/messages");
    let http = reqwest::Client::new();
    let post = |user: &'static str| {
        http.post(server.url(&path))
            .bearer_auth(user)
            .json(&json!({"body": "hi"}))
            .send()
    };
    assert_eq!(post("alice").await.unwrap().status(), 201);
    assert_eq!(post("alice").await.unwrap().status(), 201);
    let refused = post("alice").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(
        post("bob").await.unwrap().status(),
        201,
        "others are not slowed"
    );

    let mut alice = server.ws("alice").await;
    alice
        .send(json!({"type": "send", "conversation_id": cid, "body": "again", "client_id": "c-9"}))
        .await;
    let error = alice.next_of("error").await;
    assert_eq!(error["client_id"], "c-9");
    assert_eq!(error["error"]["code"], "rate_limited");

    let (status, page) = server.get("bob", &path).await;
    assert_eq!(status, 200);
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        3,
        "refused sends stored nothing: {page}"
    );
}

#[tokio::test]
async fn seqs_beyond_any_conversation_are_refused() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let too_big = u64::try_from(i64::MAX).unwrap() + 1;
    let (status, body) = server
        .post(
            "alice",
            &format!("/conversations/{cid}/read"),
            json!({"seq": too_big}),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!("invalid")));
    let (status, _) = server
        .get(
            "alice",
            &format!("/conversations/{cid}/messages?after={too_big}"),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .get(
            "alice",
            &format!("/conversations/{cid}/messages?after={}", too_big - 1),
        )
        .await;
    assert_eq!(status, 200, "the largest seq is still a valid position");
}

#[tokio::test]
async fn structured_messages_carry_a_checked_kind_and_payload() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let path = format!("/conversations/{cid}/messages");
    let attachment = json!({
        "kind": "attachment",
        "payload": {"url": "https://files.example.com/a1", "size": 52133, "mime": "image/png", "name": "plan.png"},
    });
    let mut bob = server.ws("bob").await;
    let (status, sent) = server
        .post(
            "alice",
            &path,
            json!({"body": "plan.png", "content": attachment}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["content"], attachment);
    let live = bob.next_of("message").await;
    assert_eq!(
        live["message"]["content"], attachment,
        "delivered live with its content"
    );
    let (_, page) = server.get("bob", &path).await;
    assert_eq!(page["messages"][0]["content"], attachment, "and in history");

    // Over the socket too, with buttons for a bot.
    let buttons = json!({"kind": "buttons", "payload": {"choices": ["yes", "no"]}});
    bob.send(json!({"type": "send", "conversation_id": cid, "body": "yes or no?", "content": buttons, "client_id": "b-1"}))
        .await;
    let ack = bob.next_of("ack").await;
    assert_eq!(ack["message"]["content"], buttons);

    for (content, status, code) in [
        (json!({"kind": "Bad Kind", "payload": {}}), 400, "invalid"),
        (
            json!({"kind": "card", "payload": ["not", "an", "object"]}),
            400,
            "invalid",
        ),
        (
            json!({"kind": "card", "payload": {"big": "x".repeat(9 * 1024)}}),
            413,
            "too_large",
        ),
        (
            json!({"kind": "attachment", "payload": {"url": "javascript:alert(1)", "size": 1, "mime": "a/b"}}),
            400,
            "invalid",
        ),
        (
            json!({"kind": "card", "payload": {}, "extra": 1}),
            400,
            "bad_request",
        ),
    ] {
        let (got, body) = server
            .post("alice", &path, json!({"body": "x", "content": content}))
            .await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{content}: {body}"
        );
    }
    let (_, page) = server.get("bob", &path).await;
    assert_eq!(
        page["messages"].as_array().unwrap().len(),
        2,
        "nothing refused was stored"
    );
}

#[tokio::test]
async fn health_is_served_by_the_library_without_a_token() {
    let server = TestServer::start().await;
    let (status, body) = server
        .request(reqwest::Method::GET, None, "/health", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "store": "ok", "bus": "ok"})
    );
}
