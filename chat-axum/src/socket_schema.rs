//! The WebSocket's frames as a JSON Schema (2020-12), generated from the
//! same Rust types that encode and decode them (`ClientFrame`,
//! `ServerEvent`), so a client in any language can generate its types and
//! a stale copy fails a test (`tests/openapi.rs`). Served beside
//! `/openapi.json` as `/socket.schema.json`; the committed copy is
//! `chat-axum/socket.schema.json`.

use chat_engine::protocol::{ClientFrame, ServerEvent};
use serde_json::{Value, json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(components(schemas(ClientFrame, ServerEvent)))]
struct Frames;

/// The schema document: `$defs.ClientFrame` is what a client may send,
/// `$defs.ServerEvent` what the server pushes (one JSON text frame each,
/// tagged by `type`); every other definition is what they refer to.
#[must_use]
pub fn socket_schema() -> Value {
    let components = Frames::openapi().components.unwrap_or_default();
    let definitions = serde_json::to_string(&components.schemas)
        .unwrap_or_default()
        // The same definitions, referred to where JSON Schema keeps them.
        .replace("#/components/schemas/", "#/$defs/");
    let definitions: Value = serde_json::from_str(&definitions).unwrap_or_default();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "chat WebSocket frames",
        "description": "One JSON object per text frame, tagged by `type`. A client sends \
            ClientFrame and receives ServerEvent; unknown event types are to be ignored \
            (the protocol only grows).",
        "oneOf": [
            { "$ref": "#/$defs/ClientFrame" },
            { "$ref": "#/$defs/ServerEvent" }
        ],
        "$defs": definitions,
    })
}
