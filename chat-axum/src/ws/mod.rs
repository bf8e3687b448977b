//! The WebSocket endpoint: `GET /ws`, authenticated by the host's hook (which
//! may read `?token=` since browsers cannot set headers on the upgrade). The
//! protocol itself is `chat_engine::Session`'s; `session.rs` carries it.

mod session;

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chat_engine::{ChatError, SessionConfig};

use crate::auth::Identified;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;

/// Close code sent to a client whose queue stayed full too long:
/// reconnect and `resume` from the last seq seen.
pub const CLOSE_SLOW_CONSUMER: u16 = 4001;
/// Close code sent when the server could not register the connection
/// (its bus is unavailable): retry later.
pub const CLOSE_UNAVAILABLE: u16 = 1013;
/// Close code sent when the user already holds the most connections allowed
/// ([`chat_engine::ChatConfig::max_connections_per_user`]; "policy violation").
pub const CLOSE_TOO_MANY_CONNECTIONS: u16 = 1008;
/// Close code sent when the token the socket was opened with expires:
/// reconnect with a fresh one (see [`crate::Identity::expires_at`]).
pub const CLOSE_TOKEN_EXPIRED: u16 = 4002;
/// Close code sent when the host signed the user out on every node
/// ([`chat_engine::ChatService::disconnect`]: a logout, a ban): do not
/// reconnect with the same credential.
pub const CLOSE_SIGNED_OUT: u16 = 4003;
/// Close code sent when the server shuts down ("going away").
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code sent for a client frame over [`WsConfig::max_frame_bytes`]
/// ("message too big"); the reason names the limit.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// WebSocket settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsConfig {
    /// How often the server pings. Defaults to 15 s.
    pub ping_interval: Duration,
    /// A peer silent (no frame, no pong) this long is dropped. Defaults to 45 s.
    pub idle_timeout: Duration,
    /// A write that takes longer than this drops the connection. Defaults to 10 s.
    pub write_timeout: Duration,
    /// Largest client frame, in bytes; a larger one closes the socket with
    /// [`CLOSE_TOO_BIG`]. Defaults to `None`: the request limit the router
    /// derives from the chat limits ([`crate::max_request_bytes`]), so any
    /// valid `send` fits however it is escaped.
    pub max_frame_bytes: Option<usize>,
    /// How long a message event waits for an earlier seq of its conversation
    /// (events from different app nodes can cross on the bus) before the
    /// client is sent a `gap` for the missing ones. Defaults to 250 ms.
    pub reorder_window: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            write_timeout: Duration::from_secs(10),
            max_frame_bytes: None,
            reorder_window: Duration::from_millis(250),
        }
    }
}

impl WsConfig {
    /// Sets [`ping_interval`](Self::ping_interval) and [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_keepalive(mut self, ping_interval: Duration, idle_timeout: Duration) -> Self {
        self.ping_interval = ping_interval;
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets [`write_timeout`](Self::write_timeout).
    #[must_use]
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`reorder_window`](Self::reorder_window).
    #[must_use]
    pub fn with_reorder_window(mut self, window: Duration) -> Self {
        self.reorder_window = window;
        self
    }

    /// Sets [`max_frame_bytes`](Self::max_frame_bytes).
    #[must_use]
    pub fn with_max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = Some(bytes);
        self
    }

    /// Fills in the frame limit when none was set.
    pub(crate) fn with_frame_limit_default(mut self, bytes: usize) -> Self {
        self.max_frame_bytes.get_or_insert(bytes);
        self
    }

    /// The frame limit in force.
    pub(crate) fn frame_limit(&self) -> usize {
        self.max_frame_bytes.unwrap_or(64 * 1024)
    }
}

/// How long live events wait for the first frame of a socket opened with
/// `?resume=first`.
const RESUME_FIRST_BOUND: Duration = Duration::from_secs(5);

/// The query of the upgrade.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct UpgradeParams {
    /// `first`: the client's first frame is its `resume`.
    #[serde(default)]
    resume: Option<ResumeMode>,
}

/// When the client sends its positions.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum ResumeMode {
    /// In its first frame: nothing live is written before it.
    First,
}

/// Upgrades to the WebSocket of live events (see the wire protocol).
#[utoipa::path(get, path = "/ws", operation_id = "websocket", tag = "live",
    params(("token" = Option<String>, Query, description = "Token, for clients that cannot set headers"),
        ("resume" = Option<String>, Query, description = "`first`: the client's first frame is its `resume`; no live event is written before it (for at most 5 s), so none reaches the client before the server knows where the client is")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = crate::error::ErrorResponse),
        (status = 403, description = "A browser page from an origin that is not allowed",
            body = crate::error::ErrorResponse),
        (status = 429, description = "The user holds the most connections allowed on this node",
            body = crate::error::ErrorResponse)))]
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    Identified(identity): Identified,
    ApiQuery(params): ApiQuery<UpgradeParams>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = state.origins.check(&headers) {
        return ApiError::from(refused).into_response();
    }
    let config = state.ws;
    let me = identity.user;
    // Refused before the upgrade when already at the limit; the hub checks
    // again atomically when the session registers (two racing upgrades).
    let limit = state.chat.config().max_connections_per_user.max(1);
    if state.chat.hub().connections_of(&me) >= limit {
        return ApiError::from(ChatError::TooManyConnections { limit }).into_response();
    }
    upgrade
        .max_message_size(config.frame_limit())
        .max_frame_size(config.frame_limit())
        // Small buffers: idle connections should cost little memory.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| {
            let mut settings = SessionConfig::default().with_reorder_window(config.reorder_window);
            if let Some(ResumeMode::First) = params.resume {
                settings = settings.with_resume_first(RESUME_FIRST_BOUND);
            }
            session::run(
                socket,
                state.chat,
                me,
                identity.expires_at,
                config,
                settings,
            )
        })
}
