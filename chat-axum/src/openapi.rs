//! The OpenAPI document of the REST API. Routes and document are built from
//! the same handler list (utoipa-axum's `routes!`), so a route cannot exist
//! without its documentation; `/openapi.json` serves the result.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::rest::{
    changes, conversations, health, messages, moderation, preferences, presence, rooms, timeline,
    users,
};
use crate::state::AppState;
use crate::ws;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "chat",
        description = "Conversations, history by seq, read state and live delivery. \
            Authenticate with `Authorization: Bearer <token>` (the WebSocket also takes `?token=`)."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "conversations", description = "Direct conversations and groups"),
        (name = "rooms", description = "Public rooms: the directory, joining"),
        (name = "messages", description = "History, sending, read marks"),
        (name = "timeline", description = "Edits, deletes, reactions, threads, pins, renames, \
            events since a seq, read marks of every member, search"),
        (name = "moderation", description = "Roles and ownership, bans, mutes, deleting a group, \
            blocks between users, reports to the host"),
        (name = "people", description = "The host's users (list, search, profiles), who is online, \
            and when others were last seen"),
        (name = "live", description = "The WebSocket"),
        (name = "health", description = "Whether this node can serve (no token needed)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route with its documentation.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(conversations::list, conversations::create_group))
        .routes(routes!(conversations::open_direct))
        .routes(routes!(
            conversations::get,
            changes::rename,
            moderation::delete_conversation
        ))
        .routes(routes!(conversations::add_member))
        .routes(routes!(conversations::remove_member))
        .routes(routes!(messages::history, messages::send))
        .routes(routes!(messages::mark_read))
        .routes(routes!(messages::get))
        .routes(routes!(changes::edit, changes::delete))
        .routes(routes!(changes::react, changes::unreact))
        .routes(routes!(changes::pin, changes::unpin))
        .routes(routes!(timeline::thread))
        .routes(routes!(timeline::events))
        .routes(routes!(timeline::read_marks))
        .routes(routes!(timeline::pins))
        .routes(routes!(timeline::search))
        .routes(routes!(moderation::set_role))
        .routes(routes!(moderation::transfer_ownership))
        .routes(routes!(moderation::set_settings))
        .routes(routes!(preferences::set_preferences))
        .routes(routes!(moderation::bans))
        .routes(routes!(moderation::ban, moderation::unban))
        .routes(routes!(moderation::mute, moderation::unmute))
        .routes(routes!(moderation::blocks))
        .routes(routes!(moderation::block, moderation::unblock))
        .routes(routes!(moderation::report))
        .routes(routes!(presence::read))
        .routes(routes!(users::list))
        .routes(routes!(users::profiles))
        .routes(routes!(rooms::list))
        .routes(routes!(rooms::join))
        .routes(routes!(ws::upgrade))
        .routes(routes!(health::health))
}

/// The OpenAPI document of the routes [`crate::router`] serves (relative to
/// where the host mounts them).
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
