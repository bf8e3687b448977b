//! The user directory over REST: `GET /users` searches and pages the host's
//! users, `GET /profiles` resolves ids, and a user the directory does not
//! know cannot be brought into a conversation (404, nothing written).

mod common;

use std::sync::Arc;

use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, Profile, StoreDirectory, UserId};
use chat_store_sqlite::SqliteStore;
use common::TestServer;
use serde_json::{Value, json};

/// A server whose directory knows alice, bob ("Bob Builder", with an
/// avatar) and carol.
async fn server() -> TestServer {
    let store: Arc<dyn chat_engine::Store> =
        Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let directory = Arc::new(StoreDirectory::new(Arc::clone(&store)));
    for id in ["alice", "carol"] {
        directory.sign_in(&UserId::new(id).unwrap()).await.unwrap();
    }
    directory
        .save(&Profile {
            user_id: UserId::new("bob").unwrap(),
            display_name: "Bob Builder".to_owned(),
            avatar_url: Some("https://example.com/bob.png".to_owned()),
        })
        .await
        .unwrap();
    let chat = ChatService::builder(store, Arc::new(MemoryBus::new()), ChatConfig::default())
        .directory(directory)
        .start()
        .await
        .unwrap();
    TestServer::serve(chat, chat_axum::WsConfig::default()).await
}

fn ids(page: &Value) -> Vec<&str> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["user_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_directory_pages_searches_and_resolves() {
    let server = server().await;
    let (status, first) = server.get("alice", "/users?limit=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids(&first), ["alice", "bob"]);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["users"][1]["display_name"], "Bob Builder");
    assert_eq!(
        first["users"][1]["avatar_url"],
        "https://example.com/bob.png"
    );
    let next = first["next"].as_str().unwrap();
    let (_, rest) = server
        .get("alice", &format!("/users?limit=2&cursor={next}"))
        .await;
    assert_eq!(ids(&rest), ["carol"]);
    assert_eq!(rest["has_more"], false);

    let (_, found) = server.get("alice", "/users?q=builder").await;
    assert_eq!(ids(&found), ["bob"], "by display name, any case");
    let (_, found) = server.get("alice", "/users?q=CAR").await;
    assert_eq!(ids(&found), ["carol"]);

    let (status, profiles) = server
        .get("alice", "/profiles?user=carol&user=nobody&user=bob")
        .await;
    assert_eq!(status, 200, "{profiles}");
    assert_eq!(
        ids(&profiles),
        ["carol", "bob"],
        "in the order asked, unknown left out"
    );
}

#[tokio::test]
async fn bad_directory_queries_are_refused() {
    let server = server().await;
    for (path, why) in [
        ("/users?limit=0".to_owned(), "limit 0"),
        ("/users?limit=101".to_owned(), "over the limit"),
        (format!("/users?q={}", "x".repeat(300)), "search too long"),
        ("/users?page=2".to_owned(), "unknown parameter"),
        ("/profiles".to_owned(), "no user"),
        ("/profiles?id=bob".to_owned(), "unknown parameter"),
    ] {
        let (status, body) = server.get("alice", &path).await;
        assert_eq!(status, 400, "{why}: {body}");
    }
}

#[tokio::test]
async fn unknown_users_cannot_be_brought_into_a_conversation() {
    let server = server().await;
    let (status, body) = server.put("alice", "/direct/bbo").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("bbo"),
        "{body}"
    );
    let (status, body) = server
        .post(
            "alice",
            "/conversations",
            json!({"title": "team", "members": ["bob", "ghost"]}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let group = server.group("alice", &["bob"]).await;
    let (status, _) = server
        .post(
            "alice",
            &format!("/conversations/{group}/members"),
            json!({"user_id": "ghost"}),
        )
        .await;
    assert_eq!(status, 404);

    let (_, listed) = server.get("alice", "/conversations").await;
    let conversations = listed["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1, "only the group with bob: {listed}");
    assert_eq!(conversations[0]["members"], json!(["alice", "bob"]));
    // A known user is fine (`direct` asserts the 200).
    server.direct("alice", "bob").await;
}

#[tokio::test]
async fn without_a_directory_there_is_no_user_list_and_any_id_is_a_user() {
    let server = TestServer::start().await;
    let (status, body) = server.get("alice", "/users").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("directory")
    );
    server.direct("alice", "anyone").await;
}

#[tokio::test]
async fn a_store_directory_refuses_bad_names_and_avatars_and_keeps_nothing() {
    use chat_engine::{ChatError, Directory};
    let store: Arc<dyn chat_engine::Store> =
        Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let directory = StoreDirectory::new(store);
    let long_url = format!("https://example.com/{}", "a".repeat(2_048));
    let long_name = "x".repeat(257);
    for (name, avatar) in [
        ("  ", None),
        (long_name.as_str(), None),
        ("Eve", Some("javascript:alert(1)")),
        ("Eve", Some(long_url.as_str())),
    ] {
        let profile = Profile {
            user_id: UserId::new("eve").unwrap(),
            display_name: name.to_owned(),
            avatar_url: avatar.map(str::to_owned),
        };
        let refused = directory.save(&profile).await;
        assert!(
            matches!(refused, Err(ChatError::Invalid { .. })),
            "{refused:?}"
        );
    }
    let eve = UserId::new("eve").unwrap();
    assert!(!directory.exists(&eve).await.unwrap(), "nothing was kept");
}
