//! The chat library's HTTP surface: an axum [`Router`] with the REST routes
//! and the WebSocket endpoint of the wire protocol, mounted by the host under
//! any prefix, behind the host's own authentication.
//!
//! ```no_run
//! # async fn example(chat: chat_engine::ChatService, auth: std::sync::Arc<dyn chat_axum::Authenticate>) {
//! let app: axum::Router = axum::Router::new()
//!     .nest("/chat", chat_axum::router(chat, auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! Routes (relative to the mount point): `GET/POST /conversations`,
//! `PUT /direct/{user_id}`, `GET /conversations/{cid}`,
//! `PATCH /conversations/{cid}/preferences`,
//! `POST /conversations/{cid}/members`, `DELETE /conversations/{cid}/members/{uid}`,
//! `GET/POST /conversations/{cid}/messages`, `GET /messages/{mid}`,
//! `POST /conversations/{cid}/read`, `GET /rooms`, `POST /rooms/{cid}/join`,
//! `GET /presence?user=…`, `GET /users`, `GET /profiles?user=…`,
//! `GET /ws`, and the OpenAPI document
//! at `GET /openapi.json`.
//! Errors are `{"error": {"code", "message", "retryable"}}` with 400, 401,
//! 403, 404, 409, 413, 429 or 503 (with `Retry-After`).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod auth_fn;
mod error;
#[cfg(feature = "jwt")]
mod jwt;
mod openapi;
mod origin;
mod rest;
mod serve;
mod shutdown;
mod socket_schema;
mod state;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chat_engine::{ChatConfig, ChatService};

pub use auth::{AuthRejection, Authenticate, Identity, bearer_token};
pub use auth_fn::authenticate_with;
pub use error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse, status_of};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use jwt::{JwtAuth, JwtKeyError, JwtMinter, MIN_HS256_SECRET_BYTES};
pub use openapi::openapi;
pub use rest::health::HealthReport;
pub use rest::messages::ReadMark;
pub use rest::timeline::{Pins, ReadMarks};
pub use serve::{ServeConfig, ServeStats, Server, metrics};
pub use shutdown::graceful_shutdown;
pub use socket_schema::socket_schema;
pub use ws::{
    CLOSE_GOING_AWAY, CLOSE_SIGNED_OUT, CLOSE_SLOW_CONSUMER, CLOSE_TOKEN_EXPIRED, CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_CONNECTIONS, CLOSE_UNAVAILABLE, WsConfig,
};

use origin::Origins;
use state::AppState;

/// Room in a request for the JSON around the body and the payload (keys,
/// ids, `client_id`, whitespace).
const FRAMING_BYTES: usize = 16 * 1024;

/// The largest request body (REST) or client frame (WebSocket) that can
/// carry a valid message: the body and the structured payload escaped in
/// the costliest way JSON allows (`\u00XX`, six bytes for each byte), plus
/// the framing. A body within [`ChatConfig::max_body_bytes`] is accepted
/// however the client escapes it, on both paths alike.
#[must_use]
pub fn max_request_bytes(config: &ChatConfig) -> usize {
    6 * (config.max_body_bytes + config.max_payload_bytes) + FRAMING_BYTES
}

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
/// # fn example(chat: chat_engine::ChatService, auth: std::sync::Arc<dyn chat_axum::Authenticate>) {
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
    origins: Vec<String>,
    request_timeout: Duration,
    documents: bool,
    body_limit: Option<usize>,
}

impl ChatRouter {
    /// Starts from the service and the host's auth hook.
    pub fn new(chat: ChatService, auth: Arc<dyn Authenticate>) -> Self {
        Self {
            chat,
            auth,
            ws: WsConfig::default(),
            origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
            documents: true,
            body_limit: None,
        }
    }

    /// Whether the router serves its API documents, `/openapi.json` and
    /// `/socket.schema.json` (the default). A host that publishes its own
    /// document switches them off and merges ours into it:
    ///
    /// ```no_run
    /// # fn example(chat: chat_engine::ChatService, auth: std::sync::Arc<dyn chat_axum::Authenticate>) {
    /// let mut document = utoipa::openapi::OpenApiBuilder::new().build(); // the host's
    /// document.merge(chat_axum::openapi());
    /// let router: axum::Router = chat_axum::ChatRouter::new(chat, auth)
    ///     .with_documents(false)
    ///     .build();
    /// # }
    /// ```
    pub fn with_documents(mut self, served: bool) -> Self {
        self.documents = served;
        self
    }

    /// The largest REST body and WebSocket frame (unless
    /// [`WsConfig`] sets the frame's own). Defaults to
    /// [`max_request_bytes`] of the service's config, which fits any legal
    /// message however it is escaped; a smaller limit refuses some legal
    /// messages with 413 (socket: close 1009).
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// Origins (`https://app.example.com`) whose pages may use the API from
    /// a browser besides the server's own: they may open the WebSocket, and
    /// REST answers them with CORS headers. Without any, only pages served
    /// by the same host and port can (browsers send `Origin` on every
    /// upgrade; non-browser clients, which send none, are not affected).
    pub fn with_allowed_origins<I, O>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = O>,
        O: Into<String>,
    {
        self.origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// How long a REST request may take, reading its body included (a body
    /// trickled in slowly ends here with 408 `timeout`). Defaults to 30 s.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
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
        let body_limit = self
            .body_limit
            .unwrap_or_else(|| max_request_bytes(self.chat.config()));
        let origins = Origins::new(self.origins);
        let cors = origins.cors();
        let state = AppState {
            chat: self.chat,
            auth: self.auth,
            ws: self.ws.with_frame_limit_default(body_limit),
            origins: Arc::new(origins),
        };
        let (mut router, document) = openapi::routes().split_for_parts();
        if self.documents {
            // Serialized once; every request shares the bytes.
            let document = bytes::Bytes::from(document.to_pretty_json().unwrap_or_default());
            let frames = bytes::Bytes::from(
                serde_json::to_string_pretty(&socket_schema()).unwrap_or_default(),
            );
            let json = |bytes: bytes::Bytes| {
                get(move || async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        bytes,
                    )
                })
            };
            router = router
                .route("/openapi.json", json(document))
                .route("/socket.schema.json", json(frames));
        }
        router
            .layer(DefaultBodyLimit::max(body_limit))
            .layer(axum::middleware::from_fn_with_state(
                self.request_timeout,
                deadline,
            ))
            .layer(tower::util::option_layer(cors))
            .with_state(state)
    }
}

/// Ends a request that takes longer than the router's timeout with 408.
async fn deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::TimedOut(timeout).into_response(),
    }
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
