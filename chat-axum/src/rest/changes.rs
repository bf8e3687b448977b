//! Routes that change a conversation's timeline besides sending: edit and
//! delete a message, react, pin, rename. Each answers the stored event as
//! every member gets it (`200`, also for a retried `client_id`), or `204`
//! when there was nothing to do (a reaction already there, a pin already
//! gone), which takes no seq.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_engine::protocol::ServerEvent;
use chat_engine::{Changed, Content, ConversationId, Seq};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::state::AppState;

/// `PATCH /conversations/{cid}/messages/{seq}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EditBody {
    /// The new text.
    body: String,
    /// The new structured content (none: the message has none after the edit).
    #[serde(default)]
    content: Option<Content>,
    /// An idempotency key: a retry with the same one returns the stored edit.
    #[serde(default)]
    client_id: Option<String>,
}

/// The idempotency key of a `DELETE` or reaction, in the query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RetryParams {
    /// A retry with the same key returns the stored event.
    client_id: Option<String>,
}

/// `PATCH /conversations/{cid}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenameBody {
    /// The group's new title.
    title: String,
}

/// The answer to a change: its event, or 204 when nothing changed.
pub(crate) fn answer(changed: Changed) -> Response {
    match changed.outcome.event() {
        Some(event) => Json(ServerEvent::from(event)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Edits the caller's message `seq`: an `edited` event.
#[utoipa::path(patch, path = "/conversations/{cid}/messages/{seq}", operation_id = "edit_message", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The message's seq")),
    request_body = EditBody,
    responses((status = 200, description = "The `edited` event", body = ServerEvent),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = "Not a member, or not the sender", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, description = "The message was deleted", body = ErrorResponse),
        (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn edit(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, seq)): ApiPath<(ConversationId, Seq)>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Response, ApiError> {
    let changed = state
        .chat
        .edit(&me, &id, seq, body.body, body.content, body.client_id)
        .await?;
    Ok(answer(changed))
}

/// Deletes the caller's message `seq`: its text is wiped, a tombstone stays
/// (a `deleted` event).
#[utoipa::path(delete, path = "/conversations/{cid}/messages/{seq}", operation_id = "delete_message", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The message's seq"), RetryParams),
    responses((status = 200, description = "The `deleted` event", body = ServerEvent),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = "Not a member, or not the sender", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 409, description = "Already deleted (without the first delete's `client_id`)", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, seq)): ApiPath<(ConversationId, Seq)>,
    ApiQuery(retry): ApiQuery<RetryParams>,
) -> Result<Response, ApiError> {
    let changed = state.chat.delete(&me, &id, seq, retry.client_id).await?;
    Ok(answer(changed))
}

/// Adds the caller's `reaction` to message `seq` (`reaction_added`; 204
/// when it was there).
#[utoipa::path(put, path = "/conversations/{cid}/messages/{seq}/reactions/{reaction}", operation_id = "react", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The message's seq"),
        ("reaction" = String, Path, description = "The reaction (URL-encoded), 1 to 64 bytes"),
        RetryParams),
    responses((status = 200, description = "The `reaction_added` event", body = ServerEvent),
        (status = 204, description = "The reaction was there already"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, description = "The message was deleted", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn react(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, seq, reaction)): ApiPath<(ConversationId, Seq, String)>,
    ApiQuery(retry): ApiQuery<RetryParams>,
) -> Result<Response, ApiError> {
    let changed = state
        .chat
        .react(&me, &id, seq, reaction, retry.client_id)
        .await?;
    Ok(answer(changed))
}

/// Takes the caller's `reaction` to message `seq` back (`reaction_removed`;
/// 204 when it was not there).
#[utoipa::path(delete, path = "/conversations/{cid}/messages/{seq}/reactions/{reaction}", operation_id = "unreact", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The message's seq"),
        ("reaction" = String, Path, description = "The reaction (URL-encoded)"),
        RetryParams),
    responses((status = 200, description = "The `reaction_removed` event", body = ServerEvent),
        (status = 204, description = "The reaction was not there"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, description = "The message was deleted", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn unreact(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, seq, reaction)): ApiPath<(ConversationId, Seq, String)>,
    ApiQuery(retry): ApiQuery<RetryParams>,
) -> Result<Response, ApiError> {
    let changed = state
        .chat
        .unreact(&me, &id, seq, reaction, retry.client_id)
        .await?;
    Ok(answer(changed))
}

/// Pins message `seq` (`pinned`; 204 when it was pinned).
#[utoipa::path(put, path = "/conversations/{cid}/pins/{seq}", operation_id = "pin", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The message's seq")),
    responses((status = 200, description = "The `pinned` event", body = ServerEvent),
        (status = 204, description = "It was pinned already"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, description = "The message was deleted", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn pin(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, seq)): ApiPath<(ConversationId, Seq)>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.pin(&me, &id, seq, true).await?))
}

/// Unpins message `seq` (`unpinned`; 204 when it was not pinned).
#[utoipa::path(delete, path = "/conversations/{cid}/pins/{seq}", operation_id = "unpin", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The message's seq")),
    responses((status = 200, description = "The `unpinned` event", body = ServerEvent),
        (status = 204, description = "It was not pinned"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, description = "The message was deleted", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn unpin(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, seq)): ApiPath<(ConversationId, Seq)>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.pin(&me, &id, seq, false).await?))
}

/// Renames a group or room (`renamed`).
#[utoipa::path(patch, path = "/conversations/{cid}", operation_id = "rename", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id")), request_body = RenameBody,
    responses((status = 200, description = "The `renamed` event", body = ServerEvent),
        (status = 400, description = "A blank or long title, or a direct conversation", body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn rename(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.rename(&me, &id, &body.title).await?))
}
