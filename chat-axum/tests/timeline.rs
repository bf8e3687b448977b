//! The timeline over REST and the socket: every change answers its event,
//! bad input gets a clear status and writes nothing, and a client that was
//! offline gets every kind of change by `resume`, once, in order.

mod common;

use common::TestServer;
use serde_json::{Value, json};

/// The seqs of every event of `cid` after `after`, as `user` reads them.
async fn event_seqs(server: &TestServer, user: &str, cid: &str, after: u64) -> Vec<u64> {
    let (status, page) = server
        .get(user, &format!("/conversations/{cid}/events?after={after}"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(event_seq)
        .collect()
}

fn event_seq(event: &Value) -> u64 {
    event["seq"]
        .as_u64()
        .or_else(|| event["message"]["seq"].as_u64())
        .unwrap_or_else(|| panic!("no seq in {event}"))
}

#[tokio::test]
async fn changes_answer_their_events_and_bad_input_writes_nothing() {
    let server = TestServer::start().await;
    let cid = server.group("alice", &["bob"]).await;
    let other = server.group("alice", &["bob"]).await;
    let first = server.send("alice", &cid, "hello").await;
    let message = format!("/conversations/{cid}/messages/1");

    let (status, edited) = server
        .patch(
            "alice",
            &message,
            json!({"body": "hello, edited", "client_id": "e1"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["type"], "edited");
    assert_eq!(
        (edited["seq"].as_u64(), edited["message_seq"].as_u64()),
        (Some(2), Some(1))
    );
    let (status, again) = server
        .patch(
            "alice",
            &message,
            json!({"body": "other", "client_id": "e1"}),
        )
        .await;
    assert_eq!(
        (status, &again),
        (200, &edited),
        "a retry answers the stored edit"
    );

    let react = format!("{message}/reactions/%F0%9F%91%8D");
    let (status, reacted) = server.put("bob", &react).await;
    assert_eq!(status, 200, "{reacted}");
    assert_eq!(
        (reacted["type"].as_str(), reacted["reaction"].as_str()),
        (Some("reaction_added"), Some("👍"))
    );
    assert_eq!(
        server.put("bob", &react).await.0,
        204,
        "reacting twice changes nothing"
    );

    let refusals = [
        (
            server
                .patch("bob", &message, json!({"body": "mine now"}))
                .await,
            403,
            "forbidden",
        ),
        (server.delete("bob", &message).await, 403, "forbidden"),
        (
            server
                .patch(
                    "alice",
                    &format!("/conversations/{cid}/messages/99"),
                    json!({"body": "x"}),
                )
                .await,
            404,
            "not_found",
        ),
        (
            server
                .put("bob", &format!("{message}/reactions/{}", "x".repeat(65)))
                .await,
            400,
            "invalid",
        ),
        (
            server.put("bob", &format!("{message}/reactions/%20")).await,
            400,
            "invalid",
        ),
        (server.put("carol", &react).await, 403, "forbidden"),
        (
            server
                .post(
                    "alice",
                    &format!("/conversations/{cid}/messages"),
                    json!({"body": "re", "reply_to": 99}),
                )
                .await,
            404,
            "not_found",
        ),
        (
            server
                .post(
                    "alice",
                    &format!("/conversations/{cid}/messages"),
                    json!({"body": "@carol", "mentions": ["carol"]}),
                )
                .await,
            400,
            "invalid",
        ),
        (
            server
                .patch(
                    "alice",
                    &format!("/conversations/{cid}"),
                    json!({"title": " "}),
                )
                .await,
            400,
            "invalid",
        ),
        (
            server.get("alice", "/search?q=a%20to").await,
            400,
            "invalid",
        ),
        (
            server
                .get("alice", &format!("/search?q={}", "word".repeat(100)))
                .await,
            400,
            "invalid",
        ),
    ];
    for ((status, body), expected, code) in refusals {
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (expected, Some(code)),
            "{body}"
        );
    }
    // A reply in another conversation points at a seq of this one's, not the other's.
    server.send("alice", &other, "elsewhere").await;
    let (status, body) = server
        .post(
            "alice",
            &format!("/conversations/{other}/messages"),
            json!({"body": "re", "thread_root": 5}),
        )
        .await;
    assert_eq!(status, 404, "{body}");

    let (status, deleted) = server
        .delete("alice", &format!("{message}?client_id=d1"))
        .await;
    assert_eq!(
        (status, deleted["type"].as_str()),
        (200, Some("deleted")),
        "{deleted}"
    );
    assert_eq!(
        server
            .delete("alice", &format!("{message}?client_id=d1"))
            .await,
        (200, deleted.clone()),
        "a retried delete answers the stored delete"
    );
    let (status, body) = server.delete("alice", &message).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    let (status, body) = server
        .patch("alice", &message, json!({"body": "back"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        event_seqs(&server, "bob", &cid, 0).await,
        [1, 2, 3, 4],
        "refusals wrote nothing"
    );

    let (status, tombstone) = server
        .get(
            "bob",
            &format!("/messages/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (tombstone["deleted"].as_bool(), tombstone["body"].as_str()),
        (Some(true), Some(""))
    );
}

#[tokio::test]
async fn threads_pins_read_marks_renames_and_search() {
    let server = TestServer::start().await;
    let cid = server.group("alice", &["bob"]).await;
    server
        .send("alice", &cid, "Planning the launch party")
        .await;
    let messages = format!("/conversations/{cid}/messages");
    for reply in ["balloons?", "cake!"] {
        let (status, body) = server
            .post("bob", &messages, json!({"body": reply, "thread_root": 1}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, thread) = server.get("alice", &format!("{messages}/1/thread")).await;
    let replies: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["balloons?", "cake!"]);
    let (_, history) = server.get("alice", &messages).await;
    assert_eq!(
        history["messages"].as_array().unwrap().len(),
        1,
        "replies stay in their thread"
    );
    assert_eq!(history["messages"][0]["reply_count"], 2);

    let (status, pinned) = server
        .put("bob", &format!("/conversations/{cid}/pins/1"))
        .await;
    assert_eq!((status, pinned["type"].as_str()), (200, Some("pinned")));
    let (_, pins) = server
        .get("alice", &format!("/conversations/{cid}/pins"))
        .await;
    assert_eq!(pins["messages"][0]["body"], "Planning the launch party");
    assert_eq!(
        server
            .delete("bob", &format!("/conversations/{cid}/pins/1"))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .delete("bob", &format!("/conversations/{cid}/pins/1"))
            .await
            .0,
        204
    );

    let (status, renamed) = server
        .patch(
            "alice",
            &format!("/conversations/{cid}"),
            json!({"title": "Launch"}),
        )
        .await;
    assert_eq!((status, renamed["title"].as_str()), (200, Some("Launch")));
    let (_, conversation) = server.get("alice", &format!("/conversations/{cid}")).await;
    assert_eq!(conversation["title"], "Launch");
    let direct = server.direct("alice", "bob").await;
    let (status, _) = server
        .patch(
            "alice",
            &format!("/conversations/{direct}"),
            json!({"title": "us"}),
        )
        .await;
    assert_eq!(status, 400, "a direct conversation has no title");

    server
        .post(
            "bob",
            &format!("/conversations/{cid}/read"),
            json!({"seq": 2}),
        )
        .await;
    let (_, reads) = server
        .get("alice", &format!("/conversations/{cid}/reads"))
        .await;
    assert_eq!(
        reads,
        json!({"reads": [{"user_id": "alice", "seq": 1}, {"user_id": "bob", "seq": 3}]}),
        "bob's own replies raised his mark past 2"
    );

    let (status, found) = server.get("alice", "/search?q=LAUNCH%20part").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["messages"][0]["body"], "Planning the launch party");
    let (_, found) = server.get("carol", "/search?q=launch").await;
    assert_eq!(
        found["messages"],
        json!([]),
        "nobody finds what they cannot read"
    );
}

#[tokio::test]
async fn an_offline_client_gets_every_kind_of_change_once_in_order_by_resume() {
    let server = TestServer::start().await;
    let cid = server.group("alice", &["bob"]).await;
    let mut bob = server.ws("bob").await;
    server.send("alice", &cid, "one").await;
    server.send("alice", &cid, "two").await;
    let seen = bob.next_of("message").await;
    assert_eq!(seen["message"]["seq"], 1);
    drop(bob);

    // bob is offline for an edit, a delete, a reaction, a join and a rename.
    let message = |seq: u64| format!("/conversations/{cid}/messages/{seq}");
    server
        .patch("alice", &message(1), json!({"body": "one, edited"}))
        .await;
    server.delete("alice", &message(2)).await;
    server
        .put("alice", &format!("{}/reactions/%F0%9F%8E%89", message(1)))
        .await;
    server
        .post(
            "alice",
            &format!("/conversations/{cid}/members"),
            json!({"user_id": "carol"}),
        )
        .await;
    server
        .patch(
            "alice",
            &format!("/conversations/{cid}"),
            json!({"title": "renamed"}),
        )
        .await;

    let mut bob = server.ws("bob").await;
    bob.send(json!({"type": "resume", "positions": {cid.clone(): 1}}))
        .await;
    let mut replayed = Vec::new();
    while replayed.len() < 6 {
        let event = bob.next_event().await;
        if event["type"] != "typing" && event["type"] != "read" {
            replayed.push(event);
        }
    }
    let kinds: Vec<(&str, u64)> = replayed
        .iter()
        .map(|event| (event["type"].as_str().unwrap(), event_seq(event)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("message", 2),
            ("edited", 3),
            ("deleted", 4),
            ("reaction_added", 5),
            ("member_added", 6),
            ("renamed", 7),
        ]
    );
    assert_eq!(
        replayed[0]["message"]["deleted"], true,
        "the message as it is now"
    );
    server.send("alice", &cid, "live").await;
    let live = bob.next_of("message").await;
    assert_eq!(
        live["message"]["seq"], 8,
        "nothing replayed twice, nothing skipped"
    );
}

#[tokio::test]
async fn socket_frames_edit_delete_and_react_with_done_answers() {
    let server = TestServer::start().await;
    let cid = server.group("alice", &["bob"]).await;
    let mut alice = server.ws("alice").await;
    let mut bob = server.ws("bob").await;
    server.send("alice", &cid, "hi").await;
    bob.next_of("message").await;
    alice.next_of("message").await;

    alice
        .send(json!({"type": "edit", "conversation_id": cid, "seq": 1, "body": "hi!", "client_id": "e1"}))
        .await;
    let done = alice.next_of("done").await;
    assert_eq!(
        done,
        json!({"type": "done", "client_id": "e1", "conversation_id": cid, "seq": 2})
    );
    let edited = bob.next_of("edited").await;
    assert_eq!(
        (edited["body"].as_str(), edited["by"].as_str()),
        (Some("hi!"), Some("alice"))
    );

    bob.send(json!({"type": "react", "conversation_id": cid, "seq": 1, "reaction": "👍", "client_id": "r1"}))
        .await;
    assert_eq!(bob.next_of("done").await["seq"], 3);
    bob.send(json!({"type": "react", "conversation_id": cid, "seq": 1, "reaction": "👍"}))
        .await;
    let unchanged = bob.next_of("done").await;
    assert_eq!(unchanged.get("seq"), None, "nothing to do: no seq");
    assert_eq!(alice.next_of("reaction_added").await["reaction"], "👍");

    bob.send(json!({"type": "delete", "conversation_id": cid, "seq": 1, "client_id": "d1"}))
        .await;
    let refused = bob.next_of("error").await;
    assert_eq!(
        (
            refused["client_id"].as_str(),
            refused["error"]["code"].as_str()
        ),
        (Some("d1"), Some("forbidden"))
    );
    alice
        .send(json!({"type": "delete", "conversation_id": cid, "seq": 1}))
        .await;
    assert_eq!(alice.next_of("done").await["seq"], 4);
    assert_eq!(bob.next_of("deleted").await["message_seq"], 1);
}
