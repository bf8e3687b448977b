//! Message routes: history pages by seq, send, fetch one, mark read.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chat_core::{ChatError, ConversationId, Cursor, Message, MessageId, NewMessage, Page, Seq};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// `GET /conversations/{cid}/messages` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryParams {
    limit: Option<u32>,
    before: Option<Seq>,
    after: Option<Seq>,
}

/// `POST /conversations/{cid}/read` body, and its answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadMark {
    /// The highest seq read.
    pub seq: Seq,
}

pub(crate) async fn history(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<Page>, ApiError> {
    let cursor = match (params.before, params.after) {
        (None, None) => Cursor::Latest,
        (Some(before), None) => Cursor::Before(before),
        (None, Some(after)) => Cursor::After(after),
        (Some(_), Some(_)) => {
            return Err(ChatError::invalid("before", "give `before` or `after`, not both").into());
        }
    };
    Ok(Json(
        state.chat.history(&me, &id, cursor, params.limit).await?,
    ))
}

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

pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<Message>, ApiError> {
    Ok(Json(state.chat.message(&me, &id).await?))
}

pub(crate) async fn mark_read(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(mark): ApiJson<ReadMark>,
) -> Result<Json<ReadMark>, ApiError> {
    let seq = state.chat.mark_read(&me, &id, mark.seq).await?;
    Ok(Json(ReadMark { seq }))
}
