//! What can go wrong inside the client. None of it reaches the caller as
//! a failure of a call: a lost connection is an [`Event::Disconnected`]
//! (with this error's text) and the client reconnects by itself.
//!
//! [`Event::Disconnected`]: crate::Event::Disconnected

/// Why a connection, or a fetch over REST, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The token provider gave no token.
    #[error("no token: {0}")]
    Token(String),
    /// The WebSocket failed (connect, read or write).
    #[error("websocket: {0}")]
    Socket(#[from] tokio_tungstenite::tungstenite::Error),
    /// A REST call failed before an answer.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// A REST call was answered with this status.
    #[error("the server answered {0}")]
    Refused(u16),
    /// A frame or a body was not the JSON the protocol promises.
    #[error("bad JSON from the server: {0}")]
    Json(#[from] serde_json::Error),
    /// The socket closed before `ready`.
    #[error("the server closed the connection before it was ready")]
    Closed,
    /// The [`Client`](crate::Client) was dropped.
    #[error("the client is gone")]
    ClientGone,
}
