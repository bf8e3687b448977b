//! The chat page: its files, built into the binary so that the server runs
//! from one file with nothing beside it. `static/client/` is the TypeScript
//! client compiled to ES modules (committed, so cargo alone builds this;
//! `clients/typescript/scripts/page.mjs --check` fails when it is stale).

use axum::Router;
use axum::http::header;
use axum::routing::get;

const HTML: &str = "text/html; charset=utf-8";
const SCRIPT: &str = "text/javascript; charset=utf-8";
const STYLE: &str = "text/css; charset=utf-8";

/// Each file of the page: its path, its content type and its text.
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../static/index.html")),
    ("/style.css", STYLE, include_str!("../static/style.css")),
    ("/main.js", SCRIPT, include_str!("../static/main.js")),
    ("/app.js", SCRIPT, include_str!("../static/app.js")),
    ("/list.js", SCRIPT, include_str!("../static/list.js")),
    ("/rooms.js", SCRIPT, include_str!("../static/rooms.js")),
    (
        "/messages.js",
        SCRIPT,
        include_str!("../static/messages.js"),
    ),
    (
        "/composer.js",
        SCRIPT,
        include_str!("../static/composer.js"),
    ),
    ("/view.js", SCRIPT, include_str!("../static/view.js")),
    (
        "/attention.js",
        SCRIPT,
        include_str!("../static/attention.js"),
    ),
    (
        "/timeline.js",
        SCRIPT,
        include_str!("../static/timeline.js"),
    ),
    (
        "/moderation.js",
        SCRIPT,
        include_str!("../static/moderation.js"),
    ),
    (
        "/preferences.js",
        SCRIPT,
        include_str!("../static/preferences.js"),
    ),
    (
        "/presence.js",
        SCRIPT,
        include_str!("../static/presence.js"),
    ),
    ("/users.js", SCRIPT, include_str!("../static/users.js")),
    (
        "/client/index.js",
        SCRIPT,
        include_str!("../static/client/index.js"),
    ),
    (
        "/client/client.js",
        SCRIPT,
        include_str!("../static/client/client.js"),
    ),
    (
        "/client/order.js",
        SCRIPT,
        include_str!("../static/client/order.js"),
    ),
    (
        "/client/outbox.js",
        SCRIPT,
        include_str!("../static/client/outbox.js"),
    ),
    (
        "/client/storage.js",
        SCRIPT,
        include_str!("../static/client/storage.js"),
    ),
];

/// A router serving the page's files.
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES
        .iter()
        .fold(Router::new(), |router, &(path, content_type, text)| {
            router.route(
                path,
                get(move || async move { ([(header::CONTENT_TYPE, content_type)], text) }),
            )
        })
}
