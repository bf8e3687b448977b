//! Authorization over real sockets: what the REST suite's
//! `non_members_are_refused_everywhere` does not cover — membership changes,
//! typing, removal taking effect at once, and user ids with odd bytes.

mod common;

use common::TestServer;
use serde_json::{Value, json};

/// Percent-encodes every byte but ASCII letters and digits.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

async fn members(server: &TestServer, user: &str, cid: &str) -> Vec<Value> {
    let (status, conversation) = server.get(user, &format!("/conversations/{cid}")).await;
    assert_eq!(status, 200, "{conversation}");
    conversation["members"].as_array().unwrap().clone()
}

#[tokio::test]
async fn outsiders_cannot_change_membership_or_see_typing() {
    let server = TestServer::start().await;
    let team = server.group("alice", &["bob"]).await;
    let eves_own = server.direct("eve", "alice").await;
    let mut eve = server.ws("eve").await;

    let (status, body) = server
        .post(
            "eve",
            &format!("/conversations/{team}/members"),
            json!({"user_id": "eve"}),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    let (status, body) = server
        .request(
            reqwest::Method::DELETE,
            Some("eve"),
            &format!("/conversations/{team}/members/bob"),
            None,
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    let (status, _) = server
        .request(
            reqwest::Method::DELETE,
            Some("bob"),
            &format!("/conversations/{team}/members/alice"),
            None,
        )
        .await;
    assert_eq!(status, 403, "only the creator removes others");
    assert_eq!(members(&server, "alice", &team).await.len(), 2);

    // Typing and messages in the team never reach eve: the next event she
    // gets is the message in her own conversation.
    server
        .chat
        .typing(&"alice".parse().unwrap(), &team.parse().unwrap())
        .await
        .unwrap();
    server.send("alice", &team, "team only").await;
    server.send("alice", &eves_own, "for eve").await;
    let event = eve.next_event().await;
    assert_eq!(event["type"], "message", "{event}");
    assert_eq!(event["message"]["body"], "for eve");
}

#[tokio::test]
async fn a_removed_member_stops_receiving_at_once() {
    let server = TestServer::start().await;
    let team = server.group("alice", &["bob", "carol"]).await;
    let bobs_own = server.direct("bob", "carol").await;
    let mut bob = server.ws("bob").await;
    server.send("alice", &team, "before").await;
    assert_eq!(bob.next_of("message").await["message"]["body"], "before");

    let (status, _) = server
        .request(
            reqwest::Method::DELETE,
            Some("alice"),
            &format!("/conversations/{team}/members/bob"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    server.send("alice", &team, "after").await;
    server.send("carol", &bobs_own, "still here").await;
    let next = bob.next_of("message").await;
    assert_eq!(
        next["message"]["body"], "still here",
        "the message after removal never came: {next}"
    );

    for (status, body) in [
        server
            .get("bob", &format!("/conversations/{team}/messages"))
            .await,
        server
            .post(
                "bob",
                &format!("/conversations/{team}/messages"),
                json!({"body": "let me back"}),
            )
            .await,
        server
            .post(
                "bob",
                &format!("/conversations/{team}/read"),
                json!({"seq": 2}),
            )
            .await,
    ] {
        assert_eq!(status, 403, "{body}");
    }
    bob.send(json!({"type": "resume", "positions": {team.clone(): 0}}))
        .await;
    let refused = bob.next_of("error").await;
    assert_eq!(refused["error"]["code"], "forbidden");
}

#[tokio::test]
async fn user_ids_with_odd_bytes_are_exact_and_separate() {
    let server = TestServer::start().await;
    let odd = [
        "zoë 🦀",
        "../etc/passwd",
        "a/b",
        "o'neil\"; DROP TABLE chat_messages; --",
        "100%_\\",
        "tab\there",
    ];
    for (index, id) in odd.iter().enumerate() {
        let token = encode(id);
        // The direct conversation is opened by the odd user, over ?token=.
        let (status, conversation) = server
            .request(
                reqwest::Method::PUT,
                None,
                &format!("/direct/alice?token={token}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{id:?}: {conversation}");
        let cid = conversation["id"].as_str().unwrap().to_owned();
        let ids: Vec<&str> = conversation["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|member| member.as_str().unwrap())
            .collect();
        assert!(ids.contains(id), "{id:?} stored as given: {ids:?}");

        // Alice reaches the same conversation through the path, encoded.
        let (status, same) = server.put("alice", &format!("/direct/{token}")).await;
        assert_eq!((status, &same["id"]), (200, &json!(cid)), "{id:?}");

        let body = format!("message {index} for {id}");
        server.send("alice", &cid, &body).await;
        let url = format!("ws://{}/chat/ws?token={token}", server.addr);
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut socket = common::WsClient { stream };
        socket
            .send(json!({"type": "resume", "positions": {cid.clone(): 0}}))
            .await;
        assert_eq!(socket.next_of("message").await["message"]["body"], body);
    }
    // Alice has one conversation per odd id: none of them collapsed together.
    let (_, listing) = server.get("alice", "/conversations").await;
    assert_eq!(
        listing["conversations"].as_array().unwrap().len(),
        odd.len()
    );
}

#[tokio::test]
async fn over_long_ids_are_refused_not_truncated() {
    let server = TestServer::start().await;
    let long = "x".repeat(chat_engine::MAX_ID_BYTES + 1);
    let (status, body) = server
        .request(
            reqwest::Method::GET,
            None,
            &format!("/conversations?token={long}"),
            None,
        )
        .await;
    assert_eq!(status, 401, "a token naming an invalid user: {body}");
    let (status, body) = server.put("alice", &format!("/direct/{long}")).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("the limit is 128"), "{message}");
    let (_, listing) = server.get("alice", "/conversations").await;
    assert_eq!(listing["conversations"], json!([]), "nothing was created");
}
