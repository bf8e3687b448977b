//! The chat library's HTTP surface: an axum [`Router`] with the REST routes
//! and the WebSocket endpoint of the wire protocol, mounted by the host under
//! any prefix, behind the host's own authentication.
//!
//! ```no_run
//! # async fn example(chat: chat_core::ChatService, auth: std::sync::Arc<dyn chat_axum::Authenticate>) {
//! let app: axum::Router = axum::Router::new()
//!     .nest("/chat", chat_axum::router(chat, auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! Routes (relative to the mount point): `GET/POST /conversations`,
//! `PUT /direct/{user_id}`, `GET /conversations/{cid}`,
//! `POST /conversations/{cid}/members`, `DELETE /conversations/{cid}/members/{uid}`,
//! `GET/POST /conversations/{cid}/messages`, `GET /messages/{mid}`,
//! `POST /conversations/{cid}/read`, `GET /rooms`, `POST /rooms/{cid}/join`,
//! `GET /ws`, and the OpenAPI document
//! at `GET /openapi.json`.
//! Errors are `{"error": {"code", "message", "retryable"}}` with 400, 401,
//! 403, 404, 409, 413, 429 or 503 (with `Retry-After`).

mod auth;
mod error;
mod openapi;
mod rest;
mod state;
mod ws;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use chat_core::ChatService;

pub use auth::{AuthRejection, Authenticate, bearer_token};
pub use error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse, status_of};
pub use openapi::openapi;
pub use rest::conversations::ConversationList;
pub use rest::messages::ReadMark;
pub use ws::{
    CLOSE_GOING_AWAY, CLOSE_SLOW_CONSUMER, CLOSE_TOO_MANY_CONNECTIONS, CLOSE_UNAVAILABLE, WsConfig,
};

use state::AppState;

/// Room in a request body for JSON framing and escapes around the largest
/// message body.
const BODY_OVERHEAD: usize = 16 * 1024;

/// The chat routes with default WebSocket settings. See [`ChatRouter`].
pub fn router<S>(chat: ChatService, auth: Arc<dyn Authenticate>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    ChatRouter::new(chat, auth).build()
}

/// Builds the chat [`Router`] with non-default settings.
///
/// ```no_run
/// # fn example(chat: chat_core::ChatService, auth: std::sync::Arc<dyn chat_axum::Authenticate>) {
/// use std::time::Duration;
/// use chat_axum::{ChatRouter, WsConfig};
/// let router: axum::Router = ChatRouter::new(chat, auth)
///     .with_ws(WsConfig::default().with_keepalive(Duration::from_secs(5), Duration::from_secs(15)))
///     .build();
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ChatRouter {
    chat: ChatService,
    auth: Arc<dyn Authenticate>,
    ws: WsConfig,
}

impl ChatRouter {
    /// Starts from the service and the host's auth hook.
    pub fn new(chat: ChatService, auth: Arc<dyn Authenticate>) -> Self {
        Self {
            chat,
            auth,
            ws: WsConfig::default(),
        }
    }

    /// WebSocket settings. Defaults to [`WsConfig::default`].
    pub fn with_ws(mut self, ws: WsConfig) -> Self {
        self.ws = ws;
        self
    }

    /// The router, with its state applied: nest it under any prefix.
    pub fn build<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let body_limit = self.chat.config().max_body_bytes + BODY_OVERHEAD;
        let state = AppState {
            chat: self.chat,
            auth: self.auth,
            ws: self.ws,
        };
        let (router, document) = openapi::routes().split_for_parts();
        // Serialized once; every request shares the bytes.
        let document = bytes::Bytes::from(document.to_pretty_json().unwrap_or_default());
        router
            .route(
                "/openapi.json",
                get(move || async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        document,
                    )
                }),
            )
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(state)
    }
}
