//! The caller's own preferences for a conversation: notifications, mute,
//! archive, pin.

use axum::Json;
use axum::extract::State;
use chat_engine::{ConversationId, Preferences, PreferencesChange};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::state::AppState;

/// Changes the named fields of the caller's preferences for a conversation
/// (absent ones stay): nobody else sees them.
#[utoipa::path(patch, path = "/conversations/{cid}/preferences", operation_id = "set_preferences", tag = "conversations",
    params(("cid" = String, Path, description = "Conversation id")),
    request_body = PreferencesChange,
    responses((status = 200, description = "All the preferences now", body = Preferences),
        (status = 400, description = "An unknown level or field, a mute ending in the past, or no field", body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 403, description = "Not a member", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, description = "Already 20 pinned conversations", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn set_preferences(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(change): ApiJson<PreferencesChange>,
) -> Result<Json<Preferences>, ApiError> {
    Ok(Json(state.chat.set_preferences(&me, &id, change).await?))
}
