//! Routes that read the timeline beyond history pages: a thread's replies,
//! every event since a seq, every member's read mark, the pins, search.

use axum::Json;
use axum::extract::State;
use chat_engine::protocol::EventPage;
use chat_engine::{ConversationId, Message, MessageId, Page, ReadMark, SearchPage, Seq};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorResponse};
use crate::rest::messages::HistoryParams;
use crate::rest::page_size;
use crate::state::AppState;

/// `GET /conversations/{cid}/events` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventParams {
    /// Events with a greater seq (0, or absent, for all).
    #[serde(default)]
    after: Seq,
    /// Page size (capped at the server's maximum page, the default).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

/// `GET /search` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// The words to find (each of 3 or more letters or digits, matched as
    /// a prefix; case and accents ignored; every word must match).
    q: String,
    /// Only hits older than this message: the last id of the previous page.
    #[param(value_type = Option<String>)]
    before: Option<MessageId>,
    /// Page size (default 15, capped at the server's maximum).
    #[param(minimum = 1)]
    limit: Option<i64>,
}

/// `GET /conversations/{cid}/reads` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReadMarks {
    /// Every member's read mark, by user id.
    pub reads: Vec<ReadMark>,
}

/// `GET /conversations/{cid}/pins` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pins {
    /// The pinned messages, most recently pinned first.
    pub messages: Vec<Message>,
}

/// A page of the replies in the thread of message `seq`, ascending.
#[utoipa::path(get, path = "/conversations/{cid}/messages/{seq}/thread", operation_id = "thread", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"),
        ("seq" = u64, Path, description = "The thread's root"), HistoryParams),
    responses((status = 200, body = Page), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn thread(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, root)): ApiPath<(ConversationId, Seq)>,
    ApiQuery(params): ApiQuery<HistoryParams>,
) -> Result<Json<Page>, ApiError> {
    let (cursor, limit) = params.cursor()?;
    Ok(Json(
        state.chat.thread(&me, &id, root, cursor, limit).await?,
    ))
}

/// Every event after a seq, ascending: what a client applies to bring its
/// copy up to date (messages in their current state, every other change).
#[utoipa::path(get, path = "/conversations/{cid}/events", operation_id = "events", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id"), EventParams),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub(crate) async fn events(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Json<EventPage>, ApiError> {
    let limit = params.limit.map(page_size);
    let page = state.chat.events(&me, &id, params.after, limit).await?;
    Ok(Json(page.into()))
}

/// Every member's read mark: "Seen by" after a reload.
#[utoipa::path(get, path = "/conversations/{cid}/reads", operation_id = "read_marks", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 200, body = ReadMarks), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn read_marks(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<ReadMarks>, ApiError> {
    let reads = state.chat.read_marks(&me, &id).await?;
    Ok(Json(ReadMarks { reads }))
}

/// The pinned messages, most recently pinned first.
#[utoipa::path(get, path = "/conversations/{cid}/pins", operation_id = "pins", tag = "timeline",
    params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Pins), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn pins(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<Pins>, ApiError> {
    let messages = state.chat.pins(&me, &id).await?;
    Ok(Json(Pins { messages }))
}

/// Messages of the caller's conversations holding every word of `q`,
/// newest first.
#[utoipa::path(get, path = "/search", operation_id = "search", tag = "timeline",
    params(SearchParams),
    responses((status = 200, body = SearchPage),
        (status = 400, description = "Nothing to search for, or a query too long", body = ErrorResponse),
        (status = 401, body = ErrorResponse)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchPage>, ApiError> {
    let limit = params.limit.map(page_size);
    Ok(Json(
        state
            .chat
            .search(&me, &params.q, params.before, limit)
            .await?,
    ))
}
