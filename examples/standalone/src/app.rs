//! Builds the server from its settings and runs it until shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chat_axum::Authenticate;
use chat_bus_memory::MemoryBus;
use chat_core::{ChatConfig, ChatService, UserId};
use chat_store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{TokenIsUserId, TokenSigner};
use crate::config::{ConfigError, ServerArgs};

/// A server ready to serve: its router and the service behind it.
#[derive(Debug, Clone)]
pub struct Server {
    /// Every route: the page, `/health`, and the chat API at `/`.
    pub router: Router,
    /// The chat service (for graceful shutdown and health).
    pub chat: ChatService,
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
    Store(#[from] chat_store_sqlite::SqliteStoreError),
    /// The chat service could not start.
    #[error("cannot start the chat service")]
    Chat(#[from] chat_core::ChatError),
}

/// Opens the store, starts the service and assembles the routes.
///
/// # Errors
/// See [`StartError`].
pub async fn build(args: &ServerArgs) -> Result<Server, StartError> {
    args.check()?;
    let auth: Arc<dyn Authenticate> = match &args.secret {
        Some(secret) => Arc::new(TokenSigner::new(secret).map_err(ConfigError::from)?),
        None => Arc::new(TokenIsUserId),
    };
    let mode = if args.secret.is_some() {
        "signed"
    } else {
        "demo"
    };
    let store = Arc::new(SqliteStore::connect(&args.database_url).await?);
    let config = ChatConfig::default().with_max_body_bytes(args.max_body_bytes);
    let chat = ChatService::new(store, Arc::new(MemoryBus::new()), config).await?;
    let router = Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/style.css", get(style))
        .route("/health", get(health))
        .route(
            "/auth-mode",
            get(move || async move { axum::Json(serde_json::json!({ "mode": mode })) }),
        )
        .with_state(chat.clone())
        .merge(chat_axum::router(chat.clone(), auth))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        );
    Ok(Server { router, chat })
}

/// Serves until `shutdown` completes, then stops accepting, closes every
/// WebSocket with "going away" and waits for in-flight requests (and the
/// sends they carry) to finish.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    server: Server,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let chat = server.chat;
    axum::serve(listener, server.router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: closing live connections");
            chat.hub().close_all();
        })
        .await
}

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("../static/index.html"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/app.js"),
    )
}

async fn style() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/style.css"),
    )
}

/// 200 when the store answers, 503 otherwise.
async fn health(State(chat): State<ChatService>) -> impl IntoResponse {
    let probe = UserId::new("health-probe").expect("valid id");
    match chat
        .store()
        .is_member(&chat_core::ConversationId::generate(), &probe)
        .await
    {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ok" })),
        ),
        Err(error) => {
            tracing::warn!(error = %error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable" })),
            )
        }
    }
}
