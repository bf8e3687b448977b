//! Builds the server from its settings and runs it until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;

use chat_axum::WsConfig;
use chat_bus_memory::MemoryBus;
use chat_bus_redis::{RedisBus, RedisBusOptions};
use chat_engine::{Bus, ChatConfig, ChatService, Store, StoreDirectory, UserId};
use chat_store_mysql::MySqlStore;
use chat_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::{ConfigError, Notifications, ServerArgs};
use crate::hardening;
use crate::metrics::{self, MetricsSource};
use crate::notifier::ServerNotifier;

/// A server ready to serve: its router, the service behind it, and the
/// hardened listener that will run them.
#[derive(Debug, Clone)]
pub struct Server {
    /// Every route: the page, `/health`, and the chat API at `/`.
    pub router: Router,
    /// The chat service (for graceful shutdown and health).
    pub chat: ChatService,
    /// The listener's limits and counters.
    pub http: chat_axum::Server,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The settings are unsafe or unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("cannot open the database")]
    Store(#[source] chat_engine::BoxError),
    /// Redis could not be reached.
    #[error("cannot connect to Redis")]
    Bus(#[from] chat_bus_redis::RedisBusError),
    /// The chat service could not start.
    #[error("cannot start the chat service")]
    Chat(#[from] chat_engine::ChatError),
    /// The metrics recorder could not be installed.
    #[error("cannot install the metrics recorder")]
    Metrics(#[from] metrics_exporter_prometheus::BuildError),
}

/// Opens the store, starts the service and assembles the routes.
///
/// # Errors
/// See [`StartError`].
pub async fn build(args: &ServerArgs) -> Result<Server, StartError> {
    args.check()?;
    let (auth, demo) = crate::auth::from_args(args)?;
    let mode = if demo { "demo" } else { "signed" };
    let config = ChatConfig::default()
        .with_outbox(
            Duration::from_secs(args.outbox_lease_secs.max(1)),
            ChatConfig::default().outbox_call_timeout,
        )
        .with_max_body_bytes(args.max_body_bytes)
        .with_rates(args.rates())
        .with_connection_queue(args.connection_queue)
        .with_max_connections_per_user(args.max_connections_per_user);
    let (bus, redis) = bus(args).await?;
    let metrics = MetricsSource::install(redis.is_some())?;
    let store = store(args).await?;
    // The users who have signed in are the server's user directory.
    let directory = Arc::new(StoreDirectory::new(Arc::clone(&store)));
    let auth: Arc<dyn chat_axum::Authenticate> =
        Arc::new(crate::auth::SignsIn::new(auth, Arc::clone(&directory)));
    // The page offers a chat with the bot, if one runs.
    let bot = args.bot.clone();
    let mut builder = ChatService::builder(store, bus, config).directory(directory.clone());
    if let (true, Some(redis)) = (args.shared_rate_limits, &redis) {
        builder = builder.shared_rates(Arc::new(redis.rates()));
    }
    if args.notifications == Notifications::Log {
        let webhook = args
            .notify_webhook
            .clone()
            .zip(args.notify_webhook_secret.clone());
        builder = builder.notifier(Arc::new(ServerNotifier::new(webhook)));
    }
    let chat = match &args.bot {
        Some(bot) => {
            let bot = UserId::new(bot.as_str())?;
            directory.sign_in(&bot).await?;
            let (hooks, inbox) = echo_bot::EchoBot::new(bot.clone());
            let chat = builder.hooks(hooks).start().await?;
            tokio::spawn(echo_bot::run(chat.clone(), bot, inbox));
            chat
        }
        None => builder.start().await?,
    };
    let http = chat_axum::Server::new(args.serve_config());
    let router = crate::page::router()
        .route(
            "/auth-mode",
            get(move || async move { axum::Json(serde_json::json!({ "mode": mode, "bot": bot })) }),
        )
        .with_state(chat.clone())
        .merge(
            Router::new()
                .route("/metrics", get(metrics::metrics))
                .with_state(metrics),
        )
        .merge(
            chat_axum::ChatRouter::new(chat.clone(), auth)
                .with_ws(
                    WsConfig::default()
                        .with_reorder_window(Duration::from_millis(args.reorder_window_ms)),
                )
                .with_allowed_origins(args.allowed_origins.iter().cloned())
                .with_request_timeout(Duration::from_secs(args.request_timeout_secs.max(1)))
                .build(),
        )
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(hardening::request_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        );
    let [nosniff, frames, referrer, csp] = hardening::security_headers();
    let mut router = router
        .layer(nosniff)
        .layer(frames)
        .layer(referrer)
        .layer(csp);
    if demo {
        router = router.layer(axum::middleware::from_fn(hardening::loopback_hosts_only));
    }
    Ok(Server { router, chat, http })
}

/// The store `DATABASE_URL` names: SQLite (file or memory) or MySQL/MariaDB.
async fn store(args: &ServerArgs) -> Result<Arc<dyn Store>, StartError> {
    let url = &args.database_url;
    if url.starts_with("mysql:") {
        let store = MySqlStore::connect(url).await;
        Ok(Arc::new(
            store.map_err(|error| StartError::Store(error.into()))?,
        ))
    } else {
        let store = SqliteStore::connect(url).await;
        Ok(Arc::new(
            store.map_err(|error| StartError::Store(error.into()))?,
        ))
    }
}

/// Redis when `REDIS_URL` is set, else the in-process bus.
/// The bus `REDIS_URL` names (the Redis bus also returned as itself, for
/// its counters), or the in-process bus.
async fn bus(args: &ServerArgs) -> Result<(Arc<dyn Bus>, Option<Arc<RedisBus>>), StartError> {
    Ok(match &args.redis_url {
        Some(url) => {
            let options = RedisBusOptions::default().with_prefix(args.redis_prefix.clone());
            let redis = if args.redis_cluster {
                let seeds: Vec<&str> = url.split(',').map(str::trim).collect();
                RedisBus::connect_cluster(&seeds, options).await?
            } else {
                RedisBus::connect(url, options).await?
            };
            let redis = Arc::new(redis);
            (Arc::clone(&redis) as Arc<dyn Bus>, Some(redis))
        }
        None => (Arc::new(MemoryBus::new()), None),
    })
}

/// Serves until `shutdown` completes, then stops accepting, closes every
/// WebSocket with "going away" and waits (within the shutdown timeout) for
/// in-flight requests and socket sends to be answered.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    server: Server,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server
        .http
        .serve(listener, server.router, server.chat, shutdown)
        .await
}
