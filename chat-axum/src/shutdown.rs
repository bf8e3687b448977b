//! Graceful shutdown for a host that serves with `axum::serve`. axum's own
//! graceful shutdown waits for HTTP requests, but an upgraded WebSocket has
//! left its HTTP connection behind: axum would return with every socket
//! still open, and the runtime would then cut them mid-send. This closes
//! them first, the way [`crate::Server`] does.

use std::future::Future;
use std::time::Duration;

use chat_engine::ChatService;

/// Resolves once `signal` has fired and chat's WebSockets are closed:
/// refuses new ones (a late upgrade is told "unavailable, retry"), closes
/// each live one with 1001 ("going away") once it has answered the frame it
/// was handling, and waits for them to go, at most `bound` (then it logs
/// how many are left and resolves anyway, so a client cannot hold the
/// process up). Then it finishes the follow-ups (hooks, notifications) of
/// what was stored ([`ChatService::flush_outbox`]) within what is left of
/// `bound`, so a restart repeats none. Give it to `with_graceful_shutdown`:
/// axum then stops accepting and lets requests in flight finish (REST sends
/// among them) before `serve` returns; a host that wants those followed up
/// before it exits too calls `chat.flush_outbox()` after `serve` (else the
/// next start's sweep does it).
///
/// ```no_run
/// # async fn example(chat: chat_engine::ChatService, app: axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let stop = async { tokio::signal::ctrl_c().await.ok(); };
/// axum::serve(listener, app)
///     .with_graceful_shutdown(chat_axum::graceful_shutdown(chat, stop, Duration::from_secs(10)))
///     .await
/// # }
/// ```
pub async fn graceful_shutdown(
    chat: ChatService,
    signal: impl Future<Output = ()> + Send,
    bound: Duration,
) {
    signal.await;
    tracing::info!("shutting down: closing chat's sockets");
    chat.hub().close_all();
    let deadline = tokio::time::Instant::now() + bound;
    if tokio::time::timeout_at(deadline, chat.hub().drained())
        .await
        .is_err()
    {
        tracing::warn!(
            sockets = chat.hub().stats().connections,
            "chat sockets still open after {bound:?}; leaving them to be cut"
        );
    }
    if tokio::time::timeout_at(deadline, chat.flush_outbox())
        .await
        .is_err()
    {
        tracing::warn!(
            "follow-ups of stored messages unfinished after {bound:?}; the next start sweeps them"
        );
    }
}
