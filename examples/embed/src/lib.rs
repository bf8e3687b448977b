//! A host axum app that already has its own users table and sqlx
//! migrations in its SQLite database, cookie sessions (tower-sessions) and
//! a login route, and adds chat: the store in the same database (chat's
//! tables are named `chat_…` and its migrations are recorded in
//! `chat_migrations`, so the host's own `conversations` table and its sqlx
//! history stay its own), chat's router under `/chat` behind the same
//! cookie, and chat's graceful shutdown inside `axum::serve`'s (see
//! `main.rs`). Chat takes 14 lines: the 7 of the `auth` closure and the
//! lines marked `// chat` here and in `main.rs`.
//!
//! `cargo run -p example-embed`, then:
//!
//! ```sh
//! curl -s -c jar -H 'content-type: application/json' -d '{"username":"alice","password":"alice-pw"}' localhost:3000/login
//! curl -s -b jar -X PUT localhost:3000/chat/direct/bob
//! ```

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use chat_axum::AuthRejection;
use chat_bus_memory::MemoryBus;
use chat_engine::{ChatConfig, ChatService, UserId};
use chat_store_sqlite::SqliteStore;
use sqlx::SqlitePool;
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// The session key holding the signed-in user's name.
const USER: &str = "user";

/// The signed-in user's name: what the login stored in the request's
/// session (the session layer wraps the whole app, chat's routes included).
async fn signed_in(parts: &Parts) -> Option<String> {
    let session = parts.extensions.get::<Session>()?;
    session.get(USER).await.ok().flatten()
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The host's login: checks its users table and starts a cookie session.
async fn login(
    State(users): State<SqlitePool>,
    session: Session,
    axum::Json(login): axum::Json<Login>,
) -> Result<StatusCode, StatusCode> {
    let known: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE username = ? AND password = ?")
            .bind(&login.username)
            .bind(&login.password)
            .fetch_optional(&users)
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    if known.is_none() {
        return Err(StatusCode::UNAUTHORIZED);
    }
    session
        .cycle_id()
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    session
        .insert(USER, login.username)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of the host app: the signed-in user's own support threads, from
/// the host's `conversations` table.
async fn me(State(users): State<SqlitePool>, parts: Parts) -> Result<String, StatusCode> {
    let user = signed_in(&parts).await.ok_or(StatusCode::UNAUTHORIZED)?;
    let topics: Vec<String> = sqlx::query_scalar(
        "SELECT c.topic FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.username = ?",
    )
    .bind(&user)
    .fetch_all(&users)
    .await
    .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(format!(
        "hello {user}; your support threads: {}",
        topics.join(", ")
    ))
}

/// The host app with chat mounted under `/chat`, and the chat service (for
/// the graceful shutdown), on the SQLite database at `database_url`.
///
/// # Errors
/// When the database cannot be opened, a migration fails, or the chat
/// service cannot start.
pub async fn app(database_url: &str) -> Result<(Router, ChatService), Box<dyn std::error::Error>> {
    let users = SqlitePool::connect(database_url).await?;
    sqlx::migrate!("./migrations").run(&users).await?;
    // Chat signs users in from the host's cookie session.
    let auth = chat_axum::authenticate_with(|parts| {
        Box::pin(async move {
            let user = signed_in(parts).await;
            let user = user.ok_or_else(|| AuthRejection::new("log in first"))?;
            UserId::new(user).map_err(|error| AuthRejection::new(error.to_string()))
        })
    });
    let store = Arc::new(SqliteStore::connect(database_url).await?); // chat
    let bus = Arc::new(MemoryBus::new()); // chat
    let chat = ChatService::builder(store, bus, ChatConfig::default()); // chat
    let chat = chat.start().await?; // chat
    let router = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .with_state(users)
        .nest("/chat", chat_axum::router(chat.clone(), auth)) // chat
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false));
    Ok((router, chat))
}
