//! Conversation routes: list, create a group, open a direct conversation,
//! get one, add and remove members.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chat_engine::{
    ActivityCursor, Conversation, ConversationId, ConversationPage, GroupSettings, UserId,
};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::rest::page_size;
use crate::state::AppState;

/// `GET /conversations` query. Other parameters (such as a `token` for
/// clients that cannot set headers) are ignored.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only conversations after this one in the list: the `next` of the
    /// previous page.
    #[param(value_type = Option<String>)]
    before: Option<ActivityCursor>,
    /// Page size (default 100, capped at the server's maximum, 500 by default).
    #[param(minimum = 1)]
    limit: Option<i64>,
    /// The archived conversations instead of the main list (whose first
    /// page starts with the pinned ones).
    #[serde(default)]
    archived: bool,
}

/// `POST /conversations` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewGroupBody {
    /// The group's title.
    title: String,
    /// Other members (the caller is always included).
    #[serde(default)]
    members: Vec<UserId>,
    /// A public room, which anyone may find in `GET /rooms` and join
    /// (default: a private, invite-only group).
    #[serde(default)]
    public: bool,
    /// Whether plain members may add others (default: only admins may).
    #[serde(default)]
    members_can_add: bool,
}

/// `POST /conversations/{cid}/members` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewMemberBody {
    /// Who to add.
    user_id: UserId,
}

/// A page of the caller's conversations, newest activity first (the first
/// page led by the pinned ones), or of the archived ones.
#[utoipa::path(get, path = "/conversations", operation_id = "list_conversations", tag = "conversations",
    params(ListParams),
    responses((status = 200, body = ConversationPage), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ConversationPage>, ApiError> {
    let limit = params.limit.map(page_size);
    let page = if params.archived {
        state
            .chat
            .archived_conversations(&me, params.before, limit)
            .await?
    } else {
        state.chat.conversations(&me, params.before, limit).await?
    };
    Ok(Json(page))
}

/// Creates a group (or, with `public: true`, a room) with the caller and the given members.
#[utoipa::path(post, path = "/conversations", operation_id = "create_group", tag = "conversations", request_body = NewGroupBody,
    responses((status = 201, body = Conversation), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 403, description = "A member blocks the caller", body = ErrorResponse),
        (status = 404, description = "A member the server's user directory does not know", body = ErrorResponse),
        (status = 413, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn create_group(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<NewGroupBody>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    let settings = GroupSettings::new(body.public, body.members_can_add);
    let conversation = state
        .chat
        .create_with(&me, &body.title, body.members, settings)
        .await?;
    Ok((StatusCode::CREATED, Json(conversation)))
}

/// Opens (or returns) the direct conversation with a user.
#[utoipa::path(put, path = "/direct/{user_id}", operation_id = "open_direct", tag = "conversations",
    params(("user_id" = String, Path, description = "The other user")),
    responses((status = 200, body = Conversation), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 403, description = "The other user blocks the caller", body = ErrorResponse),
        (status = 404, description = "A user the server's user directory does not know", body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn open_direct(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(other): ApiPath<UserId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.chat.open_direct(&me, &other).await?))
}

/// One conversation with its members (members only).
#[utoipa::path(get, path = "/conversations/{cid}", operation_id = "get_conversation", tag = "conversations",
    params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 200, body = Conversation), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(state.chat.conversation(&me, &id).await?))
}

/// Adds a member to a group (201; 200 when already a member): admins, or
/// any member where the group allows it.
#[utoipa::path(post, path = "/conversations/{cid}/members", operation_id = "add_member", tag = "conversations",
    params(("cid" = String, Path, description = "Conversation id")), request_body = NewMemberBody,
    responses((status = 201, body = Conversation), (status = 200, body = Conversation),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 413, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
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

/// Leaves a group, or removes a member (admins only, never the owner).
#[utoipa::path(delete, path = "/conversations/{cid}/members/{uid}", operation_id = "remove_member", tag = "conversations",
    params(("cid" = String, Path, description = "Conversation id"),
        ("uid" = String, Path, description = "The member to remove")),
    responses((status = 204), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
) -> Result<StatusCode, ApiError> {
    state.chat.remove_member(&me, &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
