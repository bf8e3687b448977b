//! Sockets do not outlive their credential: one closes when the token it was
//! opened with expires (4002), and `ChatService::disconnect` closes every
//! socket of one user (4003) and nobody else's.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::request::Parts;
use chat_axum::{AuthRejection, Authenticate, Identity, bearer_token};
use chat_engine::{ChatConfig, UserId};
use common::{TestServer, memory_chat};

/// Test auth: the token is the user id, and it expires in a second
/// (`expired-…`: a second ago).
#[derive(Debug)]
struct ExpiresInASecond;

#[async_trait::async_trait]
impl Authenticate for ExpiresInASecond {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        Ok(self.identify(parts).await?.user)
    }

    async fn identify(&self, parts: &Parts) -> Result<Identity, AuthRejection> {
        let token = bearer_token(parts).ok_or_else(|| AuthRejection::new("missing token"))?;
        let (user, expires_at) = match token.strip_prefix("expired-") {
            Some(user) => (user.to_owned(), SystemTime::now() - Duration::from_secs(1)),
            None => (token, SystemTime::now() + Duration::from_secs(1)),
        };
        let user = UserId::new(user).map_err(|error| AuthRejection::new(error.to_string()))?;
        Ok(Identity::new(user).expiring_at(expires_at))
    }
}

#[tokio::test]
async fn a_socket_closes_when_its_token_expires() {
    let chat = memory_chat(ChatConfig::default()).await;
    let router = chat_axum::ChatRouter::new(chat.clone(), Arc::new(ExpiresInASecond));
    let server = TestServer::serve_router(chat, router).await;
    let mut socket = server.ws("alice").await;
    let close = socket.close_frame().await;
    assert_eq!(u16::from(close.code), chat_axum::CLOSE_TOKEN_EXPIRED);
    assert_eq!(
        close.reason.as_str(),
        "token expired: reconnect with a fresh token"
    );
    // A token already expired is refused at the upgrade and over REST.
    let url = format!("ws://{}/chat/ws?token=expired-alice", server.addr);
    let refused = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(refused.to_string().contains("401"), "{refused}");
    let (status, body) = server.get("expired-alice", "/conversations").await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (401, Some("token expired"))
    );
}

#[tokio::test]
async fn disconnect_closes_every_socket_of_the_user_and_nobody_elses() {
    let server = TestServer::start().await;
    let cid = server.direct("alice", "bob").await;
    let mut phone = server.ws("alice").await;
    let mut laptop = server.ws("alice").await;
    let mut bob = server.ws("bob").await;
    let alice = UserId::new("alice").unwrap();
    server.chat.disconnect(&alice).await.unwrap();
    for device in [&mut phone, &mut laptop] {
        let close = device.close_frame().await;
        assert_eq!(u16::from(close.code), chat_axum::CLOSE_SIGNED_OUT);
        assert_eq!(close.reason.as_str(), "signed out");
    }
    let hub = server.chat.hub();
    hub.until(|hub| hub.connections_of(&alice) == 0).await;
    // Bob's socket still works.
    server.send("alice", &cid, "still here").await;
    let event = bob.next_of("message").await;
    assert_eq!(event["message"]["body"], "still here");
    assert_eq!(hub.connections_of(&UserId::new("bob").unwrap()), 1);
}
