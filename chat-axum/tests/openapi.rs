//! The OpenAPI document stays in sync with the handlers: it lists every
//! route, every documented route is served, and the committed copy
//! (`chat-axum/openapi.json`) matches what the code generates.

mod common;

use std::collections::BTreeSet;

use common::TestServer;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
const COMMITTED_FRAMES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/socket.schema.json");

fn documented() -> BTreeSet<(String, String)> {
    let document = serde_json::to_value(chat_axum::openapi()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn the_document_lists_every_route() {
    let expected: BTreeSet<(String, String)> = [
        ("GET", "/conversations"),
        ("POST", "/conversations"),
        ("PUT", "/direct/{user_id}"),
        ("GET", "/conversations/{cid}"),
        ("PATCH", "/conversations/{cid}"),
        ("GET", "/conversations/{cid}/events"),
        ("GET", "/conversations/{cid}/reads"),
        ("GET", "/conversations/{cid}/pins"),
        ("PUT", "/conversations/{cid}/pins/{seq}"),
        ("DELETE", "/conversations/{cid}/pins/{seq}"),
        ("PATCH", "/conversations/{cid}/messages/{seq}"),
        ("DELETE", "/conversations/{cid}/messages/{seq}"),
        ("GET", "/conversations/{cid}/messages/{seq}/thread"),
        (
            "PUT",
            "/conversations/{cid}/messages/{seq}/reactions/{reaction}",
        ),
        (
            "DELETE",
            "/conversations/{cid}/messages/{seq}/reactions/{reaction}",
        ),
        ("GET", "/search"),
        ("POST", "/conversations/{cid}/members"),
        ("DELETE", "/conversations/{cid}/members/{uid}"),
        ("GET", "/conversations/{cid}/messages"),
        ("POST", "/conversations/{cid}/messages"),
        ("GET", "/messages/{mid}"),
        ("POST", "/conversations/{cid}/read"),
        ("DELETE", "/conversations/{cid}"),
        ("PUT", "/conversations/{cid}/members/{uid}/role"),
        ("PUT", "/conversations/{cid}/owner"),
        ("PUT", "/conversations/{cid}/settings"),
        ("PATCH", "/conversations/{cid}/preferences"),
        ("GET", "/conversations/{cid}/bans"),
        ("PUT", "/conversations/{cid}/bans/{uid}"),
        ("DELETE", "/conversations/{cid}/bans/{uid}"),
        ("PUT", "/conversations/{cid}/mutes/{uid}"),
        ("DELETE", "/conversations/{cid}/mutes/{uid}"),
        ("GET", "/blocks"),
        ("PUT", "/blocks/{uid}"),
        ("DELETE", "/blocks/{uid}"),
        ("POST", "/reports"),
        ("GET", "/presence"),
        ("GET", "/users"),
        ("GET", "/profiles"),
        ("GET", "/rooms"),
        ("POST", "/rooms/{cid}/join"),
        ("GET", "/ws"),
        ("GET", "/health"),
    ]
    .into_iter()
    .map(|(method, path)| (method.to_owned(), path.to_owned()))
    .collect();
    assert_eq!(documented(), expected);
}

#[tokio::test]
async fn every_documented_route_is_served_and_the_document_too() {
    let server = TestServer::start().await;
    for (method, path) in documented() {
        if path == "/health" {
            continue; // needs no token: rest.rs `health_is_served_by_the_library_without_a_token`
        }
        let concrete = path
            .replace("{user_id}", "bob")
            .replace("{cid}", "c")
            .replace("{uid}", "u")
            .replace("{mid}", "m")
            .replace("{seq}", "1")
            .replace("{reaction}", "%F0%9F%91%8D");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // Unauthenticated: a served route answers 401 in our envelope; an
        // unknown one would be axum's bare 404 or 405.
        let (status, body) = server.request(method.clone(), None, &concrete, None).await;
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{method} {path}");
    }
    let served = reqwest::get(server.url("/openapi.json")).await.unwrap();
    assert_eq!(served.status(), 200);
    let served: serde_json::Value = served.json().await.unwrap();
    assert_eq!(served, serde_json::to_value(chat_axum::openapi()).unwrap());
    let frames = reqwest::get(server.url("/socket.schema.json"))
        .await
        .unwrap();
    assert_eq!(frames.status(), 200);
    let frames: serde_json::Value = frames.json().await.unwrap();
    assert_eq!(frames, chat_axum::socket_schema());
}

#[test]
fn the_committed_document_is_up_to_date() {
    let generated = chat_axum::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "chat-axum/openapi.json is stale; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test -p chat-axum --test openapi` and commit it"
    );
}

#[test]
fn the_committed_socket_schema_is_up_to_date() {
    let generated = serde_json::to_string_pretty(&chat_axum::socket_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED_FRAMES, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED_FRAMES).unwrap_or_default();
    assert!(
        committed == generated,
        "chat-axum/socket.schema.json is stale; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test -p chat-axum --test openapi` and commit it"
    );
}

/// Every client frame type and every server event type is a variant of the
/// schema, tagged by `type`, with its required fields (`message` carries
/// the message).
#[test]
fn the_socket_schema_names_every_frame_type_with_its_required_fields() {
    let schema = chat_axum::socket_schema();
    let variants = |name: &str| -> Vec<(String, Vec<String>)> {
        schema["$defs"][name]["oneOf"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is a oneOf"))
            .iter()
            .map(|variant| {
                // A variant wrapping a struct (`gap`) is an allOf of the
                // struct and the tag.
                let parts = match variant["allOf"].as_array() {
                    Some(parts) => parts.clone(),
                    None => vec![variant.clone()],
                };
                let tag = parts
                    .iter()
                    .find_map(|part| part["properties"]["type"]["enum"][0].as_str())
                    .unwrap_or_else(|| panic!("{name} variant without a type tag: {variant}"))
                    .to_owned();
                let required = parts
                    .iter()
                    .filter_map(|part| part["required"].as_array())
                    .flatten()
                    .map(|field| field.as_str().unwrap().to_owned())
                    .collect();
                (tag, required)
            })
            .collect()
    };
    let frames: Vec<String> = variants("ClientFrame")
        .into_iter()
        .map(|(tag, _)| tag)
        .collect();
    for expected in [
        "send", "edit", "delete", "react", "unreact", "typing", "resume", "read", "join", "leave",
    ] {
        assert!(
            frames.contains(&expected.to_owned()),
            "client frame {expected} in {frames:?}"
        );
    }
    let events = variants("ServerEvent");
    let message = events
        .iter()
        .find(|(tag, _)| tag == "message")
        .expect("a message event");
    assert!(message.1.contains(&"message".to_owned()), "{message:?}");
    for expected in [
        "ready",
        "ack",
        "done",
        "error",
        "gap",
        "edited",
        "deleted",
        "reaction_added",
        "pinned",
        "renamed",
    ] {
        assert!(
            events.iter().any(|(tag, _)| tag == expected),
            "server event {expected}"
        );
    }
}

#[tokio::test]
async fn a_host_can_switch_the_documents_off_and_set_the_body_limit() {
    let chat = common::memory_chat(chat_engine::ChatConfig::default()).await;
    let router = TestServer::router(&chat)
        .with_documents(false)
        .with_body_limit(1024);
    let server = TestServer::serve_router(chat, router).await;
    for path in ["/openapi.json", "/socket.schema.json"] {
        let (status, _) = server.request(reqwest::Method::GET, None, path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    let cid = server.direct("alice", "bob").await;
    let path = format!("/conversations/{cid}/messages");
    let (status, refused) = server
        .post(
            "alice",
            &path,
            serde_json::json!({"body": "x".repeat(2000)}),
        )
        .await;
    assert_eq!(status, 413, "{refused}");
    server.send("alice", &cid, "short enough").await;
}
