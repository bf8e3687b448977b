//! Conversation routes: list, create a group, open a direct conversation,
//! get one, add and remove members.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chat_core::{Conversation, ConversationId, ConversationSummary, UserId};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// `GET /conversations` response.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConversationList {
    /// Newest activity first.
    pub conversations: Vec<ConversationSummary>,
}

/// `POST /conversations` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewGroupBody {
    title: String,
    #[serde(default)]
    members: Vec<UserId>,
}

/// `POST /conversations/{cid}/members` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMemberBody {
    user_id: UserId,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
) -> Result<Json<ConversationList>, ApiError> {
    let conversations = state.chat.conversations(&me).await?;
    Ok(Json(ConversationList { conversations }))
}

pub(crate) async fn create_group(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<NewGroupBody>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    let conversation = state
        .chat
        .create_group(&me, &body.title, body.members)
        .await?;
    Ok((StatusCode::CREATED, Json(conversation)))
}

pub(crate) async fn open_direct(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(other): ApiPath<UserId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.chat.open_direct(&me, &other).await?))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.chat.conversation(&me, &id).await?))
}

pub(crate) async fn add_member(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<NewMemberBody>,
) -> Result<impl IntoResponse, ApiError> {
    let added = state.chat.add_member(&me, &id, &body.user_id).await?;
    let conversation = state.chat.conversation(&me, &id).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(conversation)))
}

pub(crate) async fn remove_member(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
) -> Result<StatusCode, ApiError> {
    state.chat.remove_member(&me, &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
