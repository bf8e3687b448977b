//! Who is online: a batch read of users' presence, as the caller may see it.

use axum::Json;
use axum::extract::{RawQuery, State};
use chat_engine::{MAX_PRESENCE_BATCH, UserPresence};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::rest::users_named;
use crate::state::AppState;

/// `GET /presence` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PresenceList {
    /// One per user asked about, in the order asked.
    users: Vec<UserPresence>,
}

/// The presence of up to 100 users (`?user=alice&user=bob`). A user the
/// caller shares no direct conversation or group with reads as offline and
/// never seen, as an unknown user does.
#[utoipa::path(get, path = "/presence", operation_id = "read_presence", tag = "people",
    params(("user" = Vec<String>, Query, description = "A user id; repeat the parameter for each user (at most 100)",
        style = Form, explode)),
    responses((status = 200, body = PresenceList),
        (status = 400, description = "No user, an invalid id, an unknown parameter, or more than 100 users", body = ErrorResponse),
        (status = 401, body = ErrorResponse)))]
pub(crate) async fn read(
    State(state): State<AppState>,
    Caller(me): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<PresenceList>, ApiError> {
    let users = users_named(query.as_deref(), MAX_PRESENCE_BATCH)?;
    let users = state.chat.presence(&me, &users).await?;
    Ok(Json(PresenceList { users }))
}
