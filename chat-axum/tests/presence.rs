//! Presence end to end: `presence` events to those who share a
//! conversation, debounced; `GET /presence` as each caller may see it; a
//! node that dies without a word has its users turn offline at the TTL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, UserId};
use chat_store_sqlite::SqliteStore;
use common::{TestServer, WsClient};
use serde_json::{Value, json};

fn config(ttl: Duration, grace: Duration) -> ChatConfig {
    ChatConfig::default().with_presence(ttl, grace)
}

async fn server(grace: Duration) -> TestServer {
    TestServer::start_configured(
        config(Duration::from_secs(24), grace),
        chat_axum::WsConfig::default(),
    )
    .await
}

async fn next_presence(client: &mut WsClient) -> Value {
    client.next_presence().await
}

async fn presence_of(server: &TestServer, viewer: &str, users: &[&str]) -> Value {
    let query: Vec<String> = users.iter().map(|user| format!("user={user}")).collect();
    let (status, body) = server
        .get(viewer, &format!("/presence?{}", query.join("&")))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn contacts_see_each_other_come_online_and_leave() {
    let server = server(Duration::from_millis(100)).await;
    server.direct("alice", "bob").await;
    let mut alice = server.ws("alice").await;
    let bob = server.ws("bob").await;
    assert_eq!(
        next_presence(&mut alice).await,
        json!({"type": "presence", "user_id": "bob", "online": true, "last_seen": null})
    );
    let read = presence_of(&server, "alice", &["bob", "alice"]).await;
    assert_eq!(read["users"][0]["online"], true, "{read}");
    assert_eq!(read["users"][1]["online"], true, "one sees oneself");

    drop(bob);
    let offline = next_presence(&mut alice).await;
    assert_eq!(offline["user_id"], "bob");
    assert_eq!(offline["online"], false);
    let last_seen = offline["last_seen"].as_str().expect("a last-seen time");
    let read = presence_of(&server, "alice", &["bob"]).await;
    assert_eq!(
        read["users"][0],
        json!({"user_id": "bob", "online": false, "last_seen": last_seen})
    );
}

#[tokio::test]
async fn a_reconnect_within_the_grace_is_no_event() {
    let server = server(Duration::from_secs(2)).await;
    server.direct("alice", "bob").await;
    server.group("alice", &["carol"]).await;
    let mut alice = server.ws("alice").await;
    let bob = server.ws("bob").await;
    assert_eq!(next_presence(&mut alice).await["user_id"], "bob");

    // Bob reloads the page: the old socket goes, a new one comes.
    drop(bob);
    let _bob_again = server.ws("bob").await;
    // Carol comes and goes after him: her events, which follow any of his
    // (the grace is the same), are the next alice gets.
    let carol = server.ws("carol").await;
    let came = next_presence(&mut alice).await;
    assert_eq!(
        (came["user_id"].as_str(), came["online"].as_bool()),
        (Some("carol"), Some(true))
    );
    drop(carol);
    let went = next_presence(&mut alice).await;
    assert_eq!(
        (went["user_id"].as_str(), went["online"].as_bool()),
        (Some("carol"), Some(false)),
        "bob's reload announced nothing"
    );
    let read = presence_of(&server, "alice", &["bob"]).await;
    assert_eq!(read["users"][0]["online"], true);
}

#[tokio::test]
async fn strangers_and_room_mates_see_nothing() {
    let server = server(Duration::from_millis(100)).await;
    let (_, room) = server
        .post(
            "bob",
            "/conversations",
            json!({"title": "lobby", "members": [], "public": true}),
        )
        .await;
    let room = room["id"].as_str().unwrap();
    let (status, _) = server
        .post("erin", &format!("/rooms/{room}/join"), json!({}))
        .await;
    assert_eq!(status, 201);
    let _bob = server.ws("bob").await;
    let hidden = json!({"user_id": "bob", "online": false, "last_seen": null});
    for viewer in ["eve", "erin"] {
        let read = presence_of(&server, viewer, &["bob"]).await;
        assert_eq!(read["users"][0], hidden, "{viewer} sees bob as never seen");
    }
    let unknown = presence_of(&server, "eve", &["nobody"]).await;
    assert_eq!(
        unknown["users"][0],
        json!({"user_id": "nobody", "online": false, "last_seen": null}),
        "the same answer as for a user who does not exist"
    );
}

#[tokio::test]
async fn bad_presence_reads_are_refused() {
    let server = server(Duration::from_millis(100)).await;
    let too_many: Vec<String> = (0..=100).map(|n| format!("user=u{n}")).collect();
    for (query, why) in [
        (String::new(), "no user"),
        ("users=alice".to_owned(), "unknown parameter"),
        (format!("user={}", "x".repeat(129)), "id too long"),
        (too_many.join("&"), "101 users"),
    ] {
        let (status, body) = server.get("alice", &format!("/presence?{query}")).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert_eq!(body["error"]["code"], "invalid", "{why}: {body}");
    }
    let (status, _) = server
        .request(reqwest::Method::GET, None, "/presence?user=bob", None)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_node_that_dies_without_a_word_has_its_users_go_offline() {
    let store: Arc<dyn chat_engine::Store> =
        Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let bus = MemoryBus::new();
    let short = config(Duration::from_millis(400), Duration::from_millis(50));
    let doomed_bus: Arc<dyn chat_engine::Bus> = Arc::new(bus.node());
    let server = TestServer::start_on(
        Arc::clone(&store),
        Arc::new(bus),
        short.clone(),
        chat_axum::WsConfig::default(),
    )
    .await;
    server.direct("alice", "bob").await;
    let mut alice = server.ws("alice").await;

    let doomed = ChatService::new(store, doomed_bus, short).await.unwrap();
    let bob_there = doomed.connect(&UserId::new("bob").unwrap()).await.unwrap();
    let online = next_presence(&mut alice).await;
    assert_eq!(
        (online["user_id"].as_str(), online["online"].as_bool()),
        (Some("bob"), Some(true))
    );

    // The node dies: its tasks stop, and nobody tells the others.
    drop(doomed);
    let offline = next_presence(&mut alice).await;
    assert_eq!(offline["user_id"], "bob");
    assert_eq!(offline["online"], false);
    assert!(offline["last_seen"].is_string(), "{offline}");
    drop(bob_there);
}
