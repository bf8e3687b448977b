//! Public rooms over REST and the socket: the directory, joining, leaving,
//! the live membership events, and the refusals.

mod common;

use common::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

async fn create(server: &TestServer, user: &str, title: &str, public: bool) -> String {
    let (status, room) = server
        .post(
            user,
            "/conversations",
            json!({"title": title, "public": public}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    assert_eq!(room["public"], public);
    room["id"].as_str().unwrap().to_owned()
}

fn titles(page: &Value) -> Vec<&str> {
    page["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|room| room["title"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_directory_lists_searches_and_pages_public_rooms_only() {
    let server = TestServer::start().await;
    create(&server, "alice", "Rust lovers", true).await;
    create(&server, "alice", "Rust secret", false).await;
    create(&server, "carol", "Gardening", true).await;

    let (status, all) = server.get("bob", "/rooms").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(titles(&all), ["Gardening", "Rust lovers"]);
    assert_eq!(all["has_more"], false);
    assert_eq!(all["rooms"][0]["member_count"], 1);
    assert_eq!(all["rooms"][0]["joined"], false);
    let (_, mine) = server.get("carol", "/rooms").await;
    assert_eq!(mine["rooms"][0]["joined"], true);

    let (_, found) = server.get("bob", "/rooms?q=%20RUST%20").await;
    assert_eq!(titles(&found), ["Rust lovers"]);
    let (_, first) = server.get("bob", "/rooms?limit=1").await;
    assert_eq!(
        (titles(&first), &first["has_more"]),
        (vec!["Gardening"], &json!(true))
    );
    let last = first["rooms"][0]["id"].as_str().unwrap();
    let (_, second) = server
        .get("bob", &format!("/rooms?limit=1&before={last}"))
        .await;
    assert_eq!(
        (titles(&second), &second["has_more"]),
        (vec!["Rust lovers"], &json!(false))
    );

    let long = format!("q={}", "x".repeat(257));
    for (query, field) in [("limit=0", "limit"), ("colour=red", "colour"), (&long, "q")] {
        let (status, error) = server.get("bob", &format!("/rooms?{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{query}: {message}");
    }
}

#[tokio::test]
async fn joining_and_leaving_a_room_is_seen_live_by_its_members() {
    let server = TestServer::start().await;
    let room = create(&server, "alice", "Lobby", true).await;
    let mut alice = server.ws("alice").await;
    let mut bob = server.ws("bob").await;

    let (status, joined) = server
        .post("bob", &format!("/rooms/{room}/join"), json!({}))
        .await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["members"], json!(["alice", "bob"]));
    // The join is the room's first timeline event.
    let added = json!({"type": "member_added", "conversation_id": room, "user_id": "bob",
        "by": "bob", "seq": 1});
    assert_eq!(alice.next_of("member_added").await, added);
    assert_eq!(
        bob.next_of("member_added").await,
        added,
        "the joiner's other devices learn of it"
    );
    let (status, again) = server
        .post("bob", &format!("/rooms/{room}/join"), json!({}))
        .await;
    assert_eq!((status, &again["members"]), (200, &json!(["alice", "bob"])));

    bob.send(
        json!({"type": "send", "conversation_id": room, "body": "hello lobby", "client_id": "b1"}),
    )
    .await;
    assert_eq!(bob.next_of("ack").await["message"]["seq"], 2);
    assert_eq!(
        alice.next_of("message").await["message"]["body"],
        "hello lobby"
    );

    let (status, _) = server
        .request(
            Method::DELETE,
            Some("bob"),
            &format!("/conversations/{room}/members/bob"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let removed = alice.next_of("member_removed").await;
    assert_eq!(
        (&removed["user_id"], &removed["by"]),
        (&json!("bob"), &json!("bob"))
    );
    let (status, _) = server
        .get("bob", &format!("/conversations/{room}/messages"))
        .await;
    assert_eq!(status, 403, "a member who left reads no more");

    // The last member may leave a room: it stays listed, empty, and joinable.
    let (status, _) = server
        .request(
            Method::DELETE,
            Some("alice"),
            &format!("/conversations/{room}/members/alice"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, listed) = server.get("carol", "/rooms").await;
    assert_eq!(
        (
            &listed["rooms"][0]["id"],
            &listed["rooms"][0]["member_count"]
        ),
        (&json!(room), &json!(0))
    );
    let (status, _) = server
        .post("carol", &format!("/rooms/{room}/join"), json!({}))
        .await;
    assert_eq!(status, 201);
    let (_, page) = server
        .get("carol", &format!("/conversations/{room}/messages"))
        .await;
    assert_eq!(
        page["messages"][0]["body"], "hello lobby",
        "history comes with the room"
    );
}

#[tokio::test]
async fn private_groups_direct_chats_and_unknown_ids_cannot_be_joined() {
    let server = TestServer::start().await;
    let secret = create(&server, "alice", "Secret", false).await;
    let direct = server.direct("alice", "bob").await;
    for (cid, expected) in [
        (secret.as_str(), 403),
        (direct.as_str(), 403),
        ("no-such-room", 404),
    ] {
        let (status, error) = server
            .post("mallory", &format!("/rooms/{cid}/join"), json!({}))
            .await;
        assert_eq!(status, expected, "{cid}: {error}");
    }
    let (_, group) = server
        .get("alice", &format!("/conversations/{secret}"))
        .await;
    assert_eq!(group["members"], json!(["alice"]), "nobody got in");
    let (status, error) = server
        .request(
            Method::DELETE,
            Some("alice"),
            &format!("/conversations/{secret}/members/alice"),
            None,
        )
        .await;
    assert_eq!(
        status, 400,
        "the last member of a private group stays: {error}"
    );
}

#[tokio::test]
async fn rooms_are_joined_and_left_over_the_socket_too() {
    let server = TestServer::start().await;
    let room = create(&server, "alice", "Lobby", true).await;
    let secret = create(&server, "alice", "Secret", false).await;
    let mut alice = server.ws("alice").await;
    let mut bob = server.ws("bob").await;

    bob.send(json!({"type": "join", "conversation_id": room}))
        .await;
    let added = json!({"type": "member_added", "conversation_id": room, "user_id": "bob",
        "by": "bob", "seq": 1});
    assert_eq!(
        bob.next_of("member_added").await,
        added,
        "the joiner's confirmation"
    );
    assert_eq!(alice.next_of("member_added").await, added);

    bob.send(json!({"type": "join", "conversation_id": secret}))
        .await;
    let refused = bob.next_of("error").await;
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");

    bob.send(json!({"type": "leave", "conversation_id": room}))
        .await;
    assert_eq!(bob.next_of("member_removed").await["user_id"], "bob");
    assert_eq!(alice.next_of("member_removed").await["user_id"], "bob");
    let (_, members) = server.get("alice", &format!("/conversations/{room}")).await;
    assert_eq!(members["members"], json!(["alice"]));
}

#[tokio::test]
async fn a_member_who_rejoins_gets_new_messages_at_once_without_a_gap() {
    let server = TestServer::start().await;
    let room = create(&server, "alice", "Lobby", true).await;
    let mut bob = server.ws("bob").await;
    bob.send(json!({"type": "join", "conversation_id": room}))
        .await;
    bob.next_of("member_added").await;
    server.send("alice", &room, "one").await;
    assert_eq!(bob.next_of("message").await["message"]["seq"], 2);

    bob.send(json!({"type": "leave", "conversation_id": room}))
        .await;
    bob.next_of("member_removed").await;
    server.send("alice", &room, "two, while bob is away").await;
    bob.send(json!({"type": "join", "conversation_id": room}))
        .await;
    bob.next_of("member_added").await;
    server.send("alice", &room, "three").await;
    // Seq 4, sent while bob was away, is history bob may fetch, not a
    // hole this socket must wait for (join 1, "one" 2, leave 3, "two" 4,
    // rejoin 5, "three" 6).
    let next = bob.next_event().await;
    assert_eq!(
        (&next["type"], &next["message"]["seq"]),
        (&json!("message"), &json!(6)),
        "{next}"
    );
}
