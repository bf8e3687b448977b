//! The host's users: the directory (list and search, paged by cursor) and
//! profile lookups by id.

use axum::Json;
use axum::extract::{RawQuery, State};
use chat_engine::{MAX_USERS_LISTED, Profile, UserId, UserPage};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ErrorResponse};
use crate::rest::{page_size, users_named};
use crate::state::AppState;

/// `GET /users` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserParams {
    /// Only users whose display name or id contains this, ignoring case.
    q: Option<String>,
    /// Where the page starts: the previous page's `next`.
    cursor: Option<UserId>,
    /// Page size, 1 to 100 (default 15).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The host's users in id order, searched and paged.
#[utoipa::path(get, path = "/users", operation_id = "list_users", tag = "people", params(UserParams),
    responses((status = 200, body = UserPage),
        (status = 400, description = "A limit outside 1 to 100, a search too long, or an unknown parameter", body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 404, description = "The server has no user directory", body = ErrorResponse),
        (status = 503, description = "The directory did not answer", body = ErrorResponse)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(me): Caller,
    ApiQuery(params): ApiQuery<UserParams>,
) -> Result<Json<UserPage>, ApiError> {
    let page = state
        .chat
        .users(
            &me,
            params.q.as_deref(),
            params.cursor,
            params.limit.map(page_size),
        )
        .await?;
    Ok(Json(page))
}

/// `GET /profiles` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ProfileList {
    /// The users found, in the order asked; unknown ids are left out.
    users: Vec<Profile>,
}

/// Display names and avatars of up to 100 users (`?user=alice&user=bob`).
#[utoipa::path(get, path = "/profiles", operation_id = "read_profiles", tag = "people",
    params(("user" = Vec<String>, Query, description = "A user id; repeat the parameter for each user (at most 100)",
        style = Form, explode)),
    responses((status = 200, body = ProfileList),
        (status = 400, description = "No user, an invalid id, an unknown parameter, or more than 100 users", body = ErrorResponse),
        (status = 401, body = ErrorResponse),
        (status = 404, description = "The server has no user directory", body = ErrorResponse),
        (status = 503, description = "The directory did not answer", body = ErrorResponse)))]
pub(crate) async fn profiles(
    State(state): State<AppState>,
    Caller(_me): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ProfileList>, ApiError> {
    let ids = users_named(query.as_deref(), MAX_USERS_LISTED as usize)?;
    let users = state.chat.profiles(&ids).await?;
    Ok(Json(ProfileList { users }))
}
