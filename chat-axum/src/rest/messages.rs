//! Message routes: history pages by seq, send, fetch one, mark read.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_engine::{ChatError, ConversationId, Cursor, Message, MessageId, NewMessage, Page, Seq};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::rest::page_size;
use crate::state::AppState;

/// `GET /conversations/{cid}/messages` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// Page size (default 15, capped at the server's maximum).
    #[param(minimum = 1)]
    limit: Option<i64>,
    /// Messages with a smaller seq (older history).
    before: Option<Seq>,
    /// Messages with a greater seq (catching up).
    after: Option<Seq>,
}

impl HistoryParams {
    /// Where the page starts, and its size.
    pub(crate) fn cursor(&self) -> Result<(Cursor, Option<u32>), ApiError> {
        let cursor = match (self.before, self.after) {
            (None, None) => Cursor::Latest,
            (Some(before), None) => Cursor::Before(before),
            (None, Some(after)) => Cursor::After(after),
            (Some(_), Some(_)) => {
                return Err(
                    ChatError::invalid("before", "give `before` or `after`, not both").into(),
                );
            }
        };
        Ok((cursor, self.limit.map(page_size)))
    }
}

/// `POST /conversations/{cid}/read` body, and its answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadMark {
    /// The highest seq read.
    pub seq: Seq,
}

/// A page of history, ascending by seq: the latest, or before/after a seq.
#[utoipa::path(get, path = "/conversations/{cid}/messages", operation_id = "history", tag = "messages",
    params(("cid" = String, Path, description = "Conversation id"), HistoryParams),
    responses((status = 200, body = Page), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<Page>, ApiError> {
    let (cursor, limit) = params.cursor()?;
    Ok(Json(state.chat.history(&me, &id, cursor, limit).await?))
}

/// Sends a message (201; 200 with the stored message for a retried client_id).
#[utoipa::path(post, path = "/conversations/{cid}/messages", operation_id = "send_message", tag = "messages",
    params(("cid" = String, Path, description = "Conversation id")), request_body = NewMessage,
    responses((status = 201, body = Message), (status = 200, body = Message),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 413, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 429, body = ErrorResponse), (status = 503, body = ErrorResponse)))]
pub(crate) async fn send(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(new): ApiJson<NewMessage>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let appended = state.chat.send(&me, &id, new).await?;
    // A retry of an already stored client_id is answered 200, a new message 201.
    let status = if appended.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(appended.message)))
}

/// One message by id (members of its conversation only).
#[utoipa::path(get, path = "/messages/{mid}", operation_id = "get_message", tag = "messages",
    params(("mid" = String, Path, description = "Message id")),
    responses((status = 200, body = Message), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(state.chat.message(&me, &id).await?))
}

/// Marks the conversation read up to `seq`; answers the stored mark.
#[utoipa::path(post, path = "/conversations/{cid}/read", operation_id = "mark_read", tag = "messages",
    params(("cid" = String, Path, description = "Conversation id")), request_body = ReadMark,
    responses((status = 200, body = ReadMark), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(mark): ApiJson<ReadMark>,
) -> Result<Json<ReadMark>, ApiError> {
    let seq = state.chat.mark_read(&me, &id, mark.seq).await?;
    Ok(Json(ReadMark { seq }))
}
