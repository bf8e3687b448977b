//! The hardened HTTP server that runs the chat router: see [`Server`].

mod limits;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use chat_engine::{ChatService, LogThrottle};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use limits::{ConnectionLimits, Counted, Refused};

/// Settings of [`Server`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeConfig {
    /// How long a client may take to send a request's headers, counted from
    /// the connection's start or the end of its previous response: a silent
    /// or idle kept-alive connection is closed after it. Defaults to 10 s.
    pub header_read_timeout: Duration,
    /// Most connections open on this node at once, WebSockets included.
    /// Defaults to 16,384 (mind the process's open-file limit, `ulimit -n`).
    pub max_connections: usize,
    /// Most connections from one peer address, or `None` for no such limit.
    /// Behind a proxy every client has the proxy's address: raise it or turn
    /// it off there, and limit per client in the proxy. Defaults to 1,024.
    pub max_connections_per_peer: Option<usize>,
    /// How long a graceful shutdown waits for requests and sockets to finish
    /// before cutting them. Defaults to 15 s: a little more than a socket's
    /// write timeout, so a peer that stopped reading cannot hold it up.
    pub shutdown_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 16_384,
            max_connections_per_peer: Some(1_024),
            shutdown_timeout: Duration::from_secs(15),
        }
    }
}

impl ServeConfig {
    /// Sets [`header_read_timeout`](Self::header_read_timeout).
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Sets [`max_connections_per_peer`](Self::max_connections_per_peer);
    /// `None` turns it off.
    #[must_use]
    pub fn with_max_connections_per_peer(mut self, connections: Option<usize>) -> Self {
        self.max_connections_per_peer = connections.map(|limit| limit.max(1));
        self
    }

    /// Sets [`shutdown_timeout`](Self::shutdown_timeout).
    #[must_use]
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

/// Counters of a [`Server`]'s connections: open now, and totals since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeStats {
    /// TCP connections open now (WebSockets included).
    pub open: u64,
    /// Connections admitted.
    pub accepted: u64,
    /// Connections refused because the node was full.
    pub refused_node: u64,
    /// Connections refused because their peer address was full.
    pub refused_peer: u64,
    /// Connections closed for sending no complete request headers in time.
    pub header_timeouts: u64,
}

/// A hardened HTTP server for the chat router: [`Server::serve`] runs the
/// accept loop that `axum::serve` would, plus what a server facing hostile
/// clients needs and `axum::serve` does not do:
///
/// - **A header-read timeout** ([`ServeConfig::header_read_timeout`]): a
///   client must send a request's headers within it, on a new connection and
///   between requests on a kept-alive one, so slowloris-style clients (a byte
///   a second) and silent ones are closed instead of holding a socket forever.
/// - **Request timeouts** are the router's ([`crate::ChatRouter::with_request_timeout`]):
///   a body trickled in slowly ends there.
/// - **Connection limits** per node and per peer address, counted until the
///   socket closes (upgraded WebSockets included). A connection over a limit
///   is answered `503` with `Retry-After` and closed at once.
/// - **A bounded graceful shutdown**: new connections stop, requests in
///   flight finish, every WebSocket is closed with 1001 after answering the
///   send it is handling ([`chat_engine::Hub::drained`]), the follow-ups of
///   what was stored are finished ([`ChatService::flush_outbox`]), and
///   whatever is still open after [`ServeConfig::shutdown_timeout`] is cut,
///   so no client can hold the process up.
///
/// ```no_run
/// # async fn example(chat: chat_engine::ChatService, auth: std::sync::Arc<dyn chat_axum::Authenticate>) -> std::io::Result<()> {
/// use chat_axum::{ChatRouter, ServeConfig, Server};
/// let app: axum::Router = ChatRouter::new(chat.clone(), auth).build();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// Server::new(ServeConfig::default())
///     // Pass the future that says "stop": a signal handler, a oneshot channel…
///     .serve(listener, app, chat, std::future::pending())
///     .await
/// # }
/// ```
///
/// Cheap to clone: clones share the counters.
#[derive(Clone, Debug)]
pub struct Server {
    config: ServeConfig,
    limits: Arc<ConnectionLimits>,
}

impl Server {
    /// A server with these settings.
    #[must_use]
    pub fn new(config: ServeConfig) -> Self {
        Self {
            limits: ConnectionLimits::new(config.max_connections, config.max_connections_per_peer),
            config,
        }
    }

    /// Its counters now.
    #[must_use]
    pub fn stats(&self) -> ServeStats {
        let counters = &self.limits.stats;
        ServeStats {
            open: u64::try_from(self.limits.open()).unwrap_or(u64::MAX),
            accepted: counters.accepted.load(Ordering::Relaxed),
            refused_node: counters.refused_node.load(Ordering::Relaxed),
            refused_peer: counters.refused_peer.load(Ordering::Relaxed),
            header_timeouts: counters.header_timeouts.load(Ordering::Relaxed),
        }
    }

    /// Serves `app` on `listener` until `shutdown` completes, then shuts
    /// down gracefully within [`ServeConfig::shutdown_timeout`]: stops
    /// accepting, closes `chat`'s WebSockets with "going away" once each has
    /// answered what it was handling, lets requests in flight finish, and
    /// cuts what is left. Handlers can read the peer's address as
    /// `ConnectInfo<SocketAddr>`.
    ///
    /// # Errors
    /// None so far: failed accepts (for example out of file descriptors) are
    /// logged and retried; the `Result` leaves room for listener errors.
    pub async fn serve(
        self,
        listener: TcpListener,
        app: Router,
        chat: ChatService,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let (stop, stopping) = watch::channel(false);
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        if let Some(connection) = self.admit(stream, peer, &app, stopping.clone()) {
                            connections.spawn(connection);
                        }
                    }
                    Err(error) => accept_failed(&error).await,
                },
            }
        }
        drop(listener);
        tracing::info!("shutting down: closing live connections");
        chat.hub().close_all();
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + self.config.shutdown_timeout;
        let finished = tokio::time::timeout_at(deadline, async {
            while connections.join_next().await.is_some() {}
            // Upgraded sockets outlive their HTTP connection's task.
            chat.hub().drained().await;
            // Nothing is sent any more: finish what was, so a restart
            // repeats no hook or notification.
            chat.flush_outbox().await;
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                connections = self.limits.open(),
                sockets = chat.hub().stats().connections,
                "still open after {:?}; cutting them",
                self.config.shutdown_timeout
            );
            connections.shutdown().await;
        }
        Ok(())
    }

    /// The task serving one connection, or `None` when it was refused.
    fn admit(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        app: &Router,
        mut stopping: watch::Receiver<bool>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        // Small frames (acks, events) must leave at once, not wait for the
        // peer's delayed ACK under Nagle's algorithm (about 40 ms on Linux).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let permit = match self.limits.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refused) => {
                refuse(stream, refused);
                return None;
            }
        };
        let io = TokioIo::new(Counted::new(stream, permit));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout);
        let limits = Arc::clone(&self.limits);
        Some(async move {
            let connection = http.serve_connection(io, service).with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                if error.is_timeout() {
                    limits.stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                    ::metrics::counter!(metrics::HTTP_HEADER_TIMEOUTS).increment(1);
                }
                tracing::debug!(%error, "connection ended with an error");
            }
        })
    }
}

/// Answers a connection over a limit with `503` and closes it, on a task of
/// its own bounded in time, so refusing never stalls the accept loop.
fn refuse(mut stream: TcpStream, refused: Refused) {
    static LOG: LogThrottle = LogThrottle::every_ten_seconds();
    if let Some(suppressed) = LOG.admit() {
        tracing::warn!(?refused, suppressed, "connection refused: over the limit");
    }
    let body = match refused {
        Refused::Node => {
            r#"{"error":{"code":"unavailable","message":"too many connections on this server","retryable":true}}"#
        }
        Refused::Peer => {
            r#"{"error":{"code":"too_many_connections","message":"too many connections from your address","retryable":true}}"#
        }
    };
    let status = match refused {
        Refused::Node => "503 Service Unavailable",
        Refused::Peer => "429 Too Many Requests",
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        let answer = async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
    });
}

/// A failed accept. Out of file descriptors (or memory) is the usual cause
/// under attack: pause briefly so the loop does not spin, and go on.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    ) {
        return; // the peer gave up before we accepted: nothing is wrong here
    }
    static LOG: LogThrottle = LogThrottle::every_ten_seconds();
    if let Some(suppressed) = LOG.admit() {
        tracing::warn!(%error, suppressed, "accept failed; pausing");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}
