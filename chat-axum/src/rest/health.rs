//! `GET /health`: whether this node can serve, for a load balancer or an
//! orchestrator's probe. It reads the store and, for a networked bus, makes
//! a round trip through this node's own subscription
//! ([`ChatService::health`]); it needs no token and says nothing about
//! users. A failure's cause goes to the log, never into the answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chat_engine::ChatError;
use serde::Serialize;

use crate::state::AppState;

/// What `GET /health` answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` when both answered, else `unavailable`.
    pub status: &'static str,
    /// `ok` or `unavailable`.
    pub store: &'static str,
    /// `ok` or `unavailable`.
    pub bus: &'static str,
}

/// Checks the store and the bus.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "health", security(()),
    responses((status = 200, description = "The store and the bus answer", body = HealthReport),
        (status = 503, description = "The store or the bus does not answer", body = HealthReport)))]
pub(crate) async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let health = state.chat.health().await;
    let describe = |failure: &Option<ChatError>| match failure {
        None => "ok",
        Some(error) => {
            tracing::warn!(error = %error, source = ?std::error::Error::source(error), "health check failed");
            "unavailable"
        }
    };
    let body = HealthReport {
        status: if health.is_healthy() {
            "ok"
        } else {
            "unavailable"
        },
        store: describe(&health.store),
        bus: describe(&health.bus),
    };
    let status = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}
