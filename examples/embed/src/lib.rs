//! A host axum app that already has users, a login route and bearer
//! sessions, and adds chat by mounting `chat_axum` under `/chat` behind the
//! same sessions. `cargo run -p example-embed`, then:
//!
//! ```sh
//! TOKEN=$(curl -s -d '{"username":"alice","password":"alice-pw"}' -H 'content-type: application/json' localhost:3000/login | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
//! curl -s -X PUT -H "Authorization: Bearer $TOKEN" localhost:3000/chat/direct/bob
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use chat_axum::{AuthRejection, Authenticate, bearer_token};
use chat_bus_memory::MemoryBus;
use chat_core::{ChatConfig, ChatService, UserId};
use chat_store_sqlite::SqliteStore;

/// The host's sessions: bearer token → user. (A real app would keep them in
/// its database or a signed cookie; the shape is the same.)
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, UserId>>>);

impl Sessions {
    fn start(&self, user: UserId) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), user);
        token
    }

    fn user(&self, token: &str) -> Option<UserId> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned()
    }
}

/// Chat authenticates with the host's own sessions.
#[async_trait::async_trait]
impl Authenticate for Sessions {
    async fn authenticate(&self, parts: &Parts) -> Result<UserId, AuthRejection> {
        let token = bearer_token(parts).ok_or_else(|| AuthRejection::new("log in first"))?;
        self.user(&token)
            .ok_or_else(|| AuthRejection::new("unknown or expired session"))
    }
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The host's login: a fixed user table, for the example.
async fn login(
    State(sessions): State<Sessions>,
    axum::Json(login): axum::Json<Login>,
) -> Result<axum::Json<serde_json::Value>, StatusCode> {
    let known = matches!(
        (login.username.as_str(), login.password.as_str()),
        ("alice", "alice-pw") | ("bob", "bob-pw")
    );
    if !known {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let user = UserId::new(login.username).map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(axum::Json(
        serde_json::json!({ "token": sessions.start(user) }),
    ))
}

/// A page of the host app that needs a session.
async fn me(State(sessions): State<Sessions>, parts: Parts) -> Result<String, StatusCode> {
    let user = sessions
        .authenticate(&parts)
        .await
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(format!("hello {user}"))
}

/// The host app with chat mounted under `/chat`.
///
/// # Errors
/// When the database cannot be opened or the chat service cannot start.
pub async fn app(database_url: &str) -> Result<Router, Box<dyn std::error::Error>> {
    let sessions = Sessions::default();
    let store = Arc::new(SqliteStore::connect(database_url).await?);
    let chat = ChatService::new(store, Arc::new(MemoryBus::new()), ChatConfig::default()).await?;
    Ok(Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .with_state(sessions.clone())
        .nest("/chat", chat_axum::router(chat, Arc::new(sessions))))
}
