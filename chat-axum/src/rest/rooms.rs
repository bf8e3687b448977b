//! Public room routes: the directory (list and search) and joining. Leaving
//! is `DELETE /conversations/{cid}/members/{me}`, as for any group.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_engine::{Conversation, ConversationId, RoomPage};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorResponse};
use crate::rest::page_size;
use crate::state::AppState;

/// `GET /rooms` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RoomParams {
    /// Only rooms whose title contains this, ignoring case (ASCII letters on
    /// SQLite, all letters on MySQL; accents count).
    q: Option<String>,
    /// Only rooms older than this one: the last id of the previous page.
    before: Option<ConversationId>,
    /// Page size (default 15, capped at the server's maximum).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

/// The public rooms directory, newest first.
#[utoipa::path(get, path = "/rooms", operation_id = "list_rooms", tag = "rooms", params(RoomParams),
    responses((status = 200, body = RoomPage), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiQuery(params): ApiQuery<RoomParams>,
) -> Result<Json<RoomPage>, ApiError> {
    let page = state
        .chat
        .rooms(
            &me,
            params.q.as_deref(),
            params.before,
            params.limit.map(page_size),
        )
        .await?;
    Ok(Json(page))
}

/// Joins a public room (201; 200 when already a member). Every member gets
/// a `member_added` event.
#[utoipa::path(post, path = "/rooms/{cid}/join", operation_id = "join_room", tag = "rooms",
    params(("cid" = String, Path, description = "The room's conversation id")),
    responses((status = 201, body = Conversation), (status = 200, body = Conversation),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 413, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn join(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    let (room, joined) = state.chat.join_room(&me, &id).await?;
    let status = if joined {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(room)))
}
