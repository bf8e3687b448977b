//! Chat behind an identity provider the host does not run (Auth0,
//! Keycloak, Cognito, an in-house service in another language): the
//! provider signs JSON Web Tokens with its private key, and chat verifies
//! them with the public key alone, checking the issuer and the audience.
//! `sub` is the user id; `exp` is required, and a WebSocket is closed when
//! it passes (the client reconnects with a fresh token). Browsers send the
//! token as `?token=` on the WebSocket upgrade, anything else as
//! `Authorization: Bearer`.
//!
//! `ISSUER_PUBLIC_KEY=issuer-public.pem cargo run -p example-auth-jwt`

use std::sync::Arc;

use axum::Router;
use chat_axum::{JwtAuth, JwtKeyError};
use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService};
use chat_store_sqlite::SqliteStore;

/// The `iss` the provider writes in its tokens.
pub const ISSUER: &str = "https://id.example.com/";

/// The `aud` the provider writes in tokens meant for this app.
pub const AUDIENCE: &str = "chat";

/// What keeps the app from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The provider's public key is not an Ed25519 key in PEM.
    #[error(transparent)]
    Key(#[from] JwtKeyError),
    /// The store could not open its database.
    #[error(transparent)]
    Store(#[from] chat_store_sqlite::SqliteStoreError),
    /// The chat service could not start.
    #[error(transparent)]
    Chat(#[from] chat_engine::ChatError),
}

/// The app with chat under `/chat`, accepting the provider's tokens, and
/// the chat service (for the graceful shutdown).
///
/// # Errors
/// [`StartError`].
pub async fn app(
    database_url: &str,
    issuer_public_key_pem: &[u8],
) -> Result<(Router, ChatService), StartError> {
    let auth = JwtAuth::ed25519_pem(issuer_public_key_pem)?
        .with_issuer(ISSUER)
        .with_audience(AUDIENCE);
    let store = Arc::new(SqliteStore::connect(database_url).await?);
    let bus = Arc::new(MemoryBus::new());
    let chat = ChatService::builder(store, bus, ChatConfig::default())
        .start()
        .await?;
    let router = Router::new().nest("/chat", chat_axum::router(chat.clone(), Arc::new(auth)));
    Ok((router, chat))
}
