//! Moderation routes: roles and ownership, bans, mutes, deleting a group,
//! blocks, reports. Changes answer their timeline event (`200`) or `204`
//! when nothing changed, as the other timeline routes do.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chat_engine::protocol::ServerEvent;
use chat_engine::{ConversationId, MessageId, Reported, Role, UserId};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::rest::changes::answer;
use crate::state::AppState;

/// `PUT /conversations/{cid}/members/{uid}/role` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleBody {
    /// `admin` or `member` (there is one owner: `PUT …/owner` hands it over).
    role: Role,
}

/// `PUT /conversations/{cid}/owner` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnerBody {
    /// The member who will own the group.
    user_id: UserId,
}

/// `PUT /conversations/{cid}/settings` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsBody {
    /// Whether plain members may add others (else only admins may).
    members_can_add: bool,
}

/// A list of users: the bans of a group, or the caller's blocks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UserList {
    /// Sorted user ids.
    users: Vec<UserId>,
}

/// `POST /reports` body: a message or a user, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportBody {
    /// The message reported (its sender is the user reported).
    #[serde(default)]
    message_id: Option<MessageId>,
    /// The user reported, when no message is.
    #[serde(default)]
    user_id: Option<UserId>,
    /// Why (1 to 1024 bytes).
    reason: String,
}

const MODERATION_ERRORS: &str =
    "Not a member, not an admin (or the owner, for roles), or acting on the owner";

/// Makes a member an admin, or an admin a member (the owner only): a `role_changed` event.
#[utoipa::path(put, path = "/conversations/{cid}/members/{uid}/role", operation_id = "set_role", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id"), ("uid" = String, Path, description = "The member")),
    request_body = RoleBody,
    responses((status = 200, description = "The `role_changed` event", body = ServerEvent),
        (status = 204, description = "They already had that role"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = MODERATION_ERRORS, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn set_role(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Response, ApiError> {
    Ok(answer(
        state.chat.set_role(&me, &id, &user, body.role).await?,
    ))
}

/// Hands the group over to a member (the owner only, who stays an admin): an `owner_changed` event.
#[utoipa::path(put, path = "/conversations/{cid}/owner", operation_id = "transfer_ownership", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id")),
    request_body = OwnerBody,
    responses((status = 200, description = "The `owner_changed` event", body = ServerEvent),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = MODERATION_ERRORS, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn transfer_ownership(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<OwnerBody>,
) -> Result<Response, ApiError> {
    Ok(answer(
        state
            .chat
            .transfer_ownership(&me, &id, &body.user_id)
            .await?,
    ))
}

/// Sets whether plain members may add others (admins only): a `settings_changed` event.
#[utoipa::path(put, path = "/conversations/{cid}/settings", operation_id = "set_settings", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id")),
    request_body = SettingsBody,
    responses((status = 200, description = "The `settings_changed` event", body = ServerEvent),
        (status = 204, description = "Already so"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = "Not a member, or not an admin", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn set_settings(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<Response, ApiError> {
    Ok(answer(
        state
            .chat
            .set_members_can_add(&me, &id, body.members_can_add)
            .await?,
    ))
}

/// The users banned from a group (its admins only).
#[utoipa::path(get, path = "/conversations/{cid}/bans", operation_id = "list_bans", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 200, body = UserList), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub(crate) async fn bans(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<Json<UserList>, ApiError> {
    let users = state.chat.bans(&me, &id).await?;
    Ok(Json(UserList { users }))
}

/// Bans a user (admins only): removed if a member, and kept out until unbanned. A `banned` event.
#[utoipa::path(put, path = "/conversations/{cid}/bans/{uid}", operation_id = "ban", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id"), ("uid" = String, Path, description = "The user")),
    responses((status = 200, description = "The `banned` event", body = ServerEvent),
        (status = 204, description = "Already banned"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = MODERATION_ERRORS, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn ban(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.ban(&me, &id, &user, true).await?))
}

/// Lifts a ban (admins only): an `unbanned` event.
#[utoipa::path(delete, path = "/conversations/{cid}/bans/{uid}", operation_id = "unban", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id"), ("uid" = String, Path, description = "The user")),
    responses((status = 200, description = "The `unbanned` event", body = ServerEvent),
        (status = 204, description = "Not banned"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = MODERATION_ERRORS, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn unban(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.ban(&me, &id, &user, false).await?))
}

/// Mutes a member (admins only): they read but cannot write. A `muted` event.
#[utoipa::path(put, path = "/conversations/{cid}/mutes/{uid}", operation_id = "mute", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id"), ("uid" = String, Path, description = "The member")),
    responses((status = 200, description = "The `muted` event", body = ServerEvent),
        (status = 204, description = "Already muted"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = MODERATION_ERRORS, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn mute(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.mute(&me, &id, &user, true).await?))
}

/// Lifts a mute (admins only): an `unmuted` event.
#[utoipa::path(delete, path = "/conversations/{cid}/mutes/{uid}", operation_id = "unmute", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id"), ("uid" = String, Path, description = "The member")),
    responses((status = 200, description = "The `unmuted` event", body = ServerEvent),
        (status = 204, description = "Not muted"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, description = MODERATION_ERRORS, body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn unmute(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath((id, user)): ApiPath<(ConversationId, UserId)>,
) -> Result<Response, ApiError> {
    Ok(answer(state.chat.mute(&me, &id, &user, false).await?))
}

/// Deletes a group or room with its whole history (admins only); every
/// member gets a `conversation_deleted` event.
#[utoipa::path(delete, path = "/conversations/{cid}", operation_id = "delete_conversation", tag = "moderation",
    params(("cid" = String, Path, description = "Conversation id")),
    responses((status = 204, description = "Deleted"),
        (status = 400, description = "A direct conversation", body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 403, description = "Not a member, or not an admin", body = ErrorResponse),
        (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn delete_conversation(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(id): ApiPath<ConversationId>,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_conversation(&me, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users the caller blocks.
#[utoipa::path(get, path = "/blocks", operation_id = "list_blocks", tag = "moderation",
    responses((status = 200, body = UserList), (status = 401, body = ErrorResponse)))]
pub(crate) async fn blocks(
    State(state): State<AppState>,
    Caller(me): Caller,
) -> Result<Json<UserList>, ApiError> {
    let users = state.chat.blocked(&me).await?;
    Ok(Json(UserList { users }))
}

/// Blocks a user: they can no longer open a direct conversation with the
/// caller, write in theirs, or add the caller to groups. Nobody is told.
#[utoipa::path(put, path = "/blocks/{uid}", operation_id = "block", tag = "moderation",
    params(("uid" = String, Path, description = "The user")),
    responses((status = 204, description = "Blocked (also when already blocked)"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn block(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(user): ApiPath<UserId>,
) -> Result<StatusCode, ApiError> {
    state.chat.block(&me, &user, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops blocking a user.
#[utoipa::path(delete, path = "/blocks/{uid}", operation_id = "unblock", tag = "moderation",
    params(("uid" = String, Path, description = "The user")),
    responses((status = 204, description = "Not blocked (any more)"),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn unblock(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiPath(user): ApiPath<UserId>,
) -> Result<StatusCode, ApiError> {
    state.chat.block(&me, &user, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reports a message or a user to the host's moderators (the host's
/// `SendHooks::reported`); the library keeps no copy.
#[utoipa::path(post, path = "/reports", operation_id = "report", tag = "moderation",
    request_body = ReportBody,
    responses((status = 202, description = "Handed to the host"),
        (status = 400, description = "Neither or both of message_id and user_id, a blank reason, or oneself", body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 429, description = "Rate limited: retry after `Retry-After` seconds", body = ErrorResponse)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiJson(body): ApiJson<ReportBody>,
) -> Result<StatusCode, ApiError> {
    let reported = match (body.message_id, body.user_id) {
        (Some(message), None) => Reported::Message(message),
        (None, Some(user)) => Reported::User(user),
        _ => {
            return Err(chat_engine::ChatError::invalid(
                "message_id",
                "report either a message (message_id) or a user (user_id)",
            )
            .into());
        }
    };
    state.chat.report(&me, reported, &body.reason).await?;
    Ok(StatusCode::ACCEPTED)
}
