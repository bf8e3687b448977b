//! A real server on a loopback port (SQLite in memory, in-process bus, the
//! id-as-token demo auth) and small HTTP / WebSocket clients for the tests.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::request::Parts;
use chat_axum::{AuthRejection, Authenticate, bearer_token};
use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, UserId};
use chat_store_sqlite::SqliteStore;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Test auth: the bearer token is the user id.
#[derive(Debug)]
pub struct TokenIsUser;

#[async_trait::async_trait]
impl Authenticate for TokenIsUser {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        let token =
            bearer_token(parts).ok_or_else(|| AuthRejection::new("missing bearer token"))?;
        UserId::new(token).map_err(|error| AuthRejection::new(error.to_string()))
    }
}

/// A chat service on SQLite in memory and the in-process bus.
pub async fn memory_chat(config: ChatConfig) -> ChatService {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    ChatService::new(store, Arc::new(MemoryBus::new()), config)
        .await
        .unwrap()
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub chat: ChatService,
    http: reqwest::Client,
}

/// How long a test waits for one event.
pub const WAIT: Duration = Duration::from_secs(10);

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(chat_axum::WsConfig::default()).await
    }

    pub async fn start_with(ws: chat_axum::WsConfig) -> Self {
        Self::start_configured(ChatConfig::default(), ws).await
    }

    pub async fn start_configured(config: ChatConfig, ws: chat_axum::WsConfig) -> Self {
        Self::serve(memory_chat(config).await, ws).await
    }

    pub async fn start_on(
        store: Arc<dyn chat_engine::Store>,
        bus: Arc<dyn chat_engine::Bus>,
        config: ChatConfig,
        ws: chat_axum::WsConfig,
    ) -> Self {
        let chat = ChatService::new(store, bus, config).await.unwrap();
        Self::serve(chat, ws).await
    }

    pub async fn serve(chat: ChatService, ws: chat_axum::WsConfig) -> Self {
        let router = Self::router(&chat).with_ws(ws);
        Self::serve_router(chat, router).await
    }

    /// The chat router of `chat` with the test auth, to configure further.
    pub fn router(chat: &ChatService) -> chat_axum::ChatRouter {
        chat_axum::ChatRouter::new(chat.clone(), Arc::new(TokenIsUser))
    }

    /// Serves `router` under `/chat` on a loopback port.
    pub async fn serve_router(chat: ChatService, router: chat_axum::ChatRouter) -> Self {
        let app: axum::Router = axum::Router::new().nest("/chat", router.build());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            chat,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/chat{path}", self.addr)
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        user: Option<&str>,
        path: &str,
        body: Option<reqwest::Body>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(user);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, value)
    }

    pub async fn get(&self, user: &str, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, Some(user), path, None)
            .await
    }

    pub async fn post(&self, user: &str, path: &str, body: Value) -> (u16, Value) {
        self.request(
            reqwest::Method::POST,
            Some(user),
            path,
            Some(body.to_string().into()),
        )
        .await
    }

    pub async fn put(&self, user: &str, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::PUT, Some(user), path, None)
            .await
    }

    pub async fn patch(&self, user: &str, path: &str, body: Value) -> (u16, Value) {
        self.request(
            reqwest::Method::PATCH,
            Some(user),
            path,
            Some(body.to_string().into()),
        )
        .await
    }

    pub async fn delete(&self, user: &str, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, Some(user), path, None)
            .await
    }

    /// Creates a group of `creator` and `members`; returns its id.
    pub async fn group(&self, creator: &str, members: &[&str]) -> String {
        let body = serde_json::json!({ "title": "team", "members": members });
        let (status, conversation) = self.post(creator, "/conversations", body).await;
        assert_eq!(status, 201, "{conversation}");
        conversation["id"].as_str().unwrap().to_owned()
    }

    /// Opens (or gets) the direct conversation of two users; returns its id.
    pub async fn direct(&self, a: &str, b: &str) -> String {
        let (status, conversation) = self.put(a, &format!("/direct/{b}")).await;
        assert_eq!(status, 200, "{conversation}");
        conversation["id"].as_str().unwrap().to_owned()
    }

    /// Sends over REST; returns the stored message.
    pub async fn send(&self, user: &str, conversation: &str, body: &str) -> Value {
        let (status, message) = self
            .post(
                user,
                &format!("/conversations/{conversation}/messages"),
                serde_json::json!({ "body": body }),
            )
            .await;
        assert_eq!(status, 201, "{message}");
        message
    }

    /// A socket of `user`, once the server says it is registered
    /// (`ready`): every event from then on reaches it.
    pub async fn ws(&self, user: &str) -> WsClient {
        let mut client = self.ws_unready(user).await;
        let ready = client.next_event().await;
        assert_eq!(ready, serde_json::json!({"type": "ready", "user_id": user}));
        client
    }

    /// A socket of `user` right after the handshake, before `ready`.
    pub async fn ws_unready(&self, user: &str) -> WsClient {
        let url = format!("ws://{}/chat/ws?token={user}", self.addr);
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        WsClient { stream }
    }
}

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.stream.send(message).await.unwrap();
    }

    /// The next JSON event but `presence` ones, which come whenever a
    /// contact connects or leaves (tests of presence read them with
    /// [`Self::next_presence`]); panics on close or after [`WAIT`].
    pub async fn next_event(&mut self) -> Value {
        loop {
            let event = self.next_frame().await;
            if event["type"] != "presence" {
                return event;
            }
        }
    }

    /// The next `presence` event, skipping others.
    pub async fn next_presence(&mut self) -> Value {
        loop {
            let event = self.next_frame().await;
            if event["type"] == "presence" {
                return event;
            }
        }
    }

    /// The next JSON frame, whatever it is (pings are skipped, and do not
    /// extend the wait); panics on close or after [`WAIT`].
    pub async fn next_frame(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("timed out waiting for an event")
                .expect("socket ended")
                .expect("socket error");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).unwrap(),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The close frame the server ends the socket with, skipping events
    /// before it; panics if the socket ends without one or after [`WAIT`].
    pub async fn close_frame(&mut self) -> CloseFrame {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("timed out waiting for the close")
                .expect("socket ended without a close frame")
                .expect("socket error");
            if let Message::Close(frame) = message {
                return frame.expect("a close frame with a code");
            }
        }
    }

    /// The next event of `kind`, skipping others (e.g. read or typing events).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["type"] == kind {
                return event;
            }
        }
    }
}
